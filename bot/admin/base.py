"""What every admin page shares: the application it works on, the audit log, the signed-in officer."""

from typing import Protocol

from sqladmin import BaseView
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request

from bot.catalog import Catalog
from bot.config import Settings
from bot.stores import LoginThrottle
from knowledge.models import AuditLog


class AdminApp(Protocol):
    """What the admin needs from the application (bot.app.App)."""

    engine: Engine
    login_throttle: LoginThrottle
    settings: Settings

    @property
    def catalog(self) -> Catalog:
        """The current knowledge snapshot."""

    def reload(self) -> int:
        """Rebuild the catalogue after a change."""


def audit(engine: Engine, username: str, action: str, target: str, details: dict | None = None) -> None:
    """Record who changed what."""
    with Session(engine) as session:
        session.add(AuditLog(username=username, action=action, target=target, details=details or {}))
        session.commit()


def who(request: Request) -> str:
    """The signed-in officer's user name."""
    return str(request.session.get("username", "?"))


class HiddenView(BaseView):
    """A page reached from another page's link, not from the menu."""

    def is_visible(self, request: Request) -> bool:
        return False
