"""The Zalo Official Account channel against a fake OA API and OAuth server on loopback: signed webhooks in,
free replies out, single-use refresh tokens rotated through the database."""

import asyncio
import hashlib
import html
import json
import os
import re
import subprocess
import sys
from itertools import count

import httpx
import pytest
from sqlmodel import Session, select

from bot.admin.dashboard import dashboard_data
from bot.app import App, SetupError, build_app
from bot.channels import configured_channels, zalo_oa
from bot.channels.zalo_oa import CAPABILITIES, OATokenError, OATokens, TokenStore, ZaloOAChannel
from bot.conversation import Incoming, Message, Reply
from bot.server import build_web
from knowledge.db import write_offices
from knowledge.models import ChannelToken, QueryLog
from knowledge.records import parse_office
from qr.links import encode_payload
from tests.bot.processes import free_port, wait_for
from tests.bot.zalo_fakes import FakeZaloOA, oa_follow_event, oa_media_event, oa_text_event, signed_event

APP_ID = "1234567890123456789"
APP_SECRET = "app-secret-abc"
SECRET_KEY = "oa-secret-key-xyz"
FIRST_REFRESH = "rt-0"
CITIZEN = "8001"
_serial = count(1)


def message_id(user: str = CITIZEN) -> str:
    """Message ids the fake can attribute to a citizen ("<user>.<n>")."""
    return f"{user}.{next(_serial)}"


@pytest.fixture
def oa_api():
    fake = FakeZaloOA(app_id=APP_ID, app_secret=APP_SECRET, refresh_token=FIRST_REFRESH)
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture
def oa_settings(database_url, oa_api, monkeypatch):
    for name, value in {
        "TTHC_ZALO_OA_APP_ID": APP_ID,
        "TTHC_ZALO_OA_APP_SECRET": APP_SECRET,
        "TTHC_ZALO_OA_SECRET_KEY": SECRET_KEY,
        "TTHC_ZALO_OA_REFRESH_TOKEN": FIRST_REFRESH,
        "TTHC_ZALO_OA_API_URL": oa_api.url,
        "TTHC_ZALO_OA_OAUTH_URL": oa_api.url,
    }.items():
        monkeypatch.setenv(name, value)
    return oa_api


class Worker:
    """One process's view: an App, its OA channel, and the web server's routes in front of it."""

    def __init__(self) -> None:
        self.app: App = build_app()
        channel = zalo_oa.from_settings(self.app)
        assert channel is not None
        self.channel: ZaloOAChannel = channel
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_web(self.app, [channel])), base_url="http://t"
        )

    async def post(self, event: dict, *, signed: bool = True, headers: dict | None = None) -> int:
        body, signature = signed_event(event, APP_ID, SECRET_KEY if signed else "a-wrong-key")
        response = await self.http.post("/zalo/oa/webhook", content=body, headers={**signature, **(headers or {})})
        return response.status_code

    async def say(self, text: str, user: str = CITIZEN, msg_id: str | None = None) -> str:
        """A citizen's text, handled to the end; its message id."""
        msg_id = msg_id or message_id(user)
        assert await self.post(oa_text_event(APP_ID, user, text, msg_id)) == 200
        await self.channel.background.drain()
        return msg_id

    async def close(self) -> None:
        await self.channel.background.drain()
        await self.http.aclose()
        await self.channel.http.aclose()
        self.app.engine.dispose()


@pytest.fixture
async def worker(oa_settings):
    worker = Worker()
    yield worker
    await worker.close()


def texts_of(bodies: list[dict]) -> str:
    return "\n".join(body["message"]["text"] for body in bodies)


def buttons_of(bodies: list[dict]) -> dict[str, str]:
    found = {}
    for body in bodies:
        for button in body["message"].get("attachment", {}).get("payload", {}).get("buttons", []):
            assert button["type"] == "oa.query.hide"
            found[button["title"]] = button["payload"]
    return found


def replies_to(oa_api: FakeZaloOA, msg_id: str) -> list[dict]:
    return [body for body in oa_api.messages_to() if body["recipient"].get("message_id") == msg_id]


# -- webhooks -------------------------------------------------------------------------------------------------


