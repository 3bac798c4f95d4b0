"""The staff admin at /admin: login, procedures, aliases, offices, spreadsheets, unanswered inbox, dashboard.

Built on sqladmin. Every change is written to the audit log and rebuilds the running bot's index, so an
alias added here is matched by the chat at once.
"""

import csv
import io
import logging
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from rapidfuzz import fuzz
from sqladmin import Admin, BaseView, ModelView, expose
from sqladmin.authentication import AuthenticationBackend
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from bot import texts
from bot.accounts import authenticate, find_user, fingerprint, normalize_username
from knowledge.db import add_alias, load_procedures, write_procedures
from knowledge.importer import ImportFileError, export_text, export_xlsx, read_file
from knowledge.models import Alias, AuditLog, Feedback, InboxStatus, Office, Procedure, QueryLog, StaffUser
from knowledge.records import DATA_KEYS, OFFICE_KEYS, RecordError, parse_office, parse_record

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
MAX_FAILURES = 5
LOCK_SECONDS = 300
SESSION_SECONDS = 8 * 3600
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
INBOX_SIMILARITY = 80.0
INBOX_LIMIT = 1500
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class AdminApp(Protocol):
    """What the admin needs from the application."""

    engine: Engine

    def reload(self) -> int: ...


def audit(engine: Engine, username: str, action: str, target: str, details: dict | None = None) -> None:
    """Record who changed what."""
    with Session(engine) as session:
        session.add(AuditLog(username=username, action=action, target=target, details=details or {}))
        session.commit()


def _who(request: Request) -> str:
    return str(request.session.get("username", "?"))


class LoginThrottle:
    """Locks a user name from one address after repeated failures (in memory, per process)."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], list[float]] = defaultdict(list)

    def locked(self, key: tuple[str, str], now: float) -> bool:
        recent = [moment for moment in self._failures[key] if now - moment < LOCK_SECONDS]
        self._failures[key] = recent
        return len(recent) >= MAX_FAILURES

    def fail(self, key: tuple[str, str], now: float) -> None:
        if len(self._failures) > 10_000:  # a flood of made-up names must not grow memory without end
            self._failures = defaultdict(list, {k: v for k, v in self._failures.items() if now - v[-1] < LOCK_SECONDS})
        self._failures[key].append(now)

    def clear(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)


class StaffAuth(AuthenticationBackend):
    """Session login against the staff accounts (argon2 hashes), with throttling and strict cookies."""

    def __init__(self, engine: Engine, secret_key: str, https_only: bool) -> None:
        super().__init__(
            secret_key, same_site="strict", https_only=https_only, max_age=SESSION_SECONDS, session_cookie="tthc_admin"
        )
        self.engine = engine
        self.throttle = LoginThrottle()

    async def login(self, request: Request) -> bool:
        form = await request.form()
        username, password = normalize_username(str(form.get("username", ""))), str(form.get("password", ""))[:256]
        key = (request.client.host if request.client else "?", username)
        now = time.monotonic()
        if self.throttle.locked(key, now):
            logger.warning("admin login locked for %s", key)
            return False
        user = await run_in_threadpool(authenticate, self.engine, username, password)
        if user is None:
            self.throttle.fail(key, now)
            return False
        self.throttle.clear(key)
        request.session.clear()
        request.session.update({"username": user.username, "role": user.role, "key": fingerprint(user)})
        return True

    async def logout(self, request: Request) -> bool:
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        """A session is valid while its account exists with the same password; the role is re-read."""
        username = request.session.get("username")
        if not username:
            return False
        user = await run_in_threadpool(find_user, self.engine, str(username))
        if user is None or request.session.get("key") != fingerprint(user):
            request.session.clear()
            return False
        request.session["role"] = user.role
        return True


def same_origin(request: Request) -> bool:
    """CSRF defence for the admin: unsafe requests must come from this site (Origin, else Referer)."""
    base = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin:
        return origin == base
    referer = request.headers.get("referer", "")
    return referer == base or referer.startswith(base + "/")


class AuditedView(ModelView):
    """A model view whose changes are audited and refresh the bot's index."""

    app: AdminApp

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        request.state.before = {} if is_created else {key: getattr(model, key) for key in data if hasattr(model, key)}

    async def after_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        before = getattr(request.state, "before", {})
        changed = {
            key: {"before": _plain(before.get(key)), "after": _plain(getattr(model, key, None))}
            for key in data
            if is_created or before.get(key) != getattr(model, key, None)
        }
        await run_in_threadpool(
            audit,
            self.app.engine,
            _who(request),
            "create" if is_created else "update",
            f"{self.identity}:{_identity(model)}",
            changed,
        )
        await run_in_threadpool(self.app.reload)

    async def after_model_delete(self, model: Any, request: Request) -> None:
        await run_in_threadpool(
            audit, self.app.engine, _who(request), "delete", f"{self.identity}:{_identity(model)}", {}
        )
        await run_in_threadpool(self.app.reload)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | dict | type(None)) else str(value)


