"""Zalo Bot Platform: a thin httpx client of its Telegram-like API, and the channel over the same dialog.

Platform rules it keeps (reference/platforms.md §2A): methods are POSTs to `{base}/bot{TOKEN}/{method}`, so
the token is in every URL and no URL is ever logged (httpx's request lines for this client are dropped, and
errors carry the method name only); `getUpdates` has no offset and replays consumed updates, so updates are
deduplicated by `message_id` and polls are at least a second apart; an idle long poll ends with HTTP 408;
429 and 5xx are retried with a growing pause; `sendMessage` takes 1-2,000 characters of plain text; there
are no buttons, so choices are numbered and a typed digit presses one (bot.channels.plaintext, the dialog).
Webhook mode checks `X-Bot-Api-Secret-Token` before reading the body and accepts both body shapes (bare, or
wrapped in {"ok", "result"}).
"""

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from bot import texts
from bot.channels import Assistant, Background, Capabilities, Exclusive, retrying, run_at_once
from bot.channels.plaintext import ZALO_MAX_TEXT, render
from bot.conversation import Incoming, Message, Reply
from bot.guards import MAX_BODY_BYTES, read_body
from bot.stores import seen_before

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

logger = logging.getLogger(__name__)

CHANNEL = "zalo_bot"
CAPABILITIES = Capabilities(max_text=ZALO_MAX_TEXT, html=False, max_buttons=0)
POLL_SECONDS = 30  # getUpdates long-poll timeout
MIN_POLL_INTERVAL = 1.0  # the API answers at once while updates queue (and replays them): never poll faster
MAX_PAUSE = 60.0
SEND_ATTEMPTS = 3
MAX_WEBHOOK_BODY = MAX_BODY_BYTES  # updates are a few KB; anything near 1 MB is not from the platform
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


class ZaloBotError(Exception):
    """A failed API call, described without its URL (the URL holds the token)."""

    def __init__(self, method: str, description: str, *, status: int = 0, transient: bool = False) -> None:
        super().__init__(f"Zalo Bot API {method}: {description}" + (f" (HTTP {status})" if status else ""))
        self.method, self.status, self.transient = method, status, transient


class PollIdle(Exception):
    """A long poll ended without an update (HTTP 408): normal, not an error."""


class _DropTokenLines(logging.Filter):
    """Drops log records that would show the token (httpx logs every request's URL at INFO)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return self.token not in record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True


class ZaloBotClient:
    """The Bot API methods the channel uses, over one httpx.AsyncClient."""

    def __init__(self, token: str, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/bot{token}/",
            timeout=httpx.Timeout(15.0, read=POLL_SECONDS + 15.0),
            transport=transport,
        )
        self._filter = _DropTokenLines(token)
        for name in HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    async def aclose(self) -> None:
        """Close the connections (and stop filtering log lines for this token); closing twice is harmless."""
        await self._client.aclose()
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)

    async def call(self, method: str, params: dict[str, Any] | None = None, *, read_timeout: float = 15.0) -> Any:
        """One method's `result`; PollIdle on 408; ZaloBotError otherwise (transient: network, 429, 5xx)."""
        timeout = httpx.Timeout(15.0, read=read_timeout)
        try:
            response = await self._client.post(method, json=params or {}, timeout=timeout)
        except httpx.HTTPError as error:
            # The exception's request (and some messages) hold the URL: only its kind goes on.
            raise ZaloBotError(method, type(error).__name__, transient=True) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        code = data.get("error_code")
        if response.status_code == 408 or code == 408:
            raise PollIdle
        if response.is_success and data.get("ok") is True:
            return data.get("result")
        status = response.status_code if not response.is_success else (code if isinstance(code, int) else 0)
        description = str(data.get("description") or response.reason_phrase or "error")[:200]
        transient = status == 429 or status >= 500
        raise ZaloBotError(method, description, status=status, transient=transient)

    async def get_updates(self, timeout: int = POLL_SECONDS) -> list[dict[str, Any]]:
        """The queued updates (the API gives one object; a list is accepted too); PollIdle when none came."""
        result = await self.call("getUpdates", {"timeout": str(timeout)}, read_timeout=timeout + 15.0)
        if isinstance(result, dict):
            return [result]
        return [item for item in result or [] if isinstance(item, dict)]

    async def send_message(self, chat_id: str, text: str) -> None:
        """One plain-text message (1-2,000 characters)."""
        await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def set_webhook(self, url: str, secret_token: str) -> None:
        """Deliver updates to `url` with the secret header (polling stops working)."""
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        """Back to polling (getUpdates fails while a webhook is set)."""
        await self.call("deleteWebhook")


