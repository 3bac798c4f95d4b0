"""The channel-agnostic dialog: what a citizen sees for each kind of message."""

import pytest

from bot.catalog import Catalog
from bot.conversation import Incoming
from bot.dialog import Dialog
from bot.stores import MemoryStateStore, StoredConversations
from qr.links import encode_payload


class Talk:
    """The dialog with its conversations kept as the application keeps them (in memory)."""

    def __init__(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self.conversations = StoredConversations(MemoryStateStore())

    def handle(self, incoming: Incoming):
        from bot.conversation import Conversation

        conversation = self.conversations.load(incoming.conversation_key) or Conversation()
        reply = self.dialog.handle(incoming, conversation)
        self.conversations.save(incoming.conversation_key, conversation)
        return reply


@pytest.fixture
def dialog(index) -> Talk:
    return Talk(Dialog(Catalog.build(index, popular=("1.001193", "1.000894", "2.000815", "1.004222"))))


def say(dialog: Talk, text: str, user: str = "u1"):
    return dialog.handle(Incoming("test", user, text=text))


def press(dialog: Talk, data: str, user: str = "u1"):
    return dialog.handle(Incoming("test", user, button=data))


def labels(reply) -> list[str]:
    return [button.label for message in reply.messages for row in message.buttons for button in row]


def datas(reply) -> list[str]:
    return [button.data for message in reply.messages for row in message.buttons for button in row]


def test_answer_leads_with_the_asked_facet_and_offers_the_others(dialog):
    reply = say(dialog, "làm giấy khai sinh cho con cần giấy tờ gì")
    html = reply.messages[0].html
    assert "Đăng ký khai sinh" in html and "1.001193" in html
    assert "Hồ sơ cần chuẩn bị" in html and "Giấy chứng sinh" in html
    assert "Phí, lệ phí" not in html
    assert "💰 Lệ phí" in labels(reply) and "👍 Hữu ích" in labels(reply)
    assert reply.events[0].decision == "answer" and reply.events[0].code == "1.001193"


def test_facet_button_shows_that_facet(dialog):
    say(dialog, "dang ky ket hon")
    reply = press(dialog, "1:f:1.000894:fees")
    assert "Phí, lệ phí" in reply.messages[0].html
    assert "Miễn lệ phí" in reply.messages[0].html


def test_follow_up_uses_the_current_procedure(dialog):
    say(dialog, "đăng ký tạm trú")
    reply = say(dialog, "còn lệ phí thì sao?")
    assert "Đăng ký tạm trú" in reply.messages[0].html
    assert "Phí, lệ phí" in reply.messages[0].html
    reply = say(dialog, "nộp online được không")
    assert "Nộp trực tuyến" in reply.messages[0].html and "1.004194" in reply.messages[0].html


def test_new_question_replaces_the_context(dialog):
    say(dialog, "đăng ký tạm trú")
    reply = say(dialog, "khai tử cần những gì")
    assert "1.000656" in reply.messages[0].html


def test_close_matches_become_choices_with_a_way_out(dialog):
    reply = say(dialog, "căn cước")
    assert reply.events[0].decision == "clarify"
    assert "Không phải các mục trên" in labels(reply)
    choice = next(data for data in datas(reply) if data.startswith("1:p:"))
    picked = press(dialog, choice)
    assert choice.split(":")[2] in picked.messages[0].html


def test_choice_keeps_the_facet_asked(dialog):
    reply = say(dialog, "căn cước hết bao nhiêu tiền")
    choice = next(data for data in datas(reply) if data.startswith("1:p:1.014063"))
    assert "Phí, lệ phí" in press(dialog, choice).messages[0].html


def test_rejecting_the_choices_is_logged_for_staff(dialog):
    say(dialog, "căn cước")
    reply = press(dialog, "1:n")
    assert reply.events[0].kind == "choice_rejected"
    assert reply.events[0].text == "can cuoc"
    assert datas(reply)  # a way to browse


def test_nothing_found_is_honest_and_offers_a_way_on(dialog):
    reply = say(dialog, "giá xăng hôm nay")
    assert "chưa tìm thấy" in reply.messages[0].html
    assert "📚 Xem theo lĩnh vực" in labels(reply)
    assert reply.events[0].decision == "none"


@pytest.mark.parametrize(
    ("text", "expected"), [("xin chào", "Xin chào"), ("cảm ơn ad nhiều", "Không có gì"), ("tạm biệt", "Tạm biệt")]
)
def test_small_talk_gets_a_friendly_reply(dialog, text, expected):
    reply = say(dialog, text)
    assert reply.messages[0].html.startswith(expected)


def test_feedback_is_recorded(dialog):
    reply = press(dialog, "1:d:1.001193")
    assert reply.events[0].kind == "feedback" and reply.events[0].helpful is False


@pytest.mark.parametrize(
    "data",
    [
        "1:f:9.999999:fees",
        "1:f:1.001193:weather",
        "0:f:1.001193:fees",
        "garbage",
        "1:b:999",
        "1:p",
        "",
        "1:u:1.001193:extra",
        "ü" * 70,
        "1:b:0:999",
    ],
)
def test_stale_or_forged_buttons_get_a_polite_reply(dialog, data):
    reply = press(dialog, data)
    assert "Nút này đã cũ" in reply.messages[0].html


def test_browse_fields_then_procedures(dialog):
    reply = dialog.handle(Incoming("test", "u1", command="linhvuc"))
    field_button = next(data for data in datas(reply) if data.startswith("1:b:"))
    listing = press(dialog, field_button)
    assert any(data.startswith("1:p:") for data in datas(listing))


def test_start_payload_opens_the_procedure(dialog):
    reply = dialog.handle(Incoming("test", "u1", command="start", payload=encode_payload("1.004873")))
    assert "1.004873" in reply.messages[0].html
    assert reply.events[0].kind == "deeplink"


@pytest.mark.parametrize("payload", ["p1_9-999999", "nonsense", "o1_", "<script>", "p1_" + "1" * 80])
def test_bad_payload_gets_the_greeting_and_a_note(dialog, payload):
    reply = dialog.handle(Incoming("test", "u1", command="start", payload=payload))
    assert reply.messages[0].html.startswith("Xin chào")
    assert "không còn đúng" in reply.messages[1].html


def test_long_and_markup_messages_are_safe(dialog):
    reply = say(dialog, "<b>khai sinh</b> & " + "a" * 5000)
    assert any("dài quá" in message.html for message in reply.messages)
    for message in reply.messages:
        assert "<b>khai sinh</b>" not in message.html


def test_callback_data_fits_telegram(dialog):
    reply = say(dialog, "căn cước")
    assert all(len(data.encode()) <= 64 for data in datas(reply))


@pytest.mark.parametrize(
    ("question", "not_about"),
    [("ket hon o dau", "1.001193"), ("căn cước cần giấy tờ gì", "1.001193"), ("hộ chiếu làm ở đâu", "1.001193")],
)
def test_a_new_question_with_a_facet_is_not_taken_as_a_follow_up(dialog, question, not_about):
    say(dialog, "lam giay khai sinh")
    reply = say(dialog, question)
    assert f"Mã thủ tục {not_about}" not in reply.messages[0].html


def test_a_bare_follow_up_without_context_asks_which_procedure(dialog):
    reply = say(dialog, "nộp online được không", user="fresh")
    assert "thủ tục nào" in reply.messages[0].html
    assert reply.events[0].decision == "none"


def test_field_lists_are_paged_to_fit_telegram(index):
    from dataclasses import replace as clone

    many = [clone(info, code=f"8.{n:06d}", field=f"Lĩnh vực {n:03d}") for n, info in enumerate(index.procedures * 3)]
    big = Talk(Dialog(Catalog.build(type(index)([*index.procedures, *many]))))
    reply = big.handle(Incoming("test", "u", command="linhvuc"))
    buttons = datas(reply)
    assert len(buttons) <= 11 and buttons[-1].startswith("1:g:1")
    assert len(datas(big.handle(Incoming("test", "u", button=buttons[-1])))) <= 11


def test_a_number_presses_the_button_of_that_number(dialog):
    answer = say(dialog, "làm giấy khai sinh cần gì")
    buttons = [button for message in answer.messages for row in message.buttons for button in row]
    fees = next(number for number, button in enumerate(buttons, start=1) if button.label == "💰 Lệ phí")
    assert "Phí, lệ phí" in say(dialog, str(fees)).messages[0].html


def test_numbers_stay_valid_until_new_buttons_come(dialog):
    say(dialog, "căn cước")
    first_choice = say(dialog, "1")
    assert "Mã thủ tục" in first_choice.messages[0].html


def test_a_stale_number_gets_a_polite_reply(dialog):
    say(dialog, "đăng ký kết hôn")
    reply = say(dialog, "99")
    assert "không có trong danh sách" in reply.messages[0].html


@pytest.mark.parametrize("typed", ["/start p1_1-004873", "P1_1-004873", "p1_1-004873", "/START p1_1-004873"])
def test_a_deep_link_typed_as_text_opens_the_procedure(dialog, typed):
    reply = say(dialog, typed)
    assert "1.004873" in reply.messages[0].html
    assert reply.events[0].kind == "deeplink"


def test_the_question_as_typed_is_kept_for_staff(dialog):
    reply = say(dialog, "Giá xăng hôm nay?")
    assert reply.events[0].asked == "Giá xăng hôm nay?" and reply.events[0].text == "gia xang hom nay"


def test_the_source_line_claims_the_national_database_only_for_a_national_record(index):
    from bot.texts import source_footer

    assert "Cơ sở dữ liệu quốc gia" in source_footer(index.by_code["1.001193"])
    assert "Cơ sở dữ liệu quốc gia" not in source_footer(index.by_code["1.001776"])  # no national record


def test_a_procedure_not_done_at_the_commune_says_who_handles_it_first(index):
    from dataclasses import replace as clone

    passport = clone(
        index.by_code["1.001193"],
        code="2.002213",
        name="Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp tỉnh)",
        short_name="",
        level="Cấp tỉnh",
        agency="Phòng Quản lý xuất nhập cảnh Công an tỉnh",
        aliases=("làm hộ chiếu",),
        origin="dvcqg",
    )
    talk = Talk(Dialog(Catalog.build(type(index)([*index.procedures, passport]))))
    html = talk.handle(Incoming("test", "u", text="làm hộ chiếu cần giấy tờ gì")).messages[0].html
    lines = html.split("\n")
    assert "2.002213" in lines[1]
    assert "không làm ở xã" in lines[2] and "Phòng Quản lý xuất nhập cảnh Công an tỉnh" in lines[2]


def test_after_an_office_code_a_police_procedure_is_sent_to_the_police_desk(index):
    from knowledge.records import OfficeInfo

    office = OfficeInfo("xa-a", "Trung tâm Phục vụ hành chính công xã A", address="Số 1", hours="7h30 - 17h00")
    talk = Talk(Dialog(Catalog.build(index, offices={"xa-a": office})))
    talk.handle(Incoming("test", "u", command="start", payload=encode_payload(None, "xa-a")))
    vneid = talk.handle(Incoming("test", "u", button="1:f:3.000228:where")).messages[0].html
    assert "Công an cấp xã" in vneid and "không nộp tại Trung tâm Phục vụ hành chính công xã A" in vneid
    assert "Nộp tại Trung tâm" not in vneid
    marriage = talk.handle(Incoming("test", "u", text="đăng ký kết hôn nộp ở đâu")).messages[0].html
    assert "Nộp tại Trung tâm Phục vụ hành chính công xã A" in marriage and "Số 1" in marriage


def test_after_an_office_code_a_card_filed_with_the_police_or_the_one_stop_desk_is_not_refused(index):
    from knowledge.records import OfficeInfo

    office = OfficeInfo("xa-a", "Trung tâm Phục vụ hành chính công xã A")
    talk = Talk(Dialog(Catalog.build(index, offices={"xa-a": office})))
    talk.handle(Incoming("test", "u", command="start", payload=encode_payload(None, "xa-a")))
    card = talk.handle(Incoming("test", "u", button="1:f:1.014061:where")).messages[0].html
    assert "Công an cấp xã" in card and "một số nơi nhận cả tại Trung tâm Phục vụ hành chính công xã A" in card
    assert "không nộp tại" not in card  # the record: "Bộ phận Một cửa cấp xã (nếu đã triển khai)"


def test_a_procedure_with_no_online_filing_never_offers_it(index):
    from knowledge.records import OfficeInfo

    office = OfficeInfo("xa-a", "Trung tâm xã A")
    talk = Talk(Dialog(Catalog.build(index, offices={"xa-a": office})))
    talk.handle(Incoming("test", "u", command="start", payload=encode_payload(None, "xa-a")))
    for code in ("2.000815", "2.000884", "2.000992", "1.011607", "2.000986"):
        for facet in ("where", "online"):
            html = talk.handle(Incoming("test", "u", button=f"1:f:{code}:{facet}")).messages[0].html
            assert "Hoặc nộp trực tuyến" not in html, (code, facet)


def test_doing_something_else_after_asking_for_staff_does_not_send_the_next_question_to_them(dialog):
    say(dialog, "/hoicanbo")
    press(dialog, "1:b")  # browses the fields instead
    reply = say(dialog, "làm giấy khai sinh cần gì")
    assert reply.open_ticket is None and "1.001193" in reply.messages[0].html
    say(dialog, "/hoicanbo")
    assert say(dialog, "cảm ơn").open_ticket is None  # too short: asked again, still waiting
    assert say(dialog, "nhà tôi bị hàng xóm lấn đất thì làm sao").open_ticket is not None