async def test_a_signed_text_is_acknowledged_first_and_answered_as_a_free_reply(worker, oa_api):
    oa_api.hold()  # Zalo is slow to take our answer: the webhook must not wait for it
    msg_id = message_id()
    status = await worker.post(oa_text_event(APP_ID, CITIZEN, "làm giấy khai sinh cho con cần giấy tờ gì", msg_id))
    assert status == 200 and oa_api.messages_to() == []
    for _ in range(500):  # the answer is still on its way after the acknowledgement
        if oa_api.waiting:
            break
        await asyncio.sleep(0.01)
    assert oa_api.waiting == 1 and oa_api.messages_to() == []
    oa_api.release()
    await worker.channel.background.drain()
    replies = replies_to(oa_api, msg_id)
    assert replies and all(body["recipient"] == {"message_id": msg_id} for body in replies)
    assert "Giấy chứng sinh" in texts_of(replies) and "Mã thủ tục 1.001193" in texts_of(replies)
    with Session(worker.app.engine) as session:
        log = session.exec(select(QueryLog)).one()
    assert (log.channel, log.top_code) == ("zalo_oa", "1.001193") and CITIZEN not in log.user_hash
    assert "zalo_oa" in dashboard_data(worker.app.engine)["channels"]


async def test_badly_signed_webhooks_are_refused_and_nothing_is_sent(worker, oa_api):
    event = oa_text_event(APP_ID, CITIZEN, "đăng ký kết hôn", message_id())
    assert await worker.post(event, signed=False) == 401
    body, headers = signed_event(event, APP_ID, SECRET_KEY)
    tampered = body.replace("kết hôn".encode(), "khai tử".encode())
    assert (await worker.http.post("/zalo/oa/webhook", content=tampered, headers=headers)).status_code == 401
    unsigned = {"Content-Type": "application/json"}
    assert (await worker.http.post("/zalo/oa/webhook", content=body, headers=unsigned)).status_code == 401
    await worker.channel.background.drain()
    assert oa_api.messages_to() == [] and oa_api.refreshes == []


async def test_a_signature_without_the_mac_prefix_or_with_the_header_timestamp_is_accepted(worker, oa_api):
    event = oa_text_event(APP_ID, CITIZEN, "đăng ký kết hôn", message_id())
    body, headers = signed_event(event, APP_ID, SECRET_KEY)
    headers["X-ZEvent-Signature"] = headers["X-ZEvent-Signature"].removeprefix("mac=")
    assert (await worker.http.post("/zalo/oa/webhook", content=body, headers=headers)).status_code == 200
    timestamp = event.pop("timestamp")
    plain_body = json.dumps(event).encode()
    mac = hashlib.sha256(APP_ID.encode() + plain_body + timestamp.encode() + SECRET_KEY.encode())
    headers = {"X-ZEvent-Signature": f"mac={mac.hexdigest()}", "X-ZEvent-Timestamp": timestamp}
    assert (await worker.http.post("/zalo/oa/webhook", content=plain_body, headers=headers)).status_code == 200


async def test_a_replayed_webhook_is_answered_once(worker, oa_api):
    event = oa_text_event(APP_ID, CITIZEN, "đăng ký kết hôn cần gì", message_id())
    for _ in range(3):  # Zalo retries when it thinks we were slow
        assert await worker.post(event) == 200
    await worker.channel.background.drain()
    assert texts_of(oa_api.messages_to()).count("Mã thủ tục 1.000894") == 1


async def test_an_oversized_body_is_refused(worker, oa_api):
    event = oa_text_event(APP_ID, CITIZEN, "x" * (1024 * 1024), message_id())
    assert await worker.post(event) == 413


# -- the dialog on the OA -------------------------------------------------------------------------------------


