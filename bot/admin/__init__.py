"""The staff admin at /admin (sqladmin): login, procedures, aliases, offices, spreadsheets, the unanswered
inbox, citizens' questions (tickets), staff accounts, the audit log, the dashboard.
`setup_admin` returns a function that mounts it on the web server."""

import logging
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import texts
from bot.admin.auth import StaffAuth
from bot.admin.base import AdminApp
from bot.admin.dashboard import DashboardCsvView, DashboardView
from bot.admin.home import StaffAdmin
from bot.admin.inbox import InboxView
from bot.admin.spreadsheet import SpreadsheetDownloadView, SpreadsheetView
from bot.admin.tickets import TicketsView, TicketView
from bot.admin.views import AliasAdmin, AuditAdmin, OfficeAdmin, ProcedureAdmin, QuietRejections, StaffUserAdmin

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MODEL_VIEWS = (ProcedureAdmin, AliasAdmin, OfficeAdmin, StaffUserAdmin, AuditAdmin)
PAGES = (TicketsView, TicketView, DashboardView, DashboardCsvView, InboxView, SpreadsheetView, SpreadsheetDownloadView)


def vietnamese(message: str) -> str:
    """sqladmin's and WTForms' English words in Vietnamese (unknown ones pass through)."""
    return texts.ADMIN_UI.get(message, message)


def vietnamese_plural(singular: str, plural: str, count: int) -> str:
    """Vietnamese has no plural forms."""
    return vietnamese(singular if count == 1 else plural)


def same_origin(request: Request) -> bool:
    """CSRF defence for the admin: unsafe requests must come from this site (Origin, else Referer). Behind a
    trusted proxy the scheme is the forwarded one (bot.guards), so an https site compares as https."""
    base = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin:
        return origin == base
    referer = request.headers.get("referer", "")
    return referer == base or referer.startswith(base + "/")


class CheckOrigin:
    """ASGI middleware refusing cross-site unsafe requests to the admin (pure ASGI: it never wraps the body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("path", "").startswith("/admin")
            and scope.get("method") in UNSAFE_METHODS
            and not same_origin(Request(scope))
        ):
            response = Response(texts.ADMIN["forbidden"], status_code=403, media_type="text/plain; charset=utf-8")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def setup_admin(app: AdminApp, secret_key: str, https_only: bool):
    """A function that mounts the admin on a FastAPI app, with the CSRF origin check."""

    def mount(web: Any) -> None:
        web.add_middleware(CheckOrigin)
        refusals = logging.getLogger("sqladmin.application")
        if not any(isinstance(existing, QuietRejections) for existing in refusals.filters):
            refusals.addFilter(QuietRejections())
        auth = StaffAuth(app.engine, app.login_throttle, secret_key, https_only)
        admin = StaffAdmin(
            web,
            app.engine,
            title=texts.ADMIN["title"],
            base_url="/admin",
            templates_dir=str(TEMPLATES),
            authentication_backend=auth,
        )
        admin.engine = app.engine
        # sqladmin's templates say everything through gettext: answer in Vietnamese.
        admin.templates.env.install_gettext_callables(vietnamese, vietnamese_plural, newstyle=True)
        auth.templates = admin.templates
        for view in (*MODEL_VIEWS, *PAGES):
            view.app = app
            admin.add_view(view)

    return mount
