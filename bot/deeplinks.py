"""Opening the bot from a QR code or a deep link: a procedure, an office, or both; also typed as text on
channels without a start parameter (Zalo: "/start p1_1-004873")."""

import re
from html import escape

from bot import menus, texts
from bot.answers import procedure_message
from bot.catalog import Catalog
from bot.conversation import Conversation, Event, Message, Reply
from knowledge.search import ANSWER, NONE
from qr.links import decode_payload

_START_COMMAND = re.compile(r"^/start(?:\s+(\S{1,64}))?$", re.IGNORECASE)


def typed_start(text: str) -> str | None:
    """The payload of a deep link typed as text ("/start p1_1-004873", "P1_1-004873"), "" for a bare
    "/start", or None when the text is a question. Payloads are matched case-insensitively."""
    command = _START_COMMAND.match(text)
    if command:
        return (command.group(1) or "").lower()
    candidate = text.lower()
    if len(candidate) <= 64 and " " not in candidate and decode_payload(candidate) is not None:
        return candidate
    return None


def open_link(catalog: Catalog, payload: str | None, conversation: Conversation) -> Reply:
    """The greeting, or what the link names: a procedure's answer, an office's greeting (which then answers
    "where do I file" for that office). A bad link still greets, with a note."""
    greeting = Message(texts.GREETING, menus.popular_buttons(catalog))
    if not payload:
        return Reply((greeting,))
    link = decode_payload(payload)
    office = catalog.office(link.office) if link and link.office else None
    info = catalog.procedure(link.code) if link and link.code else None
    if link is None or (link.code and info is None) or (link.office and office is None and info is None):
        note = Message(texts.BAD_PAYLOAD_NOTE)
        return Reply((greeting, note), (Event("deeplink", text=payload[:64], decision=NONE),))
    messages: list[Message] = []
    if office is not None:
        conversation.office = office.slug
        if info is None:
            welcome = texts.OFFICE_GREETING.format(name=escape(office.name))
            messages.append(Message(welcome, menus.popular_buttons(catalog)))
    elif link.office:
        messages.append(Message(texts.UNKNOWN_OFFICE_NOTE))
    if info is not None:
        messages.append(procedure_message(catalog, info, (), conversation))
    event = Event(
        "deeplink",
        text=payload,
        decision=ANSWER if info else NONE,
        code=info.code if info else None,
        office=office.slug if office else None,
    )
    return Reply(tuple(messages), (event,))