async def test_buttons_numbers_and_stale_numbers(worker, oa_api):
    first = await worker.say("làm giấy khai sinh cho con cần giấy tờ gì")
    answer = replies_to(oa_api, first)
    buttons = buttons_of(answer)
    assert len(buttons) == 4 and all(payload.startswith("#1:") for payload in buttons.values())
    text = texts_of(answer)
    assert "5. 🧭 Các bước" in text and "Gửi 5, 6, 7 hoặc 8 để chọn." in text
    steps = re.search(r"^(\d+)\. 🧭 Các bước$", text, re.MULTILINE)
    assert steps and int(steps.group(1)) > 4  # listed, not a button: the numbers continue the buttons'
    assert "Các bước thực hiện" in texts_of(replies_to(oa_api, await worker.say(steps.group(1))))
    fee = replies_to(oa_api, await worker.say(buttons["💰 Lệ phí"]))  # what pressing the button sends
    assert "Phí, lệ phí" in texts_of(fee)
    assert "Số này không có trong danh sách" in texts_of(replies_to(oa_api, await worker.say("42")))


async def test_a_typed_deep_link_opens_the_procedure_with_its_office_context(worker, oa_api):
    opened = replies_to(oa_api, await worker.say(f"/start {encode_payload('1.004873')}"))
    assert "Mã thủ tục 1.004873" in texts_of(opened)


@pytest.mark.parametrize("event_name", ["user_send_image", "user_send_sticker"])
async def test_images_and_stickers_get_a_polite_word(worker, oa_api, event_name):
    msg_id = message_id()
    assert await worker.post(oa_media_event(APP_ID, CITIZEN, event_name, msg_id)) == 200
    await worker.channel.background.drain()
    assert "chỉ đọc được tin nhắn chữ" in texts_of(replies_to(oa_api, msg_id))


async def test_a_follow_gets_the_greeting_once(worker, oa_api):
    follower = "9001"
    assert await worker.post(oa_follow_event(APP_ID, follower)) == 200
    assert await worker.post(oa_follow_event(APP_ID, follower, "user_click_chatnow")) == 200
    await worker.channel.background.drain()
    greetings = oa_api.messages_to(follower)
    assert len(greetings) == 1 and "Xin chào" in texts_of(greetings)
    assert greetings[0]["recipient"] == {"user_id": follower}  # the one deliberate proactive message
    assert len(buttons_of(greetings)) == 4


async def test_a_tap_on_chat_now_inside_the_window_is_a_free_reply(worker, oa_api):
    visitor = "9002"
    msg_id = await worker.say("cảm ơn", user=visitor)
    assert await worker.post(oa_follow_event(APP_ID, visitor, "user_click_chatnow")) == 200
    await worker.channel.background.drain()
    greeting = [body for body in oa_api.messages_to(visitor) if "Xin chào" in body["message"]["text"]]
    assert greeting and greeting[0]["recipient"] == {"message_id": msg_id}


# -- the free reply window --------------------------------------------------------------------------------


class LongAnswers:
    """The application, except that "kể hết đi" gets an answer of some 14 Zalo messages."""

    LINES = 600

    def __init__(self, app: App) -> None:
        self.app, self.settings, self.state, self.engine = app, app.settings, app.state, app.engine

    @property
    def catalog(self):
        return self.app.catalog

    def respond(self, incoming: Incoming) -> Reply:
        if incoming.text == "kể hết đi":
            lines = "\n".join(f"• Giấy tờ số {n} &amp; bản sao có chứng thực" for n in range(self.LINES))
            return Reply((Message(f"<b>Hồ sơ đầy đủ</b>\n{lines}"),))
        return self.app.respond(incoming)

    def record(self, incoming: Incoming, reply: Reply) -> None:
        self.app.record(incoming, reply)


async def test_the_window_quota_holds_the_rest_until_the_citizen_asks_for_it(worker, oa_api):
    worker.channel.assistant = LongAnswers(worker.app)
    windows = [await worker.say("kể hết đi")]
    sticker = message_id()  # a sticker meanwhile gets its polite word, and the rest still waits
    assert await worker.post(oa_media_event(APP_ID, CITIZEN, "user_send_sticker", sticker)) == 200
    await worker.channel.background.drain()
    assert "tin nhắn chữ" in texts_of(replies_to(oa_api, sticker))
    while "gửi tiếp" in replies_to(oa_api, windows[-1])[-1]["message"]["text"]:
        last = replies_to(oa_api, windows[-1])[-1]
        assert buttons_of([last]).get("▶️ Gửi tiếp") == "gửi tiếp"
        windows.append(await worker.say("gửi tiếp"))
    sent = [body for body in oa_api.messages_to(CITIZEN) if body["recipient"].get("message_id") != sticker]
    assert len(windows) >= 2
    for msg_id in windows:
        assert 1 <= len(replies_to(oa_api, msg_id)) <= 8  # never a 9th message on one window
    assert all(len(body["message"]["text"]) <= 2000 for body in sent)
    assert {body["recipient"].get("message_id") for body in sent} == set(windows)  # never a paid message
    joined = texts_of(sent)
    assert joined.startswith("Hồ sơ đầy đủ")
    assert all(joined.count(f"Giấy tờ số {n} & bản sao") == 1 for n in range(LongAnswers.LINES))


