"""A Bot API server over real HTTP on loopback, for tests that run `tthc run` as a process: queued updates out
by long polling, sent messages and answered callbacks in. Each process may be given its own path prefix
(`base_url`), so a test sees which of several processes polled and answered."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

POLL_SECONDS = 0.5  # a long poll with nothing to give returns after this


class FakeBotAPI(ThreadingHTTPServer):
    """Just enough of the Bot API for polling bots (getMe, getUpdates, sendMessage, answerCallbackQuery...)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.updates: list[dict] = []
        self.sent: list[dict] = []  # sendMessage parameters, with "via": the caller's path prefix
        self.answered: list[dict] = []  # answerCallbackQuery parameters
        self.methods: list[str] = []  # every method called, in order
        self.polls: list[str] = []  # the path prefix of every getUpdates call
        self.confirmed = 0  # as Telegram: an offset confirms (and forgets) every earlier update
        self.lock = threading.Lock()
        self.next_id = 1

    @classmethod
    @contextmanager
    def running(cls) -> Iterator["FakeBotAPI"]:
        """The server, serving in a thread until the block ends."""
        server = cls()
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            server.server_close()

    def base_url(self, prefix: str = "") -> str:
        """TTHC_TELEGRAM_BASE_URL for one process; its calls are noted under `prefix`."""
        return f"http://127.0.0.1:{self.server_address[1]}" + (f"/{prefix}" if prefix else "")

    def push(self, update: dict) -> None:
        """Queue an update (its update_id is given here)."""
        with self.lock:
            update["update_id"] = self.next_id
            self.next_id += 1
            self.updates.append(update)

    def push_text(self, text: str) -> None:
        """Queue a citizen's text message."""
        self.push({"message": citizen_message(text)})

    def pollers_since(self, start: int) -> set[str]:
        """The prefixes that polled since the `start`-th poll."""
        with self.lock:
            return set(self.polls[start:])


def citizen_message(text: str) -> dict:
    """A private text message from citizen 42."""
    return {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
        "text": text,
    }


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotAPI

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body or "{}")
        else:
            params = {key: values[0] for key, values in parse_qs(body).items()}
        path = self.path.strip("/")
        prefix = path.partition("/")[0] if not path.startswith("bot") else ""
        method = path.rsplit("/", 1)[-1]
        server = self.server
        with server.lock:
            server.methods.append(method)
        result: object = True
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "TTHC", "username": "tthc_test_bot"}
        elif method == "getUpdates":
            with server.lock:
                server.polls.append(prefix)
                server.confirmed = max(server.confirmed, int(params.get("offset", 0) or 0))
            deadline = time.monotonic() + POLL_SECONDS
            while True:
                with server.lock:
                    result = [update for update in server.updates if update["update_id"] >= server.confirmed]
                if result or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        elif method == "sendMessage":
            with server.lock:
                server.sent.append({**params, "via": prefix})
                result = {
                    "message_id": len(server.sent),
                    "date": 0,
                    "text": params.get("text", ""),
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                }
        elif method == "answerCallbackQuery":
            with server.lock:
                server.answered.append(params)
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except BrokenPipeError:  # the bot was stopped in the middle of a long poll
            pass
