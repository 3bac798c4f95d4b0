"""Hỏi cán bộ in the dialog: ask the citizen to write the question for a person, and turn the next message into
a ticket request (the application stores it and gives the code)."""

from html import escape

from bot import texts
from bot.conversation import Button, Conversation, Event, Message, Reply, callback
from bot.privacy import phone_in
from bot.tickets import TicketRequest


def ask_for_question(conversation: Conversation, retention_days: int) -> Reply:
    """The prompt, offering to send what the citizen already typed."""
    conversation.awaiting = "ticket"
    prompt = texts.ASK_STAFF_PROMPT.format(days=retention_days)
    rows: list[tuple[Button, ...]] = []
    if conversation.asked:
        prompt += "\n\n" + texts.ASK_STAFF_LAST.format(question=escape(conversation.asked[:300]))
        rows.append((Button(texts.ASK_STAFF_USE_LAST_BUTTON, callback("h", "q")),))
    rows.append((Button(texts.ASK_STAFF_CANCEL_BUTTON, callback("h", "x")),))
    return Reply((Message(prompt, tuple(rows)),))


def ticket_request(text: str, conversation: Conversation) -> Reply:
    """The citizen's question for staff, with a phone number if they left one and the talk so far."""
    question, phone = text.strip(), phone_in(text)  # a phone number left in the question, digits only
    if len(question) < 8 or len(question.split()) < 2:
        return Reply((Message(texts.ASK_STAFF_TOO_SHORT),))
    conversation.awaiting = ""
    if not conversation.history or conversation.history[-1].get("text") != question[:300]:
        conversation.remember("citizen", question)
    request = TicketRequest(
        question=question,
        phone=phone,
        office=conversation.office,
        considered=conversation.considered,
        history=conversation.history,
    )
    event = Event("ticket", text=question[:500], office=conversation.office, asked=question)
    return Reply((), (event,), request)


def cancel(conversation: Conversation) -> Reply:
    """The citizen changed their mind."""
    conversation.awaiting = ""
    return Reply((Message(texts.ASK_STAFF_CANCELLED),))