def _identity(model: Any) -> str:
    for key in ("code", "slug", "username", "id"):
        if hasattr(model, key):
            return str(getattr(model, key))
    return "?"


def _validated(data: dict, model: Any, keys: tuple[str, ...], parse: Any) -> dict:
    """The form data checked like an imported row (same rules, same messages); raises ValueError."""
    merged = {key: data[key] if key in data else getattr(model, key, None) for key in keys}
    try:
        return parse(merged, "form").to_dict()
    except RecordError as error:
        raise ValueError(str(error)) from None


class ProcedureAdmin(AuditedView, model=Procedure):
    name, name_plural, icon = "Thủ tục", texts.ADMIN["procedures"], "fa-solid fa-file-lines"
    column_list = [
        Procedure.code,
        Procedure.name,
        Procedure.field,
        Procedure.level,
        Procedure.origin,
        Procedure.verified_on,
    ]
    column_searchable_list = [Procedure.code, Procedure.name, Procedure.short_name]
    column_sortable_list = [Procedure.code, Procedure.field, Procedure.verified_on]
    form_excluded_columns = [Procedure.updated_at]
    form_include_pk = True
    page_size = 50

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        keys = tuple(key for key in DATA_KEYS if key != "aliases")
        clean = _validated(
            data,
            model,
            keys + ("aliases",),
            lambda raw, where: parse_record({**{key: raw[key] for key in keys}, "aliases": []}, where),
        )
        data.update({key: clean[key] for key in keys if key in data})
        await super().on_model_change(data, model, is_created, request)


class AliasAdmin(AuditedView, model=Alias):
    name, name_plural, icon = "Cách gọi", texts.ADMIN["aliases"], "fa-solid fa-tags"
    column_list = [Alias.id, Alias.procedure_code, Alias.text]
    column_searchable_list = [Alias.text, Alias.procedure_code]
    form_columns = [Alias.procedure, Alias.text]
    form_ajax_refs = {"procedure": {"fields": ("code", "name"), "order_by": "code"}}
    page_size = 100


class OfficeAdmin(AuditedView, model=Office):
    name, name_plural, icon = "Nơi tiếp nhận", texts.ADMIN["offices"], "fa-solid fa-building"
    column_list = [Office.slug, Office.name, Office.address, Office.hours, Office.phone]
    form_include_pk = True

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        clean = _validated(data, model, OFFICE_KEYS, parse_office)
        data.update({key: clean[key] for key in OFFICE_KEYS if key in data})
        await super().on_model_change(data, model, is_created, request)


