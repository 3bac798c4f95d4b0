"""Zalo Official Account (Open API v3): signed webhooks in, customer-service replies out, over the same dialog.

Platform rules it keeps (reference/platforms.md §2B):
- A webhook is verified before it is parsed: `X-ZEvent-Signature: mac=<sha256 hex of app_id + raw body +
  timestamp + OA secret key>` (the timestamp of the body, else the `X-ZEvent-Timestamp` header), compared in
  constant time. It is answered at once and handled afterwards: Zalo wants a 200 within about 2 s.
- Replies go to `POST /v3.0/oa/message/cs` with `recipient.message_id` (the citizen's message), which makes
  them free replies: 8 within 48 hours of the citizen's last message. The window is kept per citizen in the
  shared state, each reply taking one of its 8 slots atomically (workers never send a 9th together); a longer
  answer is cut so the important part comes first, and what the window cannot carry waits until the citizen
  sends "gửi tiếp" (a new message, a new window). Nothing is sent with
  `user_id` alone (a paid proactive message) except the one greeting after a follow, at most once a week.
- Buttons are `oa.query.hide` (at most 4; the rest numbered in the text). Pressing one makes the citizen send
  its payload as a hidden text: "#" + our button data.
- Access tokens come from single-use refresh tokens. Each new pair is written to the ChannelToken row
  (compare-and-swap on its version) before it is used, so a restart or another worker continues with it.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import texts
from bot.channels import Assistant, Background, Capabilities, utf16_length
from bot.channels.plaintext import ZALO_MAX_TEXT, PlainMessage, render
from bot.conversation import Button, Incoming, Message, Reply
from bot.guards import MAX_BODY_BYTES, read_body
from bot.stores import seen_before
from knowledge.models import ChannelToken
from knowledge.normalize import fold

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

logger = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
CAPABILITIES = Capabilities(max_text=ZALO_MAX_TEXT, html=False, max_buttons=4)
WEBHOOK_PATH = "/zalo/oa/webhook"
MAX_WEBHOOK_BODY = MAX_BODY_BYTES  # updates are a few KB; anything near 1 MB is not from the platform
SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"
REPLY_QUOTA = 8  # free replies per citizen message (OA help centre: "8 tin trong 48 giờ")
REPLY_WINDOW_SECONDS = 48 * 3600
# Our clock and Zalo's differ a little: a reply sent a minute "before" the end must not become a paid message.
WINDOW_MARGIN_SECONDS = 15 * 60
GREETING_EVENTS = ("follow", "user_click_chatnow")
GREETED_SECONDS = 7 * 24 * 3600  # "Nhắn tin" is tapped often; a greeting sent with user_id alone is paid
TEXT_EVENT = "user_send_text"
OTHER_MESSAGE_EVENTS = (
    "user_send_image",
    "user_send_sticker",
    "user_send_gif",
    "user_send_file",
    "user_send_audio",
    "user_send_video",
    "user_send_location",
    "user_send_link",
    "user_send_business_card",
)
BUTTON_PREFIX = "#"
MAX_BUTTON_TITLE = 100
TOKEN_MARGIN_SECONDS = 300  # refresh this long before the access token runs out
RACE_CHECKS, RACE_PAUSE_SECONDS = 20, 0.25  # how long a refused refresh waits for another worker's rotation
EXPIRED_TOKEN_ERRORS = (-216, -124)  # access token invalid / expired: refresh once and retry
MORE_WORDS = frozenset(fold(word) for word in texts.ZALO_MORE_WORDS)
_BODY_TIMESTAMP = re.compile(rb'(?<!\\)"timestamp"\s*:\s*"?(\d{1,20})"?')


# -- webhook signature ------------------------------------------------------------------------------------


def signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """Zalo's webhook MAC: SHA-256 (not HMAC) of app id, raw body, timestamp and OA secret key, in hex."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret_key.encode()).hexdigest()


