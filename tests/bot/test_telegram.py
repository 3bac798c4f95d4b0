"""The Telegram channel end to end: real python-telegram-bot Application, in-process Bot API."""

import itertools
import time

import pytest
from sqlmodel import Session, select
from telegram import Update

from bot.app import build_app
from bot.channels.telegram import bot_api_urls, build_application, split_html
from bot.channels.telegram_loopback import LoopbackBotAPI
from knowledge.models import Feedback, QueryLog
from qr.links import encode_payload
from tests.bot.telegram_html import telegram_html_errors

CITIZEN = 4242
STAFF = 777
_ids = itertools.count(1)


@pytest.fixture
async def telegram(database_url, monkeypatch):
    monkeypatch.setenv("TTHC_STAFF_IDS", str(STAFF))
    app = build_app()
    api = LoopbackBotAPI()
    application = build_application(app, "123456:TEST", request=api, staff_ids=app.settings.staff_id_set)
    await application.initialize()
    yield application, api, app
    await application.shutdown()
    app.engine.dispose()


def _user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": "Lan"}


def message_update(text: str | None, user_id: int = CITIZEN, **extra) -> dict:
    message = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": _user(user_id),
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_ids), "message": message}


def button_update(data: str, user_id: int = CITIZEN) -> dict:
    message = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": 1, "is_bot": True, "first_name": "TTHC"},
        "text": "…",
    }
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": _user(user_id),
            "chat_instance": "c",
            "data": data,
            "message": message,
        },
    }


async def send(application, api, update: dict) -> list[dict]:
    before = len(api.sent())
    await application.process_update(Update.de_json(update, application.bot))
    return api.sent()[before:]


def text_of(messages: list[dict]) -> str:
    return "\n".join(message["text"] for message in messages)


def buttons_of(messages: list[dict]) -> dict[str, str]:
    found = {}
    for message in messages:
        markup = message.get("reply_markup")
        if isinstance(markup, str):
            import json

            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                found[button["text"]] = button["callback_data"]
    return found


def assert_all_sendable(api: LoopbackBotAPI) -> None:
    for params in api.sent():
        assert telegram_html_errors(params["text"]) == [], params["text"]
        assert params.get("parse_mode") == "HTML"
        for data in buttons_of([params]).values():
            assert 1 <= len(data.encode()) <= 64


async def test_start_without_payload_greets_with_buttons(telegram):
    application, api, _ = telegram
    sent = await send(application, api, message_update("/start"))
    assert "Xin chào" in text_of(sent)
    assert "📚 Xem theo lĩnh vực" in buttons_of(sent)
    assert_all_sendable(api)


async def test_start_payload_opens_the_procedure_and_is_logged(telegram):
    application, api, app = telegram
    sent = await send(application, api, message_update(f"/start {encode_payload('1.004873')}"))
    assert "Mã thủ tục 1.004873" in text_of(sent)
    with Session(app.engine) as session:
        opens = session.exec(select(QueryLog).where(QueryLog.kind == "deeplink")).all()
    assert [(log.top_code, log.user_hash != str(CITIZEN)) for log in opens] == [("1.004873", True)]


@pytest.mark.parametrize("payload", ["garbage!!", "p1_9-999999", "o1_" + "x" * 70])
async def test_start_with_a_bad_payload_still_greets(telegram, payload):
    application, api, _ = telegram
    sent = await send(application, api, message_update(f"/start {payload}"))
    assert "Xin chào" in text_of(sent) and "không còn đúng" in text_of(sent)
    assert_all_sendable(api)


@pytest.mark.parametrize(
    "question", ["làm giấy khai sinh cho con cần giấy tờ gì", "lam giay khai sinh cho con can giay to gi"]
)
async def test_question_with_or_without_accents_gets_documents_and_facet_buttons(telegram, question):
    application, api, app = telegram
    sent = await send(application, api, message_update(question))
    assert "Hồ sơ cần chuẩn bị" in text_of(sent) and "Giấy chứng sinh" in text_of(sent)
    assert {"💰 Lệ phí", "📍 Nơi nộp", "👍 Hữu ích"} <= set(buttons_of(sent))
    with Session(app.engine) as session:
        log = session.exec(select(QueryLog)).one()
    assert (log.decision, log.top_code, log.facets, log.channel) == ("answer", "1.001193", "documents", "telegram")
    assert str(CITIZEN) not in log.user_hash and "Lan" not in log.text


async def test_fee_button_answers_the_callback_and_shows_the_fee(telegram):
    application, api, _ = telegram
    buttons = buttons_of(await send(application, api, message_update("làm giấy khai sinh cho con cần giấy tờ gì")))
    sent = await send(application, api, button_update(buttons["💰 Lệ phí"]))
    assert "Phí, lệ phí" in text_of(sent)
    assert len(api.sent("answerCallbackQuery")) == 1


async def test_close_match_offers_choices_and_a_choice_opens_it(telegram):
    application, api, _ = telegram
    sent = await send(application, api, message_update("căn cước"))
    buttons = buttons_of(sent)
    assert "Không phải các mục trên" in buttons
    choice = next(label for label, data in buttons.items() if data.startswith("1:p:1.014063"))
    opened = await send(application, api, button_update(buttons[choice]))
    assert "Mã thủ tục 1.014063" in text_of(opened)


