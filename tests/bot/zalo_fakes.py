"""In-process fakes of the two Zalo HTTP APIs, served by uvicorn on 127.0.0.1 (real HTTP, no network).

- FakeZaloBotAPI: the Bot Platform (`/bot{TOKEN}/{method}`): a queue of updates that `getUpdates` hands out
  one at a time and replays when asked, HTTP 408 on an idle poll, injected 429/5xx answers, `sendMessage`
  refusing texts over 2,000 characters, a wrong token answered 401.
- FakeZaloOA: the OAuth token endpoint (single-use refresh tokens: a used one is refused) and the CS message
  endpoint (`access_token` header checked, sends recorded, optionally held until the test releases them).

Both record what they received for the tests to assert on, behind a lock (uvicorn runs in its own thread).
"""

import asyncio
import hashlib
import json
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ZALO_TEXT_LIMIT = 2000


class LoopbackServer:
    """An ASGI app served on 127.0.0.1 on a free port, in a thread, until `stop`."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", http="h11")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LoopbackServer":
        """Serve, and return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": status, "description": description}, status_code=status)


class FakeZaloBotAPI:
    """The Zalo Bot Platform API, as much as the channel uses."""

    def __init__(self, token: str, *, idle_seconds: float = 0.3) -> None:
        self.token = token
        self.idle_seconds = idle_seconds  # an idle poll ends with 408 after this (the real one waits `timeout`)
        self.lock = threading.Lock()
        self.queue: list[dict[str, Any]] = []
        self.failures: list[int] = []  # statuses the next getUpdates calls answer with
        self.sent: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.calls: list[str] = []  # method names, in order
        self.webhook: dict[str, Any] = {}
        self.unreachable_chats: set[str] = set()
        self._ids = 0
        app = Starlette(routes=[Route("/bot{token}/{method}", self._handle, methods=["POST"])])
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        """The base URL for TTHC_ZALO_BOT_BASE_URL."""
        return self.server.url

    # -- what the tests do ------------------------------------------------------------------------------

    def text(self, text: str, chat_id: str = "c0ffee01", *, replays: int = 0, message_id: str | None = None) -> str:
        """Queue a citizen's text (delivered 1 + `replays` times, as the real API replays); its message id."""
        return self.push(text_update(text, chat_id, message_id or self._next_id()), replays=replays)

    def push(self, update: dict[str, Any], *, replays: int = 0) -> str:
        """Queue any update; its message id."""
        with self.lock:
            for _ in range(1 + replays):
                self.queue.append(update)
        return str(update.get("message", {}).get("message_id", ""))

    def fail_next(self, *statuses: int) -> None:
        """The next getUpdates calls answer with these HTTP statuses (429, 500, 502...)."""
        with self.lock:
            self.failures.extend(statuses)

    def texts_to(self, chat_id: str) -> list[str]:
        """Every text sent to a chat, in order."""
        with self.lock:
            return [message["text"] for message in self.sent if message["chat_id"] == chat_id]

    def count(self, method: str) -> int:
        """How many times a method was called."""
        with self.lock:
            return self.calls.count(method)

    def _next_id(self) -> str:
        with self.lock:
            self._ids += 1
            return f"m{self._ids:06d}"

    # -- the API ----------------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        try:
            params = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "Bad Request: invalid JSON")
        with self.lock:
            self.calls.append(method)
        if method == "getUpdates":
            return await self._get_updates()
        if method == "sendMessage":
            return self._send_message(params)
        if method == "getMe":
            return _ok({"id": "b07", "account_name": "tthc.bot", "account_type": "BASIC", "can_join_groups": False})
        if method in ("setWebhook", "deleteWebhook"):
            with self.lock:
                self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token", "")}
            return _ok({"url": self.webhook["url"], "updated_at": int(time.time() * 1000)})
        return _error(404, "Not Found")

    async def _get_updates(self) -> JSONResponse:
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return _error(failure, "Too Many Requests" if failure == 429 else "Internal Server Error")
        deadline = time.monotonic() + self.idle_seconds
        while True:
            with self.lock:
                if self.queue:
                    return _ok(self.queue.pop(0))
            if time.monotonic() > deadline:
                return _error(408, "Request timeout")
            await asyncio.sleep(0.01)

    def _send_message(self, params: dict[str, Any]) -> JSONResponse:
        text, chat_id = params.get("text"), str(params.get("chat_id", ""))
        if not isinstance(text, str) or not 1 <= len(text) <= ZALO_TEXT_LIMIT:
            with self.lock:
                self.refused.append(params)
            return _error(400, "Bad Request: text must be 1-2000 characters")
        if chat_id in self.unreachable_chats:
            return _error(403, "Forbidden")
        with self.lock:
            self.sent.append({"chat_id": chat_id, "text": text})
            number = len(self.sent)
        return _ok({"message_id": f"out{number}", "date": int(time.time() * 1000)})


