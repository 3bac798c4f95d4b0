"""The unanswered inbox: questions that got no answer, a rejected choice or a 👎, grouped by similarity;
one form turns a question into an alias."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from rapidfuzz import fuzz
from sqladmin import BaseView, expose
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot import texts
from bot.admin.base import AdminApp, audit, who
from knowledge.db import add_alias
from knowledge.models import Feedback, InboxStatus, QueryLog

INBOX_SIMILARITY = 80.0
INBOX_LIMIT = 1500




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
                        audit, self.app.engine, who(request), "alias", code, {"alias": alias, "from_question": text}
                    )
                    await run_in_threadpool(self.app.reload)
                    message = texts.ADMIN["alias_added"].format(alias=alias, code=code)
                else:
                    message = texts.ADMIN["alias_failed"].format(code=code)
            elif action in ("done", "ignored", "open"):
                await run_in_threadpool(set_inbox_status, self.app.engine, text, action)
                await run_in_threadpool(audit, self.app.engine, who(request), "inbox", text, {"status": action})
                message = texts.ADMIN["marked"].format(status=action)
        show = str(request.query_params.get("show", "open"))
        include = ("open", "done", "ignored") if show == "all" else ("open",)
        groups = await run_in_threadpool(inbox_groups, self.app.engine, 90, include)
        procedures = [(info.code, info.title) for info in self.app.catalog.index.procedures]
        return await self.templates.TemplateResponse(
            request, "admin/inbox.html", {"groups": groups, "procedures": procedures, "message": message}
        )

