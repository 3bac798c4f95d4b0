"""The web channel through HTTP: chat API, landing pages, and the staff admin."""

import html
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.accounts import create_user
from bot.app import build_app
from bot.server import build_web
from knowledge.models import AuditLog, QueryLog
from qr.links import encode_payload

SESSION = "test-session-0001"
PASSWORD = "mật-khẩu-đủ-dài-123"


@pytest.fixture
def site(database_url, monkeypatch):
    monkeypatch.setenv("TTHC_SECRET_KEY", "test-secret")
    monkeypatch.setenv("TTHC_TELEGRAM_BOT_USERNAME", "tthc_xa_bot")
    app = build_app()
    create_user(app.engine, "canbo", PASSWORD, "admin")
    with TestClient(build_web(app), base_url="http://testserver") as client:
        yield client, app
    app.engine.dispose()


def chat(client, **body):
    return client.post("/api/chat", json={"session_id": SESSION, **body})


def login(client, password: str = PASSWORD):
    return client.post(
        "/admin/login",
        data={"username": "canbo", "password": password},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )


def test_chat_page_is_served_with_local_assets_only(site):
    client, _ = site
    page = client.get("/")
    assert page.status_code == 200 and "Trợ lý thủ tục hành chính" in page.text
    assert not re.search(r'(src|href)="https?://', page.text)
    assert client.get("/static/chat.js").status_code == 200


def test_chat_answers_with_buttons_and_the_buttons_work(site):
    client, _ = site
    greeting = chat(client, start="").json()
    assert greeting["messages"][0]["text"].startswith("Xin chào")
    answer = chat(client, text="làm giấy khai sinh cho con cần giấy tờ gì").json()["messages"][0]
    assert "Giấy chứng sinh" in answer["text"] and "1.001193" in answer["text"]
    fee = next(button for button in answer["buttons"] if button["label"] == "💰 Lệ phí")
    assert "Phí, lệ phí" in chat(client, button=fee["data"]).json()["messages"][0]["text"]
    follow = chat(client, text="nộp online được không").json()["messages"][0]["text"]
    assert "Nộp trực tuyến" in follow and "1.001193" in follow


def test_office_context_from_the_page_address(site, capsys):
    client, app = site
    from bot.cli import main

    assert (
        main(
            [
                "office",
                "add",
                "xa-a",
                "--name",
                "Trung tâm Phục vụ hành chính công xã A",
                "--address",
                "Số 5 đường B",
                "--hours",
                "7h30 - 17h00",
            ]
        )
        == 0
    )
    app.reload()
    page = client.get("/?o=xa-a")
    assert f'data-start="{encode_payload(office="xa-a")}"' in page.text
    greeting = chat(client, start=encode_payload(office="xa-a")).json()["messages"][0]["text"]
    assert "Trung tâm Phục vụ hành chính công xã A" in greeting
    where = chat(client, text="đăng ký kết hôn nộp ở đâu").json()["messages"][0]["text"]
    assert "Số 5 đường B" in where and "7h30 - 17h00" in where


