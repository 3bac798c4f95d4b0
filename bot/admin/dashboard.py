"""The dashboard: questions per day by channel, decisions, top procedures, QR opens, feedback, and a CSV."""

import csv
import html
import io
from collections import Counter
from datetime import timedelta

from sqladmin import BaseView, expose
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot import texts
from bot.admin.base import AdminApp, HiddenView
from bot.tickets import service_levels
from knowledge.models import Feedback, QueryLog


def dashboard_data(engine: Engine, days: int = 14) -> dict:
    """Questions per day by channel, decision shares, top procedures, QR opens by office, feedback."""
    since = texts.local_days_start(days)
    with Session(engine) as session:
        logs = session.exec(select(QueryLog).where(QueryLog.created_at >= since)).all()
        feedback = session.exec(
            select(Feedback.helpful, func.count()).where(Feedback.created_at >= since).group_by(Feedback.helpful)
        ).all()
    day_list = [texts.local_date(since + timedelta(days=offset)) for offset in range(days)]
    per_day: dict[str, Counter[str]] = {day: Counter() for day in day_list}
    decisions: Counter[str] = Counter()
    top: Counter[str] = Counter()
    visitors: dict[str, set[str]] = {}
    for log in logs:
        day = texts.local_date(log.created_at)
        if log.kind == "question":
            per_day.setdefault(day, Counter())[log.channel] += 1
            decisions[log.decision] += 1
            if log.decision == "answer" and log.top_code:
                top[log.top_code] += 1
        elif log.kind == "deeplink":
            # Distinct visitors: one person scanning twice, or reloading the page, is one open.
            visitors.setdefault(log.office_slug or texts.NO_OFFICE_LABEL, set()).add(log.user_hash)
    opens = Counter({office: len(people) for office, people in visitors.items()})
    channels = sorted({channel for counter in per_day.values() for channel in counter})
    total = sum(decisions.values())
    return {
        "days": day_list,
        "channels": channels,
        "per_day": {day: dict(per_day.get(day, {})) for day in day_list},
        "shares": {name: (decisions[name] / total if total else 0.0) for name in ("answer", "clarify", "none")},
        "total": total,
        "top": top.most_common(10),
        "opens": opens.most_common(10),
        "feedback": {
            "up": next((n for helpful, n in feedback if helpful), 0),
            "down": next((n for helpful, n in feedback if not helpful), 0),
        },
    }


CHANNEL_LABELS = texts.CHANNEL_LABELS
COLOURS = ("#b3261e", "#1e6bb3", "#2e7d32", "#8e44ad", "#f39c12")


def bar_chart_svg(data: dict) -> str:
    """Questions per day, stacked by channel, with a legend, as an inline SVG (rendered on the server)."""
    width, height, left, bottom = 640, 200, 30, 50
    days = data["days"]
    peak = max([sum(data["per_day"][day].values()) for day in days] + [1])
    bar = (width - left) / max(len(days), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + bottom}" role="img" '
        f'aria-label="{html.escape(texts.CHART_LABEL)}">'
    ]
    for index, day in enumerate(days):
        y = height
        for number, channel in enumerate(data["channels"]):
            value = data["per_day"][day].get(channel, 0)
            size = (height - 10) * value / peak
            y -= size
            if value:
                parts.append(
                    f'<rect x="{left + index * bar + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" '
                    f'height="{size:.1f}" fill="{COLOURS[number % len(COLOURS)]}">'
                    f"<title>{day} {channel}: {value}</title></rect>"
                )
        parts.append(
            f'<text x="{left + index * bar + bar / 2:.1f}" y="{height + 18}" font-size="10" '
            f'text-anchor="middle">{day[8:10]}/{day[5:7]}</text>'
        )
    for number, channel in enumerate(data["channels"]):
        x = left + number * 120
        label = html.escape(CHANNEL_LABELS.get(channel, channel))
        parts.append(
            f'<rect x="{x}" y="{height + 32}" width="10" height="10" fill="{COLOURS[number % len(COLOURS)]}"/>'
            f'<text x="{x + 14}" y="{height + 41}" font-size="11">{label}</text>'
        )
    parts.append(f'<text x="0" y="12" font-size="10">{peak}</text></svg>')
    return "".join(parts)


class DashboardView(BaseView):
    name, icon = texts.ADMIN["dashboard"], "fa-solid fa-chart-column"
    app: AdminApp

    @expose("/dashboard", methods=["GET"])
    async def dashboard(self, request: Request) -> Response:
        data = await run_in_threadpool(dashboard_data, self.app.engine)
        levels = await run_in_threadpool(service_levels, self.app.engine, self.app.settings.ticket_target_days)
        titles = {info.code: info.title for info in self.app.catalog.index.procedures}
        context = {
            "data": data,
            "chart": bar_chart_svg(data),
            "titles": titles,
            "levels": levels,
            "channel_labels": CHANNEL_LABELS,
        }
        return await self.templates.TemplateResponse(request, "admin/dashboard.html", context)


class DashboardCsvView(HiddenView):
    """The dashboard's figures as CSV (a page of its own: sqladmin gives each custom view one route name)."""

    name, icon = "CSV", "fa-solid fa-file-csv"
    app: AdminApp

    @expose("/dashboard.csv", methods=["GET"])
    async def dashboard_csv(self, request: Request) -> Response:
        data = await run_in_threadpool(dashboard_data, self.app.engine, 90)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["day", *data["channels"], "total"])
        for day in data["days"]:
            counts = data["per_day"][day]
            writer.writerow([day, *[counts.get(channel, 0) for channel in data["channels"]], sum(counts.values())])
        return Response(
            "\ufeff" + buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="tthc-questions-per-day.csv"'},
        )
