"""The channel-agnostic conversation: Incoming (text, button, /start payload) -> Reply (messages, buttons).

Pure and synchronous: it reads the current Catalog and the Conversation it is handed (which it updates),
and does no I/O. Where conversations are kept is the composition root's business (bot.stores); what
happened is returned as events, and the channel edge writes them to the query log.
"""

import re
from dataclasses import replace

from bot import menus, texts
from bot.answers import not_found_messages, procedure_message
from bot.catalog import Catalog
from bot.conversation import CALLBACK_VERSION, Button, Conversation, Event, Incoming, Message, Reply, callback
from bot.deeplinks import open_link, typed_start
from bot.handoff import ask_for_question, cancel, ticket_request
from bot.tickets import normalize_code
from knowledge.normalize import FACETS, MAX_QUERY_CHARS
from knowledge.search import ANSWER, CLARIFY, NONE

_CALLBACK = re.compile(r"^[A-Za-z0-9.:_-]{1,64}$")
_NUMBER = re.compile(r"^\d{1,2}$")
SMALLTALK_REPLIES = {"greeting": texts.GREETING, "thanks": texts.THANKS, "goodbye": texts.GOODBYE}
HANDOFF_BUTTON = callback("h")  # "Hỏi cán bộ" and its "send as is" / "cancel" buttons
TYPED_COMMANDS = {"/help": "help", "/linhvuc": "linhvuc", "/" + texts.TICKET_COMMAND: texts.TICKET_COMMAND}


