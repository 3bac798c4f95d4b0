"""Parse records of the national TTHC portal crawl (dichvucong.gov.vn, JSON Lines) into procedure dicts."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from knowledge.records import DATA_KEYS

__all__ = ["CRAWL_DATE", "KEYS", "MAX_LINE_BYTES", "SkippedRecord", "iter_records", "looks_like_dvcqg", "parse_record"]

# The date of the upstream commit that last touched the crawled data (see shared/data/SOURCE.md);
# the portal facts are no fresher than that.
CRAWL_DATE = "2026-07-17"

PORTAL = "Cổng Dịch vụ công quốc gia"
PORTAL_URL = "https://dichvucong.gov.vn"
SHOW_ONLY = " (xuất trình)"
# Citizens read these in answers: plain words, no provenance (that goes to the staff notes).
MISSING = "Chưa có thông tin"
NO_UNIT = "(chưa rõ đơn vị, thường là ngày làm việc)"
PROVINCIAL_FEE = "Lệ phí có thể do tỉnh quy định; hỏi nơi tiếp nhận khi nộp"
NO_AMOUNT = "Có thu phí, lệ phí (chưa rõ số tiền; hỏi nơi tiếp nhận hồ sơ)"
NO_INFO = "Không có thông tin"

# The longest line of the 2026-07-17 crawl is 185 KB; a longer one is skipped without being decoded.
MAX_LINE_BYTES = 2 * 1024 * 1024

DOCUMENT_LIMIT = 300
STEP_LIMIT = 400
NOTE_LIMIT = 300
TITLE_LIMIT = 150
TEXT_LIMIT = 600

# The export keys of DESIGN.md ("The data"), in its order: the record type defines them.
KEYS = DATA_KEYS

CODE_RE = re.compile(r"^\d\.\d{6}$")
# The page's own header, flattened: "...Mã thủ tục1.001193Số quyết định163/QĐ-BTP...".
PAGE_CODE_RE = re.compile(r"Mã thủ tục\s{0,20}([^\s]{0,40}?)\s{0,20}Số quyết định")

CHANNELS = ("Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính")
CHANNEL_RE = re.compile("|".join(CHANNELS))
TABLE_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
# Quantifiers are bounded: searching with unbounded ones is quadratic over long runs of digits or spaces.
TIME_RE = re.compile(
    r"(?P<num>\d{1,9}(?:[.,]\d{1,9})?)\s{0,5}(?P<unit>Ngày làm việc|Ngày|Giờ làm việc|Giờ|Tháng|Năm|Tuần|Phút)?",
    re.IGNORECASE,
)
CURRENCY = r"(?:Việt Nam Đồng|VNĐ|Đồng|đồng|USD)"
FEE_RE = re.compile(rf"Miễn phí|{NO_INFO}|(?P<amount>\d[\d.,]{{0,30}})?\s{{0,5}}(?P<cur>{CURRENCY})")
PROVINCIAL_FEE_RE = re.compile(r"Hội đồng nhân dân|HĐND|85/2019/TT-BTC", re.IGNORECASE)
EMPTY_NOTE_RE = re.compile(r"^(?:không|không có|không quy định|chưa quy định|không thu)?[\W_]*$", re.IGNORECASE)
# "(1) Trường hợp…" opens the description with a list marker; it is no fee note.
LIST_MARKER_RE = re.compile(r"^(?:\d{1,2}|[ivx]{1,4}|[a-zđ])$", re.IGNORECASE)
TIME_IN_TEXT_RE = re.compile(r"\d{1,9}\s{0,5}(?:\([^)]{0,80}\)\s{0,5})?(?:ngày|giờ|tháng|tuần)", re.IGNORECASE)

DOC_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
# The "Số lượng" cell, glued to the next item: "…1 bản chính", "…0 bản chính,1 bản sao". One digit only,
# because the item text before it often ends in digits ("Mẫu số 01" + "1 bản chính").
QUANTITY_RE = re.compile(r"(\d) bản chính(?:,\s*\d+ bản (?:sao|chụp))?(?=$|[^\s,;.)])")
BULLET_SPLIT_RE = re.compile(r"(?:(?<=^)|(?<=[.;:)]))\s*[-–]\s+")
BULLET_RE = re.compile(r"^(?:[-+•*–]+\s*)+")
FORM_FILE_RE = re.compile(r"\.(?:docx?|pdf|xlsx?|rar|zip)$", re.IGNORECASE)
FORM_GLUE_RE = re.compile(r";\s*|\.(?=[^\W\d_])|\)(?=[^\W_])")
# Words that open an attached form's file name ("Mẫu số 01.docx", "Mau04-…", "Mus08.docx", "PHỤ LỤC VI…").
FORM_WORD_RE = re.compile(r"(?<=[^\W\d_])(?:M[ẫa]u|MẪU|MAU|Mus\d|Phụ lục|PHỤ LỤC|Phu luc|Phụ Lục|PL\s?\d)")
DOC_DEBRIS = {"tên giấy tờ", "mẫu đơn, tờ khai", "số lượng", "* giấy tờ phải nộp:", "giấy tờ phải nộp:", ""}

ENUMERATOR_RE = re.compile(r"^(?:\(?[a-zđ]\)|\(?[ivx]+\)|\d+[.)]|[a-zđ][.)])$", re.IGNORECASE)
STEP_START_RE = re.compile(r"^(?:[-+•*–]|Bước\s*\d|\(?[a-zđ]\)|\(?[ivx]+\)|\d+[.)])", re.IGNORECASE)

# Segments of Vietnamese legal document symbols (document type and issuer). A closed list, because the next
# title is glued on without a separator, often in capitals ("…/NĐ-CPQUY ĐỊNH…", "…/NĐ-CPhân cấp…"), so the
# end of a symbol cannot be told from letter case alone. Longest first: the regex takes the first that fits.
_SYMBOL_SEGMENTS = sorted(
    """NĐ ND TT TTLT QĐ QD NQ NQLT PL L VBHN CT CTN HD HDLN TB KH CP TTg BTC BCA BTP NHNN BNNMT BGTVT BXD
    BTNMT BNNPTNT BNN BKHĐT BKH BHXH CSXH BLĐTBXH BYT UBTVQH VPCP BCT BKHCN BVHTTDL BNV BQP BNG BTTTT BGDĐT
    TANDTC VKSNDTC HĐTP HĐND UBND VPQH TCHQ TCT KTNN UB UBCK BTCCBCP TLĐ MTTQ TTCP BTTĐKT BVHTT UBDT
    HĐTĐ HĐBT""".split(),
    key=len,
    reverse=True,
)
_SEGMENT = r"(?:QH\d{2}|" + "|".join(_SYMBOL_SEGMENTS) + ")"
# National legal document numbers: 123/2015/NĐ-CP, 60/2014/QH13, 01/2016/TTLT-BTP-BCA, 66.7/2025/NQ-CP,
# 1234/QĐ-TTg, 05/VBHN-VPQH.
LEGAL_CODE_RE = re.compile(rf"(?P<number>\d{{1,12}}(?:\.\d{{1,6}})?)/(?P<year>\d{{4}}/)?{_SEGMENT}(?:-{_SEGMENT})*")
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
TITLE_TAIL_RE = re.compile(
    r"\s*(?:Luật|Bộ luật|Nghị định|Nghị quyết|Thông tư(?: liên tịch)?|Quyết định|Pháp lệnh|Văn bản hợp nhất)"
    r"(?:\s+số)?\s*$"
)

# "Mã: KQ.G15.000031", "Mã: 000.00.00.G04-KQ3194"; the next result name is glued on right after the digits.
RESULT_CODE_RE = re.compile(r"Mã:\s*[A-Z0-9][A-Z0-9.\-]*\d")
RESULT_BOILERPLATE_RE = re.compile(r"Từ khóa|Chọn cơ quan thực hiện")

WHERE_BY_LEVEL = {
    "Cấp xã": "Trung tâm Phục vụ hành chính công (Bộ phận Một cửa) cấp xã",
    "Cấp tỉnh": "Trung tâm Phục vụ hành chính công cấp tỉnh",
    "Cấp bộ": "Bộ phận Một cửa của bộ, ngành có thẩm quyền",
    "Cơ quan khác": "cơ quan thực hiện thủ tục",
}


class SkippedRecord(ValueError):
    """A record that cannot be imported; str(e) is the reason in English."""


@dataclass
class _Row:
    """One row of the flattened "Cách thức thực hiện" table."""

    channel: str
    time: str | None = None
    fee: str | None = None
    note: str = ""
    description: str = ""
    fee_is_free: bool = False


def _clean(text: object) -> str:
    """Return text in NFC with whitespace collapsed and stripped ("" for non-strings)."""
    if not isinstance(text, str):
        return ""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _informative(text: str) -> bool:
    """Tell whether a cleaned field carries information (not empty, not the portal's "no information")."""
    return bool(text) and text != NO_INFO and bool(re.search(r"\w", text))


def _truncate(text: str, limit: int) -> str:
    """Cut text to at most limit characters at a word boundary, marking the cut with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–") + "…"


def _capitalise(text: str) -> str:
    """Upper-case the first character only (str.capitalize would lower-case the rest)."""
    return text[:1].upper() + text[1:]


def _missing(what: str) -> str:
    """What citizens read for a field the national record leaves empty (provenance goes to the notes)."""
    return f"{MISSING} {what}; xem trên {PORTAL} (dichvucong.gov.vn) hoặc hỏi nơi tiếp nhận hồ sơ."


def _field(raw: dict, key: str) -> str:
    """A text field of a crawled record, "" when absent or not text (a mangled record must not raise)."""
    value = raw.get(key)
    return value if isinstance(value, str) else ""


# --- identity -------------------------------------------------------------------------------------


def _parse_name(raw_name: str) -> str:
    """Official name without a leading "Thủ tục", soft line wraps joined."""
    lines = [_clean(line) for line in unicodedata.normalize("NFC", raw_name).splitlines()]
    lines = [line for line in lines if line]
    # Some names are hard-wrapped at ~70 characters as in the source decision ("... thuộc thẩm \nquyền của
    # ..."); a few repeat the whole name on a second line. Both are scraping artefacts, not two names.
    if len(lines) > 1 and len(set(lines)) == 1:
        lines = lines[:1]
    name = " ".join(lines)
    # "Thủ tục hải quan" is a term in its own right (customs clearance); elsewhere "Thủ tục" adds nothing.
    if re.match(r"thủ tục(?:\s|$)", name, re.IGNORECASE) and not re.match(r"thủ tục\s+hải quan", name, re.IGNORECASE):
        name = name[len("thủ tục") :].strip()
    name = name.rstrip(" .;")
    return _capitalise(name)


def _check_identity(raw: dict, code: str, name: str) -> None:
    """Raise SkippedRecord when the record is not a usable national procedure."""
    if not code:
        raise SkippedRecord("missing code (ma_thu_tuc)")
    if not CODE_RE.match(code):
        raise SkippedRecord(f"invalid code {code!r}: expected the national pattern d.dddddd")
    if not name:
        raise SkippedRecord(f"{code}: empty name (ten_thu_tuc)")
    # The robust signal for mis-scraped pages: the page text carries its own "Mã thủ tục". When it differs
    # from the code the file is named after, the crawler saved another procedure's page under this code.
    # In the 2026-07-17 crawl this catches exactly the 17 local procedures (16 in bo-cong-an, 1 in
    # bo-tu-phap: "Hỗ trợ phát triển sản xuất cộng đồng", "Công bố Danh mục và Quy trình nội bộ…").
    raw_text = raw.get("raw_text")
    # The header comes first on the page; searching its start keeps this cheap on 40 MB of page text.
    page = PAGE_CODE_RE.search(raw_text[:5000]) if isinstance(raw_text, str) else None
    if page and page.group(1) and page.group(1) != code:
        raise SkippedRecord(f"{code}: the crawled page shows code {page.group(1)}, another procedure's page")
    # Second, independent signal (for records without page text): a provincial People's Committee decision
    # ("…/QĐ-UBND") publishes a local procedure, never a ministry's national one.
    decision = _clean(raw.get("so_quyet_dinh"))
    if re.search(r"QĐ-UBND|QD-UBND", decision, re.IGNORECASE):
        raise SkippedRecord(f"{code}: decision {decision} is a provincial (UBND) one, a local procedure")


# --- channels, time, fees, online -----------------------------------------------------------------


def _split_parenthetical(text: str) -> tuple[str, str]:
    """Split a leading balanced "(…)" off text; return (inside, rest) or ("", text)."""
    if not text.startswith("("):
        return "", text
    depth = 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[1:i], text[i + 1 :]
    return text[1:], ""


def _format_amount(amount: str, currency: str) -> str:
    """ "2,000,000" + "Việt Nam Đồng" -> "2.000.000 đồng" (Vietnamese digit grouping)."""
    digits = amount.strip()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", digits) or re.fullmatch(r"\d{1,3}(?:\.\d{3})+", digits):
        digits = re.sub(r"[.,]", "", digits)
    if digits.isdigit():
        digits = f"{int(digits):,}".replace(",", ".")
    unit = "USD" if currency == "USD" else "đồng"
    return f"{digits} {unit}"


def _parse_time(body: str) -> tuple[str | None, str]:
    """Read the "Thời gian" cell at the start of a row body; return (time or None, rest of the body)."""
    if body.startswith(NO_INFO):
        return None, body[len(NO_INFO) :]
    match = TIME_RE.match(body)
    if match:
        number = match.group("num")
        if re.fullmatch(r"\d+", number):
            number = str(int(number))
        unit = match.group("unit")
        if unit:
            return f"{number} {unit.lower()}", body[match.end() :]
        return f"{number} {NO_UNIT}", body[match.end() :]
    # Free-text times ("Không quy định", "Không phải trả kết quả cho người nộp thuế") run up to the fee cell.
    fee = FEE_RE.search(body)
    if fee:
        text = _clean(body[: fee.start()])
        if text.lower() == "không":
            text = "Không quy định"
        return (text or None), body[fee.start() :]
    return None, body


def _parse_row(channel: str, body: str) -> _Row:
    """Split one row body ("5 Ngày làm việc2,000,000 Việt Nam Đồng(note)description") into cells."""
    row = _Row(channel=channel)
    row.time, rest = _parse_time(body)
    rest = rest.lstrip()
    fee = FEE_RE.match(rest)
    label = ""
    if not fee:
        # A labelled amount ("Lệ phí : 15.000 Đồng") instead of a bare one.
        fee = FEE_RE.search(rest[:40])
        if fee and fee.group("cur"):
            label = _clean(rest[: fee.start()]).rstrip(" :")
        else:
            fee = None
    if fee:
        token = fee.group(0)
        if token == "Miễn phí":
            row.fee, row.fee_is_free = "Miễn phí", True
        elif token == NO_INFO:
            row.fee = None
        elif fee.group("amount"):
            row.fee = _format_amount(fee.group("amount"), fee.group("cur"))
        else:
            row.fee = NO_AMOUNT
        if label and row.fee:
            row.fee = f"{label}: {row.fee}"
        rest = rest[fee.end() :].lstrip()
    note, after_note = _split_parenthetical(rest)
    if LIST_MARKER_RE.match(note.strip()):
        note, after_note = "", rest
    rest = after_note
    note = BULLET_RE.sub("", _clean(note).strip("() ")).rstrip(" .;")
    row.note = "" if EMPTY_NOTE_RE.match(note) else note
    row.description = _clean(rest)
    return row


def _parse_channels(text: str) -> list[_Row]:
    """Rows of the flattened "Cách thức thực hiện" table, in the portal's order."""
    text = unicodedata.normalize("NFC", text or "")
    text = text[len(TABLE_HEADER) :] if text.startswith(TABLE_HEADER) else text
    # A channel name opens a row only where a cell is glued right after it ("Trực tuyến5 Ngày",
    # "Trực tiếpKhông quy định"); in descriptions it is followed by a space or a colon.
    starts = [
        m
        for m in CHANNEL_RE.finditer(text)
        if m.start() == 0 or (m.end() < len(text) and (text[m.end()].isdigit() or text[m.end()].isupper()))
    ]
    rows = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        rows.append(_parse_row(match.group(0), text[match.end() : end]))
    return rows


def _per_channel(values: dict[str, list[str]]) -> str:
    """One value when every channel agrees, else "Trực tiếp: …; Trực tuyến: …"."""
    joined = {channel: " hoặc ".join(dict.fromkeys(items)) for channel, items in values.items()}
    distinct = set(joined.values())
    if len(distinct) == 1:
        return distinct.pop()
    return "; ".join(f"{channel}: {value}" for channel, value in joined.items())


def _processing_time(rows: list[_Row], notes: list[str]) -> str:
    """Thời hạn giải quyết, per channel when the channels differ; what was inferred goes to `notes`."""
    values: dict[str, list[str]] = {}
    for row in rows:
        values.setdefault(row.channel, [])
        if row.time:
            values[row.channel].append(row.time)
    if any(NO_UNIT in time for times in values.values() for time in times):
        notes.append("Thời hạn: bản ghi không ghi đơn vị; câu cho người dân suy ra “thường là ngày làm việc”.")
    if not any(values.values()):
        described = next((row.description for row in rows if TIME_IN_TEXT_RE.search(row.description)), "")
        if described:
            notes.append("Thời hạn: bản ghi không có cột thời gian; câu cho người dân lấy từ phần mô tả.")
            return "Theo mô tả của thủ tục: " + _truncate(described, NOTE_LIMIT)
        return _missing("thời hạn giải quyết")
    return _per_channel({channel: times or ["chưa rõ thời hạn"] for channel, times in values.items()})


def _fee_text(row: _Row, provincial: bool) -> str | None:
    """The fee of one row in words, with the portal's note where it adds something; None when unknown."""
    note = _truncate(row.note, NOTE_LIMIT) if row.note else ""
    # The portal's fee column often says "Miễn phí" while the note or the legal basis (Thông tư
    # 85/2019/TT-BTC) says the province's People's Council sets the fee: never read it literally then.
    if (row.fee_is_free or row.fee is None) and provincial:
        return f"{PROVINCIAL_FEE}. Ghi chú: {note}" if note else PROVINCIAL_FEE
    if row.fee is None:
        return f"Chưa rõ mức phí, lệ phí. Ghi chú: {note}" if note else None
    if note.startswith("/"):  # "50.000 đồng" + "(/hồ sơ)"
        return f"{row.fee}{note}"
    if note.lower().startswith("đồng/") and row.fee.endswith("đồng"):
        return f"{row.fee}{note[4:]}"
    if note and note != row.fee:
        return f"{row.fee} ({note})"
    return row.fee


def _fees(rows: list[_Row], legal_text: str, notes: list[str]) -> str:
    """Phí, lệ phí, per channel when the channels differ; what was inferred goes to `notes`."""
    # One judgement per procedure: the province sets the fee whichever channel is used.
    provincial = any(PROVINCIAL_FEE_RE.search(f"{row.note} {row.description}") for row in rows) or bool(
        PROVINCIAL_FEE_RE.search(legal_text)
    )
    if provincial and any(row.fee_is_free or row.fee is None for row in rows):
        notes.append(
            'Lệ phí: bản ghi ghi "Miễn phí" hoặc không ghi mức thu, nhưng ghi chú hoặc căn cứ pháp lý nhắc HĐND tỉnh'
            " (Thông tư 85/2019/TT-BTC); câu cho người dân suy ra lệ phí có thể do tỉnh quy định."
        )
    if any(row.fee == NO_AMOUNT for row in rows):
        notes.append("Lệ phí: bản ghi có thu phí, lệ phí nhưng không ghi số tiền.")
    texts = [(row.channel, _fee_text(row, provincial)) for row in rows]
    if not any(text for _, text in texts):
        return _missing("phí, lệ phí")
    values: dict[str, list[str]] = {}
    for channel, text in texts:
        values.setdefault(channel, []).append(text or "chưa có thông tin")
    return _per_channel(values)


def _online_level(rows: list[_Row]) -> str:
    """none / full: the portal lists the online channel or not (it does not say when only part is online)."""
    return "full" if any(row.channel == "Trực tuyến" for row in rows) else "none"


def _online(rows: list[_Row]) -> str:
    """Whether and where the procedure can be filed online."""
    channels = {row.channel for row in rows}
    direct, online, post = (name in channels for name in CHANNELS)
    if online:
        others = [label for present, label in ((direct, "nộp trực tiếp"), (post, "qua bưu chính")) if present]
        tail = f"; cũng nhận {' và '.join(others)}." if others else "."
        return f"Có thể nộp trực tuyến trên {PORTAL} (dichvucong.gov.vn){tail}"
    if direct and post:
        return "Không nộp trực tuyến được; nộp trực tiếp hoặc qua bưu chính."
    if direct:
        return "Không nộp trực tuyến được; nộp trực tiếp tại nơi tiếp nhận hồ sơ."
    if post:
        return "Không nộp trực tuyến được; chỉ nhận hồ sơ qua bưu chính."
    return _missing("về hình thức nộp")


# --- documents ------------------------------------------------------------------------------------


def _strip_form_files(item: str) -> str:
    """Remove the "Mẫu đơn, tờ khai" cell (attached file names such as "Mẫu số 01.docx") glued to an item."""
    for _ in range(10):  # an item may carry several attached files; a bound keeps odd input cheap
        extension = FORM_FILE_RE.search(item)
        if not extension:
            return item
        window_start = max(0, extension.start() - 80)
        window = item[window_start : extension.start()]
        # The file name begins at the first glue point before the extension: after ";", after "." glued to
        # a letter, after ")" glued to a letter or digit, or where a lower-case letter or digit runs into an
        # upper-case one ("…của Chính phủ).PC15 (1).docx", "…Bộ trưởngMẫu số 01.docx").
        candidates = [m.end() for m in FORM_GLUE_RE.finditer(window)]
        candidates += [
            i
            for i in range(1, len(window))
            if window[i].isupper() and (window[i - 1].islower() or window[i - 1].isdigit())
        ]
        # File names never contain ";", so the name starts after the last one.
        floor = max((m.end() for m in re.finditer(r";\s*", window)), default=0)
        candidates += [m.start() for m in FORM_WORD_RE.finditer(window)]
        candidates = [i for i in candidates if i >= floor] or ([floor] if floor else [])
        if candidates:
            cut = window_start + min(candidates)
        else:
            cut = item.rfind(" ", 0, extension.start()) + 1
        # A cell holding nothing but the file name keeps the name, without its extension.
        item = item[:cut].rstrip(" ;-") or item[: extension.start()]
    return item


def _document_items(chunk: str) -> list[str]:
    """Split the text of one document row into items at "- " bullets."""
    items: list[str] = []
    for piece in BULLET_SPLIT_RE.split(chunk):
        if not piece.strip():
            continue
        if items and piece.lstrip().startswith("("):  # "… - (bản sao)" qualifies the item before it
            items[-1] = f"{items[-1]} {piece.strip()}"
        else:
            items.append(piece)
    return items


def _parse_documents(text: str) -> list[str]:
    """Thành phần hồ sơ as short items; items of "Giấy tờ phải xuất trình" end with "(xuất trình)"."""
    text = unicodedata.normalize("NFC", text or "").replace("\xa0", " ")
    if not _informative(_clean(text)):
        return []
    sections = text.split(DOC_HEADER)
    items: list[tuple[str, bool]] = []  # (text, shown rather than handed in)
    title = sections[0]
    for body in sections[1:]:
        show_only = "xuất trình" in title.lower()
        label = _clean(title).strip("-* ")
        if label and not re.fullmatch(r"giấy tờ phải (?:nộp|xuất trình):?", label, re.IGNORECASE):
            items.append((label if label.endswith(":") else label + ":", False))
        # Each document ends with its quantity cell; whatever follows the last one titles the next table.
        last_end = 0
        for match in QUANTITY_RE.finditer(body):
            for piece in _document_items(body[last_end : match.start()]):
                items.append((_strip_form_files(_clean(piece)), show_only))
            last_end = match.end()
        title = body[last_end:]
        if last_end == 0:  # a table without quantity cells: keep its text as one item
            items.append((title, show_only))
            title = ""
    if len(sections) == 1:
        items.extend((piece, False) for piece in _document_items(title))
    cleaned = []
    for item, show_only in items:
        item = _clean(BULLET_RE.sub("", _clean(item)))
        if item.lower() in DOC_DEBRIS or not re.search(r"\w", item) or item == NO_INFO:
            continue
        suffix = SHOW_ONLY if show_only else ""
        cleaned.append(_capitalise(_truncate(item, DOCUMENT_LIMIT - len(suffix))) + suffix)
    return list(dict.fromkeys(cleaned))


# --- steps, legal basis, result, place ------------------------------------------------------------


def _parse_steps(text: str) -> list[str]:
    """Trình tự thực hiện as a list of steps: lines, "Bước N" and "- " bullets; soft wraps joined."""
    text = unicodedata.normalize("NFC", text or "").replace("\r", "\n").replace("\xa0", " ")
    if _clean(text) == NO_INFO:
        return []
    # "Bước N" glued inside a line still starts a new step.
    text = re.sub(r"(?<=\S)\s*(?=Bước\s*\d+\s*[:.\-–])", "\n", text)
    pieces: list[list[str]] = []  # each step as its lines (joined once: repeated concatenation is quadratic)
    for raw_line in text.split("\n"):
        line = _clean(raw_line)
        if not line:
            continue
        # PDF-extracted text is hard-wrapped mid-sentence ("thông báo rộng\nrãi kế hoạch"): a line that
        # starts in lower case and is no enumerator continues the previous one.
        if (
            pieces
            and line[0].islower()
            and not STEP_START_RE.match(line)
            and not (len(pieces[-1]) == 1 and ENUMERATOR_RE.match(pieces[-1][0]))
        ):
            pieces[-1].append(line)
        else:
            pieces.append([line])
    steps = []
    for lines in pieces:
        piece = _clean(BULLET_RE.sub("", " ".join(lines)))
        if not re.search(r"\w", piece) or ENUMERATOR_RE.match(piece):
            continue
        steps.append(_capitalise(_truncate(piece, STEP_LIMIT)))
    return steps


def _short_title(title: str) -> str:
    """A legal document title without debris glued from the flattened table."""
    title = _clean(title).strip(" ,;:-–")
    title = TITLE_TAIL_RE.sub("", title).strip(" ,;:-–")
    return _truncate(title, TITLE_LIMIT)


def _parse_legal_basis(text: str) -> list[str]:
    """Căn cứ pháp lý as "<code>: <short title>" (or "<code>"), deduplicated by code, in order."""
    text = unicodedata.normalize("NFC", text or "").replace("\xa0", " ")
    text = text[len(LEGAL_HEADER) :] if text.startswith(LEGAL_HEADER) else text
    if not _informative(_clean(text)) or text.startswith(NO_INFO):
        return []
    # "NĐ –CP", "QĐ- TTg": a stray space or en dash inside a symbol.
    text = re.sub(r"(/[A-ZĐ]{1,6})\s*[–-]\s*(?=[A-ZĐ])", r"\1-", text)
    entries: dict[str, str] = {}
    mentions: dict[str, None] = {}
    title_start = 0
    for match in LEGAL_CODE_RE.finditer(text):
        code, start = match.group(0), match.start()
        number = match.group("number")
        # "…Luật Khiếu nại năm 201102/2011/QH13": the title's year is glued onto the number of the symbol.
        glued_year = len(number) > 4 if match.group("year") else len(number) > 5
        if glued_year and re.match(r"(?:19|20)\d\d", number):
            code, start = code[4:], start + 4
        mentions[code] = None
        before = text[start - 1] if start else ""
        after = text[match.end()] if match.end() < len(text) else ""
        # The "Mã văn bản" cell is glued to its title ("…Luật Hộ tịch123/2015/NĐ-CP") or ends the text;
        # a number merely cited inside a title is preceded by a space and followed by a space or punctuation.
        if not ((before and not before.isspace()) or not after or after.isalpha()):
            continue
        title = _short_title(text[title_start:start])
        title_start = match.end()
        # "Thông tư 56/2017/TT-BYT" as a title only repeats the code.
        if not TITLE_TAIL_RE.sub("", title.replace(code, "")).strip(" ,;:-–"):
            title = ""
        if code not in entries:
            entries[code] = f"{code}: {title}" if title else code
    if entries:
        return list(entries.values())
    # No recognisable code cells (some rows hold "42/2020" without the symbol): list the cited numbers.
    return list(mentions) or [_truncate(_clean(text), TITLE_LIMIT)]


def _parse_result(text: str) -> str:
    """Kết quả: the result names before their "Mã: KQ…" codes and the page boilerplate."""
    text = unicodedata.normalize("NFC", text or "")
    boilerplate = RESULT_BOILERPLATE_RE.search(text)
    if boilerplate:
        text = text[: boilerplate.start()]
    parts = [_capitalise(_clean(part).strip(" ;,")) for part in RESULT_CODE_RE.split(text)]
    parts = [part for part in parts if _informative(part)]
    return _truncate("; ".join(dict.fromkeys(parts)), TEXT_LIMIT) if parts else _missing("kết quả")


def _where_to_file(address: str, level: str, agency: str) -> str:
    """Where a citizen files: the record's address when informative, else a sentence from the level."""
    if _informative(address) and len(address) >= 10:
        return _truncate(address, TEXT_LIMIT)
    places = [place for name, place in WHERE_BY_LEVEL.items() if name in level]
    if not places:
        return f"Nơi tiếp nhận: {agency}; xem địa chỉ trên {PORTAL}."
    text = " hoặc ".join(places)
    return f"{_capitalise(text)}; xem địa chỉ trên {PORTAL}."


# --- public API -----------------------------------------------------------------------------------


def parse_record(raw: dict) -> dict:
    """Turn one crawled portal record into a procedure dict with the DESIGN.md data keys."""
    if not isinstance(raw, dict):
        raise SkippedRecord("not a JSON object")
    code = _clean(raw.get("ma_thu_tuc"))
    name = _parse_name(_field(raw, "ten_thu_tuc"))
    _check_identity(raw, code, name)

    field_ = _clean(raw.get("linh_vuc"))
    level = _clean(raw.get("cap_thuc_hien"))
    agency = next(
        (
            value
            for value in (_clean(raw.get("co_quan_thuc_hien")), _clean(raw.get("co_quan_co_tham_quyen")))
            if _informative(value)
        ),
        f"Xem trên {PORTAL}",
    )
    legal_text = _clean(raw.get("can_cu_phap_ly"))
    rows = _parse_channels(_field(raw, "cach_thuc_thuc_hien"))
    source_url = _clean(raw.get("detail_url")) or PORTAL_URL
    # Staff-facing provenance: what the record lacks and what the citizen wording infers.
    notes = [f"Lấy tự động từ bản ghi {code} trên {PORTAL} (bản thu thập {CRAWL_DATE}); chưa biên tập."]

    record = {
        "code": code,
        "name": name,
        "short_name": name,  # the portal has no everyday name; aliases are curated by people, not invented
        "field": field_ if _informative(field_) else "Chưa rõ lĩnh vực",
        "level": level if _informative(level) else "Chưa rõ cấp thực hiện",
        "agency": _truncate(agency, TEXT_LIMIT),
        "where_to_file": _where_to_file(_clean(raw.get("dia_chi_tiep_nhan")), level, agency),
        "documents": _parse_documents(_field(raw, "thanh_phan_ho_so")) or [_missing("thành phần hồ sơ")],
        "special_cases": [],
        "steps": _parse_steps(_field(raw, "trinh_tu_thuc_hien")) or [_missing("trình tự thực hiện")],
        "processing_time": _processing_time(rows, notes),
        "fees": _fees(rows, legal_text, notes),
        "online_level": _online_level(rows),
        "online": _online(rows),
        "legal_basis": _parse_legal_basis(_field(raw, "can_cu_phap_ly")) or [_missing("căn cứ pháp lý")],
        "result": _parse_result(_field(raw, "ket_qua_xu_ly")),
        "aliases": [],
        "source_url": source_url,
        "verified_on": CRAWL_DATE,
        "notes": "",
    }
    lacking = [
        label
        for key, label in _LABELS.items()
        if any(text.startswith(MISSING) or text.startswith("Chưa rõ") for text in _texts(record[key]))
    ]
    if lacking:
        notes.append(f"Bản ghi không có: {', '.join(lacking)}.")
    if record["online_level"] == "full":
        notes.append("online_level suy ra từ hình thức Trực tuyến của bản ghi (bản ghi không nói phần nào làm được).")
    record["notes"] = " ".join(notes)
    return record


# Field names in the staff notes ("Bản ghi không có: lĩnh vực, thời hạn giải quyết.").
_LABELS = {
    "field": "lĩnh vực",
    "level": "cấp thực hiện",
    "documents": "thành phần hồ sơ",
    "steps": "trình tự thực hiện",
    "processing_time": "thời hạn giải quyết",
    "fees": "phí, lệ phí",
    "online": "hình thức nộp",
    "legal_basis": "căn cứ pháp lý",
    "result": "kết quả",
}


def _texts(value: str | list[str]) -> list[str]:
    """A field value as a list of texts."""
    return value if isinstance(value, list) else [value]


def _lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each line, None for a line longer than MAX_LINE_BYTES (skipped in bounded pieces)."""
    number = 0
    while line := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) <= MAX_LINE_BYTES:
            yield number, line
            continue
        while line and not line.endswith(b"\n"):
            line = handle.readline(MAX_LINE_BYTES)
        yield number, None


def iter_records(
    path: str | Path, on_line: Callable[[int], None] | None = None
) -> Iterator[tuple[int, dict | SkippedRecord]]:
    """Yield (line number, parsed dict or SkippedRecord) for each non-blank line of a crawl JSONL file.

    A line that is too long, not UTF-8, not JSON or not a usable record is a SkippedRecord, never an exception.
    `on_line` is called with every line number, blank lines included (a caller's deadline may raise there).
    """
    seen_codes: dict[str, int] = {}
    seen_urls: dict[str, str] = {}
    with open(path, "rb") as handle:
        for number, data in _lines(handle):
            if on_line:
                on_line(number)
            if data is None:
                yield number, SkippedRecord(f"line {number}: longer than {MAX_LINE_BYTES // 1024 // 1024} MB")
                continue
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError:
                yield number, SkippedRecord(f"line {number}: not UTF-8 text")
                continue
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except (ValueError, RecursionError):  # also a 5,000-digit number, or nesting too deep
                yield number, SkippedRecord(f"line {number}: invalid JSON")
                continue
            try:
                record = parse_record(raw)
            except SkippedRecord as error:
                yield number, SkippedRecord(f"line {number}: {error}")
                continue
            code, url = record["code"], record["source_url"]
            if code in seen_codes:
                yield number, SkippedRecord(f"line {number}: {code}: duplicate code (first on line {seen_codes[code]})")
                continue
            # Two codes saved from the same portal page means one of them is a mis-scrape.
            if url != PORTAL_URL and url in seen_urls:
                yield number, SkippedRecord(f"line {number}: {code}: same portal page as {seen_urls[url]}")
                continue
            seen_codes[code] = number
            seen_urls[url] = code
            yield number, record


def looks_like_dvcqg(first_line: str) -> bool:
    """Tell whether a file's first line is a national portal crawl record (ma_thu_tuc and ten_thu_tuc)."""
    try:
        data = json.loads(first_line.lstrip("\ufeff"))
    except (ValueError, TypeError, RecursionError):
        return False
    return isinstance(data, dict) and "ma_thu_tuc" in data and "ten_thu_tuc" in data
