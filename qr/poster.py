"""Printable A4 posters for a one-stop counter: the office, then one QR code per procedure."""

from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from qr.render import PRINT, QUIET_ZONE, font_file, matrix

REGULAR, BOLD = "SourceSansPro", "SourceSansPro-Bold"
COLUMNS, ROWS = 2, 3  # six procedures fill an A4 page
MARGIN = 10 * mm
MAX_QR = 70 * mm  # the symbol itself; at least 50 mm on a full page, scanned from a step away at a counter
LINK_SIZE = 13  # points: the short link people type when they cannot scan
TITLE_SIZE = 12



@dataclass(frozen=True)
class PosterWords:
    """What a poster says, in the language of its readers (the application passes its own texts)."""

    instructions: str
    no_scan: str
    footer: str  # with {page} and {pages}
    code_line: str  # with {code}
    title: str  # the PDF's title, with {office}
    address: str
    hours: str
    phone: str


@dataclass(frozen=True)
class PosterOffice:
    """The office the poster hangs in."""

    name: str
    address: str = ""
    hours: str = ""
    phone: str = ""


@dataclass(frozen=True)
class PosterItem:
    """One procedure on the poster."""

    title: str
    code: str
    link: str  # what the QR code opens
    short_link: str = ""  # what people type instead (the link itself when empty)


def _register_fonts() -> None:
    # Embedded TrueType (subset) so the PDF prints and its text extracts with Vietnamese diacritics.
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(font_file())))
        pdfmetrics.registerFont(TTFont(BOLD, str(font_file(bold=True))))


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    lines = simpleSplit(text, font, size, width)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;") + "…"
    return lines


def _modules(data: str) -> list[list[bool]]:
    """The symbol's modules without the quiet zone: the blank page around it is the quiet zone."""
    modules = matrix(data, PRINT)
    return [line[QUIET_ZONE:-QUIET_ZONE] for line in modules[QUIET_ZONE:-QUIET_ZONE]]


def _draw_qr(canvas: Canvas, modules: list[list[bool]], x: float, y: float, size: float) -> None:
    """The symbol, `size` wide, its lower left corner at (x, y)."""
    step = size / len(modules)
    canvas.setFillColorRGB(0, 0, 0)
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                canvas.rect(x + column * step, y + size - (row + 1) * step, step, step, stroke=0, fill=1)


def _header(canvas: Canvas, office: PosterOffice, words: PosterWords, width: float, top: float) -> float:
    y = top
    for line in _wrap(office.name, BOLD, 18, width - 2 * MARGIN, 2):
        canvas.setFont(BOLD, 18)
        canvas.drawString(MARGIN, y, line)
        y -= 22
    canvas.setFont(REGULAR, 11)
    contact = " · ".join(
        f"{label}: {value}"
        for label, value in ((words.address, office.address), (words.hours, office.hours), (words.phone, office.phone))
        if value
    )
    for line in _wrap(contact, REGULAR, 11, width - 2 * MARGIN, 2):
        canvas.drawString(MARGIN, y, line)
        y -= 14
    y -= 2
    canvas.setFont(BOLD, 11)
    for line in _wrap(words.instructions, BOLD, 11, width - 2 * MARGIN, 2):
        canvas.drawString(MARGIN, y, line)
        y -= 14
    canvas.setFont(REGULAR, 10)
    canvas.drawString(MARGIN, y, words.no_scan)
    return y - 12


def _cell(
    canvas: Canvas, item: PosterItem, words: PosterWords, x: float, top: float, width: float, height: float
) -> None:
    """One procedure: its QR code as large as the cell allows, its name, the link to type, its code."""
    link = item.short_link or item.link
    link_size = LINK_SIZE if pdfmetrics.stringWidth(link, REGULAR, LINK_SIZE) <= width - 4 else 8
    text_height = 2 * (TITLE_SIZE + 2) + link_size + 11
    modules = _modules(item.link)
    # The symbol as large as the cell allows with its quiet zone (4 modules) blank on every side.
    quiet = 2 * QUIET_ZONE / len(modules)
    qr_size = min(width / (1 + quiet), (height - text_height) / (1 + quiet), MAX_QR)
    margin = qr_size * quiet / 2
    center = x + width / 2
    _draw_qr(canvas, modules, center - qr_size / 2, top - margin - qr_size, qr_size)
    y = top - 2 * margin - qr_size - TITLE_SIZE + 4
    canvas.setFont(BOLD, TITLE_SIZE)
    for line in _wrap(item.title, BOLD, TITLE_SIZE, width - 6, 2):
        canvas.drawCentredString(center, y, line)
        y -= TITLE_SIZE + 2
    canvas.setFont(REGULAR, link_size)
    canvas.drawCentredString(center, y, link)
    canvas.setFont(REGULAR, 9)
    canvas.drawCentredString(center, y - link_size + 1, words.code_line.format(code=item.code))


def render_poster(office: PosterOffice, items: list[PosterItem], path: Path, words: PosterWords) -> int:
    """Write the poster PDF (six procedures a page, in a grid that fills it); returns the number of pages."""
    if not items:
        raise ValueError("a poster needs at least one procedure")
    _register_fonts()
    width, height = A4
    per_page = COLUMNS * ROWS
    pages = (len(items) + per_page - 1) // per_page
    canvas = Canvas(str(path), pagesize=A4)
    canvas.setTitle(words.title.format(office=office.name))
    canvas.setAuthor("TTHC Bot")
    cell_width = (width - 2 * MARGIN) / COLUMNS
    for page in range(pages):
        top = _header(canvas, office, words, width, height - MARGIN - 12)
        bottom = MARGIN + 10  # above the footer line
        cell_height = (top - bottom) / ROWS
        for slot, item in enumerate(items[page * per_page : (page + 1) * per_page]):
            column, row = slot % COLUMNS, slot // COLUMNS
            x, y = MARGIN + column * cell_width, top - row * cell_height
            _cell(canvas, item, words, x, y, cell_width, cell_height)
        canvas.setFont(REGULAR, 8)
        canvas.drawString(MARGIN, MARGIN / 2, words.footer.format(page=page + 1, pages=pages))
        canvas.showPage()
    canvas.save()
    return pages
