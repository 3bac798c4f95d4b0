"""Every citizen-facing Vietnamese string, and the renderers of a procedure answer.

Messages are written in a small safe HTML subset (<b>, <i>, <a href>) that Telegram and the web page
display as is and the terminal strips; everything that does not come from this module is escaped.
"""

import html
import re
from datetime import UTC, date, datetime, timedelta, timezone
from html import escape
from urllib.parse import urlsplit

from knowledge.records import OfficeInfo, ProcedureInfo

FACET_LABELS = {
    "documents": "📄 Hồ sơ",
    "where": "📍 Nơi nộp",
    "time": "⏱ Thời gian",
    "fees": "💰 Lệ phí",
    "online": "🌐 Nộp trực tuyến",
    "steps": "🧭 Các bước",
}
FACET_HEADINGS = {
    "documents": "📄 Hồ sơ cần chuẩn bị",
    "where": "📍 Nơi nộp hồ sơ",
    "time": "⏱ Thời gian giải quyết",
    "fees": "💰 Phí, lệ phí",
    "online": "🌐 Nộp trực tuyến",
    "steps": "🧭 Các bước thực hiện",
}
SUMMARY_FACETS = ("documents", "where", "time", "fees")

GREETING = (
    "Xin chào! 👋 Mình là trợ lý thủ tục hành chính.\n"
    "Bạn cứ hỏi như nói chuyện, có dấu hay không dấu đều được, ví dụ:\n"
    "• <i>làm giấy khai sinh cần gì</i>\n"
    "• <i>đăng ký kết hôn ở đâu</i>\n"
    "• <i>sao y căn cước hết bao nhiêu tiền</i>\n"
    "Mình sẽ chỉ cho bạn hồ sơ, nơi nộp, thời gian, lệ phí và cách nộp trực tuyến."
)
HELP = (
    "<b>Cách dùng</b>\n"
    "• Gõ câu hỏi về thủ tục bạn cần làm, ví dụ <i>đăng ký thường trú cho con</i>, <i>đổi căn cước ở đâu</i>.\n"
    "• Chọn các mục dưới câu trả lời (bấm nút, hoặc gửi số thứ tự trên Zalo) để xem hồ sơ, nơi nộp, thời gian, "
    "lệ phí, các bước.\n"
    "• /linhvuc: xem thủ tục theo lĩnh vực.\n"
    "• /hoicanbo: gửi câu hỏi cho cán bộ khi mình chưa trả lời được.\n"
    "• Quét mã QR ở Trung tâm Phục vụ hành chính công để mở đúng thủ tục.\n"
    "Thông tin mang tính hướng dẫn; hãy đối chiếu trên dichvucong.gov.vn hoặc hỏi cán bộ một cửa."
)
THANKS = "Không có gì ạ! Chúc bạn làm thủ tục thuận lợi. Cần gì cứ hỏi tiếp nhé. 🙂"
GOODBYE = "Tạm biệt bạn! Khi cần làm thủ tục, cứ nhắn cho mình nhé."
EMPTY = "Bạn muốn hỏi về thủ tục nào? Ví dụ: <i>làm giấy khai sinh cần gì</i>."
WHICH_PROCEDURE = "Bạn hỏi về thủ tục nào ạ? Gõ tên việc cần làm (ví dụ <i>đăng ký kết hôn</i>) hoặc chọn bên dưới:"
CLARIFY = "Bạn đang hỏi về thủ tục nào? Chọn một mục bên dưới nhé:"
NONE_OF_THESE = "Không phải các mục trên"
AFTER_NONE_OF_THESE = (
    "Cảm ơn bạn, mình đã ghi lại câu hỏi để cán bộ bổ sung. Bạn thử hỏi lại bằng cách khác "
    "(ví dụ tên giấy tờ bạn cần), hoặc xem theo lĩnh vực:"
)
NOT_FOUND = (
    "Xin lỗi, mình chưa tìm thấy thủ tục phù hợp với câu hỏi này. "
    "Mình đã ghi lại để cán bộ bổ sung.\n"
    "Bạn thử hỏi ngắn gọn tên việc cần làm, ví dụ <i>đăng ký tạm trú</i>, <i>chứng thực bản sao</i>"
)
NOT_FOUND_PORTAL = (
    ', hoặc tìm «{keywords}» trên <a href="https://dichvucong.gov.vn">Cổng Dịch vụ công quốc gia</a> '
    "(ô tìm kiếm thủ tục hành chính)."
)
NOT_FOUND_SUGGESTIONS = "Có thể bạn muốn hỏi:"
NOT_FOUND_SHORT = "(chưa tìm thấy thủ tục)"
BROWSE_BUTTON = "📚 Xem theo lĩnh vực"
BROWSE_FIELDS = "Chọn lĩnh vực:"
BROWSE_PROCEDURES = "Các thủ tục lĩnh vực <b>{field}</b>:"
MORE_BUTTON = "Xem thêm ▸"
STALE_BUTTON = "Nút này đã cũ hoặc không còn dùng được. Bạn gõ lại câu hỏi giúp mình nhé."
STALE_NUMBER = "Số này không có trong danh sách (chỉ có từ 1 đến {count}). Bạn gửi lại số khác hoặc gõ câu hỏi nhé."
STALE_NUMBER_ONE = "Số này không có trong danh sách (chỉ có số 1). Bạn gửi 1 hoặc gõ câu hỏi nhé."


def stale_number(count: int) -> str:
    """A number beyond the list of choices."""
    return STALE_NUMBER_ONE if count == 1 else STALE_NUMBER.format(count=count)