class Dialog:
    """The conversation logic shared by the terminal, Telegram, Zalo and the web."""

    def __init__(self, catalog: Catalog, *, contact_retention_days: int = 90) -> None:
        self.catalog = catalog  # replaced whole by the composition root after a reload
        self.contact_retention_days = contact_retention_days  # told to a citizen who asks a person

    def handle(self, incoming: Incoming, conversation: Conversation) -> Reply:
        """Decide the reply to one incoming event; `conversation` is updated in place."""
        reply = self._dispatch(self.catalog, incoming, conversation)
        if reply.buttons:
            conversation.numbered = tuple(button.data for button in reply.buttons)
        return reply

    def _dispatch(self, catalog: Catalog, incoming: Incoming, conversation: Conversation) -> Reply:
        # `catalog` is one snapshot for the whole turn, whatever a reload does meanwhile.
        typed = (incoming.text or "").strip().lower()
        if incoming.command is None and typed in TYPED_COMMANDS:
            # Channels without a command menu (Zalo, the terminal): the command typed as text.
            incoming = replace(incoming, text=None, command=TYPED_COMMANDS[typed])
        pressed = incoming.button
        if _NUMBER.match(typed) and 1 <= int(typed) <= len(conversation.numbered):
            pressed = conversation.numbered[int(typed) - 1]
        if incoming.command or (pressed is not None and not pressed.startswith(HANDOFF_BUTTON)):
            # Doing anything else means the citizen moved on: the next text is not a question for staff.
            conversation.awaiting = ""
        if incoming.command == "start":
            return open_link(catalog, incoming.payload, conversation)
        if incoming.command == "help":
            return Reply((Message(texts.HELP, menus.browse_row()),))
        if incoming.command == "linhvuc":
            return menus.browse_fields(catalog)
        if incoming.command == texts.TICKET_COMMAND:
            return ask_for_question(conversation, self.contact_retention_days)
        if incoming.button is not None:
            return self._on_button(catalog, incoming.button, conversation)
        text = (incoming.text or "").strip()
        if _NUMBER.match(text):
            # A channel without buttons (Zalo) lists them numbered: the number presses that button.
            number = int(text)
            if 1 <= number <= len(conversation.numbered):
                return self._on_button(catalog, conversation.numbered[number - 1], conversation)
            if conversation.numbered:
                return Reply((Message(texts.stale_number(len(conversation.numbered))),))
        start = typed_start(text)
        if start is not None:  # "/start p1_1-004873" or the bare code, typed from a QR landing page
            conversation.awaiting = ""
            return open_link(catalog, start, conversation)
        if conversation.awaiting == "ticket":
            return ticket_request(text, conversation)
        code = normalize_code(text)
        if code is not None:  # "mã HCB-7K3QP": how is my question doing?
            return Reply((), ticket_lookup=code)
        return self._on_text(catalog, text, conversation)

    # -- questions ------------------------------------------------------------------------------------

    def _on_text(self, catalog: Catalog, text: str, conversation: Conversation) -> Reply:
        text = text.strip()
        notes: tuple[Message, ...] = ()
        if len(text) > MAX_QUERY_CHARS:
            notes = (Message(texts.TOO_LONG_NOTE),)
            text = text[:MAX_QUERY_CHARS]
        info = catalog.procedure(text)
        if info is not None:  # a bare code, as printed on a poster
            event = Event("question", text, ANSWER, info.code, 100.0, office=conversation.office)
            return Reply((procedure_message(catalog, info, (), conversation),), (event,))
        result = catalog.index.search(text)
        analysis = result.analysis
        if analysis.smalltalk:
            event = Event("smalltalk", analysis.folded, NONE)
            return Reply((Message(SMALLTALK_REPLIES[analysis.smalltalk]),), (event,))
        if not analysis.tokens and not analysis.facets:
            return Reply((Message(texts.EMPTY, menus.browse_row()),))
        top = result.hits[0] if result.hits else None
        log = Event(
            "question",
            analysis.folded,
            result.decision,
            facets=result.facets,
            code=top.code if top else None,
            score=top.score if top else None,
            office=conversation.office,
            asked=text,
        )
        current = catalog.procedure(conversation.code)
        # "còn lệ phí thì sao?", "nộp online được không": a facet and nothing that names a procedure asks
        # about the procedure being discussed; anything more is a new question.
        bare_facet = bool(result.facets) and catalog.index.lexicon.only_follow_up_words(analysis.tokens)
        if bare_facet and current is not None:
            log = replace(log, decision=ANSWER, code=current.code, score=None)
            return Reply((*notes, procedure_message(catalog, current, result.facets, conversation)), (log,))
        if bare_facet:
            log = replace(log, decision=NONE, code=None, score=None)
            return Reply((*notes, Message(texts.WHICH_PROCEDURE, menus.popular_buttons(catalog))), (log,))
        conversation.question, conversation.asked = analysis.folded, text
        conversation.considered = tuple(hit.code for hit in result.hits[:3])
        conversation.remember("citizen", text)
        if result.decision == ANSWER and top is not None:
            info = catalog.index.by_code[top.code]
            conversation.remember("bot", info.title)
            return Reply((*notes, procedure_message(catalog, info, result.facets, conversation)), (log,))
        conversation.code, conversation.facets = None, result.facets
        if result.decision == CLARIFY:
            codes = [hit.code for hit in result.choices]
            conversation.remember("bot", " / ".join(catalog.index.by_code[code].title for code in codes))
            buttons = menus.choice_buttons(catalog, codes) + ((Button(texts.NONE_OF_THESE, callback("n")),),)
            return Reply((*notes, Message(texts.CLARIFY, buttons)), (log,))
        conversation.remember("bot", texts.NOT_FOUND_SHORT)
        return Reply((*notes, *not_found_messages(catalog, result)), (log,))

    def _on_button(self, catalog: Catalog, data: str, conversation: Conversation) -> Reply:
        if not isinstance(data, str) or not _CALLBACK.match(data):
            return menus.stale()
        version, _, rest = data.partition(":")
        if version != CALLBACK_VERSION:
            return menus.stale()
        action, *args = rest.split(":")
        info = catalog.procedure(args[0]) if args else None
        if action == "f" and info and len(args) == 2 and args[1] in FACETS:
            return Reply((procedure_message(catalog, info, (args[1],), conversation),))
        if action == "p" and info and len(args) == 1:
            return Reply((procedure_message(catalog, info, conversation.facets, conversation),))
        if action == "s" and info and len(args) == 1 and info.special_cases:
            conversation.code = info.code
            return Reply((Message(texts.special_cases(info), menus.procedure_buttons(info, ())),))
        if action in ("u", "d") and info and len(args) == 1:
            helpful = action == "u"
            event = Event(
                "feedback", text=conversation.question, code=info.code, helpful=helpful, asked=conversation.asked
            )
            if helpful:
                return Reply((Message(texts.FEEDBACK_THANKS_UP),), (event,))
            return Reply((Message(texts.FEEDBACK_THANKS_DOWN, menus.ask_staff_row()),), (event,))
        if action == "n" and not args:
            event = Event("choice_rejected", text=conversation.question, decision=NONE, asked=conversation.asked)
            buttons = menus.ask_staff_row() + menus.field_buttons(catalog)
            return Reply((Message(texts.AFTER_NONE_OF_THESE, buttons),), (event,))
        if action == "h" and not args:
            return ask_for_question(conversation, self.contact_retention_days)
        if action == "a" and len(args) == 1 and (answer := catalog.answer(args[0])) is not None:
            return Reply((Message(texts.ticket_answer(answer.code, answer.question, answer.answer)),))
        if action == "h" and args == ["q"] and conversation.awaiting == "ticket" and conversation.asked:
            return ticket_request(conversation.asked, conversation)
        if action == "h" and args == ["x"]:
            return cancel(conversation)
        if action == "b" and not args:
            return menus.browse_fields(catalog)
        if action == "g" and len(args) == 1 and args[0].isdigit() and len(args[0]) < 6:
            return menus.browse_fields(catalog, int(args[0]))
        if action == "b" and 1 <= len(args) <= 2 and all(arg.isdigit() and len(arg) < 6 for arg in args):
            return menus.browse_field(catalog, int(args[0]), int(args[1]) if len(args) == 2 else 0)
        return menus.stale()
