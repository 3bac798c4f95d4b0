"""QR code images (PNG with an optional Vietnamese caption, SVG) for deep links."""

import io
from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.image.svg
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M, ERROR_CORRECT_Q

# M (15% recovery) keeps codes small on screens; Q (25%) survives print wear and glare on counters.
SCREEN = ERROR_CORRECT_M
PRINT = ERROR_CORRECT_Q
QUIET_ZONE = 4  # modules: the minimum the QR standard asks for


def font_file(bold: bool = False) -> Path:
    """Source Sans Pro (SIL OFL, shipped by the font-source-sans-pro package): covers Vietnamese."""
    import font_source_sans_pro

    name = "SourceSansPro-Bold.ttf" if bold else "SourceSansPro-Regular.ttf"
    return Path(font_source_sans_pro.__file__).parent / "files" / name


@lru_cache(maxsize=8)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_file(bold)), size)


def matrix(data: str, error_correction: int = PRINT) -> list[list[bool]]:
    """The QR modules of `data` with the quiet zone, True = dark."""
    code = qrcode.QRCode(error_correction=error_correction, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def qr_png(data: str, caption: str | None = None, box_size: int = 10, error_correction: int = SCREEN) -> bytes:
    """A PNG of the QR code, with the caption (wrapped, Vietnamese) under it when given."""
    code = qrcode.QRCode(error_correction=error_correction, box_size=box_size, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    if caption:
        font = _font(max(14, box_size * 2))
        lines = _wrap(caption, font, image.width - 2 * box_size * QUIET_ZONE // 2)[:4]
        line_height = int(font.size * 1.3)
        canvas = Image.new("RGB", (image.width, image.height + line_height * len(lines) + box_size), "white")
        canvas.paste(image, (0, 0))
        draw = ImageDraw.Draw(canvas)
        for number, line in enumerate(lines):
            width = font.getlength(line)
            draw.text(
                ((image.width - width) / 2, image.height - box_size + number * line_height),
                line,
                fill="black",
                font=font,
            )
        image = canvas
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(data: str, error_correction: int = SCREEN) -> str:
    """An SVG (paths, scalable for print) of the QR code."""
    image = qrcode.make(
        data, image_factory=qrcode.image.svg.SvgPathImage, error_correction=error_correction, border=QUIET_ZONE
    )
    return image.to_string(encoding="unicode")
