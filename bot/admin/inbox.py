"""The unanswered inbox: questions that got no answer, a rejected choice or a 👎, grouped by similarity and
shown as citizens typed them; one form turns a question into an alias of a procedure found by its name."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from rapidfuzz import fuzz
from sqladmin import BaseView, expose
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot import texts
from bot.admin.base import AdminApp, audit, who
from bot.catalog import Catalog
from knowledge.db import add_alias
from knowledge.models import Feedback, InboxStatus, QueryLog
from knowledge.records import ORIGIN_CURATED, ProcedureInfo

INBOX_SIMILARITY = 80.0
INBOX_LIMIT = 1500
STATUS_LABELS = texts.INBOX_STATUS_LABELS
_CODE_AT_END = re.compile(r"[—-]\s*([0-9A-Za-z][0-9A-Za-z._-]{0,38})\s*$")


def inbox_groups(engine: Engine, days: int = 90, include: tuple[str, ...] = ("open",)) -> list[dict]:
    """Questions that got no answer, a rejected choice or a 👎, grouped by similarity, most frequent first.
    Each group is keyed by the normalised question and shows it as a citizen typed it."""
    since = datetime.now(UTC) - timedelta(days=days)
    counts: Counter[str] = Counter()
    typed: dict[str, str] = {}
    with Session(engine) as session:
        unanswered = ((QueryLog.kind == "question") & (QueryLog.decision == "none")) | (
            QueryLog.kind == "choice_rejected"
        )
        rows = session.exec(
            select(QueryLog.text, func.count(), func.max(QueryLog.asked))
            .where(QueryLog.created_at >= since, QueryLog.text != "", unanswered)
            .group_by(QueryLog.text)
        ).all()
        down = session.exec(
            select(Feedback.question, func.count(), func.max(Feedback.asked))
            .where(Feedback.created_at >= since, Feedback.helpful.is_(False), Feedback.question != "")
            .group_by(Feedback.question)
        ).all()
        for text, count, asked in (*rows, *down):
            counts[text] += count
            typed[text] = asked or typed.get(text) or text
        statuses = {row.text: row.status for row in session.exec(select(InboxStatus)).all()}
    groups: list[dict] = []
    # The most frequent questions first, and a bounded number of them: grouping compares each with
    # every group, so an unbounded log (or a flood of junk) must not make the page unusable.
    for text, count in counts.most_common(INBOX_LIMIT):
        for group in groups:
            if fuzz.token_set_ratio(text, group["text"]) >= INBOX_SIMILARITY:
                group["count"] += count
                group["examples"].append(typed[text])
                break
        else:
            groups.append({"text": text, "shown": typed[text], "count": count, "examples": [typed[text]]})
    for group in groups:
        group["status"] = statuses.get(group["text"], "open")
        group["status_label"] = STATUS_LABELS.get(group["status"], group["status"])
    return [group for group in groups if group["status"] in include]


def set_inbox_status(engine: Engine, text: str, status: str) -> None:
    """Mark an inbox group done, ignored or open again."""
    with Session(engine) as session:
        row = session.get(InboxStatus, text) or InboxStatus(text=text)
        row.status, row.updated_at = status, datetime.now(UTC)
        session.add(row)
        session.commit()


def procedure_choice(info: ProcedureInfo) -> str:
    """How a procedure is offered in the inbox's search list: what citizens call it, its official name,
    then its code (the browser filters the list by any of these words)."""
    names = info.title if info.title == info.name else f"{info.title} · {info.name}"
    return f"{names} — {info.code}"


def resolve_procedure(catalog: Catalog, typed: str) -> str | None:
    """The code a clerk picked: from the list ("Đăng ký khai sinh — 1.001193"), a bare code, or a name."""
    typed = typed.strip()
    found = _CODE_AT_END.search(typed)
    if found and catalog.procedure(found.group(1)):
        return found.group(1)
    if catalog.procedure(typed):
        return typed
    wanted = typed.casefold()
    named = [info.code for info in catalog.index.procedures if wanted in (info.name.casefold(), info.title.casefold())]
    return named[0] if len(named) == 1 else None


def procedure_choices(catalog: Catalog) -> list[str]:
    """The curated procedures to pick from ("name — code"), in alphabetical order."""
    curated = (procedure_choice(info) for info in catalog.index.procedures if info.origin == ORIGIN_CURATED)
    return sorted(curated, key=str.casefold)


async def add_alias_from_form(app: AdminApp, request: Request, form: FormData, details: dict) -> str | None:
    """The "thêm cách gọi" action of the inbox and the tickets: the alias added to the procedure picked by name
    (audited, every worker reloads); the message for staff, or None when nothing was added."""
    alias = str(form.get("alias", "")).strip()[:200]
    code = resolve_procedure(app.catalog, str(form.get("procedure", ""))[:300])
    if not (alias and code and await run_in_threadpool(add_alias, app.engine, code, alias)):
        return None
    await run_in_threadpool(audit, app.engine, who(request), "alias", code, {"alias": alias, **details})
    await run_in_threadpool(app.reload)
    title = app.catalog.index.by_code[code].title
    return texts.ADMIN["alias_added"].format(alias=alias, title=title, code=code)


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
                added = await add_alias_from_form(self.app, request, form, {"from_question": text})
                if added:
                    await run_in_threadpool(set_inbox_status, self.app.engine, text, "done")
                message = added or texts.ADMIN["alias_failed"]
            elif action in STATUS_LABELS:
                await run_in_threadpool(set_inbox_status, self.app.engine, text, action)
                await run_in_threadpool(audit, self.app.engine, who(request), "inbox", text, {"status": action})
                message = texts.ADMIN["marked"].format(status=STATUS_LABELS[action])
        show = str(request.query_params.get("show", "open"))
        include = tuple(STATUS_LABELS) if show == "all" else ("open",)
        groups = await run_in_threadpool(inbox_groups, self.app.engine, 90, include)
        procedures = procedure_choices(self.app.catalog)
        return await self.templates.TemplateResponse(
            request, "admin/inbox.html", {"groups": groups, "procedures": procedures, "message": message}
        )
