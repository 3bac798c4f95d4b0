"""`tthc run` against a Bot API server on loopback: real HTTP, real polling, a real process."""

import json
import os
import subprocess
import sys

import pytest

from tests.bot.bot_api import FakeBotAPI
from tests.bot.processes import free_port, wait_for

TOKEN = "123456:LOOPBACK"


@pytest.fixture
def bot_api():
    with FakeBotAPI.running() as server:
        yield server


def test_tthc_run_answers_on_telegram(bot_api, tmp_path):
    env = {
        **os.environ,
        "TTHC_TELEGRAM_TOKEN": TOKEN,
        "TTHC_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "TTHC_TELEGRAM_BASE_URL": bot_api.base_url(),
    }
    bot_api.push_text("làm giấy khai sinh cho con cần giấy tờ gì")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        first = wait_for(lambda: [m for m in bot_api.sent if "Giấy chứng sinh" in m.get("text", "")])[0]
        assert first["parse_mode"] == "HTML"
        buttons = {
            b["text"]: b["callback_data"] for row in json.loads(first["reply_markup"])["inline_keyboard"] for b in row
        }
        bot_api.push(
            {
                "callback_query": {
                    "id": "q1",
                    "chat_instance": "c",
                    "data": buttons["💰 Lệ phí"],
                    "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
                    "message": {"message_id": 1, "date": 0, "text": "…", "chat": {"id": 42, "type": "private"}},
                }
            }
        )
        wait_for(lambda: [m for m in bot_api.sent if "Phí, lệ phí" in m.get("text", "")])
        assert bot_api.answered
        assert "setMyCommands" in bot_api.methods
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode(errors="replace")
    assert "Traceback" not in output, output




def test_the_web_stays_up_when_telegram_is_unreachable(tmp_path):
    import urllib.request

    port = free_port()
    env = {
        **os.environ,
        "TTHC_TELEGRAM_TOKEN": TOKEN,
        "TTHC_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "TTHC_TELEGRAM_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "TTHC_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:

        def healthy() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read() == b"ok"
            except OSError:
                return False

        assert wait_for(healthy)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode(errors="replace")
    assert "Telegram is unreachable" in output
