"""Printable A4 posters for a one-stop counter: the office, then one QR code per procedure."""

from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from qr.render import PRINT, font_file, matrix

REGULAR, BOLD = "SourceSansPro", "SourceSansPro-Bold"
COLUMNS, ROWS = 2, 3
MARGIN = 15 * mm
QR_SIZE = 52 * mm

INSTRUCTIONS = "Mở camera hoặc Telegram, quét mã để xem hồ sơ cần chuẩn bị, nơi nộp, thời gian và lệ phí."
NO_SCAN = "Không quét được? Mở đường dẫn in dưới mỗi mã."
FOOTER = "Thông tin theo Cơ sở dữ liệu quốc gia về thủ tục hành chính (dichvucong.gov.vn). Trang {page}/{pages}"


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
    link: str


def _register_fonts() -> None:
    # Embedded TrueType (subset) so the PDF prints and its text extracts with Vietnamese diacritics.
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(font_file())))
        pdfmetrics.registerFont(TTFont(BOLD, str(font_file(bold=True))))


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and pdfmetrics.stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;") + "…"
    return lines


def _draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    modules = matrix(data, PRINT)
    step = size / len(modules)
    canvas.setFillColorRGB(0, 0, 0)
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                canvas.rect(x + column * step, y + size - (row + 1) * step, step, step, stroke=0, fill=1)


def _header(canvas: Canvas, office: PosterOffice, width: float, top: float) -> float:
    y = top
    for line in _wrap(office.name, BOLD, 18, width - 2 * MARGIN, 2):
        canvas.setFont(BOLD, 18)
        canvas.drawString(MARGIN, y, line)
        y -= 22
    canvas.setFont(REGULAR, 11)
    for label, value in (("Địa chỉ", office.address), ("Giờ làm việc", office.hours), ("Điện thoại", office.phone)):
        if value:
            for line in _wrap(f"{label}: {value}", REGULAR, 11, width - 2 * MARGIN, 2):
                canvas.drawString(MARGIN, y, line)
                y -= 14
    y -= 4
    canvas.setFont(BOLD, 12)
    for line in _wrap(INSTRUCTIONS, BOLD, 12, width - 2 * MARGIN, 2):
        canvas.drawString(MARGIN, y, line)
        y -= 15
    canvas.setFont(REGULAR, 10)
    canvas.drawString(MARGIN, y, NO_SCAN)
    return y - 12


def render_poster(office: PosterOffice, items: list[PosterItem], path: Path) -> int:
    """Write the poster PDF; returns the number of pages."""
    if not items:
        raise ValueError("a poster needs at least one procedure")
    _register_fonts()
    width, height = A4
    per_page = COLUMNS * ROWS
    pages = (len(items) + per_page - 1) // per_page
    canvas = Canvas(str(path), pagesize=A4)
    canvas.setTitle(f"Mã QR thủ tục hành chính - {office.name}")
    canvas.setAuthor("TTHC Bot")
    cell_width = (width - 2 * MARGIN) / COLUMNS
    for page in range(pages):
        top = _header(canvas, office, width, height - MARGIN - 12)
        cell_height = (top - MARGIN - 10) / ROWS
        for slot, item in enumerate(items[page * per_page : (page + 1) * per_page]):
            column, row = slot % COLUMNS, slot // COLUMNS
            x = MARGIN + column * cell_width
            y_top = top - row * cell_height
            qr_size = min(QR_SIZE, cell_height - 42)
            _draw_qr(canvas, item.link, x + (cell_width - qr_size) / 2, y_top - qr_size, qr_size)
            y = y_top - qr_size - 12
            canvas.setFont(BOLD, 11)
            for line in _wrap(item.title, BOLD, 11, cell_width - 8, 2):
                canvas.drawCentredString(x + cell_width / 2, y, line)
                y -= 13
            canvas.setFont(REGULAR, 9)
            canvas.drawCentredString(x + cell_width / 2, y, f"Mã thủ tục {item.code}")
            canvas.setFont(REGULAR, 7)
            canvas.drawCentredString(x + cell_width / 2, y - 10, item.link)
        canvas.setFont(REGULAR, 8)
        canvas.drawString(MARGIN, MARGIN / 2, FOOTER.format(page=page + 1, pages=pages))
        canvas.showPage()
    canvas.save()
    return pages
