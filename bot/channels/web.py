"""The web channel: the chat page and its JSON API, and the QR landing pages. The admin mounts beside it.

A thin adapter like bot.channels.telegram: the dialog decides, this module translates HTTP to Incoming and
Reply to JSON. Every page is rendered server-side from local assets; nothing is loaded from a CDN.
"""

import logging
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rapidfuzz import fuzz
from starlette.concurrency import run_in_threadpool

from bot import texts
from bot.admin.auth import COOKIE as STAFF_COOKIE
from bot.channels import Assistant, Capabilities
from bot.config import Settings
from bot.conversation import Event, Incoming, Message, Reply, callback
from bot.guards import read_body
from bot.privacy import without_contacts
from bot.stores import Rate, RateLimiter
from bot.tickets import TICKET_LOOKUP_RATE, fetch_outbox, find_ticket
from knowledge.normalize import fold
from qr.links import PayloadError, code_from_short, encode_payload, telegram_link

logger = logging.getLogger(__name__)

CHANNEL = "web"
CAPABILITIES = Capabilities(max_text=20_000, html=True, max_buttons=None)
HERE = Path(__file__).resolve().parents[1]
MAX_BODY_BYTES = 16 * 1024
# A person asks every few seconds and taps a few buttons in a row; a script does far more.
SESSION_RATE = Rate(burst=20, per_second=5.0)
# A commune office or a school behind one address: 200 people asking every ten seconds is 20 a second.
ADDRESS_RATE = Rate(burst=400, per_second=40.0)

API_ERRORS = texts.API_ERRORS


class ChatRequest(BaseModel):
    """POST /api/chat: a question, a button press or the page opening (start, with a deep-link payload)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    text: str | None = Field(default=None, max_length=2000)
    button: str | None = Field(default=None, max_length=64)
    start: str | None = Field(default=None, max_length=64)
    poll: Literal[True] | None = None  # "anything new for me?" (a staff answer to a ticket)

    @model_validator(mode="after")
    def _exactly_one(self) -> "ChatRequest":
        given = [value is not None for value in (self.text, self.button, self.start, self.poll)]
        if sum(given) != 1:
            raise ValueError("exactly one of text, button, start, poll")
        return self

    def incoming(self) -> Incoming:
        """The dialog's view of the request."""
        if self.start is not None:
            return Incoming(CHANNEL, self.session_id, command="start", payload=self.start or None)
        return Incoming(CHANNEL, self.session_id, text=self.text, button=self.button)


def reply_json(reply: Reply) -> dict[str, Any]:
    """The API's reply shape: messages with flattened buttons."""
    return {
        "messages": [
            {
                "text": message.html,
                "buttons": [{"label": b.label, "data": b.data} for row in message.buttons for b in row],
            }
            for message in reply.messages
        ]
    }


def error_response(status: int, key: str) -> JSONResponse:
    """An API error: a code for programs, a Vietnamese message for people."""
    return JSONResponse({"detail": {"code": key, "message": API_ERRORS[key]}}, status_code=status)


