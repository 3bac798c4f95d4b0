"""Several server processes over one database, as on two machines or with `tthc run --workers N`: they share
conversations, the knowledge base and the query log, and exactly one of them polls Telegram."""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from knowledge.db import BUNDLED_DIR, make_engine
from knowledge.importer import read_bundled
from knowledge.models import QueryLog
from tests.bot.bot_api import FakeBotAPI
from tests.bot.processes import free_port, status, wait_for

TOKEN = "123456:WORKERS"
NEW_CODE = "9.990001"


@pytest.fixture
def bot_api():
    with FakeBotAPI.running() as server:
        yield server


class Server:
    """One `tthc run` process (with its arguments) on its own port."""

    def __init__(self, env: dict, cwd, *args: str, telegram: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**env, "TTHC_PORT": str(self.port)}
        if telegram:
            env.update(TTHC_TELEGRAM_TOKEN=TOKEN, TTHC_TELEGRAM_BASE_URL=telegram)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, self.stop()
            return status(self.base + "/readyz") == 200

        wait_for(ready, 120, f"{self.base} to be ready")

    def ask(self, session: str, text: str) -> str:
        request = urllib.request.Request(
            self.base + "/api/chat",
            data=json.dumps({"session_id": session, "text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            return "\n".join(message["text"] for message in json.loads(response.read())["messages"])

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            output = self.process.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            output = self.process.communicate()[0]
        return output.decode(errors="replace")


@pytest.fixture
def environment(database_url, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TTHC_")}
    env.update(TTHC_DATABASE_URL=database_url, TTHC_SECRET_KEY="workers-test", PYTHONUNBUFFERED="1")
    upgraded = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, timeout=300
    )
    assert upgraded.returncode == 0, upgraded.stderr.decode()  # once, by the operator, before the servers start
    return env, tmp_path


def new_procedure_file(path) -> None:
    record = read_bundled(BUNDLED_DIR)[0].to_dict()
    record.update(
        code=NEW_CODE,
        name="Đăng ký nuôi chim bồ câu cảnh",
        short_name="Nuôi chim bồ câu cảnh",
        aliases=["nuôi chim bồ câu cảnh", "đăng ký chim bồ câu"],
    )
    path.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")


@pytest.mark.databases  # SQLite, and PostgreSQL when TTHC_TEST_POSTGRES_URL is set
def test_two_servers_share_conversations_knowledge_the_query_log_and_one_telegram_poller(
    environment, database_url, bot_api
):
    env, cwd = environment
    first = Server(env, cwd, telegram=bot_api.base_url("first"))
    second = Server(env, cwd, telegram=bot_api.base_url("second"))
    servers = {"first": first, "second": second}
    asked: collections.Counter[str] = collections.Counter()

    def ask(server: Server, session: str, text: str) -> str:
        asked[text] += 1
        return server.ask(session, text)

    try:
        first.wait_ready()
        second.wait_ready()

        # A conversation started on one machine continues on the other.
        assert "1.001193" in ask(first, "citizen-0001", "làm giấy khai sinh cần gì")
        fee = ask(second, "citizen-0001", "còn lệ phí thì sao?")
        assert "1.001193" in fee and "Phí, lệ phí" in fee

        # Exactly one process polls Telegram, and a message is answered once.
        wait_for(lambda: bot_api.pollers_since(0), 60, "a Telegram poller")
        seen = len(bot_api.polls)
        time.sleep(3)
        (poller,) = bot_api.pollers_since(0)
        assert bot_api.pollers_since(seen) == {poller}
        bot_api.push_text("đăng ký kết hôn cần gì")
        asked["đăng ký kết hôn cần gì"] += 1
        wait_for(lambda: bot_api.sent, 60, "a Telegram answer")
        time.sleep(1)
        assert {message["via"] for message in bot_api.sent} == {poller}  # answered by the poller alone

        # An import made while both run is matched by both within 10 seconds.
        question = "đăng ký nuôi chim bồ câu cảnh ở đâu"
        assert NEW_CODE not in ask(first, "citizen-0002", question)
        new_procedure_file(cwd / "new.json")
        imported = subprocess.run(
            [sys.executable, "-m", "bot", "import", str(cwd / "new.json")], cwd=cwd, env=env, capture_output=True
        )
        assert imported.returncode == 0, imported.stderr.decode()
        started = time.monotonic()
        for name, server in servers.items():
            while NEW_CODE not in ask(server, f"citizen-{name}", question):
                assert time.monotonic() - started < 10, f"the {name} server did not see the import within 10 s"
                time.sleep(0.3)

        # When the poller stops, the other process takes the polling over.
        other = "second" if poller == "first" else "first"
        output = servers[poller].stop()
        assert "Traceback" not in output, output
        handed_over = len(bot_api.polls)
        wait_for(lambda: bot_api.pollers_since(handed_over) == {other}, 60, "the other process to poll")
        bot_api.push_text("làm giấy khai sinh ở đâu")
        asked["làm giấy khai sinh ở đâu"] += 1
        wait_for(lambda: [m for m in bot_api.sent if m["via"] == other], 60, "an answer from the other process")
    finally:
        outputs = [server.stop() for server in servers.values()]
    for output in outputs:
        assert "Traceback" not in output, output

    # Every question asked, on either machine or on Telegram, is in the shared query log once.
    engine = make_engine(database_url)
    with Session(engine) as session:
        logged = dict(
            session.exec(
                select(QueryLog.asked, func.count()).where(QueryLog.kind == "question").group_by(QueryLog.asked)
            ).all()
        )
    engine.dispose()
    assert logged == dict(asked)


def test_workers_share_one_port_and_stop_together(environment, bot_api):
    env, cwd = environment
    server = Server(env, cwd, "--workers", "2", telegram=bot_api.base_url("workers"))
    try:
        server.wait_ready()
        # Each request may reach either worker: the conversation is the same on both.
        assert "1.001193" in server.ask("citizen-0003", "làm giấy khai sinh cần gì")
        for _ in range(6):
            assert "1.001193" in server.ask("citizen-0003", "còn lệ phí thì sao?")
        metrics = urllib.request.urlopen(server.base + "/metrics", timeout=5).read().decode()
        reloads = [line for line in metrics.splitlines() if line.startswith("tthc_index_reloads_total")]
        assert reloads == ["tthc_index_reloads_total 2.0"]  # both workers' counts, whichever answered
        wait_for(lambda: bot_api.pollers_since(0), 60, "a Telegram poller")
        children = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True)
        workers = [int(pid) for pid in children.stdout.split()]
        assert len(workers) == 2
    finally:
        output = server.stop()
    assert server.process.returncode == 0, output
    assert "Traceback" not in output, output
    for pid in workers:  # no worker outlives the supervisor
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.databases
def test_an_old_schema_is_upgraded_on_sqlite_and_refused_on_postgresql_until_db_upgrade(database_url, tmp_path):
    from alembic import command

    from knowledge.db import _alembic_config

    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0004")  # a database of an older release
    engine.dispose()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TTHC_")}
    env.update(TTHC_DATABASE_URL=database_url, TTHC_PORT=str(free_port()))

    def tthc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    if database_url.startswith("postgresql"):
        refused = tthc("run")  # several workers must never race to migrate: the operator upgrades, once
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            "tthc: the database schema is at revision 0004, this version needs "
            f"{refused.stderr.split('needs ')[1].split(':')[0]}: run `tthc db upgrade`"
        ]
        upgraded = tthc("db", "upgrade")
        assert upgraded.returncode == 0 and "0004 ->" in upgraded.stdout, upgraded.stderr
    answered = tthc("search", "--json", "làm giấy khai sinh cần gì")  # SQLite: upgraded on its own
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["results"][0]["code"] == "1.001193"


def test_bench_web_drives_the_real_server_and_reports_each_scenario(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    arguments = ["--databases", "sqlite", "--workers", "1", "--seconds", "1", "--citizens", "5", "--clients", "2"]
    assert main(["bench", "--web", *arguments, "--think", "0.1", "0.2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["database"], row["workers"]) for row in rows] == [("sqlite", 1), ("sqlite", 1)]
    assert ["5 citizens" in rows[0]["scenario"], "2 clients" in rows[1]["scenario"]] == [True, True]
    for row in rows:  # figures are reported, never judged here
        assert row["requests"] > 0 and row["errors"] == 0
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]


def test_workers_that_cannot_listen_stop_the_supervisor_with_one_line(environment):
    env, cwd = environment
    with socket.socket() as taken:  # another program holds the port (without SO_REUSEPORT)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**env, "TTHC_PORT": str(taken.getsockname()[1])}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--workers", "2"], cwd=cwd, env=env, capture_output=True, timeout=120
        )
    output = done.stderr.decode()
    assert done.returncode == 1, output
    assert "cannot listen on 127.0.0.1" in output and "Traceback" not in output
    assert "stopped at start-up" in output  # no restart loop