def unwrap(body: Any) -> dict[str, Any] | None:
    """The update in a webhook body, bare or wrapped in {"ok": true, "result": ...} (both are seen)."""
    if not isinstance(body, dict):
        return None
    if body.get("ok") is True and isinstance(body.get("result"), dict):
        return body["result"]
    return body if isinstance(body.get("message"), dict) else None


class ZaloBotChannel:
    """The Zalo Bot beside the web server: long polling (one process), or a webhook on the web server."""

    name = CHANNEL

    def __init__(
        self,
        assistant: Assistant,
        client: ZaloBotClient,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        min_poll_interval: float = MIN_POLL_INTERVAL,
        first_pause: float = 2.0,
        poll_seconds: int = POLL_SECONDS,
    ) -> None:
        self.assistant = assistant
        self.client = client
        self.webhook_url = webhook_url
        # Never accept unsigned updates: without a configured secret, make one and give it to Zalo.
        self.webhook_secret = (webhook_secret or secrets.token_urlsafe(32)) if webhook_url else None
        self.min_poll_interval = max(min_poll_interval, 0.0)
        self.first_pause = first_pause
        self.poll_seconds = poll_seconds
        self.background = Background(CHANNEL)
        self.exclusive: Exclusive = run_at_once  # the server makes it a lease: one process polls

    # -- inbound ----------------------------------------------------------------------------------------

    def mount(self, web: "FastAPI") -> None:
        """In webhook mode, the route Zalo posts updates to (the path of TTHC_ZALO_BOT_WEBHOOK_URL)."""
        if not self.webhook_url:
            return
        from fastapi import Request
        from fastapi.responses import Response

        path = urlsplit(self.webhook_url).path or "/zalo/bot/webhook"

        @web.post(path, include_in_schema=False)
        async def zalo_bot_webhook(request: Request) -> Response:
            return Response(status_code=await self.receive(request))

    async def receive(self, request: "Request") -> int:
        """One webhook call: the secret header first, then a bounded body, then a safe parse; an HTTP status.
        The update is handled after the answer (Zalo only needs to know it arrived)."""
        header = request.headers.get(SECRET_HEADER) or ""
        assert self.webhook_secret is not None
        if not hmac.compare_digest(header.encode(), self.webhook_secret.encode()):
            return 401
        body = await read_body(request, MAX_WEBHOOK_BODY)
        if body is None:
            return 413
        try:
            update = unwrap(json.loads(body))
        except (ValueError, RecursionError):
            update = None
        if update is None:
            return 400
        self.background.start(_chat_of(update) or "?", lambda: self.handle(update))
        return 200

    async def handle(self, update: dict[str, Any]) -> None:
        """One update: a text goes to the dialog, anything else gets a polite word; replays are dropped."""
        message = update.get("message")
        chat_id = _chat_of(update)
        if not isinstance(message, dict) or not chat_id:
            return
        message_id = message.get("message_id")
        if message_id and await asyncio.to_thread(seen_before, self.assistant.state, f"{CHANNEL}:{message_id}"):
            return
        text = message.get("text")
        event = update.get("event_name") or (TEXT_EVENT if isinstance(text, str) else "")
        if event != TEXT_EVENT or not isinstance(text, str):
            await self.deliver(chat_id, Reply((Message(texts.NON_TEXT),)))
            return
        incoming = Incoming(CHANNEL, chat_id, text=text)
        try:
            reply = await asyncio.to_thread(self.assistant.respond, incoming)
            await self.deliver(chat_id, reply)
        except Exception:
            logger.exception("zalo_bot: could not answer a message")
            with contextlib.suppress(Exception):
                await self.deliver(chat_id, Reply((Message(texts.ERROR_APOLOGY),)))
            return
        await asyncio.to_thread(self.assistant.record, incoming, reply)

    # -- outbound ---------------------------------------------------------------------------------------

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Every message of a reply as plain text, in order; transient failures retried, the last raised."""
        for message in render(reply, CAPABILITIES):
            for attempt in range(1, SEND_ATTEMPTS + 1):
                try:
                    await self.client.send_message(chat_id, message.text)
                    break
                except ZaloBotError as error:
                    if not error.transient or attempt == SEND_ATTEMPTS:
                        raise
                    await asyncio.sleep(self.first_pause * attempt)

    async def send(self, user_id: str, reply: Reply) -> bool:
        """A message the citizen did not just ask for (a staff answer): a bot chat takes one at any time."""
        try:
            await self.deliver(user_id, reply)
        except ZaloBotError as error:
            if error.transient:
                raise  # Zalo is unreachable for now: the delivery is retried
            logger.warning("zalo_bot: could not deliver a message: %s", error)
            return False
        return True

    # -- background work --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled: register the webhook, or poll through `exclusive` (one process of the deployment
        polls; sending and webhooks work in every process, with the client open until the end)."""
        try:
            if self.webhook_url:
                await retrying(
                    self._register_webhook,
                    "zalo_bot: could not register the webhook (%s); retrying in %.0f s",
                    (ZaloBotError,),
                    self.first_pause,
                    MAX_PAUSE,
                )
                await asyncio.Event().wait()
            else:
                await self.exclusive(self._take_over_and_poll)
                await asyncio.Event().wait()  # the lease ended with the server: wait to be cancelled too
        finally:
            await self.background.drain()
            await self.client.aclose()

    async def _take_over_and_poll(self) -> None:
        with contextlib.suppress(ZaloBotError, PollIdle):  # a clean bot may answer 404
            await self.client.delete_webhook()
        await self.poll()

    async def _register_webhook(self) -> None:
        assert self.webhook_url and self.webhook_secret
        await self.client.set_webhook(self.webhook_url, self.webhook_secret)

    async def poll(self) -> None:
        """Long polling until cancelled: 408 is an idle poll; network errors, 429 and 5xx pause longer each
        time; other refusals (a revoked token) are logged and retried slowly; replays are handled once."""
        failures = 0
        while True:
            try:
                updates = await self.client.get_updates(self.poll_seconds)
                failures = 0
            except PollIdle:
                updates, failures = [], 0
            except ZaloBotError as error:
                failures += 1
                pause = min(self.first_pause * 2 ** (failures - 1), MAX_PAUSE) if error.transient else MAX_PAUSE
                logger.warning("zalo_bot: polling failed (%s); retrying in %.0f s", error, pause)
                await asyncio.sleep(max(pause, self.min_poll_interval))
                continue
            for update in updates:
                try:
                    await self.handle(update)
                except Exception:
                    logger.exception("zalo_bot: could not handle an update")
            await asyncio.sleep(self.min_poll_interval)