class StaffUserAdmin(AuditedView, model=StaffUser):
    name, name_plural, icon = "Tài khoản", texts.ADMIN["users"], "fa-solid fa-user"
    column_list = [StaffUser.username, StaffUser.role, StaffUser.created_at]
    column_details_exclude_list = [StaffUser.password_hash]
    form_columns = [StaffUser.role]  # accounts and passwords: `tthc admin create-user`
    can_create = False

    def is_accessible(self, request: Request) -> bool:
        return request.session.get("role") == "admin"

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)


class AuditAdmin(ModelView, model=AuditLog):
    name, name_plural, icon = "Nhật ký", texts.ADMIN["audit"], "fa-solid fa-clock-rotate-left"
    column_list = [AuditLog.created_at, AuditLog.username, AuditLog.action, AuditLog.target, AuditLog.details]
    column_default_sort = [(AuditLog.created_at, True)]
    can_create = can_edit = can_delete = False


# -- unanswered inbox --------------------------------------------------------------------------------------


def inbox_groups(engine: Engine, days: int = 90, include: tuple[str, ...] = ("open",)) -> list[dict]:
    """Questions that got no answer, a rejected choice or a 👎, grouped by similarity, most frequent first."""
    since = datetime.now(UTC) - timedelta(days=days)
    counts: Counter[str] = Counter()
    with Session(engine) as session:
        rows = session.exec(
            select(QueryLog.text, func.count())
            .where(
                QueryLog.created_at >= since,
                QueryLog.text != "",
                ((QueryLog.kind == "question") & (QueryLog.decision == "none")) | (QueryLog.kind == "choice_rejected"),
            )
            .group_by(QueryLog.text)
        ).all()
        counts.update(dict(rows))
        down = session.exec(
            select(Feedback.question, func.count())
            .where(Feedback.created_at >= since, Feedback.helpful.is_(False), Feedback.question != "")
            .group_by(Feedback.question)
        ).all()
        counts.update(dict(down))
        statuses = {row.text: row.status for row in session.exec(select(InboxStatus)).all()}
    groups: list[dict] = []
    # The most frequent questions first, and a bounded number of them: grouping compares each with
    # every group, so an unbounded log (or a flood of junk) must not make the page unusable.
    for text, count in counts.most_common(INBOX_LIMIT):
        for group in groups:
            if fuzz.token_set_ratio(text, group["text"]) >= INBOX_SIMILARITY:
                group["count"] += count
                group["examples"].append(text)
                break
        else:
            groups.append({"text": text, "count": count, "examples": [text]})
    for group in groups:
        group["status"] = statuses.get(group["text"], "open")
    return [group for group in groups if group["status"] in include]


def set_inbox_status(engine: Engine, text: str, status: str) -> None:
    """Mark an inbox group done, ignored or open again."""
    with Session(engine) as session:
        row = session.get(InboxStatus, text) or InboxStatus(text=text)
        row.status, row.updated_at = status, datetime.now(UTC)
        session.add(row)
        session.commit()


class InboxView(BaseView):
    name, icon = texts.ADMIN["inbox"], "fa-solid fa-inbox"
    app: AdminApp

    @expose("/inbox", methods=["GET", "POST"])
    async def inbox(self, request: Request) -> Response:
        message = ""
        if request.method == "POST":
            form = await request.form()
            text, action = str(form.get("text", ""))[:500], str(form.get("action", ""))
            if action == "alias":
                code, alias = str(form.get("code", "")).strip(), str(form.get("alias", "")).strip()[:200]
                added = bool(alias) and await run_in_threadpool(add_alias, self.app.engine, code, alias)
                if added:
                    await run_in_threadpool(set_inbox_status, self.app.engine, text, "done")
                    await run_in_threadpool(
                        audit, self.app.engine, _who(request), "alias", code, {"alias": alias, "from_question": text}
                    )
                    await run_in_threadpool(self.app.reload)
                    message = texts.ADMIN["alias_added"].format(alias=alias, code=code)
                else:
                    message = texts.ADMIN["alias_failed"].format(code=code)
            elif action in ("done", "ignored", "open"):
                await run_in_threadpool(set_inbox_status, self.app.engine, text, action)
                await run_in_threadpool(audit, self.app.engine, _who(request), "inbox", text, {"status": action})
                message = texts.ADMIN["marked"].format(status=action)
        show = str(request.query_params.get("show", "open"))
        include = ("open", "done", "ignored") if show == "all" else ("open",)
        groups = await run_in_threadpool(inbox_groups, self.app.engine, 90, include)
        procedures = [(info.code, info.title) for info in self.app.dialog.index.procedures]
        return await self.templates.TemplateResponse(
            request, "admin/inbox.html", {"groups": groups, "procedures": procedures, "message": message}
        )


