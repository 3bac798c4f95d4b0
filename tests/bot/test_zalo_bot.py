"""The Zalo Bot channel against a fake Bot API on loopback: real HTTP, the real client, polling and webhooks."""

import asyncio
import logging
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from bot.admin.dashboard import dashboard_data
from bot.app import build_app
from bot.channels import configured_channels
from bot.channels.plaintext import render, split_text
from bot.channels.zalo_bot import CAPABILITIES, ZaloBotChannel, ZaloBotClient, ZaloBotError
from bot.conversation import Button, Message, Reply
from knowledge.models import QueryLog
from qr.links import encode_payload
from tests.bot.processes import wait_for
from tests.bot.zalo_fakes import FakeZaloBotAPI, media_update, text_update

TOKEN = "3141592653:zalo-S3CRET-token-xyz"
CHAT = "c0ffee01"
WEBHOOK_URL = "https://tthc.example.vn/zalo/bot/hook"
WEBHOOK_SECRET = "hook-secret-0123456789"


@pytest.fixture
def bot_api():
    api = FakeZaloBotAPI(TOKEN)
    api.server.start()
    yield api
    api.server.stop()


@pytest.fixture
async def zalo_bot(database_url, bot_api):
    app = build_app()
    client = ZaloBotClient(TOKEN, bot_api.url)
    channel = ZaloBotChannel(app, client, min_poll_interval=0.0, first_pause=0.01, poll_seconds=1)
    yield channel, bot_api, app
    await client.aclose()
    app.engine.dispose()