def text_update(text: str, chat_id: str, message_id: str) -> dict[str, Any]:
    """A `message.text.received` update as the Bot API gives it."""
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": message_id,
            "date": int(time.time() * 1000),
            "chat": {"id": chat_id, "chat_type": "PRIVATE"},
            "from": {"id": chat_id, "display_name": "Lan", "is_bot": False},
            "text": text,
        },
    }


def media_update(event_name: str, chat_id: str, message_id: str) -> dict[str, Any]:
    """An image or sticker update."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time() * 1000),
        "chat": {"id": chat_id, "chat_type": "PRIVATE"},
        "from": {"id": chat_id, "display_name": "Lan", "is_bot": False},
    }
    if event_name == "message.image.received":
        message["photo_url"] = "https://example.invalid/p.jpg"
    else:
        message["sticker"] = "abc123"
    return {"event_name": event_name, "message": message}


# -- Zalo Official Account ----------------------------------------------------------------------------------


class FakeZaloOA:
    """OAuth v4 token endpoint and the OA Open API v3 CS message endpoint."""

    def __init__(
        self, *, app_id: str, app_secret: str, refresh_token: str, oa_id: str = "4242", expires_in: int = 90000
    ) -> None:
        self.app_id, self.app_secret, self.oa_id = app_id, app_secret, oa_id
        self.expires_in = expires_in
        self.lock = threading.Lock()
        self.valid_refresh = {refresh_token}
        self.valid_access: set[str] = set()
        self.refreshes: list[tuple[str, bool]] = []  # (refresh token presented, accepted)
        self.sent: list[dict[str, Any]] = []
        self.waiting = 0  # sends held by `hold`
        self._released = threading.Event()
        self._released.set()
        self._serial = 0
        app = Starlette(
            routes=[
                Route("/v4/oa/access_token", self._access_token, methods=["POST"]),
                Route("/v3.0/oa/message/cs", self._message, methods=["POST"]),
            ]
        )
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        """The base URL for TTHC_ZALO_OA_API_URL and TTHC_ZALO_OA_OAUTH_URL."""
        return self.server.url

    def hold(self) -> None:
        """Keep every send waiting until `release` (a slow Zalo: the webhook must be answered regardless)."""
        self._released.clear()

    def release(self) -> None:
        """Let held sends finish."""
        self._released.set()

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is now refused (-216), as after a revocation."""
        with self.lock:
            self.valid_access.clear()

    def messages_to(self, user: str | None = None) -> list[dict[str, Any]]:
        """Sent message bodies (to one citizen's user id or message ids, or all)."""
        with self.lock:
            return [body for body in self.sent if user is None or body.get("_user") == user]

    def accepted_refreshes(self) -> list[str]:
        """The refresh tokens Zalo accepted, in order."""
        with self.lock:
            return [token for token, ok in self.refreshes if ok]

    def refused_refreshes(self) -> list[str]:
        """The refresh tokens Zalo refused, in order."""
        with self.lock:
            return [token for token, ok in self.refreshes if not ok]

    async def _access_token(self, request: Request) -> JSONResponse:
        form = await request.form()
        token = str(form.get("refresh_token", ""))
        authorised = (
            request.headers.get("secret_key") == self.app_secret
            and form.get("app_id") == self.app_id
            and form.get("grant_type") == "refresh_token"
        )
        with self.lock:
            accepted = authorised and token in self.valid_refresh
            self.refreshes.append((token, accepted))
            if not accepted:
                return JSONResponse({"error": -14014, "error_name": "Invalid refresh token", "error_reason": ""})
            self.valid_refresh.discard(token)  # single use
            self._serial += 1
            access, refresh = f"at-{self._serial}", f"rt-{self._serial}"
            self.valid_access.add(access)
            self.valid_refresh.add(refresh)
        return JSONResponse({"access_token": access, "refresh_token": refresh, "expires_in": str(self.expires_in)})

    async def _message(self, request: Request) -> JSONResponse:
        body = await request.json()
        token = request.headers.get("access_token", "")
        with self.lock:
            valid = token in self.valid_access
        if not valid:
            return JSONResponse({"error": -216, "message": "Access token is invalid"})
        text = body.get("message", {}).get("text", "")
        buttons = body.get("message", {}).get("attachment", {}).get("payload", {}).get("buttons", [])
        if not 1 <= len(text) <= ZALO_TEXT_LIMIT or len(buttons) > 4:
            return JSONResponse({"error": -201, "message": "Parameters are invalid"})
        with self.lock:
            self.waiting += 1
        try:
            while not self._released.is_set():
                await asyncio.sleep(0.01)
        finally:
            with self.lock:
                self.waiting -= 1
        recipient = body.get("recipient", {})
        with self.lock:
            self.sent.append({**body, "_user": recipient.get("user_id") or self._owner(recipient)})
            number = len(self.sent)
        return JSONResponse({"error": 0, "message": "Success", "data": {"message_id": f"oa{number}"}})

    def _owner(self, recipient: dict[str, Any]) -> str | None:
        # Zalo knows whose message a reply answers; the fake learns it from the tests' own ids ("<user>.<n>").
        message_id = str(recipient.get("message_id", ""))
        return message_id.split(".", 1)[0] if "." in message_id else None


