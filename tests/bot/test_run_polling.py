"""`tthc run` against a Bot API server on loopback: real HTTP, real polling, a real process."""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from tests.bot.processes import free_port, wait_for

TOKEN = "123456:LOOPBACK"


class FakeBotAPI(ThreadingHTTPServer):
    """Just enough of the Bot API for long polling: queued updates out, sent messages in."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.updates: list[dict] = []
        self.sent: list[dict] = []
        self.answered: list[dict] = []
        self.methods: list[str] = []
        self.lock = threading.Lock()
        self.next_id = 1

    def push(self, update: dict) -> None:
        with self.lock:
            update["update_id"] = self.next_id
            self.next_id += 1
            self.updates.append(update)


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotAPI

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body or "{}")
        else:
            params = {key: values[0] for key, values in parse_qs(body).items()}
        method = self.path.rsplit("/", 1)[-1]
        self.server.methods.append(method)
        result: object = True
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "TTHC", "username": "tthc_test_bot"}
        elif method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            deadline = time.monotonic() + 1.0
            while True:
                with self.server.lock:
                    result = [u for u in self.server.updates if u["update_id"] >= offset]
                if result or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        elif method == "sendMessage":
            with self.server.lock:
                self.server.sent.append(params)
            result = {
                "message_id": len(self.server.sent),
                "date": 0,
                "text": params.get("text", ""),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
            }
        elif method == "answerCallbackQuery":
            self.server.answered.append(params)
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except BrokenPipeError:  # the bot was stopped in the middle of a long poll
            pass




@pytest.fixture
def bot_api():
    server = FakeBotAPI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def citizen_message(text: str) -> dict:
    return {
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
            "text": text,
        }
    }


def test_tthc_run_answers_on_telegram(bot_api, tmp_path):
    env = {
        **os.environ,
        "TTHC_TELEGRAM_TOKEN": TOKEN,
        "TTHC_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "TTHC_TELEGRAM_BASE_URL": f"http://127.0.0.1:{bot_api.server_address[1]}",
    }
    bot_api.push(citizen_message("làm giấy khai sinh cho con cần giấy tờ gì"))
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