async def test_staff_answers_go_only_inside_the_window(worker, oa_api):
    answer = Reply((Message("<b>Cán bộ trả lời:</b> mang theo bản chính."),))
    assert not await worker.channel.send("7777", answer)  # never wrote: it would be a paid message
    msg_id = await worker.say("tôi muốn hỏi cán bộ", user="7777")
    assert await worker.channel.send("7777", answer)
    staff = [body for body in replies_to(oa_api, msg_id) if "Cán bộ trả lời" in body["message"]["text"]]
    assert staff[0]["message"]["text"] == "Cán bộ trả lời: mang theo bản chính."
    while len(replies_to(oa_api, msg_id)) < 8:
        assert await worker.channel.send("7777", answer)
    assert not await worker.channel.send("7777", answer)  # the 9th would be paid: "chưa gửi được"
    assert len(replies_to(oa_api, msg_id)) == 8


async def test_two_workers_answering_one_citizen_at_once_send_no_ninth_message(oa_settings):
    first, second = Worker(), Worker()  # two processes on one database
    try:
        msg_id = await first.say("tôi muốn hỏi cán bộ", user="7788")
        answer = Reply((Message("Cán bộ trả lời: mang theo bản chính."),))
        sent = await asyncio.gather(*(worker.channel.send("7788", answer) for worker in (first, second) * 10))
    finally:
        await first.close()
        await second.close()
    staff = [body for body in replies_to(oa_settings, msg_id) if "Cán bộ trả lời" in body["message"]["text"]]
    assert len(replies_to(oa_settings, msg_id)) == 8  # the window's 8 free replies, never a 9th
    assert sent.count(True) == len(staff)  # what could not go is reported unsent (staff call instead)
    assert sent.count(False) == 20 - len(staff)


# -- tokens ---------------------------------------------------------------------------------------------------


async def test_a_refused_access_token_is_refreshed_once(worker, oa_api):
    await worker.say("đăng ký kết hôn")
    oa_api.revoke_access_tokens()
    msg_id = await worker.say("đăng ký khai tử")
    assert "Mã thủ tục 1.000656" in texts_of(replies_to(oa_api, msg_id))
    assert oa_api.accepted_refreshes() == [FIRST_REFRESH, "rt-1"]


async def test_rotated_tokens_survive_a_restart(oa_settings):
    oa_settings.expires_in = 60  # shorter than the refresh margin: every use refreshes
    first = Worker()
    await first.say("đăng ký kết hôn")
    await first.close()
    second = Worker()  # a new process on the same database, still configured with the first refresh token
    msg_id = await second.say("đăng ký khai tử")
    await second.close()
    assert "Mã thủ tục 1.000656" in texts_of(replies_to(oa_settings, msg_id))
    accepted = oa_settings.accepted_refreshes()
    assert accepted[0] == FIRST_REFRESH and len(accepted) >= 2 and len(set(accepted)) == len(accepted)
    assert oa_settings.refused_refreshes() == []  # the second worker started from the stored, rotated token


async def test_the_used_first_token_is_refused_by_zalo(oa_settings, engine, monkeypatch):
    monkeypatch.setattr(zalo_oa, "RACE_CHECKS", 1)
    worker = Worker()
    await worker.say("đăng ký kết hôn")
    await worker.close()
    with Session(engine) as session:  # as if the database had been lost: back to the configured token
        session.delete(session.get(ChannelToken, "zalo_oa"))
        session.commit()
    async with httpx.AsyncClient() as http:
        tokens = OATokens(
            TokenStore(engine),
            http,
            oauth_url=oa_settings.url,
            app_id=APP_ID,
            app_secret=APP_SECRET,
            first_refresh_token=FIRST_REFRESH,
        )
        with pytest.raises(OATokenError, match="TTHC_ZALO_OA_REFRESH_TOKEN"):
            await tokens.access_token()
    assert oa_settings.refused_refreshes() == [FIRST_REFRESH]


