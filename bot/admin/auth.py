"""Staff login for the admin: throttled before any password is checked, sessions kept in the database."""

import logging

from sqladmin.authentication import AuthenticationBackend
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot import texts
from bot.accounts import SESSION_HOURS, authenticate, close_session, normalize_username, open_session, session_user
from bot.stores import Lockout, LoginThrottle

logger = logging.getLogger(__name__)

COOKIE = "tthc_admin"
# Five wrong passwords lock a user name from one address for five minutes; twenty from anywhere lock the
# account for fifteen (a guesser rotating addresses), whoever tries.
PER_ADDRESS = Lockout(failures=5, window=300.0)
PER_ACCOUNT = Lockout(failures=20, window=900.0)
SESSION_SECONDS = int(SESSION_HOURS * 3600)  # the cookie lives as long as the session row


class StaffAuth(AuthenticationBackend):
    """Session login against the staff accounts (argon2 hashes), with throttling and strict cookies."""

    def __init__(self, engine: Engine, throttle: LoginThrottle, secret_key: str, https_only: bool) -> None:
        super().__init__(
            secret_key, same_site="strict", https_only=https_only, max_age=SESSION_SECONDS, session_cookie=COOKIE
        )
        self.engine = engine
        self.throttle = throttle
        self.templates = None  # sqladmin's templates, set once the admin exists (for the refusal page)

    async def login(self, request: Request) -> bool | Response:
        form = await request.form()
        username = normalize_username(str(form.get("username", "")))
        password = str(form.get("password", ""))[:256]
        address = request.client.host if request.client else "?"
        keys = ((f"login:{address}:{username}", PER_ADDRESS), (f"login:account:{username}", PER_ACCOUNT))
        # Counted before the password is checked, atomically: a hundred parallel guesses cannot all be tried.
        if not self.throttle.attempt(keys):
            logger.warning("admin login locked for %r from %s", username, address)
            # Which lock refused is not told apart: the longest wait is the one that is surely over.
            minutes = int(max(lockout.window for _, lockout in keys) // 60)
            return await self._refused(request, texts.ADMIN["login_locked"].format(minutes=minutes))
        user = await run_in_threadpool(authenticate, self.engine, username, password)
        if user is None:
            return await self._refused(request, texts.ADMIN["login_failed"])
        self.throttle.succeeded(keys)
        token = await run_in_threadpool(open_session, self.engine, user.username)
        request.session.clear()
        request.session.update({"token": token})
        return True

    async def _refused(self, request: Request, message: str) -> Response:
        if self.templates is None:
            return Response(message, status_code=400, media_type="text/plain; charset=utf-8")
        return await self.templates.TemplateResponse(
            request, "sqladmin/login.html", {"error": message}, status_code=400
        )

    async def logout(self, request: Request) -> bool:
        token = str(request.session.get("token", ""))
        if token:
            await run_in_threadpool(close_session, self.engine, token)
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        """A session is valid while its row exists (not logged out, not expired, account not deleted or
        reset); the role is re-read on every request."""
        user = await run_in_threadpool(session_user, self.engine, str(request.session.get("token", "")))
        if user is None:
            request.session.clear()
            return False
        request.state.staff = user
        request.session["username"], request.session["role"] = user.username, user.role
        return True
