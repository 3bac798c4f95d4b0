"""Hỏi cán bộ end to end: a question the bot cannot answer goes to a person, whose answer comes back once on
the citizen's own channel (web by polling, Telegram by a message), with the delivery recorded."""

import html
import io
import json
import re
import sys
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from bot.accounts import create_user
from bot.app import build_app
from bot.channels.telegram import TelegramChannel, build_application
from bot.channels.telegram_loopback import LoopbackBotAPI
from bot.cli import main
from bot.delivery import deliver_once
from bot.server import build_web
from bot.tickets import claim_delivery, claim_staff_post, find_ticket
from knowledge.models import Ticket, utcnow
from tests.bot.test_telegram import CITIZEN, button_update, buttons_of, message_update, send, text_of

SESSION = "ticket-session-01"
PASSWORD = "mật-khẩu-đủ-dài-123"
CODE = re.compile(r"HCB-[0-9A-Z]{5}")
OUT_OF_SCOPE = "nhà tôi với hàng xóm cãi nhau về tiếng ồn karaoke thì báo ai"


def run(capsys, *argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def site(database_url, monkeypatch):
    monkeypatch.setenv("TTHC_SECRET_KEY", "test-secret")
    app = build_app()
    create_user(app.engine, "canbo", PASSWORD, "admin")
    with TestClient(build_web(app), base_url="http://testserver") as client:
        yield client, app
    app.engine.dispose()


def chat(client, **body) -> list[dict]:
    response = client.post("/api/chat", json={"session_id": SESSION, **body})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def labels(messages) -> dict[str, str]:
    return {button["label"]: button["data"] for message in messages for button in message["buttons"]}


@pytest.mark.databases
def test_the_whole_loop_on_the_web(site, capsys, monkeypatch):
    client, app = site
    answer = chat(client, text=OUT_OF_SCOPE)
    assert "Hỏi cán bộ" in " ".join(labels(answer))  # a none reply offers a person
    prompt = chat(client, button=next(data for label, data in labels(answer).items() if "Hỏi cán bộ" in label))
    assert "một tin nhắn" in prompt[0]["text"] and "xóa sau 90 ngày" in prompt[0]["text"]
    opened = chat(client, text=OUT_OF_SCOPE + ". Số điện thoại của tôi 0912 345 678")
    code = CODE.search(opened[-1]["text"]).group(0)
    assert "trong 2 ngày làm việc" in opened[-1]["text"]

    status, out, _ = run(capsys, "tickets", "list", "--json")
    (listed,) = json.loads(out)
    assert status == 0
    assert listed["code"] == code and listed["status"] == "open" and listed["channel"] == "web"
    assert listed["question"].startswith("nhà tôi với hàng xóm")
    assert listed["created_at"].endswith("+00:00")  # ISO 8601 with its zone
    assert find_ticket(app.engine, code).phone == "0912345678"

    assert chat(client, poll=True) == []  # nothing yet
    answer = "Anh báo Công an xã nơi cư trú.\n"
    status, out, _ = run(capsys, "tickets", "answer", code, "--text-stdin", stdin=answer, monkeypatch=monkeypatch)
    assert status == 0
    delivered = chat(client, poll=True)
    assert len(delivered) == 1 and answer.strip() in delivered[0]["text"] and code in delivered[0]["text"]
    assert chat(client, poll=True) == []  # each answer once
    ticket = find_ticket(app.engine, code)
    assert ticket.status == "answered" and ticket.delivery == "delivered" and ticket.delivered_at is not None

    page = client.get(f"/t/{code.lower()}")  # the code alone, written any way
    assert page.status_code == 200 and "Anh báo Công an xã nơi cư trú." in html.unescape(page.text)
    assert "0912345678" not in page.text
    asked = chat(client, text=f"cho hỏi mã {code} sao rồi")
    assert "đã được trả lời" in asked[0]["text"] and "Công an xã nơi cư trú" in asked[0]["text"]
    stranger = client.post("/api/chat", json={"session_id": "someone-else-01", "text": f"mã {code}"}).json()
    assert "đã được trả lời" in stranger["messages"][0]["text"]
    assert "Công an xã" not in stranger["messages"][0]["text"]  # the answer stays in the asker's conversation


def test_a_conversation_cannot_flood_the_staff_with_tickets(site):
    client, app = site
    codes = set()
    for number in range(4):
        chat(client, button="1:h")
        last = chat(client, text=f"{OUT_OF_SCOPE} lần {number}")[-1]["text"]
        codes.update(CODE.findall(last))
    assert len(codes) == 3 and "chờ cán bộ trả lời" in last
    assert all(find_ticket(app.engine, code) for code in codes)


def test_the_question_already_typed_can_be_sent_as_is(site):
    client, app = site
    chat(client, text=OUT_OF_SCOPE)
    prompt = chat(client, button="1:h")
    sent = chat(client, button=labels(prompt)["📨 Gửi câu vừa hỏi"])
    code = CODE.search(sent[-1]["text"]).group(0)
    assert find_ticket(app.engine, code).question == OUT_OF_SCOPE


def test_a_rejected_answer_and_none_of_these_offer_a_person(site):
    client, _ = site
    answer = chat(client, text="làm giấy khai sinh cần gì")
    down = chat(client, button=labels(answer)["👎 Chưa đúng"])
    assert "✍️ Hỏi cán bộ" in labels(down)
    chat(client, text="căn cước")
    rejected = chat(client, button="1:n")
    assert "✍️ Hỏi cán bộ" in labels(rejected)


@pytest.mark.databases
def test_a_ticket_answered_twice_keeps_the_first_answer(site, capsys, monkeypatch):
    client, app = site
    chat(client, button="1:h")
    code = CODE.search(chat(client, text=OUT_OF_SCOPE)[-1]["text"]).group(0)
    assert run(capsys, "tickets", "answer", code, "--text-stdin", stdin="Lần một.", monkeypatch=monkeypatch)[0] == 0
    status, _, err = run(capsys, "tickets", "answer", code, "--text-stdin", stdin="Lần hai.", monkeypatch=monkeypatch)
    assert status == 1 and "already answered" in err
    assert find_ticket(app.engine, code).answer == "Lần một."
    assert len(chat(client, poll=True)) == 1


@pytest.mark.parametrize("code", ["HCB-ZZZZZ", "hello", "HCB-", ""])
def test_bad_codes_are_refused_with_one_line(site, capsys, monkeypatch, code):
    status, _, err = run(
        capsys, "tickets", "answer", code or "x", "--text-stdin", stdin="Trả lời", monkeypatch=monkeypatch
    )
    assert status == 1 and err.startswith("tthc: tickets answer:") and err.count("\n") == 1


def test_unknown_codes_get_a_polite_reply_and_a_404_page(site):
    client, _ = site
    assert "Không tìm thấy câu hỏi" in chat(client, text="mã HCB-ZZZZZ")[0]["text"]
    assert client.get("/t/HCB-ZZZZZ").status_code == 404
    assert client.get("/t/" + "x" * 500).status_code == 404


@pytest.mark.databases
def test_public_answers_are_listed_and_offered_for_similar_questions(site, capsys, monkeypatch):
    client, app = site
    chat(client, button="1:h")
    code = CODE.search(chat(client, text=OUT_OF_SCOPE + ", số 0912345678")[-1]["text"]).group(0)
    index = app.catalog.index
    run(capsys, "tickets", "answer", code, "--text-stdin", "--public", stdin="Báo Công an xã.", monkeypatch=monkeypatch)
    assert app.reload_if_changed()  # the public answer reaches this worker
    assert app.catalog.index is index  # ... without rebuilding the search index
    page = client.get("/hoi-dap")
    assert "Báo Công an xã." in html.unescape(page.text) and "0912345678" not in page.text
    assert "Báo Công an xã." in html.unescape(client.get("/hoi-dap", params={"q": "karaoke"}).text)
    other = client.post("/api/chat", json={"session_id": "other-person-01", "text": OUT_OF_SCOPE}).json()["messages"]
    offered = labels(other)
    assert "💬 Xem câu trả lời" in offered
    shown = client.post(
        "/api/chat", json={"session_id": "other-person-01", "button": offered["💬 Xem câu trả lời"]}
    ).json()["messages"]
    assert "Báo Công an xã." in shown[0]["text"]


def test_staff_answer_from_the_admin_with_procedure_facts(site):
    client, app = site
    chat(client, button="1:h")
    code = CODE.search(chat(client, text=OUT_OF_SCOPE)[-1]["text"]).group(0)
    client.post("/admin/login", data={"username": "canbo", "password": PASSWORD}, headers={"Origin": "http://testserver"})
    listing = client.get("/admin/tickets")
    assert listing.status_code == 200 and code in listing.text and "Câu hỏi người dân" in html.unescape(listing.text)
    origin = {"Origin": "http://testserver"}
    inserted = client.post(
        f"/admin/tickets/{code}",
        data={"action": "insert", "answer": "Chào anh,", "procedure": "Làm giấy khai sinh — 1.001193"},
        headers=origin,
    )
    assert "Chào anh," in inserted.text and "Giấy chứng sinh" in html.unescape(inserted.text)
    answered = client.post(
        f"/admin/tickets/{code}", data={"action": "answer", "answer": "Anh báo Công an xã."}, headers=origin
    )
    assert answered.status_code == 200  # back to the list
    assert "Anh báo Công an xã." in chat(client, poll=True)[0]["text"]
    assert client.get("/admin/dashboard").status_code == 200


@pytest.fixture
async def telegram(database_url, monkeypatch):
    monkeypatch.setenv("TTHC_STAFF_CHAT_ID", "-100777")
    app = build_app()
    api = LoopbackBotAPI()
    application = build_application(app, "123456:TEST", request=api, staff_chat_id=-100777)
    await application.initialize()
    yield application, api, app, TelegramChannel(application, staff_chat_id=-100777)
    await application.shutdown()
    app.engine.dispose()


def staff_reply(text: str, to_message_id: int) -> dict:
    update = message_update(text, user_id=555)
    update["message"]["chat"] = {"id": -100777, "type": "supergroup", "title": "Cán bộ xã"}
    update["message"]["reply_to_message"] = {
        "message_id": to_message_id,
        "date": 0,
        "chat": {"id": -100777, "type": "supergroup", "title": "Cán bộ xã"},
        "text": "…",
    }
    return update


async def test_the_whole_loop_on_telegram_through_the_staff_group(telegram, capsys, monkeypatch):
    application, api, app, channel = telegram
    await send(application, api, message_update("/hoicanbo"))
    opened = await send(application, api, message_update(OUT_OF_SCOPE))
    code = CODE.search(text_of(opened)).group(0)
    senders = {"telegram": channel}
    await deliver_once(app.engine, senders, channel)  # the new question goes to the staff group
    post = next(call for call in api.sent() if int(call["chat_id"]) == -100777)
    assert code in post["text"]
    post_id = find_ticket(app.engine, code).staff_message_id
    # A staff reply to something that is not a ticket: a polite note, nothing answered.
    note = await send(application, api, staff_reply("Ai trực hôm nay?", post_id + 999))
    assert "không phải câu hỏi của người dân" in text_of(note)
    assert find_ticket(app.engine, code).status == "open"
    done = await send(application, api, staff_reply("Anh báo Công an xã nơi cư trú.", post_id))
    assert "Đã gửi câu trả lời" in text_of(done)
    before = len(api.sent())
    await deliver_once(app.engine, senders, channel)
    to_citizen = [call for call in api.sent()[before:] if int(call["chat_id"]) == CITIZEN]
    assert len(to_citizen) == 1 and "Anh báo Công an xã nơi cư trú." in to_citizen[0]["text"]
    await deliver_once(app.engine, senders, channel)  # delivered once
    assert len([call for call in api.sent()[before:] if int(call["chat_id"]) == CITIZEN]) == 1
    assert find_ticket(app.engine, code).delivery == "delivered"


async def test_a_ticket_whose_staff_post_was_left_half_done_still_reaches_staff(telegram):
    application, api, app, channel = telegram
    await send(application, api, message_update("/hoicanbo"))
    code = CODE.search(text_of(await send(application, api, message_update(OUT_OF_SCOPE)))).group(0)
    assert claim_staff_post(app.engine, code)  # a worker took the post, then stopped before sending it

    def staff_posts() -> list[dict]:
        return [call for call in api.sent() if int(call["chat_id"]) == -100777 and code in call["text"]]

    await deliver_once(app.engine, {"telegram": channel}, channel)
    assert staff_posts() == []  # a fresh claim: that worker may still be posting
    with Session(app.engine) as session:  # ... until the claim is old
        ticket = session.get(Ticket, code)
        ticket.staff_post_claimed_at = utcnow() - timedelta(minutes=10)
        session.add(ticket)
        session.commit()
    await deliver_once(app.engine, {"telegram": channel}, channel)
    await deliver_once(app.engine, {"telegram": channel}, channel)
    assert len(staff_posts()) == 1  # posted once, and a staff reply to it answers the ticket
    post_id = find_ticket(app.engine, code).staff_message_id
    done = await send(application, api, staff_reply("Anh báo Công an xã.", post_id))
    assert "Đã gửi câu trả lời" in text_of(done)


async def test_an_answer_whose_sending_was_left_half_done_still_reaches_the_citizen(telegram, monkeypatch):
    application, api, app, channel = telegram
    await send(application, api, message_update("/hoicanbo"))
    code = CODE.search(text_of(await send(application, api, message_update(OUT_OF_SCOPE)))).group(0)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Anh hỏi Công an xã."))
    assert main(["tickets", "answer", code, "--text-stdin"]) == 0
    assert claim_delivery(app.engine, code)  # a worker took the delivery, then stopped before sending it

    def to_citizen() -> list[dict]:
        sent = [call for call in api.sent() if int(call["chat_id"]) == CITIZEN]
        return [call for call in sent if "Anh hỏi Công an xã." in call["text"]]

    await deliver_once(app.engine, {"telegram": channel})
    assert to_citizen() == []  # a fresh claim: that worker may still be sending
    with Session(app.engine) as session:  # ... until the claim is old
        ticket = session.get(Ticket, code)
        ticket.delivery_claimed_at = utcnow() - timedelta(minutes=10)
        session.add(ticket)
        session.commit()
    await deliver_once(app.engine, {"telegram": channel})
    await deliver_once(app.engine, {"telegram": channel})
    assert len(to_citizen()) == 1 and find_ticket(app.engine, code).delivery == "delivered"


async def test_an_answer_to_a_citizen_who_blocked_the_bot_is_shown_to_staff(telegram, capsys, monkeypatch):
    application, api, app, channel = telegram
    await send(application, api, message_update("/hoicanbo"))
    code = CODE.search(text_of(await send(application, api, message_update(OUT_OF_SCOPE)))).group(0)
    api.unreachable_chats.add(CITIZEN)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Trả lời."))
    assert main(["tickets", "answer", code, "--text-stdin"]) == 0
    await deliver_once(app.engine, {"telegram": channel})
    assert find_ticket(app.engine, code).delivery == "unreachable"
    create_user(app.engine, "canbo", PASSWORD, "admin")
    with TestClient(build_web(app), base_url="http://testserver") as client:
        client.post(
            "/admin/login",
            data={"username": "canbo", "password": PASSWORD},
            headers={"Origin": "http://testserver"},
            follow_redirects=False,
        )
        listing = html.unescape(client.get("/admin/tickets").text)
    assert code in listing and "chưa gửi được: gọi điện" in listing


async def test_the_ask_staff_button_on_telegram(telegram):
    application, api, app, _ = telegram
    none = await send(application, api, message_update(OUT_OF_SCOPE))
    prompt = await send(application, api, button_update(buttons_of(none)["✍️ Hỏi cán bộ"]))
    assert "một tin nhắn" in text_of(prompt)


def test_phone_numbers_typed_in_questions_stay_out_of_the_query_log(site):
    client, app = site
    from sqlmodel import Session, select

    from knowledge.models import QueryLog

    chat(client, text="làm giấy khai sinh, gọi tôi số 0912.345.678 nhé")
    with Session(app.engine) as session:
        logged = session.exec(select(QueryLog).where(QueryLog.kind == "question")).all()
    assert logged and all("345" not in row.asked and "345" not in row.text for row in logged)
    assert "[số điện thoại]" in logged[-1].asked
