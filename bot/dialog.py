"""The channel-agnostic conversation: Incoming (text, button, /start payload) -> Reply (messages, buttons).

Pure and synchronous: it holds the in-memory index and each user's short context, and does no I/O.
What happened is returned as events; the channel edge writes them to the query log.
"""

import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from html import escape

from bot import texts
from knowledge.normalize import FACETS, MAX_QUERY_CHARS
from knowledge.records import OfficeInfo, ProcedureInfo
from knowledge.search import ANSWER, CLARIFY, NONE, SearchIndex, SearchResult
from qr.links import decode_payload

CALLBACK_VERSION = "1"
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
SESSION_TTL_SECONDS = 12 * 3600
MAX_SESSIONS = 50_000
SUGGESTION_MIN_SCORE = 30.0
FIELDS_PAGE = 10  # Telegram refuses keyboards of about 100 buttons or 10 KB: field lists are paged
BROWSE_PAGE = 8
_CALLBACK = re.compile(r"^[A-Za-z0-9.:_-]{1,64}$")


@dataclass(frozen=True)
class Incoming:
    """One thing a citizen did: typed text, pressed a button, or opened the bot (with a deep-link payload)."""

    channel: str
    user_id: str
    text: str | None = None
    button: str | None = None
    command: str | None = None  # start | help | linhvuc
    payload: str | None = None  # the /start payload of a deep link or QR code


@dataclass(frozen=True)
class Button:
    """A button: what it says, and the short ASCII data it sends back."""

    label: str
    data: str


@dataclass(frozen=True)
class Message:
    """One message in the safe HTML subset of bot.texts, with rows of buttons."""

    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class Event:
    """What to record for staff after the reply is decided."""

    kind: str  # question | smalltalk | deeplink | feedback | choice_rejected
    text: str = ""
    decision: str = ""
    code: str | None = None
    score: float | None = None
    facets: tuple[str, ...] = ()
    helpful: bool | None = None
    office: str | None = None


@dataclass(frozen=True)
class Reply:
    """Messages to send, and events to log."""

    messages: tuple[Message, ...]
    events: tuple[Event, ...] = ()


@dataclass
class _Session:
    code: str | None = None
    facets: tuple[str, ...] = ()
    question: str = ""
    office: str | None = None
    touched: float = field(default_factory=time.monotonic)


def callback(*parts: str) -> str:
    """Versioned button data, checked against Telegram's 64-byte limit."""
    data = ":".join((CALLBACK_VERSION, *parts))
    if len(data.encode("ascii")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data}")
    return data