# -- dashboard ------------------------------------------------------------------------------------------


def dashboard_data(engine: Engine, days: int = 14) -> dict:
    """Questions per day by channel, decision shares, top procedures, QR opens by office, feedback."""
    since = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    with Session(engine) as session:
        logs = session.exec(select(QueryLog).where(QueryLog.created_at >= since)).all()
        feedback = session.exec(
            select(Feedback.helpful, func.count()).where(Feedback.created_at >= since).group_by(Feedback.helpful)
        ).all()
    day_list = [(since + timedelta(days=offset)).date().isoformat() for offset in range(days)]
    per_day: dict[str, Counter[str]] = {day: Counter() for day in day_list}
    decisions: Counter[str] = Counter()
    top: Counter[str] = Counter()
    opens: Counter[str] = Counter()
    for log in logs:
        day = log.created_at.date().isoformat()
        if log.kind == "question":
            per_day.setdefault(day, Counter())[log.channel] += 1
            decisions[log.decision] += 1
            if log.decision == "answer" and log.top_code:
                top[log.top_code] += 1
        elif log.kind == "deeplink":
            opens[log.office_slug or "(không qua nơi tiếp nhận)"] += 1
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


def bar_chart_svg(data: dict) -> str:
    """Questions per day, stacked by channel, as an inline SVG (rendered on the server, no library)."""
    colours = ["#b3261e", "#1e6bb3", "#2e7d32", "#8e44ad", "#f39c12"]
    width, height, left, bottom = 640, 200, 30, 30
    days = data["days"]
    peak = max([sum(data["per_day"][day].values()) for day in days] + [1])
    bar = (width - left) / max(len(days), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + bottom}" role="img" '
        f'aria-label="Câu hỏi theo ngày">'
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
                    f'height="{size:.1f}" fill="{colours[number % len(colours)]}">'
                    f"<title>{day} {channel}: {value}</title></rect>"
                )
        parts.append(
            f'<text x="{left + index * bar + bar / 2:.1f}" y="{height + 18}" font-size="10" '
            f'text-anchor="middle">{day[8:10]}/{day[5:7]}</text>'
        )
    parts.append(f'<text x="0" y="12" font-size="10">{peak}</text></svg>')
    return "".join(parts)


class HiddenView(BaseView):
    """A page reached from another page's link, not from the menu."""

    def is_visible(self, request: Request) -> bool:
        return False


class DashboardView(BaseView):
    name, icon = texts.ADMIN["dashboard"], "fa-solid fa-chart-column"
    app: AdminApp

    @expose("/dashboard", methods=["GET"])
    async def dashboard(self, request: Request) -> Response:
        data = await run_in_threadpool(dashboard_data, self.app.engine)
        titles = {info.code: info.title for info in self.app.dialog.index.procedures}
        return await self.templates.TemplateResponse(
            request, "admin/dashboard.html", {"data": data, "chart": bar_chart_svg(data), "titles": titles}
        )


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


# -- spreadsheets ---------------------------------------------------------------------------------------