BAD_PAYLOAD_NOTE = "(Mã QR hoặc đường dẫn bạn vừa mở không còn đúng; bạn cứ hỏi trực tiếp nhé.)"
FEEDBACK_UP_BUTTON = "👍 Hữu ích"
FEEDBACK_DOWN_BUTTON = "👎 Chưa đúng"
FEEDBACK_THANKS_UP = "Cảm ơn bạn đã góp ý! 👍"
FEEDBACK_THANKS_DOWN = (
    "Cảm ơn bạn, mình đã ghi lại để cán bộ kiểm tra. Bạn có thể hỏi lại cụ thể hơn, "
    "hoặc liên hệ trực tiếp Trung tâm Phục vụ hành chính công xã, phường."
)
ERROR_APOLOGY = "Xin lỗi, hệ thống đang gặp sự cố. Bạn vui lòng thử lại sau ít phút."
TOO_LONG_NOTE = "(Tin nhắn dài quá, mình chỉ đọc phần đầu.)"
SOURCE_NATIONAL = (
    'Nguồn: <a href="{url}">Cơ sở dữ liệu quốc gia về thủ tục hành chính</a>, cán bộ đối chiếu ngày {verified}. '
    "Thông tin để tham khảo; hãy hỏi lại nơi nộp hồ sơ."
)
SOURCE_OTHER = (
    'Nguồn: <a href="{url}">{host}</a>, cán bộ đối chiếu ngày {verified}. '
    "Thông tin để tham khảo; hãy hỏi lại nơi nộp hồ sơ."
)
SOURCE_NONE = "Thông tin do cán bộ biên soạn ngày {verified}, chỉ để tham khảo; hãy hỏi lại nơi nộp hồ sơ."
NATIONAL_RECORD_NOTE = "Thông tin lấy tự động từ Cổng Dịch vụ công quốc gia, chưa được cán bộ xã biên tập."
CODE_LINE = "Mã thủ tục {code} · {level} · {field}"
NOT_AT_COMMUNE = "ℹ️ Thủ tục này không làm ở xã, phường: do <b>{agency}</b> ({level}) giải quyết."
SPECIAL_CASES_BUTTON = "⚠️ Trường hợp đặc biệt"
SPECIAL_CASES_HEADING = "⚠️ Trường hợp đặc biệt"
SPECIAL_CASES_HINT = "Có {count} trường hợp đặc biệt: chọn <i>⚠️ Trường hợp đặc biệt</i>."
MORE_DOCUMENTS = "… và {count} giấy tờ khác: chọn <i>📄 Hồ sơ</i>."
SUMMARY_LABELS = {"where": "📍 Nơi nộp", "time": "⏱ Thời gian", "fees": "💰 Lệ phí"}
SUMMARY_FIELDS = {"where": "where_to_file", "time": "processing_time", "fees": "fees"}
SUMMARY_LINE = 170  # characters of one summary line on a phone (about three lines)
SUMMARY_DOCUMENTS = 4
OFFICE_FILE_HERE = "🏢 Nộp tại {name}"
OFFICE_NOT_HERE = "🏢 Thủ tục này do <b>{agency}</b> tiếp nhận, không nộp tại {name}."
OFFICE_NOT_HERE_NO_AGENCY = "🏢 Thủ tục này không nộp tại {name}: xem mục 📍 Nơi nộp."
OFFICE_MAYBE_HERE = (
    "🏢 Thủ tục này nộp tại <b>{agency}</b>; một số nơi nhận cả tại {name}: hãy hỏi quầy tiếp nhận."
)
OFFICE_ONLINE = "🌐 Hoặc nộp trực tuyến: {online}"
STAFF_ONLY = "Lệnh này chỉ dành cho cán bộ quản trị."
RELOADED = "Đã nạp lại cơ sở tri thức: {count} thủ tục."
STATS = (
    "<b>Thống kê {period}</b>\n"
    "Câu hỏi: {questions}\nTrả lời được: {answered_share}\nLượt mở từ QR/đường dẫn: {opens}\n"
    "<b>Chưa trả lời được nhiều nhất</b>\n{unanswered}\n"
    "<b>Lượt quét QR theo nơi tiếp nhận và thủ tục</b>\n{by_office}"
)
NOTHING = "(không có)"
STAFF_NOTES_LABEL = "Ghi chú cho cán bộ"
NON_TEXT = "Mình chỉ đọc được tin nhắn chữ. Bạn gõ câu hỏi về thủ tục cần làm giúp mình nhé."
COMMANDS = {
    "start": "Bắt đầu trò chuyện",
    "help": "Cách dùng trợ lý",
    "linhvuc": "Xem thủ tục theo lĩnh vực",
    "hoicanbo": "Hỏi cán bộ khi trợ lý chưa trả lời được",
}


