"""An in-process Telegram Bot API: answers the calls the bot makes, records them, touches no network.

Used by `tthc bench --telegram` to measure updates per second through the real Application, and by the
tests to drive it end to end.
"""

import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7_000_000_001


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]


@dataclass
class LoopbackBotAPI(BaseRequest):
    """A BaseRequest that plays the Bot API server."""

    username: str = "tthc_test_bot"
    calls: list[Call] = field(default_factory=list)
    unreachable_chats: set[int] = field(default_factory=set)  # sendMessage to these fails like a blocked chat
    # Errors to answer the next calls of a method with, in order: (method, HTTP status, error object).
    failures: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    _next_message_id: int = 1

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Parameters of every call of one method, in order."""
        return [call.params for call in self.calls if call.method == method]

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        self._next_message_id += 1
        chat_id = int(params.get("chat_id", 0))
        message = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "TTHC", "username": self.username},
            "text": params.get("text", ""),
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        self.calls.append(Call(api_method, dict(params)))
        if self.failures and self.failures[0][0] == api_method:
            _, status, error = self.failures.pop(0)
            return status, json.dumps({"ok": False, **error}).encode()
        if api_method == "sendMessage" and int(params.get("chat_id", 0)) in self.unreachable_chats:
            error = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            return 403, json.dumps(error).encode()
        if api_method == "getMe":
            result: Any = {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "TTHC",
                "username": self.username,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        elif api_method in ("sendMessage", "editMessageText"):
            result = self._message(params)
        elif api_method == "getUpdates":
            result = []
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()


QUESTIONS = (
    "làm giấy khai sinh cho con cần giấy tờ gì",
    "dang ky ket hon o dau",
    "sao y cccd bao nhiêu tiền",
    "nhập hộ khẩu cho con",
    "căn cước",
    "giá xăng hôm nay",
    "còn lệ phí thì sao?",
    "xin chào",
)


def _update(number: int, user_id: int) -> dict[str, Any]:
    chat = {"id": user_id, "type": "private"}
    sender = {"id": user_id, "is_bot": False, "first_name": "An"}
    if number % 4 == 3:  # every fourth update is a button press
        message = {"message_id": number, "date": 0, "chat": chat, "from": sender, "text": "…"}
        query = {
            "id": str(number),
            "from": sender,
            "chat_instance": "c",
            "data": "1:f:1.001193:fees",
            "message": message,
        }
        return {"update_id": number, "callback_query": query}
    text = QUESTIONS[number % len(QUESTIONS)]
    return {
        "update_id": number,
        "message": {"message_id": number, "date": 0, "chat": chat, "from": sender, "text": text},
    }


async def measure_throughput(assistant: Any, updates: int = 400) -> dict[str, float]:
    """Updates per second through the real Application (no rate limiter, no network), and the dialog alone."""
    from telegram import Update

    from bot.channels.telegram import build_application
    from bot.conversation import Incoming

    api = LoopbackBotAPI()
    application = build_application(assistant, "123456:BENCH", request=api, rate_limit=False)
    await application.initialize()
    batch = [Update.de_json(_update(number, 1000 + number % 50), application.bot) for number in range(updates)]
    start = time.perf_counter()
    for update in batch:
        await application.process_update(update)
    application_seconds = time.perf_counter() - start
    await application.shutdown()

    incomings = [
        Incoming(
            "bench",
            str(number % 50),
            text=None if number % 4 == 3 else QUESTIONS[number % len(QUESTIONS)],
            button="1:f:1.001193:fees" if number % 4 == 3 else None,
        )
        for number in range(updates)
    ]
    start = time.perf_counter()
    for incoming in incomings:
        assistant.respond(incoming)
    dialog_seconds = time.perf_counter() - start
    return {
        "updates": updates,
        "messages_sent": len(api.sent()),
        "application_updates_per_second": round(updates / application_seconds, 1),
        "dialog_updates_per_second": round(updates / dialog_seconds, 1),
        "application_share_of_dialog": round(dialog_seconds / application_seconds, 3),
    }