class SpreadsheetView(BaseView):
    name, icon = texts.ADMIN["spreadsheet"], "fa-solid fa-file-excel"
    app: AdminApp

    @expose("/spreadsheet", methods=["GET", "POST"])
    async def spreadsheet(self, request: Request) -> Response:
        message = ""
        if request.method == "POST":
            form = await request.form()
            upload = form.get("file")
            dry_run = form.get("dry_run") == "on"
            message = await self._import(request, upload, dry_run)
        return await self.templates.TemplateResponse(request, "admin/spreadsheet.html", {"message": message})

    async def _import(self, request: Request, upload: Any, dry_run: bool) -> str:
        filename = Path(str(getattr(upload, "filename", "") or "upload")).name
        suffix = Path(filename).suffix.lower()
        if suffix not in (".xlsx", ".csv", ".json", ".yaml", ".yml"):
            return texts.ADMIN["import_refused"].format(error=f"{filename}: use .xlsx, .csv, .json or .yaml")
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            return texts.ADMIN["import_refused"].format(error=f"{filename}: larger than 20 MB")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            path.write_bytes(content)
            try:
                read = await run_in_threadpool(read_file, path)
            except ImportFileError as error:
                return texts.ADMIN["import_refused"].format(error=str(error).replace(folder + "/", ""))
        result = await run_in_threadpool(write_procedures, self.app.engine, read.procedures, dry_run=dry_run)
        counts = {
            "file": filename,
            "added": len(result.added),
            "updated": len(result.updated),
            "unchanged": len(result.unchanged),
        }
        if dry_run:
            return texts.ADMIN["would_import"].format(**counts)
        await run_in_threadpool(
            audit,
            self.app.engine,
            _who(request),
            "import",
            filename,
            {"added": result.added, "updated": result.updated},
        )
        await run_in_threadpool(self.app.reload)
        return texts.ADMIN["imported"].format(**counts)


class SpreadsheetDownloadView(HiddenView):
    """The knowledge base as a spreadsheet download (hidden from the menu; linked from the spreadsheet page)."""

    name, icon = "Download", "fa-solid fa-download"
    app: AdminApp

    @expose("/spreadsheet/download.{fmt}", methods=["GET"])
    async def download(self, request: Request) -> Response:
        fmt = request.path_params["fmt"]
        procedures = await run_in_threadpool(load_procedures, self.app.engine)
        if fmt == "xlsx":
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "kb.xlsx"
                await run_in_threadpool(export_xlsx, procedures, path)
                data = path.read_bytes()
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return Response(
                data, media_type=media, headers={"Content-Disposition": 'attachment; filename="tthc-kb.xlsx"'}
            )
        if fmt == "csv":
            text = export_text(procedures, "csv")
            return StreamingResponse(
                iter([text.encode("utf-8")]),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="tthc-kb.csv"'},
            )
        return JSONResponse({"detail": "unknown format"}, status_code=404)


def setup_admin(app: Any, secret_key: str, https_only: bool):
    """A function that mounts the admin on a FastAPI app, with the CSRF origin check."""

    def mount(web: Any) -> None:
        @web.middleware("http")
        async def check_origin(request: Request, call_next: Any) -> Response:
            if request.url.path.startswith("/admin") and request.method in UNSAFE_METHODS and not same_origin(request):
                return Response(texts.ADMIN["forbidden"], status_code=403)
            return await call_next(request)

        admin = Admin(
            web,
            app.engine,
            title=texts.ADMIN["title"],
            base_url="/admin",
            templates_dir=str(HERE / "templates"),
            authentication_backend=StaffAuth(app.engine, secret_key, https_only),
        )
        for view in (ProcedureAdmin, AliasAdmin, OfficeAdmin, StaffUserAdmin):
            view.app = app
            admin.add_view(view)
        admin.add_view(AuditAdmin)
        for custom in (DashboardView, DashboardCsvView, InboxView, SpreadsheetView, SpreadsheetDownloadView):
            custom.app = app
            admin.add_view(custom)

    return mount
