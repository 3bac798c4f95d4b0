"""The messages that answer a question: a procedure (the asked facets or a summary, with its buttons) and an
honest "not found". Pure functions of the catalogue and the conversation."""

from bot import menus, texts
from bot.catalog import Catalog
from bot.conversation import Button, Conversation, Message, callback
from knowledge.records import ProcedureInfo
from knowledge.search import SearchResult


def procedure_message(
    catalog: Catalog, info: ProcedureInfo, facets: tuple[str, ...], conversation: Conversation
) -> Message:
    """A procedure answer; the conversation now discusses it (follow-ups ask about it)."""
    conversation.code, conversation.facets = info.code, facets
    html = texts.procedure_answer(info, facets, catalog.office(conversation.office))
    # The summary shortens its lines, so every facet stays one button away.
    return Message(html, menus.procedure_buttons(info, facets))


def not_found_messages(catalog: Catalog, result: SearchResult) -> tuple[Message, ...]:
    """An honest "not found": a past public answer to a similar question first if there is one; the national
    portal's search with the question's words; "Hỏi cán bộ"; and only suggestions that share a distinctive
    word with the question."""
    analysis = result.analysis
    spelled = zip(analysis.tokens, analysis.accents or analysis.tokens, strict=False)
    words = [accented or folded for folded, accented in spelled]  # as the citizen typed them
    codes = [hit.code for hit in result.suggestions]
    ask = menus.ask_staff_row()
    messages = [Message(texts.not_found(" ".join(words[:6])), ask if codes else ask + menus.browse_row())]
    similar = catalog.similar_answer(analysis.folded)
    if similar is not None:
        button = Button(texts.SIMILAR_ANSWER_BUTTON, callback("a", similar.code))
        messages.insert(0, Message(texts.SIMILAR_ANSWER_NOTE, ((button,),)))
    if codes:
        messages.append(Message(texts.NOT_FOUND_SUGGESTIONS, menus.choice_buttons(catalog, codes) + menus.browse_row()))
    return tuple(messages)
