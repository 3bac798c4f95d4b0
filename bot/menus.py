"""The buttons under the bot's messages: facets of a procedure, choices, feedback, browsing by field.

Pure functions of a Catalog; the dialog decides which menu a message gets.
"""

from html import escape

from bot import texts
from bot.catalog import Catalog
from bot.conversation import Button, Message, Reply, callback
from knowledge.normalize import FACETS
from knowledge.records import ProcedureInfo

Rows = tuple[tuple[Button, ...], ...]

FIELDS_PAGE = 10  # Telegram refuses keyboards of about 100 buttons or 10 KB: field lists are paged
BROWSE_PAGE = 8


def browse_row() -> Rows:
    """One button: browse procedures by field."""
    return ((Button(texts.BROWSE_BUTTON, callback("b")),),)


def ask_staff_row() -> Rows:
    """One button: hand the question to a person (Hỏi cán bộ)."""
    return ((Button(texts.ASK_STAFF_BUTTON, callback("h")),),)


def procedure_buttons(info: ProcedureInfo, shown: tuple[str, ...]) -> Rows:
    """The facets not shown yet, the special cases when there are some, and feedback."""
    others = [
        Button(texts.FACET_LABELS[facet], callback("f", info.code, facet)) for facet in FACETS if facet not in shown
    ]
    if info.special_cases:
        others.append(Button(texts.SPECIAL_CASES_BUTTON, callback("s", info.code)))
    rows = [tuple(others[start : start + 3]) for start in range(0, len(others), 3)]
    rows.append(
        (
            Button(texts.FEEDBACK_UP_BUTTON, callback("u", info.code)),
            Button(texts.FEEDBACK_DOWN_BUTTON, callback("d", info.code)),
        )
    )
    return tuple(rows)


def choice_buttons(catalog: Catalog, codes: list[str]) -> Rows:
    """One button per procedure (with its level when the choices are at different levels)."""
    infos = [catalog.index.by_code[code] for code in codes if code in catalog.index.by_code]
    show_level = len({info.level for info in infos}) > 1
    return tuple((Button(texts.choice_label(info, show_level), callback("p", info.code)),) for info in infos)


def popular_buttons(catalog: Catalog) -> Rows:
    """The most asked procedures, then browsing."""
    return choice_buttons(catalog, list(catalog.popular[:4])) + browse_row()


def stale() -> Reply:
    """The reply to a button that no longer means anything."""
    return Reply((Message(texts.STALE_BUTTON, browse_row()),))


def field_buttons(catalog: Catalog, page: int = 0) -> Rows:
    """A page of fields (lĩnh vực), two per row, with "more" when there are more."""
    start = page * FIELDS_PAGE
    shown = list(enumerate(catalog.fields))[start : start + FIELDS_PAGE]
    buttons = [Button(name[:60], callback("b", str(number))) for number, name in shown]
    rows = [tuple(buttons[index : index + 2]) for index in range(0, len(buttons), 2)]
    if start + FIELDS_PAGE < len(catalog.fields):
        rows.append((Button(texts.MORE_BUTTON, callback("g", str(page + 1))),))
    return tuple(rows)


def browse_fields(catalog: Catalog, page: int = 0) -> Reply:
    """The fields to browse (one page)."""
    if page * FIELDS_PAGE >= max(len(catalog.fields), 1):
        return stale()
    return Reply((Message(texts.BROWSE_FIELDS, field_buttons(catalog, page)),))


def browse_field(catalog: Catalog, number: int, page: int) -> Reply:
    """The procedures of one field (one page), curated ones first."""
    if number >= len(catalog.fields):
        return stale()
    name = catalog.fields[number]
    infos = sorted(
        (info for info in catalog.index.procedures if info.field == name),
        key=lambda info: (info.origin != "curated", info.title),
    )
    start = page * BROWSE_PAGE
    if start >= len(infos):
        return stale()
    buttons = choice_buttons(catalog, [info.code for info in infos[start : start + BROWSE_PAGE]])
    if start + BROWSE_PAGE < len(infos):
        buttons += ((Button(texts.MORE_BUTTON, callback("b", str(number), str(page + 1))),),)
    return Reply((Message(texts.BROWSE_PROCEDURES.format(field=escape(name)), buttons),))