def verify_signature(header: str, app_id: str, body: bytes, secret_key: str, header_timestamp: str = "") -> bool:
    """Whether `X-ZEvent-Signature` signs this exact body. The timestamp is read from the raw bytes (the body
    is not parsed before it is trusted); the header's timestamp is tried too."""
    given = header.strip()
    if given.lower().startswith("mac="):
        given = given[4:]
    given = given.strip().lower()
    candidates = [match.decode() for match in _BODY_TIMESTAMP.findall(body)[:3]]
    if header_timestamp.strip().isdigit():
        candidates.append(header_timestamp.strip())
    valid = False
    for timestamp in candidates:  # every candidate is checked: the time taken says nothing about which matched
        valid |= hmac.compare_digest(given.encode(), signature(app_id, body, timestamp, secret_key).encode())
    return valid


# -- tokens -------------------------------------------------------------------------------------------------


class OATokenError(Exception):
    """No usable access token (Zalo unreachable, or the refresh token refused)."""


@dataclass(frozen=True)
class TokenPair:
    """The stored row: the pair, when the access token runs out, and the row's version."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    version: int


class TokenStore:
    """The channel's ChannelToken row: read, seeded once, replaced only by compare-and-swap on `version`."""

    def __init__(self, engine: Engine, channel: str = CHANNEL) -> None:
        self.engine, self.channel = engine, channel

    def load(self) -> TokenPair | None:
        """The stored pair, or None before the first run."""
        with Session(self.engine) as session:
            row = session.get(ChannelToken, self.channel)
            if row is None:
                return None
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
            return TokenPair(row.access_token, row.refresh_token, expires, row.version)

    def seed(self, refresh_token: str) -> None:
        """Store the operator's first refresh token, unless a row exists (another worker may seed too)."""
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        try:
            with Session(self.engine) as session:
                session.add(ChannelToken(channel=self.channel, refresh_token=refresh_token, expires_at=epoch))
                session.commit()
        except IntegrityError:
            pass

    def swap(self, version: int, access_token: str, refresh_token: str, expires_at: datetime) -> bool:
        """Replace the pair if the row is still at `version`; False when another worker rotated it first."""
        statement = (
            update(ChannelToken)
            .where(ChannelToken.channel == self.channel, ChannelToken.version == version)
            .values(
                access_token=access_token,
                refresh_token=refresh_token,
                expires_at=expires_at,
                version=version + 1,
                updated_at=datetime.now(UTC),
            )
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1


class OATokens:
    """A valid access token on demand: refreshed before it runs out, each rotation stored before use."""

    def __init__(
        self,
        store: TokenStore,
        http: httpx.AsyncClient,
        *,
        oauth_url: str,
        app_id: str,
        app_secret: str,
        first_refresh_token: str,
    ) -> None:
        self.store, self.http = store, http
        self.oauth_url = oauth_url.rstrip("/")
        self.app_id, self.app_secret = app_id, app_secret
        self.first_refresh_token = first_refresh_token
        self._lock = asyncio.Lock()

    async def access_token(self, stale: str | None = None) -> str:
        """The current access token; `stale` is one Zalo just refused (it is then replaced, once)."""
        async with self._lock:
            pair = await asyncio.to_thread(self.store.load)
            if pair is None:
                await asyncio.to_thread(self.store.seed, self.first_refresh_token)
                pair = await asyncio.to_thread(self.store.load)
                assert pair is not None
            if pair.access_token and pair.access_token != stale and _seconds_left(pair) > TOKEN_MARGIN_SECONDS:
                return pair.access_token
            return await self._rotate(pair)

    async def seconds_left(self) -> float:
        """How long the stored access token stays valid (0 when there is none)."""
        pair = await asyncio.to_thread(self.store.load)
        return _seconds_left(pair) if pair and pair.access_token else 0.0

    async def _rotate(self, pair: TokenPair) -> str:
        fresh = await self._request(pair.refresh_token)
        if fresh is None:
            # Refused: another worker may have used it a moment ago, and is storing the new pair now.
            for _ in range(RACE_CHECKS):
                again = await asyncio.to_thread(self.store.load)
                if again is not None and again.version != pair.version and again.access_token:
                    return again.access_token  # its token is ours too
                await asyncio.sleep(RACE_PAUSE_SECONDS)
            if self.first_refresh_token != pair.refresh_token:
                # The stored token is dead; the operator may have authorised again and set a new one.
                fresh = await self._request(self.first_refresh_token)
            if fresh is None:
                raise OATokenError(
                    "Zalo refused the OA refresh token: authorise the app again and set TTHC_ZALO_OA_REFRESH_TOKEN"
                )
        access, refresh, expires_at = fresh
        if await asyncio.to_thread(self.store.swap, pair.version, access, refresh, expires_at):
            logger.info("zalo_oa: access token refreshed (valid until %s)", expires_at.isoformat(timespec="minutes"))
            return access
        again = await asyncio.to_thread(self.store.load)
        logger.warning("zalo_oa: another worker refreshed the token at the same time; using the stored one")
        if again is None or not again.access_token:
            raise OATokenError("the stored Zalo OA token disappeared")
        return again.access_token

    async def _request(self, refresh_token: str) -> tuple[str, str, datetime] | None:
        """A new (access, refresh, expiry) from Zalo; None when the refresh token is refused."""
        form = {"app_id": self.app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            response = await self.http.post(
                f"{self.oauth_url}/v4/oa/access_token", data=form, headers={"secret_key": self.app_secret}
            )
        except httpx.HTTPError as error:
            raise OATokenError(f"Zalo OAuth unreachable ({type(error).__name__})") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise OATokenError(f"Zalo OAuth answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        access, refresh = data.get("access_token"), data.get("refresh_token")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            logger.error("zalo_oa: refresh refused (%s)", str(data.get("error_name") or data.get("error") or "?")[:80])
            return None
        try:
            lifetime = float(data.get("expires_in") or 0)  # a string of seconds in Zalo's answers
        except (TypeError, ValueError):
            lifetime = 0.0
        return access, refresh, datetime.now(UTC) + timedelta(seconds=lifetime or 3600)


def _seconds_left(pair: TokenPair) -> float:
    return (pair.expires_at - datetime.now(UTC)).total_seconds()


# -- the channel --------------------------------------------------------------------------------------------


class OASendError(Exception):
    """Zalo refused or did not take a message; `transient` when trying again later may work."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class ZaloOAChannel:
    """The Official Account: the webhook route, replies inside the free window, a token kept fresh."""

    name = CHANNEL

    def __init__(
        self,
        assistant: Assistant,
        tokens: OATokens,
        http: httpx.AsyncClient,
        *,
        app_id: str,
        secret_key: str,
        api_url: str,
    ) -> None:
        self.assistant = assistant
        self.tokens = tokens
        self.http = http
        self.app_id, self.secret_key = app_id, secret_key
        self.api_url = api_url.rstrip("/")
        self.background = Background(CHANNEL)

    # -- inbound ----------------------------------------------------------------------------------------

    def mount(self, web: "FastAPI") -> None:
        """The webhook route, POST /zalo/oa/webhook."""
        from fastapi import Request
        from fastapi.responses import Response

        @web.post(WEBHOOK_PATH, include_in_schema=False)
        async def zalo_oa_webhook(request: Request) -> Response:
            return Response(status_code=await self.receive(request))

    async def receive(self, request: "Request") -> int:
        """One webhook call: signature present, bounded body, signature valid, then parse; an HTTP status.
        The event is handled after the answer, in arrival order per citizen."""
        header = request.headers.get(SIGNATURE_HEADER) or ""
        if not header:
            return 401
        body = await read_body(request, MAX_WEBHOOK_BODY)
        if body is None:
            return 413
        if not verify_signature(header, self.app_id, body, self.secret_key, request.headers.get(TIMESTAMP_HEADER, "")):
            logger.warning("zalo_oa: refused a webhook call with a wrong signature")
            return 401
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            return 400
        if not isinstance(event, dict):
            return 400
        self.background.start(_citizen_of(event) or "?", lambda: self.handle(event))
        return 200

    async def handle(self, event: dict[str, Any]) -> None:
        """One event: a text goes to the dialog (or releases the rest of a long answer), other messages get a
        polite word, a follow gets the greeting; delivery receipts and echoes are ignored."""
        name = event.get("event_name")
        user = _citizen_of(event)
        if not user:
            return
        if name in GREETING_EVENTS:
            await self._greet(user)
            return
        if name != TEXT_EVENT and name not in OTHER_MESSAGE_EVENTS:
            return
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        message_id = str(message.get("msg_id") or "")
        if not message_id:
            return  # nothing to reply to: an answer would be a paid proactive message
        if await asyncio.to_thread(seen_before, self.assistant.state, f"{CHANNEL}:{message_id}"):
            return
        await asyncio.to_thread(self._open_window, user, message_id)
        text = message.get("text")
        if name != TEXT_EVENT or not isinstance(text, str):
            await self.deliver(user, render(Reply((Message(texts.NON_TEXT),)), CAPABILITIES), keep_rest=True)
            return
        if fold(text) in MORE_WORDS:
            pending = await asyncio.to_thread(self.assistant.state.get, _pending_key(user))
            if pending:
                await self.deliver(user, _messages_from_json(pending.get("messages", [])))
                return
        incoming = _incoming(user, text)
        try:
            reply = await asyncio.to_thread(self.assistant.respond, incoming)
            await self.deliver(user, render(reply, CAPABILITIES))
        except (OASendError, OATokenError) as error:
            logger.warning("zalo_oa: could not answer a message: %s", error)
            return
        except Exception:
            logger.exception("zalo_oa: could not answer a message")
            try:
                await self.deliver(user, render(Reply((Message(texts.ERROR_APOLOGY),)), CAPABILITIES), keep_rest=True)
            except Exception:  # the apology itself failed: nothing more to do
                logger.warning("zalo_oa: could not send the apology")
            return
        await asyncio.to_thread(self.assistant.record, incoming, reply)

    async def _greet(self, user: str) -> None:
        """The greeting after a follow or a tap on "Nhắn tin": a free reply when the window is open, else the
        one deliberate proactive message, at most once a week per citizen."""
        if await asyncio.to_thread(seen_before, self.assistant.state, f"{CHANNEL}:greeted:{user}", GREETED_SECONDS):
            return
        incoming = Incoming(CHANNEL, user, command="start")
        reply = await asyncio.to_thread(self.assistant.respond, incoming)
        messages = render(reply, CAPABILITIES)
        try:
            if await asyncio.to_thread(self._remaining, user) > 0:
                await self.deliver(user, messages)
            else:
                await self._post({"user_id": user}, messages[0])
        except (OASendError, OATokenError) as error:
            logger.warning("zalo_oa: could not send the greeting: %s", error)
            return
        await asyncio.to_thread(self.assistant.record, incoming, reply)

    # -- the reply window -------------------------------------------------------------------------------

    def _open_window(self, user: str, message_id: str) -> None:
        """A citizen's message opens a new window: REPLY_QUOTA free replies to it within 48 hours."""
        window = {"message_id": message_id, "opened": time.time()}
        self.assistant.state.put(_window_key(user), window, REPLY_WINDOW_SECONDS - WINDOW_MARGIN_SECONDS)

    def _window(self, user: str) -> "_Window | None":
        """The citizen's open window, with the free replies it has used (slots are taken in order)."""
        state = self.assistant.state
        window = state.get(_window_key(user))
        if not window:
            return None
        left = float(window.get("opened", 0)) + REPLY_WINDOW_SECONDS - WINDOW_MARGIN_SECONDS - time.time()
        if left <= 0:
            return None
        message_id = str(window["message_id"])
        used = next(
            (slot for slot in range(REPLY_QUOTA) if state.get(_slot_key(user, message_id, slot)) is None), REPLY_QUOTA
        )
        return _Window(message_id, left, used)

    def _remaining(self, user: str) -> int:
        window = self._window(user)
        return window.remaining if window else 0

    def _reserve(self, user: str, window: "_Window") -> bool:
        """Take the window's next reply slot before sending (a lost answer must not let a 9th through).

        Each slot is a row added only if absent, so two workers answering the same citizen at the same
        moment never take the same one: together they send at most REPLY_QUOTA free replies, never a paid one.
        """
        while window.used < REPLY_QUOTA:
            slot = window.used
            window.used += 1
            if self.assistant.state.add(_slot_key(user, window.message_id, slot), {}, window.left):
                return True
        return False

    # -- outbound ---------------------------------------------------------------------------------------

    async def deliver(self, user: str, messages: list[PlainMessage], *, keep_rest: bool = False) -> int:
        """Send as much as the window allows, in order; what does not fit waits for "gửi tiếp" (the last
        message sent says so) and replaces an earlier rest. A new answer also drops an earlier rest, unless
        `keep_rest` (a polite word, a staff answer). Returns how many messages were sent (0: window closed)."""
        window = await asyncio.to_thread(self._window, user)
        remaining = window.remaining if window else 0
        now, rest = list(messages), []
        if len(now) > remaining:
            if remaining == 0:
                return 0
            now, rest = now[:remaining], now[remaining:]
            last = now[-1]
            noted = f"{last.text}\n\n{texts.ZALO_MORE_NOTE}"
            more = Button(texts.ZALO_MORE_BUTTON, texts.ZALO_MORE_COMMAND)
            if utf16_length(noted) <= ZALO_MAX_TEXT:
                buttons = (*last.buttons, more) if len(last.buttons) < (CAPABILITIES.max_buttons or 0) else last.buttons
                now[-1] = PlainMessage(noted, buttons)
            else:
                now[-1], rest = PlainMessage(texts.ZALO_MORE_NOTE, (more,)), [last, *rest]
        state = self.assistant.state
        if rest:
            await asyncio.to_thread(
                state.put, _pending_key(user), {"messages": _messages_to_json(rest)}, REPLY_WINDOW_SECONDS
            )
        elif not keep_rest:
            await asyncio.to_thread(state.delete, _pending_key(user))
        sent = 0
        for message in now:
            assert window is not None  # remaining > 0
            if not await asyncio.to_thread(self._reserve, user, window):
                break  # another worker used the rest of the window meanwhile
            await self._post({"message_id": window.message_id}, message)
            sent += 1
        return sent

    async def send(self, user_id: str, reply: Reply) -> bool:
        """A staff answer: only as a free reply inside the citizen's window; False otherwise (never paid)."""
        try:
            async with self.background.serial(user_id):  # not between the parts of an answer being sent
                return await self.deliver(user_id, render(reply, CAPABILITIES), keep_rest=True) > 0
        except OASendError as error:
            if error.transient:
                raise  # Zalo is unreachable for now: the delivery is retried
            logger.warning("zalo_oa: could not deliver a message: %s", error)
            return False

    async def _post(self, recipient: dict[str, str], message: PlainMessage) -> None:
        """POST /v3.0/oa/message/cs; an expired access token is refreshed once."""
        body: dict[str, Any] = {"recipient": recipient, "message": _message_json(message)}
        token = await self.tokens.access_token()
        for attempt in (1, 2):
            try:
                response = await self.http.post(
                    f"{self.api_url}/v3.0/oa/message/cs", json=body, headers={"access_token": token}
                )
            except httpx.HTTPError as error:
                raise OASendError(f"Zalo OA API unreachable ({type(error).__name__})", transient=True) from None
            try:
                data = response.json()
            except ValueError:
                data = {}
            data = data if isinstance(data, dict) else {}
            error_code = data.get("error")
            if response.is_success and error_code == 0:
                return
            if error_code in EXPIRED_TOKEN_ERRORS and attempt == 1:
                token = await self.tokens.access_token(stale=token)
                continue
            detail = str(data.get("message") or response.reason_phrase)[:120]
            raise OASendError(
                f"Zalo OA API refused a message: {error_code} {detail} (HTTP {response.status_code})",
                transient=response.status_code >= 500 or response.status_code == 429,
            )

    # -- background work --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled: keep the access token fresh, so a refresh token never ages out unused."""
        pause = 5.0
        try:
            while True:
                try:
                    await self.tokens.access_token()
                    left = await self.tokens.seconds_left()
                    pause = 5.0
                    await asyncio.sleep(min(max(left - TOKEN_MARGIN_SECONDS, 30.0), 3600.0))
                except OATokenError as error:
                    logger.error("zalo_oa: %s; retrying in %.0f s", error, pause)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 600.0)
        finally:
            await self.background.drain()
            await self.http.aclose()


@dataclass
class _Window:
    """A citizen's free reply window: the message replies name, its seconds left, the replies it has used."""

    message_id: str
    left: float
    used: int

    @property
    def remaining(self) -> int:
        return REPLY_QUOTA - self.used


def _window_key(user: str) -> str:
    return f"{CHANNEL}:window:{user}"


def _slot_key(user: str, message_id: str, slot: int) -> str:
    return f"{CHANNEL}:reply:{user}:{message_id}:{slot}"


def _pending_key(user: str) -> str:
    return f"{CHANNEL}:pending:{user}"


def _citizen_of(event: dict[str, Any]) -> str:
    """The citizen an event is about: the sender of a message, the follower, or the user who tapped."""
    for holder in ("sender", "follower"):
        value = event.get(holder)
        if isinstance(value, dict) and value.get("id") not in (None, ""):
            return str(value["id"])
    user = event.get("user_id")
    return str(user) if user not in (None, "") else ""


def _incoming(user: str, text: str) -> Incoming:
    """A typed text, or the hidden text a pressed `oa.query.hide` button sends ("#" + button data)."""
    stripped = text.strip()
    if stripped.startswith(BUTTON_PREFIX) and len(stripped) > 1 and " " not in stripped:
        return Incoming(CHANNEL, user, button=stripped[len(BUTTON_PREFIX) :])
    return Incoming(CHANNEL, user, text=text)


def _message_json(message: PlainMessage) -> dict[str, Any]:
    """A CS message body: text, and `oa.query.hide` buttons when there are some."""
    body: dict[str, Any] = {"text": message.text}
    if message.buttons:
        buttons = [
            {
                "title": button.label[:MAX_BUTTON_TITLE],
                "type": "oa.query.hide",
                "payload": button.data if button.data == texts.ZALO_MORE_COMMAND else BUTTON_PREFIX + button.data,
            }
            for button in message.buttons
        ]
        body["attachment"] = {"type": "template", "payload": {"buttons": buttons}}
    return body


def _messages_to_json(messages: list[PlainMessage]) -> list[dict[str, Any]]:
    return [
        {"text": message.text, "buttons": [[button.label, button.data] for button in message.buttons]}
        for message in messages
    ]


def _messages_from_json(items: list[dict[str, Any]]) -> list[PlainMessage]:
    return [
        PlainMessage(
            str(item.get("text", "")), tuple(Button(str(label), str(data)) for label, data in item.get("buttons", []))
        )
        for item in items
        if isinstance(item, dict) and item.get("text")
    ]


def from_settings(assistant: Assistant) -> ZaloOAChannel | None:
    """The OA channel when its app id, app secret, secret key and first refresh token are all set."""
    settings = assistant.settings
    if not settings.zalo_oa_enabled:
        if settings.zalo_oa_missing:
            from bot.app import SetupError

            raise SetupError(f"the Zalo Official Account also needs {', '.join(settings.zalo_oa_missing)}")
        return None
    assert settings.zalo_oa_app_id and settings.zalo_oa_app_secret and settings.zalo_oa_secret_key
    assert settings.zalo_oa_refresh_token is not None
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
    tokens = OATokens(
        TokenStore(assistant.engine),
        http,
        oauth_url=settings.zalo_oa_oauth_url,
        app_id=settings.zalo_oa_app_id.strip(),
        app_secret=settings.zalo_oa_app_secret.get_secret_value().strip(),
        first_refresh_token=settings.zalo_oa_refresh_token.get_secret_value().strip(),
    )
    return ZaloOAChannel(
        assistant,
        tokens,
        http,
        app_id=settings.zalo_oa_app_id.strip(),
        secret_key=settings.zalo_oa_secret_key.get_secret_value().strip(),
        api_url=settings.zalo_oa_api_url,
    )
