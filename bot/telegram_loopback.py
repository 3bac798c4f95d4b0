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
