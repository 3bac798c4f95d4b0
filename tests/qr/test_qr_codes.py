"""QR images and posters decode with a real decoder, and the decoded links open the procedure in the bot."""

import cv2
import numpy as np
import pypdfium2
import pytest

from bot.app import build_app
from bot.cli import main
from bot.conversation import Incoming


def decode_all(image: np.ndarray) -> list[str]:
    """Every QR code in an image: the multi-code detector, then overlapping tiles for any it missed."""
    detector = cv2.QRCodeDetector()
    found, texts, _, _ = detector.detectAndDecodeMulti(image)
    decoded = {text for text in texts if text} if found else set()
    height, width = image.shape[:2]
    for rows, columns in ((3, 2), (4, 3)):
        for row in range(rows):
            for column in range(columns):
                top, left = int(row * height / rows), int(column * width / columns)
                tile = image[
                    max(0, top - height // 12) : min(height, top + height // rows + height // 12),
                    max(0, left - width // 12) : min(width, left + width // columns + width // 12),
                ]
                text, _, _ = detector.detectAndDecode(tile)
                if text:
                    decoded.add(text)
    return sorted(decoded)


def decode_png(path) -> list[str]:
    return decode_all(cv2.imread(str(path)))


@pytest.fixture
def office(database_url, monkeypatch, capsys):
    monkeypatch.setenv("TTHC_TELEGRAM_BOT_USERNAME", "tthc_xa_bot")
    assert (
        main(
            [
                "office",
                "add",
                "xa-thu-nghiem",
                "--name",
                "Trung tâm Phục vụ hành chính công xã Thử Nghiệm",
                "--address",
                "Số 1 đường Thử, xã Thử Nghiệm",
                "--hours",
                "Thứ Hai - Thứ Sáu, 7h30 - 17h00",
                "--phone",
                "0262 000 000",
            ]
        )
        == 0
    )
    capsys.readouterr()
    return "xa-thu-nghiem"


def open_link(link: str, user: str = "1"):
    payload = link.split("start=", 1)[1]
    return build_app().respond(Incoming("telegram", user, command="start", payload=payload))


def test_procedure_qr_png_decodes_to_a_link_that_opens_it(office, tmp_path, capsys):
    target = tmp_path / "khai-sinh.png"
    assert main(["qr", "1.001193", "--out", str(target)]) == 0
    (link,) = decode_png(target)
    assert link == "https://t.me/tthc_xa_bot?start=p1_1-001193"
    assert "Mã thủ tục 1.001193" in open_link(link).messages[0].html


def test_office_qr_sets_the_office_for_where_questions(office, tmp_path):
    target = tmp_path / "office.png"
    assert main(["qr", "--office", office, "--out", str(target), "--caption", "Quét để hỏi thủ tục"]) == 0
    (link,) = decode_png(target)
    app = build_app()
    greeting = app.respond(Incoming("telegram", "9", command="start", payload=link.split("start=")[1]))
    assert "Trung tâm Phục vụ hành chính công xã Thử Nghiệm" in greeting.messages[0].html
    reply = app.respond(Incoming("telegram", "9", text="đăng ký kết hôn nộp ở đâu"))
    html = reply.messages[0].html
    assert "1.000894" in html and "Số 1 đường Thử, xã Thử Nghiệm" in html and "7h30 - 17h00" in html
    assert "trực tuyến" in html


def test_svg_output_is_a_qr_svg(office, tmp_path):
    target = tmp_path / "code.svg"
    assert main(["qr", "1.004873", "--office", office, "--out", str(target)]) == 0
    svg = target.read_text()
    assert "<svg" in svg and "<path" in svg


def test_web_target_needs_a_public_url(office, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TTHC_PUBLIC_URL", raising=False)
    assert main(["qr", "1.004873", "--target", "web", "--out", str(tmp_path / "x.png")]) == 1
    assert "TTHC_PUBLIC_URL" in capsys.readouterr().err
    monkeypatch.setenv("TTHC_PUBLIC_URL", "https://tthc.example.vn/")
    assert main(["qr", "1.004873", "--target", "web", "--out", str(tmp_path / "x.png")]) == 0
    assert decode_png(tmp_path / "x.png") == ["https://tthc.example.vn/p/1.004873"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["qr", "9.999999", "--out", "x.png"], "9.999999"),
        (["qr", "--office", "nowhere", "--out", "x.png"], "nowhere"),
        (["qr", "--out", "x.png"], "CODE"),
        (["poster", "--office", "xa-thu-nghiem", "--codes", "1.001193,bad", "--out", "p.pdf"], "bad"),
    ],
)
def test_bad_qr_and_poster_requests_are_refused(office, capsys, argv, message):
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def render_pages(path) -> list[np.ndarray]:
    document = pypdfium2.PdfDocument(str(path))
    pages = []
    for page in document:
        image = page.render(scale=200 / 72).to_pil().convert("RGB")
        pages.append(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR))
    return pages


