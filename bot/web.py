"""The web channel: the chat page and its JSON API, QR landing pages, and the staff admin (bot.admin).

A thin adapter like bot.telegram: the dialog decides, this module translates HTTP to Incoming and Reply
to JSON. Every page is rendered server-side from local assets; nothing is loaded from a CDN.
"""

import logging
import time
from html import escape
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from bot import texts
from bot.dialog import Dialog, Event, Incoming, Reply
from qr.links import PayloadError, encode_payload, telegram_link

logger = logging.getLogger(__name__)

CHANNEL = "web"
HERE = Path(__file__).parent
MAX_BODY_BYTES = 16 * 1024
RATE_WINDOW_SECONDS = 10.0
RATE_MAX_REQUESTS = 30  # per address and window: a person typing never comes close; a script does
API_ERRORS = texts.API_ERRORS


class WebAssistant(Protocol):
    """What the web channel needs from the application."""

    dialog: Dialog

    def decide(self, incoming: Incoming) -> Reply: ...

    def record(self, incoming: Incoming, reply: Reply) -> None: ...


class ChatRequest(BaseModel):
    """POST /api/chat: a question, a button press or the page opening (start, with a deep-link payload)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    text: str | None = Field(default=None, max_length=2000)
    button: str | None = Field(default=None, max_length=64)
    start: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> "ChatRequest":
        given = [value is not None for value in (self.text, self.button, self.start)]
        if sum(given) != 1:
            raise ValueError("exactly one of text, button, start")
        return self


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


def _error(status: int, key: str) -> JSONResponse:
    return JSONResponse({"detail": {"code": key, "message": API_ERRORS[key]}}, status_code=status)


def create_web_app(
    assistant: WebAssistant,
    *,
    bot_username: str | None = None,
    mounts: tuple[Any, ...] = (),
) -> FastAPI:
    """The FastAPI application of the public pages; `mounts` add the admin or a Telegram webhook."""
    web = FastAPI(title="TTHC Bot", docs_url=None, redoc_url=None, openapi_url=None)
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")

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
        who = request.client.host if request.client else "web"
        incoming = Incoming(CHANNEL, who, command="start")
        event = Event(
            "deeplink", text=request.url.path, decision="answer" if code else "none", code=code, office=office
        )
        assistant.record(incoming, Reply((), (event,)))

    @web.get("/healthz", response_class=PlainTextResponse)
    async def health() -> str:
        return "ok"

    @web.get("/", response_class=HTMLResponse)
    async def chat_page(request: Request, p: str | None = None, o: str | None = None) -> HTMLResponse:
        dialog = assistant.dialog
        code = p if p in dialog.index.by_code else None
        office = o if o in dialog.offices else None
        try:
            start = encode_payload(code, office) if (code or office) else ""
        except PayloadError:
            start = ""
        return page(request, "chat.html", start=start)

    recent: dict[str, list[float]] = {}

    def too_many(address: str) -> bool:
        now = time.monotonic()
        if len(recent) > 50_000:
            recent.clear()
        times = [moment for moment in recent.get(address, []) if now - moment < RATE_WINDOW_SECONDS]
        times.append(now)
        recent[address] = times
        return len(times) > RATE_MAX_REQUESTS

    @web.post("/api/chat")
    async def chat(request: Request) -> Response:
        if too_many(request.client.host if request.client else "?"):
            return _error(429, "too_many")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _error(413, "too_large")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _error(413, "too_large")
        try:
            payload = ChatRequest.model_validate_json(body)
        except ValidationError as error:
            kinds = {item["type"] for item in error.errors()}
            return _error(400, "bad_json" if "json_invalid" in kinds or "model_type" in kinds else "invalid")
        if payload.start is not None:
            incoming = Incoming(CHANNEL, payload.session_id, command="start", payload=payload.start or None)
        else:
            incoming = Incoming(CHANNEL, payload.session_id, text=payload.text, button=payload.button)
        reply = assistant.decide(incoming)
        await run_in_threadpool(assistant.record, incoming, reply)
        return JSONResponse(reply_json(reply))

    @web.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "invalid")

    @web.get("/p/{code}", response_class=HTMLResponse)
    async def procedure_page(request: Request, code: str, o: str | None = None) -> HTMLResponse:
        dialog = assistant.dialog
        info = dialog.index.by_code.get(code)
        if info is None:
            return page(request, "not_found.html", 404, message=texts.WEB["not_found_procedure"])
        office = dialog.offices.get(o or "")
        sections = [
            (texts.FACET_HEADINGS[facet], texts.facet_body(info, facet))
            for facet in ("documents", "where", "time", "fees", "online", "steps")
        ]
        if office:
            sections.insert(2, (texts.FACET_HEADINGS["where"], texts.office_block(office, info.online)))
        sections += [
            (texts.WEB["legal_basis"], escape("\n".join(info.legal_basis))),
            (texts.WEB["result"], escape(info.result)),
        ]
        await run_in_threadpool(count_open, info.code, office.slug if office else None, request)
        return page(
            request,
            "procedure.html",
            info=info,
            header=texts.procedure_header(info),
            sections=sections,
            footer=texts.source_footer(info),
            office=office.slug if office else None,
            telegram_link=telegram(info.code, office.slug if office else None),
        )

    @web.get("/o/{slug}", response_class=HTMLResponse)
    async def office_page(request: Request, slug: str) -> HTMLResponse:
        dialog = assistant.dialog
        office = dialog.offices.get(slug)
        if office is None:
            return page(request, "not_found.html", 404, message=texts.WEB["not_found_office"])
        procedures = [dialog.index.by_code[code] for code in dialog.popular if code in dialog.index.by_code]
        await run_in_threadpool(count_open, None, office.slug, request)
        map_url = office.map_url if office.map_url.startswith(("https://", "http://")) else ""
        return page(
            request,
            "office.html",
            office=office,
            procedures=procedures,
            map_url=map_url,
            telegram_link=telegram(None, office.slug),
        )

    for mount in mounts:
        mount(web)
    return web