class Dialog:
    """The conversation logic shared by the terminal, Telegram and the web."""

    def __init__(
        self, index: SearchIndex, popular: tuple[str, ...] = (), offices: Mapping[str, OfficeInfo] | None = None
    ) -> None:
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self.offices: dict[str, OfficeInfo] = dict(offices or {})
        self.replace_index(index, popular)

    def replace_offices(self, offices: Mapping[str, OfficeInfo]) -> None:
        """Swap in the offices after staff changed them."""
        self.offices = dict(offices)

    def replace_index(self, index: SearchIndex, popular: tuple[str, ...] = ()) -> None:
        """Swap in a rebuilt index (after an import or a staff edit) without dropping conversations."""
        popular = tuple(code for code in popular if code in index.by_code)
        fields = tuple(sorted({info.field for info in index.procedures if info.field}))
        # One assignment, so a reload in another thread never shows a half-swapped catalogue.
        self._catalog = (index, popular, fields)

    @property
    def index(self) -> SearchIndex:
        """The live index."""
        return self._catalog[0]

    @property
    def popular(self) -> tuple[str, ...]:
        """The most asked procedures, first first."""
        return self._catalog[1]

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields, for browsing."""
        return self._catalog[2]

    # -- sessions -------------------------------------------------------------------------------------

    def _session(self, incoming: Incoming, now: float) -> _Session:
        key = f"{incoming.channel}:{incoming.user_id}"
        session = self._sessions.get(key)
        if session is None or now - session.touched > SESSION_TTL_SECONDS:
            session = _Session(touched=now)
            self._sessions[key] = session
        session.touched = now
        self._sessions.move_to_end(key)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    # -- entry point ----------------------------------------------------------------------------------

    def handle(self, incoming: Incoming, now: float | None = None) -> Reply:
        """Decide the reply to one incoming event."""
        session = self._session(incoming, time.monotonic() if now is None else now)
        if incoming.command == "start":
            return self._on_start(incoming.payload, session)
        if incoming.command == "help":
            return Reply((Message(texts.HELP, self._browse_row()),))
        if incoming.command == "linhvuc":
            return self._browse_fields()
        if incoming.button is not None:
            return self._on_button(incoming.button, session)
        return self._on_text(incoming.text or "", session)

    # -- building blocks ------------------------------------------------------------------------------

    def _browse_row(self) -> tuple[tuple[Button, ...], ...]:
        return ((Button(texts.BROWSE_BUTTON, callback("b")),),)

    def _procedure_buttons(self, info: ProcedureInfo, shown: tuple[str, ...]) -> tuple[tuple[Button, ...], ...]:
        others = [
            Button(texts.FACET_LABELS[facet], callback("f", info.code, facet)) for facet in FACETS if facet not in shown
        ]
        rows = [tuple(others[start : start + 3]) for start in range(0, len(others), 3)]
        rows.append(
            (
                Button(texts.FEEDBACK_UP_BUTTON, callback("u", info.code)),
                Button(texts.FEEDBACK_DOWN_BUTTON, callback("d", info.code)),
            )
        )
        return tuple(rows)

    def _answer(self, info: ProcedureInfo, facets: tuple[str, ...], session: _Session) -> Message:
        session.code, session.facets = info.code, facets
        shown = facets or texts.SUMMARY_FACETS
        office = self.offices.get(session.office or "")
        # The scanned office is where to file only for what the commune handles.
        at_commune = "xã" in info.level.lower() or "xã" in info.agency.lower()
        block = texts.office_block(office, info.online) if office and at_commune else ""
        return Message(texts.procedure_answer(info, facets, block), self._procedure_buttons(info, shown))

    def _choice_buttons(self, codes: list[str]) -> tuple[tuple[Button, ...], ...]:
        infos = [self.index.by_code[code] for code in codes]
        show_level = len({info.level for info in infos}) > 1
        return tuple((Button(texts.choice_label(info, show_level), callback("p", info.code)),) for info in infos)

    def _suggestions(self, result: SearchResult, session: _Session) -> Reply:
        codes = [hit.code for hit in result.hits[:3] if hit.score >= SUGGESTION_MIN_SCORE]
        messages = [Message(texts.NOT_FOUND, () if codes else self._browse_row())]
        if codes:
            messages.append(Message(texts.NOT_FOUND_SUGGESTIONS, self._choice_buttons(codes) + self._browse_row()))
        return Reply(tuple(messages))

    # -- handlers -------------------------------------------------------------------------------------

    def _on_start(self, payload: str | None, session: _Session) -> Reply:
        greeting = Message(texts.GREETING, self._popular_buttons())
        if not payload:
            return Reply((greeting,))
        link = decode_payload(payload)
        office = self.offices.get(link.office) if link and link.office else None
        info = self.index.by_code.get(link.code) if link and link.code else None
        if link is None or (link.code and info is None) or (link.office and office is None and info is None):
            note = Message(texts.BAD_PAYLOAD_NOTE)
            return Reply((greeting, note), (Event("deeplink", text=payload[:64], decision=NONE),))
        messages: list[Message] = []
        if office is not None:
            session.office = office.slug
            if info is None:
                messages.append(
                    Message(texts.OFFICE_GREETING.format(name=escape(office.name)), self._popular_buttons())
                )
        elif link.office:
            messages.append(Message(texts.UNKNOWN_OFFICE_NOTE))
        if info is not None:
            messages.append(self._answer(info, (), session))
        event = Event(
            "deeplink",
            text=payload,
            decision=ANSWER if info else NONE,
            code=info.code if info else None,
            office=office.slug if office else None,
        )
        return Reply(tuple(messages), (event,))

    def _popular_buttons(self) -> tuple[tuple[Button, ...], ...]:
        return self._choice_buttons(list(self.popular[:4])) + self._browse_row()

    def _on_text(self, text: str, session: _Session) -> Reply:
        text = text.strip()
        notes: list[Message] = []
        if len(text) > MAX_QUERY_CHARS:
            notes.append(Message(texts.TOO_LONG_NOTE))
            text = text[:MAX_QUERY_CHARS]
        if text in self.index.by_code:
            info = self.index.by_code[text]
            return Reply((self._answer(info, (), session),), (Event("question", text, ANSWER, info.code, 100.0),))
        result = self.index.search(text)
        analysis = result.analysis
        if analysis.smalltalk:
            reply = {"greeting": texts.GREETING, "thanks": texts.THANKS, "goodbye": texts.GOODBYE}[analysis.smalltalk]
            return Reply((Message(reply),), (Event("smalltalk", analysis.folded, NONE),))
        if not analysis.tokens and not analysis.facets:
            return Reply((Message(texts.EMPTY, self._browse_row()),))
        log = Event(
            "question",
            analysis.folded,
            result.decision,
            facets=result.facets,
            code=result.hits[0].code if result.hits else None,
            score=result.hits[0].score if result.hits else None,
            office=session.office,
        )
        current = self.index.by_code.get(session.code or "")
        # "còn lệ phí thì sao?", "nộp online được không": a facet and nothing that names a procedure asks
        # about the procedure being discussed; anything more is a new question.
        bare_facet = bool(result.facets) and self.index.lexicon.only_follow_up_words(analysis.tokens)
        if bare_facet and current is not None:
            log = replace(log, decision=ANSWER, code=current.code, score=None)
            return Reply((*notes, self._answer(current, result.facets, session)), (log,))
        if bare_facet:
            log = replace(log, decision=NONE, code=None, score=None)
            return Reply((*notes, Message(texts.WHICH_PROCEDURE, self._popular_buttons())), (log,))
        session.question = analysis.folded
        if result.decision == ANSWER:
            info = self.index.by_code[result.hits[0].code]
            return Reply((*notes, self._answer(info, result.facets, session)), (log,))
        if result.decision == CLARIFY:
            codes = [hit.code for hit in result.choices]
            session.code, session.facets = None, result.facets
            buttons = self._choice_buttons(codes) + ((Button(texts.NONE_OF_THESE, callback("n")),),)
            return Reply((*notes, Message(texts.CLARIFY, buttons)), (log,))
        session.code, session.facets = None, result.facets
        reply = self._suggestions(result, session)
        return Reply((*notes, *reply.messages), (log,))

    def _stale(self) -> Reply:
        return Reply((Message(texts.STALE_BUTTON, self._browse_row()),))

    def _on_button(self, data: str, session: _Session) -> Reply:
        if not isinstance(data, str) or not _CALLBACK.match(data):
            return self._stale()
        version, _, rest = data.partition(":")
        if version != CALLBACK_VERSION:
            return self._stale()
        action, *args = rest.split(":")
        info = self.index.by_code.get(args[0]) if args else None
        if action == "f" and info and len(args) == 2 and args[1] in FACETS:
            return Reply((self._answer(info, (args[1],), session),))
        if action == "p" and info and len(args) == 1:
            return Reply((self._answer(info, session.facets, session),))
        if action in ("u", "d") and info and len(args) == 1:
            helpful = action == "u"
            message = texts.FEEDBACK_THANKS_UP if helpful else texts.FEEDBACK_THANKS_DOWN
            event = Event("feedback", text=session.question, code=info.code, helpful=helpful)
            return Reply((Message(message),), (event,))
        if action == "n" and not args:
            event = Event("choice_rejected", text=session.question, decision=NONE)
            return Reply((Message(texts.AFTER_NONE_OF_THESE, self._field_buttons()),), (event,))
        if action == "b" and not args:
            return self._browse_fields()
        if action == "g" and len(args) == 1 and args[0].isdigit():
            return self._browse_fields(int(args[0]))
        if action == "b" and 1 <= len(args) <= 2 and all(arg.isdigit() for arg in args):
            return self._browse_field(int(args[0]), int(args[1]) if len(args) == 2 else 0)
        return self._stale()

    # -- browsing -------------------------------------------------------------------------------------

    def _field_buttons(self, page: int = 0) -> tuple[tuple[Button, ...], ...]:
        start = page * FIELDS_PAGE
        shown = list(enumerate(self.fields))[start : start + FIELDS_PAGE]
        buttons = [Button(name[:60], callback("b", str(number))) for number, name in shown]
        rows = [tuple(buttons[index : index + 2]) for index in range(0, len(buttons), 2)]
        if start + FIELDS_PAGE < len(self.fields):
            rows.append((Button(texts.MORE_BUTTON, callback("g", str(page + 1))),))
        return tuple(rows)

    def _browse_fields(self, page: int = 0) -> Reply:
        if page * FIELDS_PAGE >= max(len(self.fields), 1):
            return self._stale()
        return Reply((Message(texts.BROWSE_FIELDS, self._field_buttons(page)),))

    def _browse_field(self, number: int, page: int) -> Reply:
        if number >= len(self.fields):
            return self._stale()
        name = self.fields[number]
        infos = sorted(
            (info for info in self.index.procedures if info.field == name),
            key=lambda info: (info.origin != "curated", info.title),
        )
        start = page * BROWSE_PAGE
        if start >= len(infos):
            return self._stale()
        shown = [info.code for info in infos[start : start + BROWSE_PAGE]]
        buttons = self._choice_buttons(shown)
        if start + BROWSE_PAGE < len(infos):
            buttons += ((Button(texts.MORE_BUTTON, callback("b", str(number), str(page + 1))),),)
        return Reply((Message(texts.BROWSE_PROCEDURES.format(field=escape(name)), buttons),))


def popular_codes(popularity: Mapping[str, float], limit: int = 8) -> tuple[str, ...]:
    """The most asked procedures first."""
    return tuple(sorted(popularity, key=lambda code: -popularity[code])[:limit])
