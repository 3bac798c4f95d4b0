"""What operators see: /metrics, /readyz, logs without secrets or personal data, the purge and the backup."""

import asyncio
import io
import json
import logging
import sqlite3
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.app import build_app
from bot.cli import main
from bot.conversation import Conversation
from bot.observability import JsonFormatter, configure_logging, log_handler, redact
from bot.retention import purge_personal_data
from bot.server import build_web
from bot.shared_state import DatabaseStateStore
from bot.stores import StoredConversations
from knowledge.models import Feedback, Outbox, QueryLog, Ticket, utcnow

TOKEN = "7123456789:AAH-s3cretTokenValue_abcdefghijklmnopqr"


@pytest.fixture
def site(database_url):
    app = build_app()
    with TestClient(build_web(app), base_url="http://testserver") as client:
        yield client, app
    app.engine.dispose()


def sample(page: str, name: str, **labels: str) -> float:
    """One sample's value from a Prometheus text page (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in page.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        key, value = line.rsplit(" ", 1)
        metric, _, rest = key.partition("{")
        found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if metric == name and found == wanted:
            return float(value)
    return 0.0


# -- metrics and probes --------------------------------------------------------------------------------------


@pytest.mark.databases
def test_metrics_count_replies_decisions_requests_and_database_figures(site):
    client, app = site
    with Session(app.engine) as session:
        session.add(Ticket(code="HCB-AAAA", channel="web", question="?", status="open"))
        session.add(Ticket(code="HCB-BBBB", channel="telegram", question="?", status="answered", delivery="failed"))
        session.commit()
    before = client.get("/metrics").text
    assert client.post("/api/chat", json={"session_id": "metrics-01", "text": "làm giấy khai sinh cần gì"}).is_success
    assert client.post("/api/chat", json={"session_id": "metrics-01", "text": "xin chào"}).is_success
    page = client.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    text = page.text
    assert sample(text, "tthc_replies_total", channel="web") - sample(before, "tthc_replies_total", channel="web") == 2
    for decision in ("answer", "none"):
        grown = sample(text, "tthc_decisions_total", channel="web", decision=decision) - sample(
            before, "tthc_decisions_total", channel="web", decision=decision
        )
        assert grown == 1, decision
    assert sample(text, "tthc_reply_seconds_count", channel="web") >= 2
    assert sample(text, "tthc_http_requests_total", route="chat_api", status="200") >= 2
    assert sample(text, "tthc_http_request_seconds_count", route="chat_api") >= 2
    assert sample(text, "tthc_tickets_open") == 1
    assert sample(text, "tthc_ticket_deliveries_failed") == 1
    assert sample(text, "tthc_index_procedures") == len(app.index)
    assert sample(text, "tthc_index_reload_seconds") > 0


def test_readiness_needs_the_index_and_the_database(database_url):
    app = build_app()
    with TestClient(build_web(app)) as client:
        assert client.get("/healthz").text == "ok"
        not_yet = client.get("/readyz")
        assert not_yet.status_code == 503 and "index" in not_yet.text
        app.reload()
        assert client.get("/readyz").text == "ready\n"

        def unreachable(*args, **kwargs):
            raise ConnectionRefusedError("no database")

        app.engine.connect = unreachable  # type: ignore[method-assign]
        away = client.get("/readyz")
        assert away.status_code == 503 and "database" in away.text
    app.engine.dispose()


# -- logs ----------------------------------------------------------------------------------------------------


LEAKS = {
    "token": TOKEN,
    "zalo token": "3141592653:zalo-S3CRET-token-xyz",
    "phone": "0912 345 678",
    "phone +84": "+84912345678",
    "telegram user id": "5012345678",
    "zalo user id": "2468013579246801357",
    "secret": "s3cr3t-value",
}


def test_the_redaction_removes_tokens_secrets_phones_and_ids():
    line = (
        f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed for chat {LEAKS['telegram user id']}; "
        f"zalo https://bot-api.zaloplatforms.com/bot{LEAKS['zalo token']}/getUpdates user "
        f"{LEAKS['zalo user id']} phone {LEAKS['phone']} / {LEAKS['phone +84']}; "
        f"refresh_token={LEAKS['secret']}&app_id=1 session_id=abc-def-123456"
    )
    cleaned = redact(line)
    for what, leak in LEAKS.items():
        assert leak not in cleaned, what
    assert "abc-def-123456" not in cleaned
    assert "api.telegram.org/bot[token]/sendMessage" in cleaned
    # What operators need stays readable: codes, addresses, durations, counts.
    kept = "procedure 1.001193 answered in 12.5 ms for 127.0.0.1:8080 (status 200, 51 procedures, 2026-11-30)"
    assert redact(kept) == kept


@pytest.mark.parametrize("json_lines", [False, True])
def test_log_lines_never_hold_a_token_a_user_id_or_a_phone(json_lines):
    stream = io.StringIO()
    logger = logging.getLogger("tests.observability")
    handler = log_handler(json_lines, stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("delivering to %s (phone %s) with %s", LEAKS["zalo user id"], LEAKS["phone"], TOKEN)
        try:
            raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getUpdates: chat {LEAKS['telegram user id']}")
        except RuntimeError:
            logger.exception("polling failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = stream.getvalue()
    for what, leak in LEAKS.items():
        assert leak not in output, what
    assert "polling failed" in output and "RuntimeError" in output
    if json_lines:
        entries = [json.loads(line) for line in output.splitlines()]
        assert [entry["level"] for entry in entries] == ["WARNING", "ERROR"]
        assert entries[0]["logger"] == "tests.observability" and "[token]" in entries[0]["message"]
        assert "Traceback" in entries[1]["exception"]


def test_json_format_is_chosen_by_the_setting(monkeypatch, capsys):
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []  # as in a fresh `tthc` process (the test runner configured logging already)
    try:
        configure_logging(verbose=True, log_format="json")
        logging.getLogger("bot.test").info("started with %s", TOKEN)
        (handler,) = root.handlers
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        root.handlers, root.level = saved_handlers, saved_level
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["message"] == "started with [token]"


# -- privacy: the purge --------------------------------------------------------------------------------------


@pytest.mark.databases
def test_the_purge_erases_who_asked_and_contact_details_past_retention(engine):
    now = utcnow()
    old, recent = now - timedelta(days=200), now - timedelta(days=10)
    with Session(engine) as session:
        session.add(QueryLog(created_at=old, user_hash="h-old", text="lam giay khai sinh", asked="Làm giấy khai sinh"))
        session.add(QueryLog(created_at=recent, user_hash="h-new", text="ket hon"))
        session.add(Feedback(created_at=old, user_hash="h-old", procedure_code="1.001193", helpful=True))
        session.add(
            Ticket(
                code="HCB-OLD1",
                created_at=now - timedelta(days=95),
                channel="telegram",
                user_ref="5012345678",
                user_hash="h-old",
                phone="0912345678",
                question="Gọi em số 0912 345 678 nhé, làm khai sinh cho con",
                history=[{"role": "citizen", "text": "số em 0987.654.321"}],
                status="answered",
                answer="Anh/chị mang giấy chứng sinh.",
            )
        )
        session.add(Ticket(code="HCB-NEW1", channel="web", user_ref="sess-1", phone="0900000000", question="?"))
        session.add(Outbox(session_key="web:old", html="…", created_at=now - timedelta(days=95)))
        session.add(Outbox(session_key="web:new", html="…"))
        session.commit()

    state = DatabaseStateStore(engine, clock=lambda: time.time() - 7200)  # a conversation left two hours ago
    StoredConversations(state, ttl=3600).save("web:old", Conversation(history=({"who": "citizen", "text": "0912"},)))
    report = purge_personal_data(engine, log_days=180, ticket_days=90)
    assert (report.questions, report.feedback, report.tickets, report.outbox) == (1, 1, 1, 1)
    assert report.expired == 1 and DatabaseStateStore(engine).get("conversation:web:old") is None
    with Session(engine) as session:
        hashes = {row.text: row.user_hash for row in session.exec(select(QueryLog))}
        assert hashes == {"lam giay khai sinh": "", "ket hon": "h-new"}  # the question stays, who asked goes
        assert session.exec(select(Feedback)).one().user_hash == ""
        old_ticket, new_ticket = session.get(Ticket, "HCB-OLD1"), session.get(Ticket, "HCB-NEW1")
        assert (old_ticket.user_ref, old_ticket.phone, old_ticket.user_hash) == ("", "", "")
        assert old_ticket.purged_at is not None
        assert "0912" not in old_ticket.question and "làm khai sinh cho con" in old_ticket.question
        assert "0987" not in json.dumps(old_ticket.history, ensure_ascii=False)
        assert old_ticket.answer == "Anh/chị mang giấy chứng sinh."  # staff's answer is not personal data
        assert (new_ticket.user_ref, new_ticket.phone, new_ticket.purged_at) == ("sess-1", "0900000000", None)
        assert [row.session_key for row in session.exec(select(Outbox))] == ["web:new"]
    again = purge_personal_data(engine, log_days=180, ticket_days=90)
    assert again.total == 0


def test_tthc_purge_says_what_it_erased(engine, capsys, monkeypatch):
    monkeypatch.setenv("TTHC_LOG_RETENTION_DAYS", "30")
    with Session(engine) as session:
        session.add(QueryLog(created_at=utcnow() - timedelta(days=31), user_hash="h", text="x"))
        session.commit()
    assert main(["purge"]) == 0
    output = capsys.readouterr().out
    assert "who asked erased from 1 questions" in output and "tickets" in output


async def test_tthc_run_purges_in_the_background(engine, database_url, monkeypatch):
    from bot import server

    monkeypatch.setattr(server, "PURGE_FIRST_AFTER_SECONDS", 0.0)
    with Session(engine) as session:
        session.add(QueryLog(created_at=utcnow() - timedelta(days=400), user_hash="h", text="x"))
        session.commit()
    app = build_app()
    task = asyncio.create_task(server._purge_daily(app))

    def erased() -> bool:
        with Session(engine) as session:
            return session.exec(select(QueryLog)).one().user_hash == ""

    for _ in range(200):
        if await asyncio.to_thread(erased):
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(erased)
    app.engine.dispose()


# -- backups -------------------------------------------------------------------------------------------------


def test_backup_copies_the_sqlite_database_while_it_is_open(engine, database_url, tmp_path, capsys):
    with engine.connect():  # the server holds the database open
        assert main(["backup", str(tmp_path / "copy.db")]) == 0
    assert "backed up" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM procedure").fetchone()[0] > 0
    assert main(["backup", str(tmp_path / "copy.db")]) == 1  # never over an existing file
    assert "already exists" in capsys.readouterr().err


def test_backup_of_postgresql_points_to_pg_dump(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TTHC_DATABASE_URL", "postgresql+psycopg://tthc:pa55word@db.internal:5432/tthc")
    assert main(["backup", "tthc.dump"]) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert "pg_dump --format=custom --file=tthc.dump 'postgresql://tthc@db.internal:5432/tthc'" in line
    assert "pa55word" not in line
