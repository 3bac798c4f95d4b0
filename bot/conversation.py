"""The channel contract: what a citizen did (Incoming), what the bot answers (Reply), and what it remembers
of a conversation between two messages (Conversation). Every channel speaks these; none of them knows a
chat platform.
"""

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.tickets import TicketRequest

CALLBACK_VERSION = "1"
HISTORY_LINES = 8
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data; the other channels are looser


@dataclass(frozen=True)
class Incoming:
    """One thing a citizen did: typed text, pressed a button, or opened the bot (with a deep-link payload)."""

    channel: str
    user_id: str
    text: str | None = None
    button: str | None = None
    command: str | None = None  # start | help | linhvuc | hoicanbo (typed "/hoicanbo" included)
    payload: str | None = None  # the /start payload of a deep link or QR code

    @property
    def conversation_key(self) -> str:
        """Who this conversation is with, across channels."""
        return f"{self.channel}:{self.user_id}"


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

    kind: str  # question | smalltalk | deeplink | feedback | choice_rejected | ticket
    text: str = ""
    decision: str = ""
    code: str | None = None
    score: float | None = None
    facets: tuple[str, ...] = ()
    helpful: bool | None = None
    office: str | None = None
    asked: str = ""  # the question as the citizen typed it


@dataclass(frozen=True)
class Reply:
    """Messages to send, and events to log; a ticket to open or look up is done by the application, which
    then says the code (the dialog does no I/O)."""

    messages: tuple[Message, ...]
    events: tuple[Event, ...] = ()
    open_ticket: "TicketRequest | None" = None
    ticket_lookup: str | None = None  # a ticket code the citizen asked about

    @property
    def buttons(self) -> tuple[Button, ...]:
        """Every button of every message, in reading order (the numbers of a numbered list)."""
        return tuple(button for message in self.messages for row in message.buttons for button in row)


@dataclass
class Conversation:
    """What the bot remembers of one citizen between messages (kept by a ConversationStore)."""

    code: str | None = None  # the procedure being discussed
    facets: tuple[str, ...] = ()  # what was asked about it
    question: str = ""  # the last question, normalised (for the staff inbox)
    asked: str = ""  # the same question as the citizen typed it
    office: str | None = None  # the office whose QR code opened the conversation
    # The buttons of the last reply that had any, in order: "2" typed on a channel without buttons (Zalo)
    # presses the second. They stay valid until a reply brings new buttons.
    numbered: tuple[str, ...] = ()
    awaiting: str = ""  # "ticket": the next message is the question for staff
    considered: tuple[str, ...] = ()  # the procedures the matcher offered for the last question
    history: tuple[dict, ...] = ()  # the last few exchanges, for staff when the citizen asks a person

    def remember(self, who: str, text: str) -> None:
        """Keep the last few lines of the talk (bounded), for a ticket's context."""
        self.history = (*self.history, {"who": who, "text": text[:300]})[-HISTORY_LINES:]

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form for stores that keep conversations outside the process."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Conversation":
        """The inverse of to_json; unknown keys (from a newer version) are ignored."""
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for key in ("facets", "numbered", "considered", "history"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


def callback(*parts: str) -> str:
    """Versioned button data, checked against Telegram's 64-byte limit."""
    data = ":".join((CALLBACK_VERSION, *parts))
    if len(data.encode("ascii")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data}")
    return data