@pytest.fixture
async def polling(zalo_bot):
    channel, api, app = zalo_bot
    task = asyncio.create_task(channel.poll())
    yield channel, api, app
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def until(predicate, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def handled(api: FakeZaloBotAPI) -> None:
    """Wait until every queued update is handled: polling is sequential, so the poll after the one that took
    the last update starts only when its answer has been sent."""
    await until(lambda: not api.queue)
    taken = api.count("getUpdates")
    await until(lambda: api.count("getUpdates") > taken)


async def ask(api: FakeZaloBotAPI, text: str, chat: str = CHAT, **kwargs) -> str:
    """Send a text and wait for the answer to it (everything sent to the chat after it, as one text)."""
    before = len(api.texts_to(chat))
    api.text(text, chat, **kwargs)
    await handled(api)
    return "\n".join(api.texts_to(chat)[before:])


def number_of(label: str, text: str) -> str:
    match = re.search(rf"^(\d+)\. {re.escape(label)}$", text, re.MULTILINE)
    assert match, f"{label!r} is not numbered in:\n{text}"
    return match.group(1)


# -- a citizen's conversation -----------------------------------------------------------------------------


async def test_question_gets_documents_and_numbered_facets_and_a_number_presses_one(polling):
    _, api, app = polling
    answer = await ask(api, "làm giấy khai sinh cho con cần giấy tờ gì")
    assert "Mã thủ tục 1.001193" in answer and "Giấy chứng sinh" in answer
    assert "<b>" not in answer and "<i>" not in answer  # plain text: Zalo shows no markup
    fee = number_of("💰 Lệ phí", answer)
    assert re.search(r"Gửi (một số từ 1 đến \d+|[\d, ]+ hoặc \d+) để chọn", answer)
    assert "Phí, lệ phí" in await ask(api, fee)
    with Session(app.engine) as session:
        logs = session.exec(select(QueryLog).where(QueryLog.kind == "question")).all()
    assert [(log.channel, log.top_code) for log in logs] == [("zalo_bot", "1.001193")]
    assert CHAT not in logs[0].user_hash
    assert "zalo_bot" in dashboard_data(app.engine)["channels"]


async def test_a_number_that_is_not_listed_gets_a_polite_reply(polling):
    _, api, _ = polling
    await ask(api, "đăng ký kết hôn")
    assert "Số này không có trong danh sách" in await ask(api, "42")


async def test_a_typed_deep_link_opens_the_procedure(polling):
    _, api, app = polling
    answer = await ask(api, f"/start {encode_payload('1.004873')}")
    assert "Mã thủ tục 1.004873" in answer
    with Session(app.engine) as session:
        opens = session.exec(select(QueryLog).where(QueryLog.kind == "deeplink")).all()
    assert [(log.channel, log.top_code) for log in opens] == [("zalo_bot", "1.004873")]


async def test_typed_commands_work_without_a_menu(polling):
    _, api, _ = polling
    assert "Chọn lĩnh vực" in await ask(api, "/linhvuc")
    assert "Cách dùng" in await ask(api, "/help")


@pytest.mark.parametrize("event", ["message.image.received", "message.sticker.received"])
async def test_images_and_stickers_get_a_polite_word(polling, event):
    _, api, _ = polling
    api.push(media_update(event, CHAT, f"media-{event}"))
    await handled(api)
    assert len(api.texts_to(CHAT)) == 1 and "tin nhắn chữ" in api.texts_to(CHAT)[0]


async def test_a_replayed_message_is_answered_once(polling):
    _, api, _ = polling
    api.text("đăng ký kết hôn cần gì", replays=2)
    await handled(api)
    answers = [text for text in api.texts_to(CHAT) if "Mã thủ tục 1.000894" in text]
    assert len(answers) == 1


async def test_idle_polls_are_quiet_and_errors_are_retried(polling, caplog):
    _, api, _ = polling
    caplog.set_level(logging.INFO)
    await until(lambda: api.count("getUpdates") >= 3)  # idle: the fake answers 408
    assert "polling failed" not in caplog.text
    api.fail_next(429, 500, 502)
    await until(lambda: not api.failures)
    answer = await ask(api, "đăng ký tạm trú")
    assert "Đăng ký tạm trú" in answer
    assert caplog.text.count("polling failed") == 3


async def test_nothing_sent_exceeds_2000_characters(zalo_bot):
    channel, api, _ = zalo_bot
    html = "<b>Tiêu đề &amp; ghi chú</b>\n" + "\n".join(f"• Giấy tờ số {n} &amp; bản sao" for n in range(300))
    html += "\n" + "chữ" * 1500 + "\n\n" + "x" * 4500  # lines longer than a message, with and without spaces
    buttons = ((Button("💰 Lệ phí", "1:f:1.001193:fees"), Button("📍 Nơi nộp", "1:f:1.001193:where")),)
    await channel.deliver(CHAT, Reply((Message(html, buttons),)))
    sent = api.texts_to(CHAT)
    assert len(sent) > 4 and not api.refused
    assert all(1 <= len(text) <= 2000 for text in sent)
    joined = "\n".join(sent)
    assert all(f"Giấy tờ số {n} & bản sao" in joined for n in range(300))
    assert sent[0].startswith("Tiêu đề & ghi chú")  # the first part is the beginning
    assert joined.count("x") >= 4500 and "<b>" not in joined
    assert sent[-1].endswith("👉 Gửi 1 hoặc 2 để chọn.")


async def test_staff_answers_can_be_sent_any_time(zalo_bot):
    channel, api, _ = zalo_bot
    assert await channel.send(CHAT, Reply((Message("<b>Cán bộ trả lời:</b> mang theo bản chính."),)))
    assert api.texts_to(CHAT) == ["Cán bộ trả lời: mang theo bản chính."]
    api.unreachable_chats.add("blocked")
    assert not await channel.send("blocked", Reply((Message("…"),)))


# -- the token stays secret ------------------------------------------------------------------------------


async def test_no_log_line_or_error_shows_the_token(polling, caplog):
    channel, api, _ = polling
    caplog.set_level(logging.DEBUG)
    api.fail_next(500)
    await until(lambda: "polling failed" in caplog.text)  # logged without the token
    await ask(api, "làm giấy khai sinh")
    api.unreachable_chats.add("blocked")
    await channel.send("blocked", Reply((Message("x"),)))
    unreachable = ZaloBotClient(TOKEN, "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ZaloBotError) as raised:
        await unreachable.send_message(CHAT, "x")
    await unreachable.aclose()
    secret = TOKEN.split(":", 1)[1]
    assert secret not in caplog.text and TOKEN not in caplog.text
    assert secret not in str(raised.value) and secret not in repr(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# -- webhook mode ---------------------------------------------------------------------------------------------


@pytest.fixture
async def webhook(database_url, bot_api):
    app = build_app()
    client = ZaloBotClient(TOKEN, bot_api.url)
    channel = ZaloBotChannel(app, client, webhook_url=WEBHOOK_URL, webhook_secret=WEBHOOK_SECRET, first_pause=0.01)
    web = FastAPI()
    channel.mount(web)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as http:
        yield channel, bot_api, http
    await client.aclose()
    app.engine.dispose()


async def test_webhook_checks_the_secret_and_takes_both_body_shapes(webhook):
    channel, api, http = webhook
    update = text_update("đăng ký khai tử", CHAT, "w1")
    assert (await http.post("/zalo/bot/hook", json=update)).status_code == 401
    wrong = {"X-Bot-Api-Secret-Token": "not-the-secret"}
    assert (await http.post("/zalo/bot/hook", json=update, headers=wrong)).status_code == 401
    await channel.background.drain()
    assert api.texts_to(CHAT) == []
    right = {"X-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    assert (await http.post("/zalo/bot/hook", json=update, headers=right)).status_code == 200
    wrapped = {"ok": True, "result": text_update("đăng ký kết hôn", CHAT, "w2")}
    assert (await http.post("/zalo/bot/hook", json=wrapped, headers=right)).status_code == 200
    assert (await http.post("/zalo/bot/hook", json=update, headers=right)).status_code == 200  # a replay
    assert (await http.post("/zalo/bot/hook", content=b"{not json", headers=right)).status_code == 400
    await channel.background.drain()
    sent = "\n".join(api.texts_to(CHAT))
    assert sent.count("Mã thủ tục 1.000656") == 1 and sent.count("Mã thủ tục 1.000894") == 1


async def test_webhook_mode_registers_the_url_and_secret(webhook):
    channel, api, _ = webhook
    task = asyncio.create_task(channel.run())
    await until(lambda: api.webhook)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert api.webhook == {"url": WEBHOOK_URL, "secret_token": WEBHOOK_SECRET}


async def test_polling_mode_removes_a_webhook_first(zalo_bot):
    channel, api, _ = zalo_bot
    task = asyncio.create_task(channel.run())
    await until(lambda: api.count("getUpdates"))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert api.calls.index("deleteWebhook") < api.calls.index("getUpdates")


# -- pieces ---------------------------------------------------------------------------------------------------


def test_capabilities_and_plain_rendering():
    assert (CAPABILITIES.max_text, CAPABILITIES.html, CAPABILITIES.max_buttons) == (2000, False, 0)
    reply = Reply(
        (
            Message('Xem <a href="https://dichvucong.gov.vn/p?a=1&amp;b=2">Cổng DVC</a> &lt;ngay&gt;'),
            Message("Chọn:", ((Button("A", "1:p:a"),), (Button("B", "1:p:b"), Button("C", "1:p:c")))),
        )
    )
    first, second = render(reply, CAPABILITIES)
    assert first.text == "Xem Cổng DVC (https://dichvucong.gov.vn/p?a=1&b=2) <ngay>" and not first.buttons
    assert second.text == "Chọn:\n\n1. A\n2. B\n3. C\n👉 Gửi 1, 2 hoặc 3 để chọn."
    parts = split_text("a\n" * 3000 + "🙂" * 1500)
    assert all(len(part.encode("utf-16-le")) // 2 <= 2000 for part in parts)  # an emoji counts twice
    assert "".join(parts).count("a") == 3000 and "".join(parts).count("🙂") == 1500


async def test_zalo_bot_is_a_configured_channel(database_url, monkeypatch):
    monkeypatch.setenv("TTHC_ZALO_BOT_TOKEN", TOKEN)
    app = build_app()
    channels = configured_channels(app)
    assert [channel.name for channel in channels] == ["zalo_bot"]
    await channels[0].client.aclose()
    app.engine.dispose()


# -- `tthc run` end to end ------------------------------------------------------------------------------------




def test_tthc_run_answers_on_zalo_bot(bot_api, tmp_path):
    env = {
        **os.environ,
        "TTHC_ZALO_BOT_TOKEN": TOKEN,
        "TTHC_ZALO_BOT_BASE_URL": bot_api.url,
        "TTHC_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "TTHC_PORT": "0",
    }
    env.pop("TTHC_TELEGRAM_TOKEN", None)
    bot_api.text("làm giấy khai sinh cho con cần giấy tờ gì", "citizen1", message_id="e2e-1", replays=1)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--verbose", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        answer = "\n".join(wait_for(lambda: [t for t in bot_api.texts_to("citizen1") if "Giấy chứng sinh" in t]))
        assert "Mã thủ tục 1.001193" in answer
        fee = number_of("💰 Lệ phí", "\n".join(bot_api.texts_to("citizen1")))
        bot_api.text(fee, "citizen1")
        wait_for(lambda: [t for t in bot_api.texts_to("citizen1") if "Phí, lệ phí" in t])
        bot_api.text(f"/start {encode_payload('1.004873')}", "citizen1")
        wait_for(lambda: [t for t in bot_api.texts_to("citizen1") if "Mã thủ tục 1.004873" in t])
        sent = bot_api.texts_to("citizen1")
        assert sum("Giấy chứng sinh" in text for text in sent) == 1  # the replayed question, answered once
        assert all(len(text) <= 2000 for text in sent)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode(errors="replace")
    assert "Traceback" not in output, output
    assert "zalo_bot" in output  # "channels: web, zalo_bot"
    assert TOKEN.split(":", 1)[1] not in output


def test_qr_codes_and_posters_for_zalo_open_the_landing_page(database_url, monkeypatch, capsys, tmp_path):
    from bot.cli import main

    assert main(["qr", "1.004873", "--target", "zalo", "--out", str(tmp_path / "z.svg")]) == 1
    assert "TTHC_PUBLIC_URL" in capsys.readouterr().err
    monkeypatch.setenv("TTHC_PUBLIC_URL", "https://tthc.example.vn")
    assert main(["qr", "1.004873", "--target", "zalo", "--out", str(tmp_path / "z.svg")]) == 0
    assert capsys.readouterr().out.strip().endswith("https://tthc.example.vn/p/1.004873")


async def test_hoi_can_bo_on_zalo_bot_the_answer_comes_back_in_the_chat(polling):
    from bot.delivery import deliver_once
    from bot.tickets import answer_ticket, find_ticket

    channel, api, app = polling
    assert "một tin nhắn" in await ask(api, "/hoicanbo")
    opened = await ask(api, "nhà tôi với hàng xóm cãi nhau về lối đi chung thì báo ai")
    code = re.search(r"HCB-[0-9A-Z]{5}", opened).group(0)
    answer_ticket(app.engine, code, "Anh báo trưởng thôn, rồi UBND xã hòa giải.", staff="canbo")
    before = len(api.texts_to(CHAT))
    await deliver_once(app.engine, {"zalo_bot": channel})
    delivered = api.texts_to(CHAT)[before:]
    assert len(delivered) == 1 and "Anh báo trưởng thôn" in delivered[0] and code in delivered[0]
    assert find_ticket(app.engine, code).delivery == "delivered"
