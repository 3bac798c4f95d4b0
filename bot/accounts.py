"""Staff accounts and their sessions: argon2 password hashes (pwdlib), server-side sessions in the database."""

import hashlib
import secrets
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy import Engine, delete
from sqlmodel import Session, select

from knowledge.models import StaffSession, StaffUser, utcnow

ROLES = ("admin", "editor")
MIN_PASSWORD = 10
SESSION_HOURS = 8
_hasher = PasswordHash.recommended()
# Verifying against a fixed hash when the user does not exist keeps the timing the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """An account that cannot be created."""


def normalize_username(username: str) -> str:
    """User names are case-insensitive and trimmed ("Canbo " is "canbo")."""
    return username.strip().lower()[:64]


def find_user(engine: Engine, username: str) -> StaffUser | None:
    """The account with this user name, if any."""
    with Session(engine) as session:
        return session.exec(select(StaffUser).where(StaffUser.username == normalize_username(username))).first()


def create_user(engine: Engine, username: str, password: str, role: str = "editor") -> None:
    """Create a staff account, or reset the password and role of an existing one (ending its sessions)."""
    username = normalize_username(username)
    if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").isalnum():
        raise AccountError(f"user name '{username}' must be 1-64 letters, digits, '.' or '_'")
    if role not in ROLES:
        raise AccountError(f"role '{role}' must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
    with Session(engine) as session:
        user = session.exec(select(StaffUser).where(StaffUser.username == username)).first()
        if user is None:
            user = StaffUser(username=username, password_hash=_hasher.hash(password), role=role)
        else:
            user.password_hash, user.role = _hasher.hash(password), role
            session.exec(delete(StaffSession).where(StaffSession.username == username))
        session.add(user)
        session.commit()


def authenticate(engine: Engine, username: str, password: str) -> StaffUser | None:
    """The account when the password matches, else None."""
    user = find_user(engine, username)
    if user is None:
        _hasher.verify(password, _DUMMY_HASH)
        return None
    return user if _hasher.verify(password, user.password_hash) else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(engine: Engine, username: str, hours: float = SESSION_HOURS) -> str:
    """A new session for the account; returns the token the cookie carries (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with Session(engine) as session:
        session.exec(delete(StaffSession).where(StaffSession.expires_at < now))  # tidy as we go
        session.add(StaffSession(token_hash=_hash(token), username=username, expires_at=now + timedelta(hours=hours)))
        session.commit()
    return token


def session_user(engine: Engine, token: str) -> StaffUser | None:
    """The account behind a live session token, or None (unknown, expired, logged out, account gone)."""
    if not token or len(token) > 128:
        return None
    with Session(engine) as session:
        row = session.exec(
            select(StaffUser)
            .join(StaffSession, StaffSession.username == StaffUser.username)
            .where(StaffSession.token_hash == _hash(token), StaffSession.expires_at > utcnow())
        ).first()
        return row


def close_session(engine: Engine, token: str) -> None:
    """End one session (logout)."""
    with Session(engine) as session:
        session.exec(delete(StaffSession).where(StaffSession.token_hash == _hash(token)))
        session.commit()


def close_sessions(engine: Engine, username: str) -> None:
    """End every session of an account (deleted, or its password reset)."""
    with Session(engine) as session:
        session.exec(delete(StaffSession).where(StaffSession.username == normalize_username(username)))
        session.commit()
