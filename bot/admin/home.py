"""The page a clerk lands on after logging in: what is waiting, what changed lately, where to go."""

from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot import texts
from bot.admin.inbox import inbox_groups
from bot.admin.views import audit_details, audit_target
from knowledge.models import AuditLog


def home_summary(engine: Engine) -> dict:
    """Open inbox questions and the latest changes to the knowledge base."""
    with Session(engine) as session:
        changes = session.exec(select(AuditLog).order_by(AuditLog.created_at.desc()).limit(5)).all()
        recent = [
            {
                "when": texts.local_time(entry.created_at, "%d/%m/%Y %H:%M"),
                "who": entry.username,
                "target": audit_target(entry),
                "details": audit_details(entry),
            }
            for entry in changes
        ]
    return {"inbox_open": len(inbox_groups(engine)), "recent": recent}


class StaffAdmin(Admin):
    """sqladmin with a home page that says what to do."""

    engine: Engine

    @login_required
    async def index(self, request: Request) -> Response:
        summary = await run_in_threadpool(home_summary, self.engine)
        return await self.templates.TemplateResponse(request, "sqladmin/index.html", {"home": summary})