def client_address(request: Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For is applied before, by bot.guards)."""
    return request.client.host if request.client else "?"


def within_rate(limiter: RateLimiter, session_id: str, address: str) -> bool:
    """One conversation first, then its address with a ceiling a whole office behind one NAT can live with."""
    return limiter.allow(f"web:session:{session_id}", SESSION_RATE) and limiter.allow(
        f"web:address:{address}", ADDRESS_RATE
    )


def zalo_block(settings: Settings, code: str | None, office: str | None) -> dict[str, Any] | None:
    """The "Hỏi trên Zalo" block of a landing page, or None without a Zalo channel. Zalo links carry no start
    parameter, so the citizen sends "/start <payload>" (the dialog reads it like a Telegram deep link)."""
    if not (settings.zalo_oa_enabled or settings.zalo_bot_enabled or settings.zalo_oa_id):
        return None
    try:
        payload = encode_payload(code, office)
    except PayloadError:
        return None
    oa_id = (settings.zalo_oa_id or "").strip()
    return {
        "code": f"/start {payload}",
        "link": f"https://zalo.me/{quote(oa_id, safe='')}" if oa_id else None,
        "hint": texts.ZALO_WEB["send_code" if code else "send_code_office"],
        "text": texts.ZALO_WEB,
    }


def create_web_app(assistant: Assistant, *, rate_limiter: RateLimiter, mounts: tuple[Any, ...] = ()) -> FastAPI:
    """The FastAPI application of the public pages; `mounts` add the admin and channel webhooks."""
    web = FastAPI(title="TTHC Bot", docs_url=None, redoc_url=None, openapi_url=None)
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    bot_username = assistant.settings.telegram_bot_username

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("root", request.scope.get("root_path", "") + "/")
        return templates.TemplateResponse(request, name, {"web": texts.WEB, **context}, status_code=status)

    def telegram(code: str | None, office: str | None) -> str | None:
        if not bot_username:
            return None
        try:
            return telegram_link(bot_username, encode_payload(code, office))
        except PayloadError:
            return None

    def count_open(code: str | None, office: str | None, request: Request) -> None:
        if STAFF_COOKIE in request.cookies:
            return  # an officer previewing the page from the admin is not a citizen scanning a code
        incoming = Incoming(CHANNEL, client_address(request), command="start")
        event = Event(
            "deeplink", text=request.url.path, decision="answer" if code else "none", code=code, office=office
        )
        assistant.record(incoming, Reply((), (event,)))

    @web.get("/healthz", response_class=PlainTextResponse)
    async def health() -> str:
        return "ok"

    @web.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(HERE / "static" / "favicon.ico", media_type="image/x-icon")

    @web.get("/", response_class=HTMLResponse)
    async def chat_page(request: Request, p: str | None = None, o: str | None = None) -> HTMLResponse:
        catalog = assistant.catalog
        code = p if catalog.procedure(p) else None
        office = o if catalog.office(o) else None
        try:
            start = encode_payload(code, office) if (code or office) else ""
        except PayloadError:
            start = ""
        return page(request, "chat.html", start=start, ask_staff=callback("h"))

    @web.post("/api/chat")
    async def chat(request: Request) -> Response:
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return error_response(413, "too_large")
        try:
            payload = ChatRequest.model_validate_json(body)
        except ValidationError as error:
            kinds = {item["type"] for item in error.errors()}
            return error_response(400, "bad_json" if "json_invalid" in kinds or "model_type" in kinds else "invalid")
        if not within_rate(rate_limiter, payload.session_id, client_address(request)):
            return error_response(429, "too_many")
        if payload.poll:
            return JSONResponse(reply_json(await run_in_threadpool(waiting_for, payload.session_id)))
        incoming = payload.incoming()

        def respond_and_record() -> Reply:
            reply = assistant.respond(incoming)
            events = reply.events
            if incoming.command == "start":
                # The landing page the QR code opened counted the scan; its "Hỏi thêm" link is the same visit.
                events = tuple(event for event in events if event.kind != "deeplink")
            assistant.record(incoming, Reply(reply.messages, events))
            return reply

        return JSONResponse(reply_json(await run_in_threadpool(respond_and_record)))

    def waiting_for(session_id: str) -> Reply:
        """Messages that arrived for a conversation since it last asked (staff answers), each once."""
        fetched = fetch_outbox(assistant.engine, f"{CHANNEL}:{session_id}")
        messages = [
            Message(texts.ticket_answer(ticket.code, ticket.question, ticket.answer) if ticket else stored)
            for stored, ticket in fetched
        ]
        return Reply(tuple(messages))

    @web.get("/t/{code}", response_class=HTMLResponse)
    async def ticket_page(request: Request, code: str) -> HTMLResponse:
        # Codes are short enough to read over the phone: guessing them is slowed to a crawl.
        if not rate_limiter.allow(f"web:ticket:{client_address(request)}", TICKET_LOOKUP_RATE):
            return page(request, "not_found.html", 429, message=API_ERRORS["too_many"])
        ticket = await run_in_threadpool(find_ticket, assistant.engine, code[:20])
        if ticket is None:
            return page(request, "not_found.html", 404, message=texts.WEB_TICKET_PAGE["not_found"])
        return page(
            request,
            "ticket.html",
            ticket=ticket,
            question=without_contacts(ticket.question),  # the page opens with the code alone
            page_text=texts.WEB_TICKET_PAGE,
            status_text=texts.ticket_status(ticket),
            waiting=texts.WEB_TICKET_PAGE["waiting"].format(when=assistant.settings.ticket_hours),
        )

    @web.get("/hoi-dap", response_class=HTMLResponse)
    async def public_answers_page(request: Request, q: str = "") -> HTMLResponse:
        catalog = assistant.catalog
        query = fold(q[:200])
        answers = [
            answer
            for answer in catalog.answers
            if not query or fuzz.partial_token_set_ratio(query, fold(f"{answer.question} {answer.answer}")) >= 80
        ][:100]
        return page(request, "hoi_dap.html", answers=answers, query=q[:200], page_text=texts.WEB_TICKET_PAGE)

    @web.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid")

    @web.get("/p/{code}", response_class=HTMLResponse)
    async def procedure_page(request: Request, code: str, o: str | None = None) -> HTMLResponse:
        catalog = assistant.catalog
        info = catalog.procedure(code)
        if info is None:
            return page(request, "not_found.html", 404, message=texts.WEB["not_found_procedure"])
        office = catalog.office(o)
        sections = texts.landing_sections(info)
        await run_in_threadpool(count_open, info.code, office.slug if office else None, request)
        return page(
            request,
            "procedure.html",
            info=info,
            header=texts.procedure_header(info),
            sections=sections,
            office_block=texts.office_block(office, info) if office else "",
            footer=texts.source_footer(info),
            office=office.slug if office else None,
            telegram_link=telegram(info.code, office.slug if office else None),
            zalo=zalo_block(assistant.settings, info.code, office.slug if office else None),
        )

    @web.get("/q/{short}", include_in_schema=False)
    async def short_link(request: Request, short: str) -> Response:
        """The link printed under a poster's QR code, for people who type it."""
        code = code_from_short(short[:80])
        if code is None or assistant.catalog.procedure(code) is None:
            return page(request, "not_found.html", 404, message=texts.WEB["not_found_procedure"])
        return RedirectResponse(f"{request.scope.get('root_path', '')}/p/{quote(code)}", status_code=302)

    @web.get("/o/{slug}", response_class=HTMLResponse)
    async def office_page(request: Request, slug: str) -> HTMLResponse:
        catalog = assistant.catalog
        office = catalog.office(slug)
        if office is None:
            return page(request, "not_found.html", 404, message=texts.WEB["not_found_office"])
        procedures = [info for code in catalog.popular if (info := catalog.procedure(code))]
        await run_in_threadpool(count_open, None, office.slug, request)
        map_url = office.map_url if office.map_url.startswith(("https://", "http://")) else ""
        return page(
            request,
            "office.html",
            office=office,
            procedures=procedures,
            map_url=map_url,
            phone_link=texts.phone_link(office.phone),
            telegram_link=telegram(None, office.slug),
            zalo=zalo_block(assistant.settings, None, office.slug),
        )

    for mount in mounts:
        mount(web)
    return web