def _format_date(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return escape(value) or "chưa rõ"


def _bullets(items: tuple[str, ...]) -> str:
    return "\n".join(f"• {escape(item)}" for item in items)


def _numbered(items: tuple[str, ...]) -> str:
    return "\n".join(f"{number}. {escape(item)}" for number, item in enumerate(items, start=1))


MISSING = "Chưa có thông tin; hãy hỏi nơi tiếp nhận hồ sơ (Trung tâm Phục vụ hành chính công hoặc Công an xã, phường)."


def facet_body(info: ProcedureInfo, facet: str) -> str:
    """One facet of a procedure, escaped, ready under its heading."""
    if facet == "documents":
        body = _bullets(info.documents) or MISSING
        if info.special_cases:
            body += "\n" + SPECIAL_CASES_HINT.format(count=len(info.special_cases))
        return body
    if facet == "steps":
        return _numbered(info.steps) or MISSING
    value = {"where": info.where_to_file, "time": info.processing_time, "fees": info.fees, "online": info.online}
    return escape(value[facet]) or MISSING


def procedure_header(info: ProcedureInfo) -> str:
    """Name, code, level and field: always shown so citizens can check the official procedure."""
    line = CODE_LINE.format(code=escape(info.code), level=escape(info.level or "?"), field=escape(info.field or "?"))
    header = f"<b>{escape(info.name)}</b>\n<i>{line}</i>"
    if info.level and not at_commune(info):
        header += "\n" + NOT_AT_COMMUNE.format(agency=escape(info.agency or "?"), level=escape(info.level))
    return header


def at_commune(info: ProcedureInfo) -> bool:
    """Whether the commune (its one-stop centre or its police) handles the procedure."""
    return "xã" in info.level.lower() or "xã" in info.agency.lower()


def source_footer(info: ProcedureInfo) -> str:
    """Where the facts come from and when they were checked (one line; national records say they are raw)."""
    verified = _format_date(info.verified_on)
    url = info.source_url
    parts = urlsplit(url) if url.startswith(("https://", "http://")) else None
    host = (parts.hostname or "") if parts else ""
    if host.endswith("dichvucong.gov.vn") and parts and parts.path.startswith("/thu-tuc-hanh-chinh/"):
        line = SOURCE_NATIONAL.format(url=escape(url, quote=True), verified=verified)
    elif host and not host.endswith("dichvucong.gov.vn"):
        line = SOURCE_OTHER.format(url=escape(url, quote=True), host=escape(host), verified=verified)
    else:
        line = SOURCE_NONE.format(verified=verified)
    if info.origin != "curated":
        line += " " + NATIONAL_RECORD_NOTE
    return f"<i>{line}</i>"


def _summary(info: ProcedureInfo) -> str:
    """What most people need, in a few lines: the usual documents, where, how long, how much."""
    documents = info.documents[:SUMMARY_DOCUMENTS]
    lines = [f"<b>{FACET_HEADINGS['documents']}</b>", _bullets(documents) or MISSING]
    if len(info.documents) > len(documents):
        lines.append(MORE_DOCUMENTS.format(count=len(info.documents) - len(documents)))
    elif info.special_cases:
        lines.append(SPECIAL_CASES_HINT.format(count=len(info.special_cases)))
    for facet, label in SUMMARY_LABELS.items():
        lines.append(f"<b>{label}:</b> {escape(_first_sentence(getattr(info, SUMMARY_FIELDS[facet]))) or MISSING}")
    return "\n".join(lines)


_SENTENCE_END = re.compile(r"(?<=[.;])\s+")


def _first_sentence(text: str, room: int = SUMMARY_LINE) -> str:
    """The usual case of a facet for the summary: the whole text when short, else its first sentence (the
    rest is one button away)."""
    if len(text) <= room:
        return text
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(first) > room:
        first = first[: room - 1].rsplit(" ", 1)[0]
    return first.rstrip(" ;,.") + " …"


def procedure_answer(info: ProcedureInfo, facets: tuple[str, ...], office: OfficeInfo | None = None) -> str:
    """The answer: header, the asked facets (or a short summary), the scanned office when asked where, the source."""
    parts = [procedure_header(info)]
    if facets:
        parts.extend(f"<b>{FACET_HEADINGS[facet]}</b>\n{facet_body(info, facet)}" for facet in facets)
    else:
        parts.append(_summary(info))
    if office is not None and (not facets or "where" in facets):
        parts.append(office_block(office, info))
    parts.append(source_footer(info))
    return "\n\n".join(parts)


def landing_sections(info: ProcedureInfo) -> list[tuple[str, str, bool]]:
    """The QR landing page of a procedure as (heading, body, open) sections: the usual documents open, the
    rest one tap away, so the page fits a phone screen."""
    sections = [(FACET_HEADINGS["documents"], _bullets(info.documents) or MISSING, True)]
    if info.special_cases:
        sections.append((SPECIAL_CASES_HEADING, _bullets(info.special_cases), False))
    sections += [(FACET_HEADINGS[facet], facet_body(info, facet), False) for facet in ("where", "time", "fees")]
    sections += [(FACET_HEADINGS[facet], facet_body(info, facet), False) for facet in ("online", "steps")]
    sections += [
        (WEB["legal_basis"], _bullets(info.legal_basis) or MISSING, False),
        (WEB["result"], escape(info.result) or MISSING, False),
    ]
    return sections


def phone_link(phone: str) -> str:
    """A tel: target for a phone number as written ("0262 3 123 456" -> "02623123456")."""
    return "".join(ch for ch in phone if ch.isdigit() or ch == "+")


def special_cases_section(info: ProcedureInfo) -> str:
    """The special situations of a procedure under their heading."""
    return f"<b>{SPECIAL_CASES_HEADING}</b>\n{_bullets(info.special_cases)}"


def special_cases(info: ProcedureInfo) -> str:
    """The message behind the "Trường hợp đặc biệt" button."""
    return f"{procedure_header(info)}\n\n{special_cases_section(info)}"


def not_found(keywords: str) -> str:
    """The honest "not found", pointing to the national portal's search with the question's key words."""
    return NOT_FOUND + (NOT_FOUND_PORTAL.format(keywords=escape(keywords)) if keywords else ".")


OFFICE_GREETING = (
    "Xin chào! 👋 Bạn đang ở <b>{name}</b>.\n"
    "Mình sẽ hướng dẫn thủ tục và chỉ chỗ nộp hồ sơ tại đây. Bạn cần làm thủ tục gì? Ví dụ: "
    "<i>đăng ký kết hôn cần gì</i>."
)
UNKNOWN_OFFICE_NOTE = "(Mã QR này chỉ tới một nơi tiếp nhận chưa có trong hệ thống; bạn cứ hỏi trực tiếp nhé.)"
POLICE_WORDS = ("công an",)


def _agency_kind(agency: str) -> str:
    """Which desk of a commune handles an agency's dossiers: its police, or its one-stop centre."""
    return "police" if any(word in agency.lower() for word in POLICE_WORDS) else "committee"


ONE_STOP_WORDS = ("một cửa", "phục vụ hành chính công")


def _names_one_stop_desk(where_to_file: str) -> bool:
    """Whether where-to-file also names the commune's one-stop desk (beside the police, say)."""
    return any(word in where_to_file.lower() for word in ONE_STOP_WORDS)


def office_handles(office: OfficeInfo, info: ProcedureInfo) -> bool:
    """Whether the office receives this procedure's dossiers (by the agencies it lists; by default the
    commune People's Committee's, as at most one-stop centres)."""
    if not at_commune(info):
        return False
    hosted = {_agency_kind(agency) for agency in office.agencies} or {"committee"}
    return _agency_kind(info.agency) in hosted


def office_block(office: OfficeInfo, info: ProcedureInfo) -> str:
    """Where to file at the office the citizen scanned (or that this procedure is filed elsewhere)."""
    if not office_handles(office, info):
        if not info.agency:
            return OFFICE_NOT_HERE_NO_AGENCY.format(name=escape(office.name))
        if at_commune(info) and _names_one_stop_desk(info.where_to_file):
            # Căn cước: "Công an xã, phường hoặc Bộ phận Một cửa cấp xã", where the one-stop desk has started.
            return OFFICE_MAYBE_HERE.format(agency=escape(info.agency), name=escape(office.name))
        return OFFICE_NOT_HERE.format(agency=escape(info.agency), name=escape(office.name))
    lines = [f"<b>{OFFICE_FILE_HERE.format(name=escape(office.name))}</b>"]
    for label, value in (("Địa chỉ", office.address), ("Giờ làm việc", office.hours), ("Điện thoại", office.phone)):
        if value:
            lines.append(f"{label}: {escape(value)}")
    if office.map_url.startswith(("https://", "http://")):
        lines.append(f'<a href="{escape(office.map_url, quote=True)}">Xem bản đồ</a>')
    if info.online_possible and info.online:
        lines.append(OFFICE_ONLINE.format(online=escape(info.online)))
    return "\n".join(lines)


def choice_label(info: ProcedureInfo, show_level: bool) -> str:
    """A button naming a procedure (with its level when levels differ among the choices)."""
    label = info.title
    if show_level and info.level:
        label = f"{label} ({info.level})"
    return label if len(label) <= 60 else label[:59] + "…"


def stats_text(
    questions: int,
    answered: int,
    opens: int,
    unanswered: list[tuple[str, int]],
    by_office: list[tuple[str, str, int]] = (),
    days: int = 1,
) -> str:
    """The staff /stats message, naming its period ("hôm nay", "7 ngày qua")."""
    share = f"{answered / questions:.0%}" if questions else "—"
    lines = "\n".join(f"• {escape(text)} ({count})" for text, count in unanswered) or NOTHING
    office_lines = "\n".join(f"• {escape(office)} · {escape(title)} ({count})" for office, title, count in by_office)
    return STATS.format(
        period="hôm nay" if days <= 1 else f"{days} ngày qua",
        questions=questions, answered_share=share, opens=opens, unanswered=lines, by_office=office_lines or NOTHING
    )


# -- web pages ---------------------------------------------------------------------------------------------

WEB = {
    "title": "Trợ lý thủ tục hành chính",
    "subtitle": "Hỏi về giấy tờ, nơi nộp, thời gian, lệ phí — có dấu hay không dấu đều được.",
    "placeholder": "Nhập câu hỏi, ví dụ: làm giấy khai sinh cần gì",
    "send": "Gửi",
    "error": "Không gửi được câu hỏi. Bạn kiểm tra mạng rồi thử lại nhé.",
    "footer": "Thông tin chỉ để tham khảo, theo Cơ sở dữ liệu quốc gia về thủ tục hành chính; "
    "hãy kiểm tra lại trên dichvucong.gov.vn.",
    "ask_more": "Hỏi tiếp",
    "ask_web": "💬 Hỏi tiếp trên trang này",
    "ask_telegram": "✈️ Hỏi tiếp trên Telegram",
    "legal_basis": "⚖️ Căn cứ pháp lý",
    "result": "📜 Kết quả",
    "not_found_title": "Không tìm thấy",
    "not_found_procedure": "Không tìm thấy thủ tục có mã này.",
    "not_found_office": "Không tìm thấy nơi tiếp nhận này.",
    "office_procedures": "Thủ tục thường làm tại đây",
    "address": "Địa chỉ",
    "hours": "Giờ làm việc",
    "phone": "Điện thoại",
    "map": "Xem bản đồ",
    "back": "← Trang hỏi đáp",
    "public_answers": "Câu hỏi cán bộ đã trả lời",
    "ask_staff": "✍️ Hỏi cán bộ",
    "ask_staff_title": "Gửi câu hỏi cho cán bộ khi trợ lý chưa trả lời được",
}

API_ERRORS = {
    "too_large": "Yêu cầu quá lớn (tối đa 16 KB).",
    "too_many": "Bạn gửi nhanh quá, vui lòng chờ vài giây rồi hỏi tiếp.",
    "bad_json": "Yêu cầu không phải JSON hợp lệ.",
    "invalid": "Yêu cầu không hợp lệ: cần session_id (8-64 ký tự A-Z a-z 0-9 _ -) "
    "và đúng một trong text, button, start, poll.",
}

ADMIN = {
    "title": "Quản trị TTHC Bot",
    "login_failed": "Sai tên đăng nhập hoặc mật khẩu.",
    "login_locked": "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
    "dashboard": "Bảng tin",
    "inbox": "Câu hỏi chưa trả lời",
    "spreadsheet": "Nhập / xuất bảng tính",
    "audit": "Nhật ký thay đổi",
    "procedures": "Thủ tục",
    "aliases": "Cách gọi (alias)",
    "offices": "Nơi tiếp nhận",
    "users": "Tài khoản",
    "imported": "Đã nhập {file}: thêm {added}, cập nhật {updated}, giữ nguyên {unchanged}.",
    "would_import": "Thử nhập {file}: sẽ thêm {added}, cập nhật {updated}, giữ nguyên {unchanged}. Chưa thay đổi gì.",
    "import_refused": "Không nhập được: {error}. Cơ sở dữ liệu không thay đổi.",
    "no_file": "chưa chọn tệp",
    "alias_added": 'Đã thêm "{alias}" làm cách gọi của thủ tục {title} ({code}).',
    "alias_failed": "Không thêm được: chọn một thủ tục trong danh sách (gõ vài chữ của tên để tìm), "
    "hoặc thủ tục đã có cách gọi này.",
    "marked": "Đã đánh dấu: {status}.",
    "forbidden": "Yêu cầu bị từ chối (nguồn không hợp lệ).",
    "saved": "Đã lưu: {what}.",
    "tickets": "Câu hỏi của người dân",
    "ticket_refused": "Chưa gửi được câu trả lời: {error}.",
    "ticket_resend": "Sẽ gửi lại câu trả lời trong ít giây.",
    "ticket_closed": "Đã đóng câu hỏi.",
    "deleted": "Đã xóa: {what}.",
}


_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>')
TAG_PATTERN = re.compile(r"</?(?:b|i|a)(?:\s[^>]*)?>")


def plain(markup: str) -> str:
    """The safe HTML subset as plain text (the terminal, Zalo): links keep their address."""
    return html.unescape(TAG_PATTERN.sub("", _LINK.sub(r"\2 (\1)", markup)))


def strip_tags(markup: str) -> str:
    """The safe HTML subset without its tags (a fallback when a platform refuses the markup)."""
    return html.unescape(TAG_PATTERN.sub("", markup))


# -- the staff admin (sqladmin's own words, translated; field names as a clerk says them) -----------------

ADMIN_UI = {
    "List": "Danh sách",
    "Details": "Chi tiết",
    "Create": "Thêm mới",
    "Edit": "Sửa",
    "Delete": "Xóa",
    "Export": "Xuất",
    "Import": "Nhập",
    "Access": "Truy cập",
    "Page": "Trang",
    "Permissions": "Quyền",
    "You are not allowed to grant: %(permissions)s": "Bạn không được cấp các quyền: %(permissions)s",
    "New %(name)s": "Thêm %(name)s",
    "Cancel": "Hủy",
    "Save": "Lưu",
    "Save and continue editing": "Lưu và sửa tiếp",
    "Save and add another": "Lưu và thêm mục khác",
    "Column": "Cột",
    "Value": "Giá trị",
    "Go Back": "Quay lại",
    "Edit %(name)s": "Sửa %(name)s",
    "Save as new": "Lưu thành mục mới",
    "Logout": "Đăng xuất",
    "Language": "Ngôn ngữ",
    "Import CSV": "Nhập CSV",
    "You are not authorized to view these records.": "Bạn không có quyền xem các mục này.",
    "Actions": "Thao tác",
    "Delete selected items": "Xóa các mục đã chọn",
    "Search": "Tìm",
    "Select all": "Chọn tất cả",
    "Select item": "Chọn mục",
    "View": "Xem",
    "Showing %(start)s to %(end)s of %(count)s items": "Mục %(start)s–%(end)s trên tổng số %(count)s",
    "prev": "trước",
    "next": "sau",
    "Show": "Hiện",
    "%(size)s / Page": "%(size)s / trang",
    "Filters": "Bộ lọc",
    "Login to %(title)s": "Đăng nhập %(title)s",
    "Username": "Tên đăng nhập",
    "Enter username": "Nhập tên đăng nhập",
    "Password": "Mật khẩu",
    "Login": "Đăng nhập",
    "Close": "Đóng",
    "Done": "Xong",
    "Clear filter": "Bỏ lọc",
    "Apply Filter": "Lọc",
    "Please confirm": "Xin xác nhận",
    "Yes": "Đồng ý",
    "Choose CSV file": "Chọn tệp CSV",
    "No file selected": "Chưa chọn tệp",
    "Skip invalid rows and continue import": "Bỏ qua dòng lỗi và nhập tiếp",
    "Import progress": "Tiến độ nhập",
    "%(processed)s/%(total)s rows processed": "Đã xử lý %(processed)s/%(total)s dòng",
    "Import result": "Kết quả nhập",
    "Missed rows": "Dòng bị bỏ qua",
    "Download CSV": "Tải CSV",
    "Download TXT": "Tải TXT",
    "Refresh list": "Tải lại danh sách",
    "Are you sure you want to delete this item?": "Bạn chắc chắn muốn xóa mục này?",
    "This field is required.": "Mục này bắt buộc phải điền.",
    "Not a valid choice.": "Lựa chọn không hợp lệ.",
    "Not a valid integer value.": "Cần một số nguyên.",
    "Invalid JSON": "Dữ liệu không hợp lệ.",
}

FIELD_LABELS = {
    "code": "Mã thủ tục",
    "name": "Tên thủ tục",
    "short_name": "Tên thường gọi",
    "field": "Lĩnh vực",
    "level": "Cấp thực hiện",
    "agency": "Cơ quan thực hiện",
    "where_to_file": "Nơi nộp hồ sơ",
    "documents": "Hồ sơ thường cần (mỗi dòng một giấy tờ)",
    "special_cases": "Trường hợp đặc biệt (mỗi dòng một trường hợp)",
    "steps": "Các bước (mỗi dòng một bước)",
    "processing_time": "Thời gian giải quyết",
    "fees": "Phí, lệ phí",
    "online_level": "Nộp trực tuyến",
    "online": "Cách nộp trực tuyến",
    "legal_basis": "Căn cứ pháp lý (mỗi dòng một văn bản)",
    "result": "Kết quả",
    "aliases": "Cách gọi",
    "source_url": "Nguồn (đường dẫn)",
    "verified_on": "Ngày kiểm tra (YYYY-MM-DD)",
    "notes": "Ghi chú cho cán bộ (không hiện cho người dân)",
    "origin": "Nguồn dữ liệu",
    "updated_at": "Cập nhật lúc",
    "procedure": "Thủ tục",
    "procedure_code": "Thủ tục",
    "text": "Cách gọi",
    "slug": "Mã nơi tiếp nhận (trong đường dẫn, a-z 0-9 -)",
    "address": "Địa chỉ",
    "hours": "Giờ làm việc",
    "phone": "Điện thoại",
    "map_url": "Bản đồ (đường dẫn)",
    "province": "Tỉnh, thành phố",
    "commune": "Xã, phường",
    "agencies": "Tiếp nhận hồ sơ của (mỗi dòng một cơ quan; để trống: UBND cấp xã)",
    "username": "Tên đăng nhập",
    "role": "Vai trò",
    "created_at": "Thời điểm",
    "action": "Thao tác",
    "target": "Đối tượng",
    "details": "Thay đổi",
}
ONLINE_LEVEL_LABELS = {
    "full": "Nộp trực tuyến được",
    "partial": "Trực tuyến một phần",
    "none": "Không nộp trực tuyến",
    "": "Chưa rõ",
}
ORIGIN_LABELS = {"curated": "Cán bộ biên soạn", "dvcqg": "Tự động từ Cổng DVC quốc gia"}
ROLE_LABELS = {"admin": "Quản trị", "editor": "Biên tập"}
AUDIT_ACTIONS = {
    "create": "Thêm",
    "update": "Sửa",
    "delete": "Xóa",
    "import": "Nhập bảng tính",
    "alias": "Thêm cách gọi",
    "inbox": "Xử lý hộp thư",
    "ticket": "Trả lời câu hỏi",
}
AUDIT_TARGETS = {"procedure": "Thủ tục", "alias": "Cách gọi", "office": "Nơi tiếp nhận", "staff-user": "Tài khoản"}


# -- Zalo ------------------------------------------------------------------------------------------------------

ZALO_CHOOSE_ONE = "👉 Gửi số {number} để chọn."
ZALO_CHOOSE_FEW = "👉 Gửi {first} hoặc {last} để chọn."
ZALO_CHOOSE_RANGE = "👉 Gửi một số từ {first} đến {last} để chọn."
# The Official Account may send a few free replies to each message; the rest of a long answer waits for this.
ZALO_MORE_COMMAND = "gửi tiếp"
ZALO_MORE_WORDS = (ZALO_MORE_COMMAND, "tiếp", "xem tiếp", "tiếp tục")  # typed with or without accents
ZALO_MORE_BUTTON = "▶️ Gửi tiếp"
ZALO_MORE_NOTE = "(Còn tiếp. Bạn gửi «gửi tiếp» để xem phần còn lại.)"
ZALO_WEB = {
    "ask_zalo": "💬 Hỏi trên Zalo",
    "open_oa": "Mở Zalo",
    "send_code": "Mở Zalo, nhắn cho trợ lý đúng dòng dưới đây để xem ngay thủ tục này:",
    "send_code_office": "Mở Zalo, nhắn cho trợ lý đúng dòng dưới đây để được hướng dẫn tại nơi tiếp nhận này:",
    "copy_hint": "Chạm vào dòng trên để chọn rồi sao chép.",
}


def zalo_choice_hint(numbers: list[int]) -> str:
    """The line under a numbered list on Zalo: "Gửi 1, 2 hoặc 3 để chọn."."""
    if len(numbers) == 1:
        return ZALO_CHOOSE_ONE.format(number=numbers[0])
    if len(numbers) <= 4:
        return ZALO_CHOOSE_FEW.format(first=", ".join(str(number) for number in numbers[:-1]), last=numbers[-1])
    return ZALO_CHOOSE_RANGE.format(first=numbers[0], last=numbers[-1])


# The import rules speak English on the command line (one line: file, row, field); a clerk reads them here.
_RECORD_ERROR_WORDS = (
    (r"\brow (\d+)", r"dòng \1"),
    (r"\bitem (\d+)", r"mục \1"),
    (r"unknown column \(expected [^)]*\)", "cột không có trong mẫu xuất"),
    (r"column '", "cột '"),
    (r"missing column '", "thiếu cột '"),
    (r"duplicate code", "trùng mã"),
    (r"more than ([\d,]+) procedures in one file; split it", r"quá \1 thủ tục trong một tệp; hãy chia nhỏ"),
    (r"not UTF-8 text", "không phải văn bản UTF-8"),
    (r"save the spreadsheet as CSV UTF-8", "lưu bảng tính dạng CSV UTF-8"),
    (r"not a readable \.xlsx workbook", "không đọc được tệp Excel .xlsx"),
    (r"a zip bomb\?", "tệp nén bất thường"),
    (r"use \.xlsx, \.csv, \.json or \.yaml", "chỉ nhận tệp .xlsx, .csv, .json hoặc .yaml"),
    (r"is not a date YYYY-MM-DD", "không phải ngày dạng YYYY-MM-DD (ví dụ 2026-11-30)"),
    (r": required$", ": bắt buộc phải điền"),
    (r"longer than (\d+) characters", r"dài quá \1 ký tự"),
    (r"more than (\d+) items", r"quá \1 mục"),
    (r"is not a procedure code like 1\.001193", "không phải mã thủ tục (ví dụ 1.001193)"),
    (r"must be one of", "phải là một trong"),
    (r"expected text, got \w+", "phải là văn bản"),
    (r"expected a list, got \w+", "cần là danh sách, mỗi dòng một mục"),
    (r"must be a web link", "phải là đường dẫn web (https://...)"),
    (r"must be 1-40 of a-z 0-9 -", "chỉ gồm 1-40 ký tự a-z, 0-9 và dấu -"),
    (r"contains the control character", "có ký tự điều khiển"),
)


def record_error_words(message: str) -> str:
    """An import-rule error ("kb.csv, row 3, field 'verified_on': 'x' is not a date") for a clerk: in
    Vietnamese where the words are known, with each field's label."""
    text = re.sub(r"^form,?\s*", "", message)
    text = re.sub(r"field '(\w+)'", lambda match: f"mục «{FIELD_LABELS.get(match.group(1), match.group(1))}»", text)
    for pattern, replacement in _RECORD_ERROR_WORDS:
        text = re.sub(pattern, replacement, text)
    return text


def record_error_in_vietnamese(message: str) -> str:
    """A refused admin edit, for the clerk."""
    return "Chưa lưu được: " + record_error_words(message)


# -- Hỏi cán bộ: a question handed to a person ---------------------------------------------------------------

ASK_STAFF_BUTTON = "✍️ Hỏi cán bộ"
ASK_STAFF_PROMPT = (
    "Bạn viết câu hỏi cho cán bộ trong <b>một tin nhắn</b>: việc bạn cần làm, ở xã, phường nào. "
    "Muốn được gọi lại thì ghi kèm số điện thoại.\n"
    "<i>Câu hỏi và số điện thoại chỉ dùng để trả lời bạn; thông tin liên lạc được xóa sau {days} ngày.</i>"
)
ASK_STAFF_LAST = "Hoặc gửi luôn câu bạn vừa hỏi: «{question}»"
ASK_STAFF_USE_LAST_BUTTON = "📨 Gửi câu vừa hỏi"
ASK_STAFF_CANCEL_BUTTON = "Thôi, không gửi"
ASK_STAFF_CANCELLED = "Đã hủy, chưa gửi gì cho cán bộ. Bạn cứ hỏi tiếp nhé."
ASK_STAFF_TOO_SHORT = "Câu hỏi ngắn quá, cán bộ khó trả lời. Bạn viết rõ hơn một chút giúp mình nhé."
TICKET_OPENED = (
    "✅ Đã gửi câu hỏi cho cán bộ. Mã câu hỏi của bạn: <b>{code}</b>\n"
    "Cán bộ sẽ trả lời {when}; câu trả lời gửi vào cuộc trò chuyện này. "
    "Nếu chưa nhận được, bạn gửi mã <b>{code}</b> để xem tình trạng."
)
TICKET_ANSWER = "💬 <b>Cán bộ trả lời câu hỏi {code}</b>\n<i>Bạn hỏi: {question}</i>\n\n{answer}"
TICKET_STATUS = {
    "open": "Câu hỏi <b>{code}</b> đang chờ cán bộ trả lời (gửi lúc {created}).",
    "answered": "Câu hỏi <b>{code}</b> đã được trả lời lúc {answered}:\n\n{answer}",
    "closed": "Câu hỏi <b>{code}</b> đã đóng.",
}
TICKET_UNKNOWN = "Không tìm thấy câu hỏi có mã {code}. Bạn kiểm tra lại mã giúp mình nhé."
TICKET_ANSWERED_ELSEWHERE = "Câu hỏi <b>{code}</b> đã được trả lời lúc {answered}, trong cuộc trò chuyện đã gửi nó."
TICKET_TOO_MANY = (
    "Bạn vừa gửi nhiều câu hỏi cho cán bộ; vui lòng chờ cán bộ trả lời các câu trước, khoảng 20 phút sau hãy gửi tiếp."
)
TICKET_COMMAND = "hoicanbo"
STAFF_GROUP_TICKET = (
    "❓ <b>{code}</b> · {channel}{office}\n{question}{phone}\n"
    "<i>Trả lời (reply) tin này để gửi câu trả lời cho người dân.</i>"
)
STAFF_GROUP_ANSWERED = "Đã gửi câu trả lời cho {code}."
STAFF_GROUP_NOT_A_TICKET = "Tin bạn trả lời không phải câu hỏi của người dân (hoặc câu hỏi đã được trả lời)."
WEB_TICKET_PAGE = {
    "title": "Câu hỏi gửi cán bộ",
    "asked": "Câu hỏi",
    "answer": "Cán bộ trả lời",
    "waiting": "Cán bộ chưa trả lời. Câu hỏi thường được trả lời {when}.",
    "not_found": "Không tìm thấy câu hỏi có mã này.",
    "public_title": "Hỏi đáp",
    "public_intro": "Câu hỏi của người dân đã được cán bộ trả lời công khai.",
    "public_search": "Tìm câu hỏi",
    "public_empty": "Chưa có câu hỏi nào được công khai.",
}
# What stands in for personal data removed from kept questions and public pages.
REMOVED = {"phone": "[số điện thoại]", "email": "[email]", "id_number": "[số giấy tờ]"}
SIMILAR_ANSWER_NOTE = "Cán bộ đã trả lời một câu hỏi giống vậy:"
SIMILAR_ANSWER_BUTTON = "💬 Xem câu trả lời"


VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time


def local_time(moment: datetime | None, layout: str = "%H:%M %d/%m/%Y") -> str:
    """A stored UTC time as Vietnamese read it (giờ Việt Nam)."""
    if moment is None:
        return "?"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).strftime(layout)


