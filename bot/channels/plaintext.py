"""Plain text both ways for the Zalo channels: Reply -> messages within Zalo's limits, typed text -> Incoming.

Zalo shows no markup, so our safe HTML subset goes through bot.texts.plain (links keep their address).
Buttons a platform cannot show become a numbered list under the text; the numbers follow `Reply.buttons`
(reading order over the whole reply), the order in which the dialog remembers them (Conversation.numbered),
so a typed "2" presses the button the citizen read as 2. Long texts are cut on paragraph, then line, then
word boundaries, in reading order: the answer leads with what was asked, so the first message keeps it.
"""

from dataclasses import dataclass

from bot import texts
from bot.channels import Capabilities, utf16_length
from bot.conversation import Button, Reply

ZALO_MAX_TEXT = 2000  # Zalo Bot sendMessage; assumed for OA messages too (platforms.md §2B.3)
_SEPARATORS = ("\n\n", "\n", " ")


@dataclass(frozen=True)
class PlainMessage:
    """One message to send: plain text, and the buttons the platform shows under it (none on Zalo Bot)."""

    text: str
    buttons: tuple[Button, ...] = ()


def _hard_cut(text: str, limit: int) -> list[str]:
    """A run without any separator, cut where it reaches the limit."""
    parts, current, current_size = [], [], 0
    for char in text:
        width = utf16_length(char)
        if current_size + width > limit:
            parts.append("".join(current))
            current, current_size = [], 0
        current.append(char)
        current_size += width
    if current:
        parts.append("".join(current))
    return parts


def _split(text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if utf16_length(text) <= limit:
        return [text]
    if not separators:
        return _hard_cut(text, limit)
    separator, finer = separators[0], separators[1:]
    parts: list[str] = []
    current = ""
    for piece in text.split(separator):
        for sub in _split(piece, limit, finer):
            candidate = f"{current}{separator}{sub}" if current else sub
            if utf16_length(candidate) <= limit:
                current = candidate
            else:
                if current:
                    parts.append(current)
                current = sub
    if current:
        parts.append(current)
    return parts


def split_text(text: str, limit: int = ZALO_MAX_TEXT) -> list[str]:
    """Parts of at most `limit` (UTF-16 units), cut on paragraph, line, then word boundaries, in order."""
    parts = [part.strip() for part in _split(text.strip(), limit, _SEPARATORS)]
    return [part for part in parts if part] or [texts.plain(texts.EMPTY)]


def numbered_list(numbered: list[tuple[int, Button]]) -> str:
    """Choices as lines "3. 💰 Lệ phí", then what to send ("👉 Gửi 1, 2 hoặc 3 để chọn.")."""
    lines = [f"{number}. {button.label}" for number, button in numbered]
    lines.append(texts.zalo_choice_hint([number for number, _ in numbered]))
    return "\n".join(lines)


def render(reply: Reply, capabilities: Capabilities) -> list[PlainMessage]:
    """The messages of a reply as plain text: at most `max_buttons` real buttons under each message, the rest
    numbered (numbers run over the whole reply, as in Reply.buttons); every text within `max_text`."""
    shown_at_most = capabilities.max_buttons or 0  # None (no limit) does not occur on Zalo; 0 = numbers only
    rendered: list[PlainMessage] = []
    number = 0
    for message in reply.messages:
        buttons = [button for row in message.buttons for button in row]
        numbered = list(enumerate(buttons, start=number + 1))
        number += len(buttons)
        shown = tuple(buttons[:shown_at_most])
        listed = numbered[len(shown) :]
        body = texts.plain(message.html).strip()
        if listed:
            body = f"{body}\n\n{numbered_list(listed)}" if body else numbered_list(listed)
        parts = split_text(body, capabilities.max_text)
        rendered.extend(PlainMessage(part) for part in parts[:-1])
        rendered.append(PlainMessage(parts[-1], shown))
    return rendered