def signed_event(event: dict[str, Any], app_id: str, secret_key: str) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its headers, signed as Zalo signs: sha256(app_id + body + timestamp + secret key)."""
    body = json.dumps(event, ensure_ascii=False).encode()
    mac = hashlib.sha256(app_id.encode() + body + str(event["timestamp"]).encode() + secret_key.encode()).hexdigest()
    return body, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}


def oa_text_event(app_id: str, user: str, text: str, message_id: str, oa_id: str = "4242") -> dict[str, Any]:
    """A `user_send_text` event."""
    return {
        "app_id": app_id,
        "event_name": "user_send_text",
        "sender": {"id": user},
        "recipient": {"id": oa_id},
        "message": {"text": text, "msg_id": message_id},
        "timestamp": str(int(time.time() * 1000)),
        "user_id_by_app": "9" + user,
    }


def oa_media_event(app_id: str, user: str, event_name: str, message_id: str, oa_id: str = "4242") -> dict[str, Any]:
    """A `user_send_image` / `user_send_sticker` event."""
    attachment = {"type": "image" if "image" in event_name else "sticker", "payload": {"url": "https://x.invalid/a"}}
    return {
        "app_id": app_id,
        "event_name": event_name,
        "sender": {"id": user},
        "recipient": {"id": oa_id},
        "message": {"msg_id": message_id, "attachments": [attachment]},
        "timestamp": str(int(time.time() * 1000)),
    }


def oa_follow_event(app_id: str, user: str, event_name: str = "follow", oa_id: str = "4242") -> dict[str, Any]:
    """A `follow` or `user_click_chatnow` event."""
    event: dict[str, Any] = {"app_id": app_id, "event_name": event_name, "timestamp": str(int(time.time() * 1000))}
    if event_name == "follow":
        event.update({"oa_id": oa_id, "follower": {"id": user}, "source": "testing"})
    else:
        event.update({"oa_id": oa_id, "user_id": user})
    return event