def local_date(moment: datetime) -> str:
    """The day (YYYY-MM-DD) a stored UTC time falls on in Vietnam."""
    return local_time(moment, "%Y-%m-%d")


def local_days_start(days: int = 1) -> datetime:
    """The moment (UTC) the last `days` days began in Vietnam: midnight of today, Vietnam time, for 1."""
    midnight = datetime.now(VIETNAM).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - timedelta(days=days - 1)).astimezone(UTC)


def ticket_opened(code: str, when: str) -> str:
    """The confirmation with the code to quote."""
    return TICKET_OPENED.format(code=escape(code), when=escape(when))


def ticket_answer(code: str, question: str, answer: str) -> str:
    """A staff answer as the citizen receives it."""
    return TICKET_ANSWER.format(code=escape(code), question=escape(question[:300]), answer=escape(answer))


def ticket_status(ticket, with_answer: bool = True) -> str:
    """What a citizen sees when asking about a code (the answer itself only in the conversation that asked)."""
    template = TICKET_STATUS.get(ticket.status, TICKET_STATUS["open"])
    if ticket.status == "answered" and not with_answer:
        template = TICKET_ANSWERED_ELSEWHERE
    return template.format(
        code=escape(ticket.code),
        created=local_time(ticket.created_at),
        answered=local_time(ticket.answered_at),
        answer=escape(ticket.answer),
    )


