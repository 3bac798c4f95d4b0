"""Staff accounts for the web admin: argon2 password hashes (pwdlib), creation and verification."""

import hashlib

from pwdlib import PasswordHash
from sqlalchemy import Engine
from sqlmodel import Session, select

from knowledge.models import StaffUser

ROLES = ("admin", "editor")
MIN_PASSWORD = 10
_hasher = PasswordHash.recommended()
# Verifying against a fixed hash when the user does not exist keeps the timing the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """An account that cannot be created."""


def normalize_username(username: str) -> str:
    """User names are case-insensitive and trimmed ("Canbo " is "canbo")."""
    return username.strip().lower()[:64]


def fingerprint(user: StaffUser) -> str:
    """Changes when the password changes: sessions carry it, so a reset ends old sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def find_user(engine: Engine, username: str) -> StaffUser | None:
    """The account with this user name, if any."""
    with Session(engine) as session:
        return session.exec(select(StaffUser).where(StaffUser.username == normalize_username(username))).first()


def create_user(engine: Engine, username: str, password: str, role: str = "editor") -> None:
    """Create a staff account, or reset the password and role of an existing one."""
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
        session.add(user)
        session.commit()


def authenticate(engine: Engine, username: str, password: str) -> StaffUser | None:
    """The account when the password matches, else None."""
    user = find_user(engine, username)
    if user is None:
        _hasher.verify(password, _DUMMY_HASH)
        return None
    return user if _hasher.verify(password, user.password_hash) else None