def test_markup_in_questions_is_escaped(site):
    client, _ = site
    reply = chat(client, text="<script>alert(1)</script> khai sinh & <b>").json()
    for message in reply["messages"]:
        assert "<script>" not in message["text"] and "<b>)" not in message["text"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad_json"),
        (b'{"text": "khai sinh"}', 400, "invalid"),
        (b'{"session_id": "short", "text": "khai sinh"}', 400, "invalid"),
        (b'{"session_id": "test-session-0001", "text": "a", "button": "b"}', 400, "invalid"),
        (b'{"session_id": "test-session-0001", "text": "a", "admin": true}', 400, "invalid"),
        (b'{"session_id": "test-session-0001", "text": 5}', 400, "invalid"),
        (b'{"session_id": "test-session-0001", "text": "' + b"a" * 20000 + b'"}', 413, "too_large"),
        (b"[]", 400, "bad_json"),
    ],
)
def test_malformed_or_oversized_requests_get_a_clear_4xx(site, body, status, code):
    client, _ = site
    response = client.post("/api/chat", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.json()["detail"]["code"] == code and response.json()["detail"]["message"]


def test_stale_button_data_is_polite(site):
    client, _ = site
    assert "Nút này đã cũ" in chat(client, button="1:f:0.000000:fees").json()["messages"][0]["text"]


def test_procedure_landing_page_shows_everything_and_counts_the_open(site):
    client, app = site
    page = client.get("/p/1.004873")
    assert page.status_code == 200
    for part in (
        "Giấy xác nhận tình trạng hôn nhân",
        "Hồ sơ cần chuẩn bị",
        "Nơi nộp hồ sơ",
        "Thời gian giải quyết",
        "Phí, lệ phí",
        "Nộp trực tuyến",
        "Căn cứ pháp lý",
        "https://t.me/tthc_xa_bot?start=p1_1-004873",
    ):
        assert part in page.text
    assert 'href="/?p=1.004873"' in page.text  # "ask more" opens the chat on this procedure
    opened = chat(client, start="p1_1-004873").json()["messages"]  # what that chat page sends first
    assert "1.004873" in opened[0]["text"]
    with Session(app.engine) as session:
        opens = session.exec(select(QueryLog).where(QueryLog.kind == "deeplink")).all()
    assert [log.top_code for log in opens] == ["1.004873"]  # one scan, one open


def test_unknown_landing_pages_are_404(site):
    client, _ = site
    assert client.get("/p/9.999999").status_code == 404
    assert client.get("/o/nowhere").status_code == 404


def test_admin_is_closed_without_login(site):
    client, _ = site
    response = client.get("/admin/procedure/list", follow_redirects=False)
    assert response.status_code in (302, 303) and "/admin/login" in response.headers["location"]
    assert login(client, "sai-mat-khau").status_code == 400


def test_admin_opens_with_the_right_password_and_an_alias_added_there_is_matched_at_once(site):
    client, app = site
    assert "Mã thủ tục 1.004873" not in chat(client, text="xin giấy còn son").json()["messages"][0]["text"]
    assert login(client).status_code in (302, 303)
    assert client.get("/admin/procedure/list").status_code == 200
    created = client.post(
        "/admin/alias/create",
        data={"procedure": "1.004873", "text": "xin giấy còn son"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert created.status_code in (302, 303)
    answer = chat(client, text="xin giấy còn son").json()["messages"][0]["text"]
    assert "Mã thủ tục 1.004873" in answer
    with Session(app.engine) as session:
        entry = session.exec(select(AuditLog)).one()
    assert (entry.username, entry.action) == ("canbo", "create") and "xin giấy còn son" in str(entry.details)


def test_admin_refuses_cross_site_posts(site):
    client, _ = site
    login(client)
    response = client.post(
        "/admin/alias/create",
        data={"procedure": "1.004873", "text": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_login_is_throttled_after_repeated_failures(site):
    client, _ = site
    for _ in range(5):
        login(client, "sai")
    refused = login(client)
    assert refused.status_code == 400  # even the right password, for a while
    assert "thử lại sau 15 phút" in refused.text  # long enough whichever lock refused


def test_inbox_shows_questions_as_typed_and_turns_one_into_an_alias_found_by_name(site):
    client, _ = site
    for text in ("Xin giấy còn son ở đâu?", "xin giấy còn son ở đâu"):  # an old name the bot does not know
        assert chat(client, text=text).status_code == 200
        chat(client, button="1:n")  # whatever it offered, it was not that
    login(client)
    inbox = client.get("/admin/inbox")
    assert inbox.status_code == 200
    shown = html.unescape(inbox.text)
    (question,) = re.findall(r"<strong>(.*?)</strong>", shown)
    assert question.lower() == "xin giấy còn son ở đâu" or question == "Xin giấy còn son ở đâu?"  # as typed
    assert int(re.search(r"(\d+) lần", inbox.text).group(1)) >= 2
    assert "Xin giấy xác nhận độc thân · Cấp Giấy xác nhận tình trạng hôn nhân — 1.004873" in shown  # by name
    done = client.post(
        "/admin/inbox",
        data={
            "action": "alias",
            "text": "xin giay con son o dau",
            "alias": "giấy còn son",
            "procedure": "Xin giấy xác nhận độc thân · Cấp Giấy xác nhận tình trạng hôn nhân — 1.004873",
        },
        headers={"Origin": "http://testserver"},
    )
    assert "Đã thêm" in done.text and "Xin giấy xác nhận độc thân" in html.unescape(done.text)
    assert "Mã thủ tục 1.004873" in chat(client, text="xin giấy còn son").json()["messages"][0]["text"]
    assert "giấy còn son ở đâu" not in html.unescape(client.get("/admin/inbox").text)


def test_spreadsheet_upload_validates_all_or_nothing(site):
    client, app = site
    login(client)
    from knowledge.records import DATA_KEYS

    filler = "," * (len(DATA_KEYS) - 3)
    header = "code,name,verified_on," + ",".join(key for key in DATA_KEYS if key not in ("code", "name", "verified_on"))
    bad = f"{header}\n9.000001,Thủ tục A,2026-01-01{filler}\n9.000002,Thủ tục B,hôm qua{filler}\n".encode("utf-8-sig")
    refused = client.post(
        "/admin/spreadsheet",
        files={"file": ("kb.csv", io.BytesIO(bad), "text/csv")},
        headers={"Origin": "http://testserver"},
    )
    assert "dòng 3, mục «Ngày kiểm tra (YYYY-MM-DD)»" in html.unescape(refused.text)  # the row a clerk sees
    assert "9.000001" not in app.index.by_code
    download = client.get("/admin/spreadsheet/download.xlsx")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    good = client.post(
        "/admin/spreadsheet",
        files={"file": ("kb.xlsx", io.BytesIO(download.content), "application/octet-stream")},
        data={"dry_run": "on"},
        headers={"Origin": "http://testserver"},
    )
    assert "giữ nguyên 51" in good.text


def test_a_zip_bomb_upload_is_refused_in_vietnamese_and_changes_nothing(site, tmp_path):
    from tests.knowledge.test_import_limits import zip_bomb_xlsx

    client, app = site
    login(client)
    before = len(app.index)
    bomb = zip_bomb_xlsx(tmp_path)
    refused = client.post(
        "/admin/spreadsheet",
        files={"file": ("kb.xlsx", bomb.read_bytes(), "application/octet-stream")},
        headers={"Origin": "http://testserver"},
    )
    shown = html.unescape(refused.text)
    assert refused.status_code == 200 and "Không nhập được: kb.xlsx" in shown
    assert "Cơ sở dữ liệu không thay đổi" in shown
    assert "/tmp" not in shown  # never the server's temporary path
    app.reload()
    assert len(app.index) == before


def test_an_older_spreadsheet_upload_keeps_the_newer_fields(site):
    client, app = site
    login(client)
    before = app.index.by_code["1.001193"]
    export = client.get("/admin/spreadsheet/download.csv").content.decode("utf-8-sig")
    import csv

    rows = list(csv.reader(io.StringIO(export, newline="")))
    keep = [index for index, name in enumerate(rows[0]) if name not in ("special_cases", "notes", "online_level")]
    older = io.StringIO(newline="")
    csv.writer(older).writerows([[row[index] for index in keep] for row in rows])
    loaded = client.post(
        "/admin/spreadsheet",
        files={"file": ("cu.csv", older.getvalue().encode("utf-8-sig"), "text/csv")},
        headers={"Origin": "http://testserver"},
    )
    assert "Đã nhập cu.csv" in html.unescape(loaded.text)
    after = app.index.by_code["1.001193"]
    assert (after.special_cases, after.online_level, after.notes) == (
        before.special_cases,
        before.online_level,
        before.notes,
    )


def test_dashboard_shows_charts_and_csv(site):
    client, _ = site
    chat(client, text="đăng ký kết hôn")
    chat(client, text="giá vàng")
    login(client)
    page = client.get("/admin/dashboard")
    assert page.status_code == 200 and "Tỷ lệ (2 câu hỏi)" in page.text
    assert page.text.count("<rect") >= 2 and ">Trang web</text>" in page.text  # bars, and a legend naming the channel
    csv_text = client.get("/admin/dashboard.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("day,") and csv_text.splitlines()[-1].endswith(",2")


def test_admin_edits_are_validated_like_imports_and_lists_are_one_item_per_line(site):
    client, app = site
    login(client)
    form = {
        "code": "9.000001",
        "name": "Thủ tục thử",
        "documents": "Tờ khai\nGiấy tờ tùy thân\n",
        "steps": "",
        "legal_basis": "",
        "special_cases": "",
        "online_level": "none",
        "verified_on": "hôm qua",
    }
    refused = client.post("/admin/procedure/create", data=form, headers={"Origin": "http://testserver"})
    assert refused.status_code == 400
    assert "Chưa lưu được: mục «Ngày kiểm tra (YYYY-MM-DD)»" in html.unescape(refused.text)  # in Vietnamese
    assert "9.000001" not in app.index.by_code
    form["verified_on"] = "2026-11-30"
    created = client.post("/admin/procedure/create", data=form, headers={"Origin": "http://testserver"})
    assert created.status_code == 200 and "Đã lưu" in created.text  # confirmed to the clerk
    assert app.index.by_code["9.000001"].documents == ("Tờ khai", "Giấy tờ tùy thân")
    edit = client.get("/admin/procedure/edit/9.000001")
    assert "Tờ khai\nGiấy tờ tùy thân" in html.unescape(edit.text)  # edited as lines, not JSON
    assert "Không nộp trực tuyến" in edit.text


def test_a_password_reset_ends_old_sessions_and_names_are_case_insensitive(site):
    client, app = site
    assert client.post(
        "/admin/login",
        data={"username": " CanBo ", "password": PASSWORD},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    ).status_code in (302, 303)
    assert client.get("/admin/procedure/list").status_code == 200
    create_user(app.engine, "canbo", "một-mật-khẩu-mới-dài", "editor")
    assert client.get("/admin/procedure/list", follow_redirects=False).status_code in (302, 303)


def test_lockout_cannot_be_dodged_with_spaces(site):
    client, _ = site
    for spaces in range(6):
        client.post(
            "/admin/login",
            data={"username": "canbo" + " " * spaces, "password": "sai"},
            headers={"Origin": "http://testserver"},
        )
    assert login(client).status_code == 400


def test_a_flood_of_requests_is_slowed_down(site):
    client, _ = site
    responses = [chat(client, text="khai sinh") for _ in range(60)]
    assert responses[0].status_code == 200
    refused = next(response for response in responses if response.status_code == 429)
    assert refused.json()["detail"]["code"] == "too_many"


def test_editors_are_barred_from_accounts(site):
    client, app = site
    create_user(app.engine, "bientap", PASSWORD, "editor")
    client.post(
        "/admin/login", data={"username": "bientap", "password": PASSWORD}, headers={"Origin": "http://testserver"}
    )
    assert client.get("/admin/procedure/list").status_code == 200
    assert client.get("/admin/staff-user/list").status_code in (403, 404)
    assert "Tài khoản" not in client.get("/admin/procedure/list").text  # not even in the menu


def test_an_edit_is_in_the_audit_log_as_readable_before_and_after(site):
    client, app = site
    login(client)
    edit = client.get("/admin/office/list")
    assert edit.status_code == 200
    from bot.cli import main

    assert main(["office", "add", "xa-a", "--name", "Trung tâm xã A", "--hours", "7h30 - 17h00"]) == 0
    form = {"slug": "xa-a", "name": "Trung tâm xã A", "hours": "7h00 - 17h00", "agencies": ""}
    saved = client.post("/admin/office/edit/xa-a", data=form, headers={"Origin": "http://testserver"})
    assert saved.status_code == 200 and "Đã lưu" in saved.text
    audit = re.sub(r"<[^>]+>", "", html.unescape(client.get("/admin/audit-log/list").text))
    assert "Giờ làm việc: 7h30 - 17h00 → 7h00 - 17h00" in audit and "Nơi tiếp nhận xa-a" in audit
    assert "{'before'" not in audit


def test_the_office_page_and_a_procedure_opened_from_the_chat_address(site):
    client, app = site
    from bot.cli import main

    assert main(["office", "add", "xa-a", "--name", "Trung tâm xã A", "--phone", "0262 111 222"]) == 0
    app.reload()
    office = client.get("/o/xa-a")
    assert office.status_code == 200 and "Trung tâm xã A" in office.text and 'href="tel:0262111222"' in office.text
    chat_page = client.get("/", params={"p": "1.004873", "o": "xa-a"})
    start = re.search(r'data-start="([^"]*)"', chat_page.text).group(1)
    assert start == encode_payload("1.004873", "xa-a")
    opened = chat(client, start=start).json()["messages"]
    assert "1.004873" in opened[-1]["text"]
    assert re.search(r'data-start=""', client.get("/", params={"p": "9.999999"}).text)


def test_ignored_inbox_questions_leave_the_list_and_stay_on_record(site):
    client, _ = site
    chat(client, text="Giá vàng hôm nay bao nhiêu?")
    login(client)
    assert "Giá vàng hôm nay bao nhiêu?" in html.unescape(client.get("/admin/inbox").text)
    client.post(
        "/admin/inbox",
        data={"action": "ignored", "text": "gia vang hom nay bao nhieu"},
        headers={"Origin": "http://testserver"},
    )
    assert "Giá vàng hôm nay bao nhiêu?" not in html.unescape(client.get("/admin/inbox").text)
    everything = html.unescape(client.get("/admin/inbox", params={"show": "all"}).text)
    assert "Giá vàng hôm nay bao nhiêu?" in everything and "Bỏ qua" in everything


def test_a_conversation_expires_after_twelve_hours(database_url):
    from bot.conversation import Conversation, Incoming
    from bot.stores import MemoryStateStore, StoredConversations

    clock = [1000.0]
    app = build_app()
    app.conversations = StoredConversations(MemoryStateStore(clock=lambda: clock[0]))
    app.respond(Incoming("web", "someone-01", text="đăng ký tạm trú"))
    follow = app.respond(Incoming("web", "someone-01", text="còn lệ phí thì sao?"))
    assert "1.004194" in follow.messages[0].html
    clock[0] += 12 * 3600 + 1
    assert app.conversations.load("web:someone-01") is None
    later = app.respond(Incoming("web", "someone-01", text="còn lệ phí thì sao?"))
    assert "thủ tục nào" in later.messages[0].html  # the context is gone: the bot asks which procedure
    assert isinstance(Conversation(), Conversation)
    app.engine.dispose()


BANNED = ("bản ghi", "chưa kiểm chứng", "suy ra từ")


def test_citizens_never_read_staff_notes_and_answers_fit_a_phone(site):
    """Through the web API and the landing pages, every procedure: no internal wording; the first khai sinh
    documents message is at most 1,200 characters."""
    client, app = site
    first = chat(client, text="làm giấy khai sinh cần giấy tờ gì").json()["messages"][0]["text"]
    assert "Giấy chứng sinh" in first and len(first) <= 1200
    for info in app.index.procedures:
        texts_seen = [client.get(f"/p/{info.code}").text]
        presses = [f"1:p:{info.code}", *(f"1:f:{info.code}:{facet}" for facet in ("where", "time", "fees", "online"))]
        if info.special_cases:
            presses.append(f"1:s:{info.code}")
        reader = "reader-" + info.code.replace(".", "-")  # one conversation per procedure: a person, not a flood
        for data in presses:
            reply = client.post("/api/chat", json={"session_id": reader, "button": data}).json()
            texts_seen += [message["text"] for message in reply["messages"]]
        for text in texts_seen:
            lowered = html.unescape(text).lower()
            assert not [phrase for phrase in BANNED if phrase in lowered], info.code