def staff_group_ticket(ticket) -> str:
    """A new ticket as posted to the staff Telegram group."""
    return STAFF_GROUP_TICKET.format(
        code=escape(ticket.code),
        channel=escape(ticket.channel),
        office=f" · {escape(ticket.office_slug)}" if ticket.office_slug else "",
        question=escape(ticket.question),
        phone=f"\n☎ {escape(ticket.phone)}" if ticket.phone else "",
    )


# -- posters at the counter ---------------------------------------------------------------------------------

POSTER = {
    "instructions": "Mở camera điện thoại, Zalo hoặc Telegram, quét mã để xem hồ sơ cần chuẩn bị, nơi nộp, thời gian, "
    "lệ phí.",
    "no_scan": "Không quét được? Gõ đường dẫn in dưới mỗi mã vào trình duyệt.",
    "footer": "Thông tin theo Cơ sở dữ liệu quốc gia về thủ tục hành chính (dichvucong.gov.vn). Trang {page}/{pages}",
    "code_line": "Mã thủ tục {code}",
    "title": "Mã QR thủ tục hành chính - {office}",
    "address": "Địa chỉ",
    "hours": "Giờ làm việc",
    "phone": "Điện thoại",
}

# -- staff pages: labels of states and channels ----------------------------------------------------------------

INBOX_STATUS_LABELS = {"open": "Chưa xử lý", "done": "Đã xử lý", "ignored": "Bỏ qua"}
TICKET_STATUS_LABELS = {"open": "Chờ trả lời", "answered": "Đã trả lời", "closed": "Đã đóng"}
DELIVERY_LABELS = {
    "": "",
    "pending": "đang gửi",
    "sending": "đang gửi",
    "delivered": "đã gửi tới người dân",
    "failed": "gửi không được (đã thử nhiều lần)",
    "unreachable": "chưa gửi được: gọi điện cho người dân",
}
CHANNEL_LABELS = {
    "web": "Trang web",
    "telegram": "Telegram",
    "zalo_oa": "Zalo OA",
    "zalo_bot": "Zalo Bot",
    "cli": "Dòng lệnh",
}
NO_OFFICE_LABEL = "(không qua nơi tiếp nhận)"
CHART_LABEL = "Câu hỏi theo ngày"
