"""A service that bad traffic cannot break: rate limits fair to a busy office, a login lockout that holds,
sessions that end, webhooks that check before they read, bounded bodies, quiet logs, security headers."""

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from bot.accounts import create_user
from bot.app import build_app
from bot.server import build_web
from bot.stores import MemoryRateLimiter

PASSWORD = "mật-khẩu-đủ-dài-123"
ORIGIN = {"Origin": "http://testserver"}


class Clock:
    """Simulated time for the rate limiter (minutes of traffic in a second of test)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(database_url, monkeypatch, clock):
    monkeypatch.setenv("TTHC_SECRET_KEY", "test-secret")
    app = build_app()
    app.rate_limiter = MemoryRateLimiter(clock=clock)
    create_user(app.engine, "canbo", PASSWORD, "admin")
    with TestClient(build_web(app), base_url="http://testserver") as client:
        yield client, app
    app.engine.dispose()


def ask(client, session: str, text: str = "khai sinh cần gì", **headers):
    return client.post("/api/chat", json={"session_id": session, "text": text}, headers=headers)


def test_an_office_of_200_citizens_behind_one_address_is_served(site, clock):
    """Two hundred people at a commune office share one NAT address; each asks every ten seconds."""
    client, _ = site
    served = refused = 0
    for second in range(60):
        clock.now += 1.0
        for citizen in range(200):
            if citizen % 10 == second % 10:  # each citizen asks every ten seconds, spread over the seconds
                status = ask(client, f"citizen-{citizen:04d}").status_code
                served += status == 200
                refused += status == 429
    assert (served, refused) == (1200, 0)


def test_one_address_sending_four_a_second_keeps_being_answered(site, clock):
    client, _ = site
    statuses = []
    for _ in range(4 * 60):  # a minute at 4 requests a second, from one conversation
        clock.now += 0.25
        statuses.append(ask(client, "steady-sender-01").status_code)
    assert statuses.count(200) == len(statuses)


def test_a_flood_is_slowed_but_never_locked_out(site, clock):
    client, _ = site
    flood = [ask(client, "flooding-client").status_code for _ in range(200)]  # all within one instant
    assert flood[0] == 200 and 429 in flood
    served_in_flood = flood.count(200)
    # Refused requests cost nothing: once the client calms down it is answered at once, every time.
    later = []
    for _ in range(30):
        clock.now += 2.0
        later.append(ask(client, "flooding-client").status_code)
    assert later == [200] * 30
    assert served_in_flood <= 25  # the burst, no more
    too_many = ask(client, "flooding-client").json() if 429 in later else None
    assert too_many is None


def test_rotating_session_ids_hits_the_address_ceiling(site, clock):
    client, _ = site
    statuses = [ask(client, f"rotating-{number:06d}").status_code for number in range(1000)]
    assert 429 in statuses
    assert ask(client, "rotating-999999").json()["detail"]["code"] == "too_many"


def login(client, password: str = PASSWORD, **headers):
    return client.post(
        "/admin/login",
        data={"username": "canbo", "password": password},
        headers={**ORIGIN, **headers},
        follow_redirects=False,
    )


@pytest.mark.databases  # the login throttle and staff sessions live in the database
def test_sixty_parallel_wrong_passwords_with_forged_addresses_leave_the_account_locked(site):
    client, _ = site
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(lambda n: login(client, f"sai-{n}", **{"X-Forwarded-For": f"10.0.{n}.1"}), range(60))
        )
    assert all(answer.status_code == 400 for answer in answers)
    locked = login(client)
    assert locked.status_code == 400
    assert "Đăng nhập sai quá nhiều lần" in locked.text  # said in Vietnamese


def test_a_guesser_rotating_real_addresses_hits_the_account_ceiling(database_url, monkeypatch):
    """Behind a trusted proxy each forwarded address counts apart; the account itself still locks."""
    monkeypatch.setenv("TTHC_TRUSTED_PROXIES", "testclient")
    app = build_app()
    create_user(app.engine, "canbo", PASSWORD, "admin")
    with TestClient(build_web(app), base_url="http://testserver") as client:
        for number in range(25):
            login(client, "sai", **{"X-Forwarded-For": f"10.1.{number}.1"})
        locked = login(client, **{"X-Forwarded-For": "10.9.9.9"})
        assert locked.status_code == 400 and "quá nhiều lần" in locked.text
    app.engine.dispose()


@pytest.mark.databases  # the login throttle and staff sessions live in the database
def test_a_logged_out_cookie_is_refused(site):
    client, _ = site
    assert login(client).status_code in (302, 303)
    stolen = dict(client.cookies)
    assert client.get("/admin/procedure/list").status_code == 200
    client.get("/admin/logout", follow_redirects=False)
    client.cookies.clear()
    for name, value in stolen.items():
        client.cookies.set(name, value)
    assert client.get("/admin/procedure/list", follow_redirects=False).status_code in (302, 303)


@pytest.mark.databases  # the login throttle and staff sessions live in the database
def test_a_deleted_account_is_out_at_once(site):
    client, app = site
    assert login(client).status_code in (302, 303)
    from sqlmodel import Session, select

    from knowledge.models import StaffUser

    with Session(app.engine) as session:
        user = session.exec(select(StaffUser)).one()
        pk = user.id
    create_user(app.engine, "truong", PASSWORD, "admin")
    other = TestClient(client.app, base_url="http://testserver")
    assert (
        other.post(
            "/admin/login", data={"username": "truong", "password": PASSWORD}, headers=ORIGIN, follow_redirects=False
        ).status_code
        == 302
    )
    assert other.delete(f"/admin/staff-user/delete?pks={pk}", headers=ORIGIN).status_code == 200
    assert client.get("/admin/procedure/list", follow_redirects=False).status_code in (302, 303)


@pytest.mark.parametrize("path", ["/admin/alias/details/abc", "/admin/alias/edit/1x", "/admin/staff-user/details/-"])
def test_admin_ids_of_the_wrong_type_are_404(site, path):
    client, _ = site
    login(client)
    assert client.get(path).status_code == 404


def test_pages_send_security_headers(site):
    client, _ = site
    for path in ("/", "/p/1.001193", "/admin/login", "/api/chat"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def test_the_favicon_is_served(site):
    client, _ = site
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"


def test_a_huge_declared_body_is_refused_before_it_is_read(site):
    client, _ = site
    response = client.post("/api/chat", content=b"{}", headers={"Content-Length": str(50 * 1024 * 1024)})
    assert response.status_code == 413


async def test_a_client_that_disconnects_mid_body_is_an_info_line(database_url, caplog):
    """A phone losing its signal mid-request: no traceback, no ERROR line, only an INFO note."""
    app = build_app()
    web = build_web(app)
    messages = [{"type": "http.request", "body": b'{"session_id": "abcdefgh", "te', "more_body": True}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/chat",
        "raw_path": b"/api/chat",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("203.0.113.5", 50000),
        "server": ("testserver", 80),
    }
    caplog.set_level(logging.INFO)
    await web(scope, receive, send)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("went away" in record.getMessage() for record in caplog.records)
    app.engine.dispose()


def telegram_site(database_url, monkeypatch):
    monkeypatch.setenv("TTHC_TELEGRAM_TOKEN", "123456:TEST")
    monkeypatch.setenv("TTHC_TELEGRAM_WEBHOOK_URL", "https://bot.example.gov.vn/telegram/hook")
    monkeypatch.setenv("TTHC_TELEGRAM_WEBHOOK_SECRET", "the-right-secret")
    from bot.channels import configured_channels

    app = build_app()
    channels = configured_channels(app)
    return app, TestClient(build_web(app, channels), base_url="http://testserver"), channels[0]


def test_the_telegram_webhook_checks_the_secret_before_it_reads(database_url, monkeypatch):
    app, client, channel = telegram_site(database_url, monkeypatch)
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    path = "/telegram/hook"
    assert client.post(path, content=deep).status_code == 403
    wrong = {"X-Telegram-Bot-Api-Secret-Token": "x"}
    assert client.post(path, content=json.dumps(update), headers=wrong).status_code == 403
    signed = {"X-Telegram-Bot-Api-Secret-Token": "the-right-secret"}
    assert client.post(path, content=deep, headers=signed).status_code == 400
    assert client.post(path, content=b"not json", headers=signed).status_code == 400
    assert client.post(path, content=b"x" * (2 * 1024 * 1024), headers=signed).status_code == 413
    assert client.post(path, content=json.dumps(update), headers=signed).status_code == 200
    assert channel.application.update_queue.qsize() == 1
    app.engine.dispose()


def test_behind_a_trusted_tls_proxy_the_admin_accepts_its_own_https_origin(database_url, monkeypatch):
    monkeypatch.setenv("TTHC_TRUSTED_PROXIES", "testclient")
    app = build_app()
    create_user(app.engine, "canbo", PASSWORD, "admin")
    with TestClient(build_web(app), base_url="http://testserver") as client:
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        accepted = login(client, **forwarded, Origin="https://testserver")
        assert accepted.status_code in (302, 303)
        assert login(client, **forwarded, Origin="https://evil.example").status_code == 403
    app.engine.dispose()
    monkeypatch.delenv("TTHC_TRUSTED_PROXIES")
    untrusted = build_app()
    with TestClient(build_web(untrusted), base_url="http://testserver") as client:
        # Without a configured proxy the forwarded scheme is not believed: the page is http, the origin https.
        assert login(client, **{"X-Forwarded-Proto": "https"}, Origin="https://testserver").status_code == 403
    untrusted.engine.dispose()