async def test_two_workers_refreshing_at_once_both_get_a_token(oa_settings, engine):
    async with httpx.AsyncClient() as http:

        def tokens() -> OATokens:
            return OATokens(
                TokenStore(engine),
                http,
                oauth_url=oa_settings.url,
                app_id=APP_ID,
                app_secret=APP_SECRET,
                first_refresh_token=FIRST_REFRESH,
            )

        first, second = await asyncio.gather(tokens().access_token(), tokens().access_token())
    assert first == second == "at-1"
    assert oa_settings.accepted_refreshes() == [FIRST_REFRESH]
    with Session(engine) as session:
        row = session.get(ChannelToken, "zalo_oa")
        assert (row.refresh_token, row.version) == ("rt-1", 1)


# -- settings --------------------------------------------------------------------------------------------------


def test_capabilities():
    assert (CAPABILITIES.max_text, CAPABILITIES.html, CAPABILITIES.max_buttons) == (2000, False, 4)


async def test_the_oa_is_a_configured_channel_and_half_a_configuration_is_refused(oa_settings, monkeypatch):
    app = build_app()
    channels = configured_channels(app)
    assert [channel.name for channel in channels] == ["zalo_oa"]
    await channels[0].http.aclose()
    monkeypatch.delenv("TTHC_ZALO_OA_SECRET_KEY")
    with pytest.raises(SetupError, match="TTHC_ZALO_OA_SECRET_KEY"):
        configured_channels(build_app())
    app.engine.dispose()


# -- `tthc run` end to end ------------------------------------------------------------------------------------






def start_server(env: dict, cwd) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--verbose", "run"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{env['TTHC_PORT']}/healthz", timeout=1).text == "ok"
        except httpx.HTTPError:
            return False

    wait_for(healthy)
    return process


def stop_server(process: subprocess.Popen) -> str:
    process.terminate()
    output = process.communicate(timeout=20)[0].decode(errors="replace")
    assert "Traceback" not in output, output
    return output


def test_tthc_run_answers_on_the_official_account_and_keeps_the_rotated_token(oa_api, tmp_path):
    oa_api.expires_in = 60  # every use refreshes: the second process must start from the stored token
    port = free_port()
    env = {
        **os.environ,
        "TTHC_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "TTHC_PORT": str(port),
        "TTHC_ZALO_OA_APP_ID": APP_ID,
        "TTHC_ZALO_OA_APP_SECRET": APP_SECRET,
        "TTHC_ZALO_OA_SECRET_KEY": SECRET_KEY,
        "TTHC_ZALO_OA_REFRESH_TOKEN": FIRST_REFRESH,
        "TTHC_ZALO_OA_API_URL": oa_api.url,
        "TTHC_ZALO_OA_OAUTH_URL": oa_api.url,
    }
    env.pop("TTHC_TELEGRAM_TOKEN", None)
    url = f"http://127.0.0.1:{port}/zalo/oa/webhook"

    def post(event: dict, secret_key: str = SECRET_KEY) -> int:
        body, headers = signed_event(event, APP_ID, secret_key)
        return httpx.post(url, content=body, headers=headers, timeout=10).status_code

    process = start_server(env, tmp_path)
    try:
        oa_api.hold()
        asked = message_id()
        assert post(oa_text_event(APP_ID, CITIZEN, "làm giấy khai sinh cho con cần giấy tờ gì", asked)) == 200
        assert oa_api.messages_to() == []  # acknowledged before the answer went out
        wait_for(lambda: oa_api.waiting)
        oa_api.release()
        answer = wait_for(lambda: [b for b in replies_to(oa_api, asked) if "Giấy chứng sinh" in b["message"]["text"]])
        assert answer[0]["recipient"] == {"message_id": asked}
        forged = message_id()
        assert post(oa_text_event(APP_ID, CITIZEN, "đăng ký kết hôn", forged), secret_key="guessed") == 401
        later = message_id()
        assert post(oa_text_event(APP_ID, CITIZEN, "đăng ký kết hôn", later)) == 200
        wait_for(lambda: replies_to(oa_api, later))
        assert replies_to(oa_api, forged) == []
    finally:
        stop_server(process)
    process = start_server(env, tmp_path)  # a restart, still configured with the first (used) refresh token
    try:
        after = message_id()
        assert post(oa_text_event(APP_ID, CITIZEN, "đăng ký khai tử", after)) == 200
        wait_for(lambda: [b for b in replies_to(oa_api, after) if "1.000656" in b["message"]["text"]])
    finally:
        output = stop_server(process)
    assert "zalo_oa" in output
    assert oa_api.refused_refreshes() == [] and len(oa_api.accepted_refreshes()) >= 3