async def test_follow_up_question_uses_the_context(telegram):
    application, api, _ = telegram
    await send(application, api, message_update("đăng ký tạm trú"))
    sent = await send(application, api, message_update("còn lệ phí thì sao?"))
    assert "Đăng ký tạm trú" in text_of(sent) and "Phí, lệ phí" in text_of(sent)


async def test_feedback_is_stored(telegram):
    application, api, app = telegram
    buttons = buttons_of(await send(application, api, message_update("đăng ký kết hôn")))
    sent = await send(application, api, button_update(buttons["👎 Chưa đúng"]))
    assert "Cảm ơn" in text_of(sent)
    with Session(app.engine) as session:
        feedback = session.exec(select(Feedback)).one()
    assert (feedback.procedure_code, feedback.helpful) == ("1.000894", False)


@pytest.mark.parametrize("data", ["1:f:9.999999:fees", "0:x", "💥", "1:b:99"])
async def test_stale_or_forged_button_data_gets_a_polite_reply(telegram, data):
    application, api, _ = telegram
    sent = await send(application, api, button_update(data))
    assert "Nút này đã cũ" in text_of(sent)
    assert len(api.sent("answerCallbackQuery")) == 1


async def test_very_long_and_markup_messages_are_handled(telegram):
    application, api, _ = telegram
    await send(application, api, message_update("khai sinh <b>con</b> & " + "rất dài " * 700))
    await send(application, api, message_update("<script>alert(1)</script> & < >"))
    await send(application, api, message_update("&amp; &lt;khai tử&gt;"))
    assert len(api.sent()) >= 3
    assert_all_sendable(api)


async def test_non_text_messages_get_a_polite_word(telegram):
    application, api, _ = telegram
    sticker = {
        "file_id": "x",
        "file_unique_id": "y",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    sent = await send(application, api, message_update(None, sticker=sticker))
    assert "tin nhắn chữ" in text_of(sent)


async def test_staff_commands_are_for_staff_only(telegram):
    application, api, _ = telegram
    await send(application, api, message_update("giá xăng hôm nay"))
    assert "chỉ dành cho cán bộ" in text_of(await send(application, api, message_update("/stats")))
    stats = text_of(await send(application, api, message_update("/stats", user_id=STAFF)))
    assert "Câu hỏi: 1" in stats and "gia xang hom nay" in stats
    assert "51 thủ tục" in text_of(await send(application, api, message_update("/reload", user_id=STAFF)))
    assert_all_sendable(api)


async def test_a_failing_send_is_caught_by_the_error_handler(telegram, caplog):
    application, api, _ = telegram
    api.unreachable_chats.add(CITIZEN)
    await send(application, api, message_update("đăng ký kết hôn"))
    assert "error while handling an update" in caplog.text


async def test_commands_are_registered_in_vietnamese(telegram):
    application, api, _ = telegram
    from bot.channels.telegram import register_commands

    await register_commands(application)
    commands = api.sent("setMyCommands")[0]["commands"]
    assert {command["command"] for command in commands} == {"start", "help", "linhvuc", "hoicanbo"}


def test_split_keeps_every_part_sendable():
    text = "<b>Tiêu đề</b>\n" + "\n".join(f"• Giấy tờ số {n} &amp; bản sao &lt;chứng thực&gt;" for n in range(600))
    parts = split_html(text)
    assert len(parts) > 1
    assert all(telegram_html_errors(part) == [] for part in parts)
    assert "".join(parts).count("Giấy tờ số") == 600
    one_line = "x&amp;" * 2000
    assert all(telegram_html_errors(part) == [] for part in split_html(one_line))


def test_base_url_accepts_both_forms():
    assert bot_api_urls("http://127.0.0.1:8081") == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert bot_api_urls("http://127.0.0.1:8081/bot/") == bot_api_urls("http://127.0.0.1:8081")


async def test_flood_control_is_waited_out_and_the_message_still_sent(telegram):
    application, api, _ = telegram
    api.failures.append(
        ("sendMessage", 429, {"error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 1}})
    )
    await send(application, api, message_update("đăng ký kết hôn"))
    attempts = [call for call in api.calls if call.method == "sendMessage"]
    assert len(attempts) == 2 and attempts[0].params == attempts[1].params  # the same message, sent again
    assert "1.000894" in attempts[1].params["text"]


async def test_a_message_telegram_cannot_parse_is_sent_as_plain_text(telegram):
    application, api, _ = telegram
    api.failures.append(
        ("sendMessage", 400, {"error_code": 400, "description": "Bad Request: can't parse entities: unexpected end"})
    )
    await send(application, api, message_update("đăng ký kết hôn"))
    fallback = [call.params for call in api.calls if call.method == "sendMessage"][-1]
    assert "parse_mode" not in fallback and "<b>" not in fallback["text"] and "1.000894" in fallback["text"]


@pytest.mark.parametrize("command", ["/help", "/lenhla", "/HELP"])
async def test_help_and_unknown_commands_explain_how_to_use_the_bot(telegram, command):
    application, api, _ = telegram
    assert "Cách dùng" in text_of(await send(application, api, message_update(command)))


async def test_messages_in_groups_are_not_taken_for_citizens_questions(telegram):
    application, api, _ = telegram
    update = message_update("đăng ký kết hôn")
    update["message"]["chat"] = {"id": -5, "type": "group", "title": "Nhóm"}
    assert await send(application, api, update) == []