def pdf_text(path) -> str:
    document = pypdfium2.PdfDocument(str(path))
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def test_poster_of_three_procedures_prints_decodes_and_reads_in_vietnamese(office, tmp_path):
    target = tmp_path / "poster.pdf"
    assert main(["poster", "--office", office, "--codes", "1.001193,1.000894,2.000815", "--out", str(target)]) == 0
    (page,) = render_pages(target)
    links = sorted(decode_all(page))
    assert links == sorted(
        f"https://t.me/tthc_xa_bot?start=o1_{office}_{code}" for code in ("1-001193", "1-000894", "2-000815")
    )
    for link, code in zip(sorted(links), ("1.000894", "1.001193", "2.000815"), strict=True):
        assert f"Mã thủ tục {code}" in open_link(link).messages[0].html
    text = pdf_text(target)
    titles = [build_app().index.by_code[code].title for code in ("1.001193", "1.000894", "2.000815")]
    for expected in (
        "Trung tâm Phục vụ hành chính công xã Thử Nghiệm",
        *titles,
        "quét mã để xem hồ sơ cần chuẩn bị",
        "Mã thủ tục 2.000815",
    ):
        assert expected in text
    assert "https://t.me/tthc_xa_bot?start=o1_xa-thu-nghiem_1-001193" in text


def test_many_procedures_flow_onto_several_pages_and_default_codes_exist(office, tmp_path, capsys):
    codes = ",".join(info.code for info in build_app().index.procedures[:8])
    target = tmp_path / "many.pdf"
    assert main(["poster", "--office", office, "--codes", codes, "--out", str(target)]) == 0
    assert len(pypdfium2.PdfDocument(str(target))) == 2
    default = tmp_path / "default.pdf"
    assert main(["poster", "--office", office, "--out", str(default)]) == 0
    assert "procedures on 1 page" in capsys.readouterr().out


def test_a_web_poster_fills_the_page_with_large_codes_and_links_people_can_type(office, tmp_path, monkeypatch):
    """At 200 dpi, 5 cm is 394 pixels: every code is at least that; six codes spread over the whole page; the
    short link under each one opens its procedure."""
    monkeypatch.setenv("TTHC_PUBLIC_URL", "https://tthc.xa-thu-nghiem.gov.vn")
    codes = [info.code for info in build_app().index.procedures if info.origin == "curated"][:6]
    target = tmp_path / "web.pdf"
    assert main(["poster", "--office", office, "--codes", ",".join(codes), "--out", str(target)]) == 0
    (page,) = render_pages(target)
    height, width = page.shape[:2]
    detector = cv2.QRCodeDetector()
    found = {}  # link -> corners on the page
    for row in range(3):
        for column in range(2):
            top, left = row * height // 3, column * width // 2
            text, corners, _ = detector.detectAndDecode(page[top : top + height // 3, left : left + width // 2])
            if text:
                found[text] = corners[0] + np.array([left, top])
    assert sorted(found) == sorted(f"https://tthc.xa-thu-nghiem.gov.vn/p/{code}?o={office}" for code in codes)
    sizes = [float(np.linalg.norm(corners[0] - corners[1])) for corners in found.values()]
    assert min(sizes) >= 5 / 2.54 * 200  # 5 cm at 200 dots per inch
    tops = sorted(float(corners[:, 1].min()) for corners in found.values())
    assert tops[-1] - tops[0] > height * 0.5  # three rows down the page, not huddled at the top
    lefts = sorted(float(corners[:, 0].min()) for corners in found.values())
    assert lefts[-1] - lefts[0] > width * 0.4  # two columns across it
    text = pdf_text(target)
    short = f"tthc.xa-thu-nghiem.gov.vn/q/{codes[0].replace('.', '')}"
    assert short in text
    from fastapi.testclient import TestClient

    from bot.server import build_web

    client = TestClient(build_web(build_app()))
    typed = client.get("/" + short.split("/", 1)[1], follow_redirects=False)
    assert typed.status_code == 302 and typed.headers["location"].endswith(f"/p/{codes[0]}")