# -- QR landing pages ----------------------------------------------------------------------------------------


async def test_landing_pages_show_the_code_to_send_on_zalo_and_it_opens_the_office(oa_settings, monkeypatch):
    monkeypatch.setenv("TTHC_ZALO_OA_ID", "1029384756")
    worker = Worker()
    office = parse_office(
        {"slug": "xa-a", "name": "Trung tâm Phục vụ hành chính công xã A", "address": "Số 5 đường B"}, "office"
    )
    write_offices(worker.app.engine, [office])
    worker.app.reload()
    try:
        page = (await worker.http.get("/o/xa-a")).text
        code = f"/start {encode_payload(office='xa-a')}"  # shown as the line to send
        assert f">{html.escape(code)}</" in page
        assert 'href="https://zalo.me/1029384756"' in page
        procedure_page = (await worker.http.get("/p/1.004873?o=xa-a")).text
        assert html.escape(f"/start {encode_payload('1.004873', 'xa-a')}") in procedure_page
        greeting = replies_to(oa_settings, await worker.say(code))  # the citizen sends what the page shows
        assert "Trung tâm Phục vụ hành chính công xã A" in texts_of(greeting)
        where = replies_to(oa_settings, await worker.say("đăng ký kết hôn nộp ở đâu"))
        assert "Số 5 đường B" in texts_of(where)
    finally:
        await worker.close()


def test_landing_pages_without_zalo_have_no_zalo_block(database_url):
    from fastapi.testclient import TestClient

    app = build_app()
    with TestClient(build_web(app)) as client:
        assert "/start p1_" not in client.get("/p/1.004873").text
    app.engine.dispose()


async def test_hoi_can_bo_on_the_oa_answered_inside_the_window_else_marked_for_a_call(worker, oa_api):
    from bot.delivery import deliver_once
    from bot.tickets import answer_ticket, find_ticket, list_tickets

    await worker.say("/hoicanbo", user="5555")
    msg_id = await worker.say("hàng xóm lấn lối đi chung nhà tôi thì báo ai, số tôi 0912345678", user="5555")
    (ticket,) = list_tickets(worker.app.engine)
    assert ticket.phone == "0912345678" and ticket.channel == "zalo_oa"
    answer_ticket(worker.app.engine, ticket.code, "Anh báo UBND xã để hòa giải.", staff="canbo")
    await deliver_once(worker.app.engine, {"zalo_oa": worker.channel})
    assert "Anh báo UBND xã để hòa giải." in texts_of(replies_to(oa_api, msg_id))  # a free reply
    assert find_ticket(worker.app.engine, ticket.code).delivery == "delivered"
    # A citizen whose window is closed (never wrote in the last 48 hours): no paid message, staff call instead.
    from sqlmodel import Session

    from knowledge.models import Ticket

    with Session(worker.app.engine) as session:
        session.add(Ticket(code="HCB-CAQQ2", channel="zalo_oa", user_ref="6666", question="?", phone="0900000000"))
        session.commit()
    answer_ticket(worker.app.engine, "HCB-CAQQ2", "Trả lời.", staff="canbo")
    await deliver_once(worker.app.engine, {"zalo_oa": worker.channel})
    assert find_ticket(worker.app.engine, "HCB-CAQQ2").delivery == "unreachable"
    assert not [body for body in oa_api.messages_to() if body["recipient"].get("user_id") == "6666"]