def _chat_of(update: dict[str, Any]) -> str:
    """The chat an update came from (a private chat's id is the citizen's)."""
    message = update.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    if chat_id is None and isinstance(message, dict) and isinstance(message.get("from"), dict):
        chat_id = message["from"].get("id")
    return str(chat_id) if chat_id not in (None, "") else ""


def from_settings(assistant: Assistant) -> ZaloBotChannel | None:
    """The Zalo Bot channel when TTHC_ZALO_BOT_TOKEN is set."""
    settings = assistant.settings
    if not settings.zalo_bot_enabled or settings.zalo_bot_token is None:
        return None
    secret = settings.zalo_bot_webhook_secret.get_secret_value() if settings.zalo_bot_webhook_secret else None
    if settings.zalo_bot_webhook_url and not secret:
        secret = assistant.shared_secret("zalo_bot_webhook")  # the same on every worker that may receive it
    if secret and not 8 <= len(secret) <= 256:
        from bot.app import SetupError

        raise SetupError("TTHC_ZALO_BOT_WEBHOOK_SECRET must be 8-256 characters (Zalo's rule for secret_token)")
    client = ZaloBotClient(settings.zalo_bot_token.get_secret_value().strip(), settings.zalo_bot_base_url)
    return ZaloBotChannel(
        assistant,
        client,
        webhook_url=settings.zalo_bot_webhook_url or None,
        webhook_secret=secret or None,
    )
