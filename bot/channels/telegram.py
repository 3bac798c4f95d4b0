"""Telegram (python-telegram-bot): Update -> Incoming, Reply -> HTML messages with inline keyboards.

Thin by design: the dialog decides, this module only translates and sends. Platform rules it keeps:
HTML parse mode with everything escaped by bot.texts, messages under 4,096 characters split on line
boundaries, callback data under 64 bytes (bot.conversation), every callback query answered. Polling, or a
webhook on the web server whose secret header is checked before the body is read.
"""

import asyncio
import hmac
import html
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import texts
from bot.channels import Assistant, Capabilities, Exclusive, retrying, run_at_once, utf16_length
from bot.conversation import Button, Incoming, Message, Reply
from bot.guards import MAX_BODY_BYTES, read_body
from bot.tickets import TicketError, answer_ticket, ticket_for_staff_post

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
CAPABILITIES = Capabilities(max_text=MAX_TEXT, html=True, max_buttons=None)
SEND_ATTEMPTS = 3
FIRST_PAUSE, MAX_PAUSE = 5.0, 300.0  # seconds between retries of start-up and webhook registration
MAX_WEBHOOK_BODY = MAX_BODY_BYTES  # updates are a few KB; anything near 1 MB is not from the platform
ALLOWED = [Update.MESSAGE, Update.CALLBACK_QUERY]
_TAG = texts.TAG_PATTERN


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a message on line boundaries so each part fits; our tags never span lines."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_length(line) > limit:  # one enormous line: cut at a space, as plain text
            plain = html.escape(html.unescape(_TAG.sub("", line)), quote=False)
            cut = plain.rfind(" ", 0, limit - 1)
            cut = cut if cut > 0 else limit - 1
            while "&" in plain[max(0, cut - 8) : cut] and ";" not in plain[plain.rfind("&", 0, cut) : cut]:
                cut -= 1  # never cut an entity in half
            if current:
                parts.append(current)
                current = ""
            parts.append(plain[:cut])
            line = plain[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if utf16_length(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return parts or [texts.EMPTY]


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard of a message's buttons (labels cut to a readable length)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label[:64], callback_data=button.data) for button in row] for row in rows]
    )


async def _send(send: Callable[[], Awaitable[object]]) -> None:
    """Send, retrying on flood control and passing network trouble; a bad request is not retried.

    After the last attempt the error is raised, so the error handler logs it: nothing is dropped silently.
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await send()
            return
        except RetryAfter as error:  # the rate limiter retries too; this covers a limit hit regardless
            if attempt == SEND_ATTEMPTS:
                raise
            delay = error.retry_after
            await asyncio.sleep(delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay))
        except BadRequest:
            raise
        except (TimedOut, NetworkError):
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(0.5 * attempt)


async def deliver(bot: Bot, chat_id: int, reply: Reply) -> int | None:
    """Send every message of a reply; buttons go under the last part of each message. Returns the id of the
    last message sent."""
    sent_id: int | None = None
    for message in reply.messages:
        parts = split_html(message.html)
        for number, part in enumerate(parts, start=1):
            markup = keyboard(message.buttons) if number == len(parts) else None

            async def send(part: str = part, markup: InlineKeyboardMarkup | None = markup) -> None:
                nonlocal sent_id
                try:
                    sent = await bot.send_message(
                        chat_id,
                        part,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )
                except BadRequest as error:
                    if "parse" not in str(error).lower():
                        raise
                    # Should never happen (everything is escaped); if it does, the citizen still gets text.
                    sent = await bot.send_message(chat_id, texts.strip_tags(part), reply_markup=markup)
                sent_id = sent.message_id

            await _send(send)
    return sent_id


class TelegramHandlers:
    """Handlers that turn Telegram updates into dialog events and replies into messages."""

    def __init__(
        self, assistant: Assistant, staff_ids: frozenset[int] = frozenset(), staff_chat_id: int | None = None
    ) -> None:
        self.assistant = assistant
        self.staff_ids = staff_ids
        self.staff_chat_id = staff_chat_id

    async def deliver(self, chat_id: int, reply: Reply, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send a reply in the chat the update came from."""
        await deliver(context.bot, chat_id, reply)

    async def _answer(self, update: Update, context: ContextTypes.DEFAULT_TYPE, incoming: Incoming) -> None:
        reply = await asyncio.to_thread(self.assistant.respond, incoming)
        chat = update.effective_chat
        if chat is not None:
            await self.deliver(chat.id, reply, context)
        await asyncio.to_thread(self.assistant.record, incoming, reply)

    @staticmethod
    def _user(update: Update) -> str:
        user = update.effective_user
        return str(user.id) if user else "unknown"

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, with or without a deep-link payload."""
        payload = context.args[0] if context.args else None
        await self._answer(update, context, Incoming(CHANNEL, self._user(update), command="start", payload=payload))

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help."""
        await self._answer(update, context, Incoming(CHANNEL, self._user(update), command="help"))

    async def on_browse(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/linhvuc: procedures by field."""
        await self._answer(update, context, Incoming(CHANNEL, self._user(update), command="linhvuc"))

    async def on_ask_staff(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/hoicanbo: hand a question to a person."""
        await self._answer(update, context, Incoming(CHANNEL, self._user(update), command=texts.TICKET_COMMAND))

    async def on_staff_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In the staff group, a reply to a ticket's post answers that ticket (delivered to the citizen)."""
        message = update.effective_message
        if message is None or message.reply_to_message is None or not message.text:
            return
        ticket = await asyncio.to_thread(
            ticket_for_staff_post, self.assistant.engine, message.reply_to_message.message_id
        )
        staff = update.effective_user.full_name if update.effective_user else "telegram"
        try:
            if ticket is None:
                raise TicketError("not a ticket")
            await asyncio.to_thread(answer_ticket, self.assistant.engine, ticket.code, message.text, staff=staff)
            text = texts.STAFF_GROUP_ANSWERED.format(code=ticket.code)
        except TicketError:
            text = texts.STAFF_GROUP_NOT_A_TICKET
        await message.reply_text(text)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any text message: a question."""
        text = update.effective_message.text if update.effective_message else ""
        await self._answer(update, context, Incoming(CHANNEL, self._user(update), text=text or ""))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on an inline button; answered first so the client stops its spinner."""
        query = update.callback_query
        try:
            await query.answer()
        except (BadRequest, NetworkError):  # "query is too old" after downtime: the answer still matters
            logger.warning("could not answer a callback query", exc_info=True)
        await self._answer(update, context, Incoming(CHANNEL, self._user(update), button=query.data or ""))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice...: a polite word."""
        if update.effective_chat:
            await self.deliver(update.effective_chat.id, Reply((Message(texts.NON_TEXT),)), context)

    def _is_staff(self, update: Update) -> bool:
        return bool(update.effective_user and update.effective_user.id in self.staff_ids)

    async def on_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/reload (staff): rebuild the index after an import."""
        if not self._is_staff(update):
            text = texts.STAFF_ONLY
        else:
            text = texts.RELOADED.format(count=await asyncio.to_thread(self.assistant.reload))
        await self.deliver(update.effective_chat.id, Reply((Message(text),)), context)

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats (staff): today's questions, answered share, top unanswered."""
        text = await asyncio.to_thread(self.assistant.stats_text) if self._is_staff(update) else texts.STAFF_ONLY
        await self.deliver(update.effective_chat.id, Reply((Message(text),)), context)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the traceback; tell the citizen something went wrong, never what."""
        logger.error("error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat:
            try:
                await context.bot.send_message(update.effective_chat.id, texts.ERROR_APOLOGY)
            except Exception:  # the apology itself failed: nothing more to do
                logger.exception("could not send the apology")

    def register(self, application: Application) -> None:
        """Attach every handler to an application. Citizens talk to the bot in private chats; in the staff
        group only replies to ticket posts are read."""
        if self.staff_chat_id is not None:
            staff_group = filters.Chat(self.staff_chat_id) & filters.REPLY & filters.TEXT & ~filters.COMMAND
            application.add_handler(MessageHandler(staff_group, self.on_staff_reply))
        private = filters.ChatType.PRIVATE
        messages = filters.UpdateType.MESSAGE & private
        application.add_handler(CommandHandler("start", self.on_start, filters=private))
        application.add_handler(CommandHandler("help", self.on_help, filters=private))
        application.add_handler(CommandHandler("linhvuc", self.on_browse, filters=private))
        application.add_handler(CommandHandler(texts.TICKET_COMMAND, self.on_ask_staff, filters=private))
        application.add_handler(CommandHandler("reload", self.on_reload, filters=private))
        application.add_handler(CommandHandler("stats", self.on_stats, filters=private))
        application.add_handler(MessageHandler(messages & filters.COMMAND, self.on_help))
        application.add_handler(MessageHandler(messages & filters.TEXT, self.on_text))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(messages & ~filters.TEXT, self.on_other))
        application.add_error_handler(self.on_error)


async def register_commands(application: Application) -> None:
    """The command menu, in Vietnamese."""
    await application.bot.set_my_commands(
        [BotCommand(command, description) for command, description in texts.COMMANDS.items()]
    )


def bot_api_urls(base_url: str) -> tuple[str, str]:
    """Bot API and file URLs from TTHC_TELEGRAM_BASE_URL (with or without the trailing /bot)."""
    base = base_url.rstrip("/")
    root = base[: -len("/bot")] if base.endswith("/bot") else base
    return f"{root}/bot", f"{root}/file/bot"


def build_application(
    assistant: Assistant,
    token: str,
    *,
    base_url: str | None = None,
    staff_ids: frozenset[int] = frozenset(),
    staff_chat_id: int | None = None,
    request: BaseRequest | None = None,
    rate_limit: bool = True,
) -> Application:
    """The PTB Application with every handler, rate limiting and Vietnamese commands."""
    builder = ApplicationBuilder().token(token).concurrent_updates(16)
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    if base_url:
        api, files = bot_api_urls(base_url)
        builder = builder.base_url(api).base_file_url(files)
    if request is not None:
        builder = builder.request(request).get_updates_request(request).updater(None)
    application = builder.build()
    TelegramHandlers(assistant, staff_ids, staff_chat_id).register(application)
    return application


class TelegramChannel:
    """Telegram beside the web server: long polling, or a webhook route checked before it is read."""

    name = CHANNEL

    def __init__(
        self,
        application: Application,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        staff_chat_id: int | None = None,
    ) -> None:
        self.application = application
        self.staff_chat_id = staff_chat_id
        self.webhook_url = webhook_url
        # Never accept unsigned updates: without a configured secret, make one and give it to Telegram.
        self.webhook_secret = (webhook_secret or secrets.token_urlsafe(32)) if webhook_url else None
        # How long polling is run: at once here; the server wraps it in a lease (bot.leases) so that one
        # process of the deployment polls while every process can send.
        self.exclusive: Exclusive = run_at_once

    def mount(self, web: "FastAPI") -> None:
        """In webhook mode, the route Telegram posts updates to."""
        if not self.webhook_url:
            return
        from fastapi import Request
        from fastapi.responses import Response

        path = urlsplit(self.webhook_url).path or "/telegram"

        @web.post(path, include_in_schema=False)
        async def telegram_webhook(request: Request) -> Response:
            return Response(status_code=await self.receive(request))

    async def send(self, user_id: str, reply: Reply) -> bool:
        """A message the citizen did not just ask for (a staff answer); False when the citizen blocked the bot
        or the chat is gone. Network trouble is raised, so the delivery is retried."""
        try:
            await deliver(self.application.bot, int(user_id), reply)
        except (Forbidden, BadRequest) as error:
            logger.info("a staff answer could not reach a Telegram chat: %s", error)
            return False
        return True

    async def post_to_staff(self, text: str) -> int | None:
        """Post to the staff group (a new ticket); returns the message id staff reply to."""
        if self.staff_chat_id is None:
            return None
        return await deliver(self.application.bot, self.staff_chat_id, Reply((Message(text),)))

    async def receive(self, request: "Request") -> int:
        """One webhook call: the secret header first, then a bounded body, then a safe parse; an HTTP status."""
        header = request.headers.get("X-Telegram-Bot-Api-Secret-Token") or ""
        assert self.webhook_secret is not None
        if not hmac.compare_digest(header.encode(), self.webhook_secret.encode()):
            return 403
        body = await read_body(request, MAX_WEBHOOK_BODY)
        if body is None:
            return 413
        try:
            data = json.loads(body)
            update = Update.de_json(data, self.application.bot) if isinstance(data, dict) else None
        except (ValueError, RecursionError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            return 400
        await self.application.update_queue.put(update)
        return 200

    async def run(self) -> None:
        """Run the bot in this event loop until cancelled, beside the web server.

        Telegram being unreachable (or the token revoked) must not take the web chat down: start-up is
        retried with a growing pause, and failures are logged.
        """
        application = self.application
        # Any error: a revoked token or a Bot API that answers nonsense must not stop the retries either.
        await retrying(
            application.initialize,
            "Telegram is unreachable (%s); retrying in %.0f s",
            (Exception,),
            FIRST_PAUSE,
            MAX_PAUSE,
        )
        try:
            try:
                await register_commands(application)
            except (NetworkError, TimedOut) as error:  # only the command menu: the bot works without it
                logger.warning("could not register the Telegram commands (%s)", error)
            await application.start()
            if self.webhook_url:
                await self._set_webhook()
                await asyncio.Event().wait()  # until cancelled
            else:
                await self.exclusive(self.poll)
        finally:
            if application.updater and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()

    async def _set_webhook(self) -> None:
        """Tell Telegram where to post updates, retrying with a growing pause while it is unreachable."""
        await retrying(
            self._register_webhook,
            "could not set the Telegram webhook (%s); retrying in %.0f s",
            (NetworkError, TimedOut),
            FIRST_PAUSE,
            MAX_PAUSE,
        )

    async def _register_webhook(self) -> None:
        await self.application.bot.set_webhook(
            self.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED
        )

    async def poll(self) -> None:
        """Long polling until cancelled (the application is started; `exclusive` decides when this runs)."""
        updater = self.application.updater
        assert updater is not None
        # bootstrap_retries=-1: if Telegram is unreachable when polling starts, keep trying (PTB gives up at once).
        await updater.start_polling(allowed_updates=ALLOWED, bootstrap_retries=-1)
        try:
            await asyncio.Event().wait()
        finally:
            if updater.running:
                await updater.stop()


def from_settings(assistant: Assistant) -> TelegramChannel | None:
    """The Telegram channel when TTHC_TELEGRAM_TOKEN is set."""
    settings = assistant.settings
    if settings.telegram_token is None:
        return None
    application = build_application(
        assistant,
        settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_base_url,
        staff_ids=settings.staff_id_set,
        staff_chat_id=settings.staff_chat_id,
    )
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
    if settings.telegram_webhook_url and not secret:
        secret = assistant.shared_secret("telegram_webhook")  # the same on every worker that may receive it
    return TelegramChannel(
        application,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=secret,
        staff_chat_id=settings.staff_chat_id,
    )
