"""What stands between the public and the application: body limits and read timeouts, client disconnects,
proxy headers believed only from configured proxies, and security headers on every response.
"""

import asyncio
import logging
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # forms, JSON, webhooks
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # spreadsheet uploads (streamed to a temporary file by the form parser)
UPLOAD_PATHS = ("/admin/spreadsheet",)
BODY_TIMEOUT_SECONDS = 20.0  # between two chunks of a request body: a slow client cannot hold a worker

# Public pages load only their own assets; the admin (sqladmin) needs inline scripts and styles of its own.
PUBLIC_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ADMIN_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' "
    "'unsafe-inline'; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` (declared or actual)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


class Guard:
    """ASGI middleware: caps and times request bodies, turns a mid-body disconnect into an INFO line, and
    adds security headers (CSP with frame-ancestors, nosniff, Referrer-Policy) to every response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int = MAX_BODY_BYTES,
        max_upload: int = MAX_UPLOAD_BYTES,
        timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.max_body, self.max_upload, self.timeout = max_body, max_upload, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.max_upload if path.startswith(UPLOAD_PATHS) else self.max_body
        received = 0
        body_done = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                logger.info("request body too slow: %s %s", scope.get("method"), path)
                raise HTTPException(408) from None
            if message["type"] == "http.disconnect":
                logger.info("client went away during %s %s", scope.get("method"), path)
                raise HTTPException(400)  # answered to nobody; keeps the traceback out of the log
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413)
            body_done = not message.get("more_body", False)
            return message

        csp = ADMIN_CSP if path.startswith("/admin") else PUBLIC_CSP

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(413, secured_send)
            return
        await self.app(scope, guarded_receive, secured_send)

    @staticmethod
    async def _refuse(status: int, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def behind_proxies(app: ASGIApp, trusted: Sequence[str]) -> ASGIApp:
    """Believe X-Forwarded-For/-Proto only from the configured proxies (none by default)."""
    if not trusted:
        return app
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    return ProxyHeadersMiddleware(app, trusted_hosts=list(trusted))
