"""The channels: one adapter per platform over the same dialog (Incoming -> Reply -> the platform's messages).

Every adapter needs the same few things from the application (`Assistant`), and offers the server the same
two hooks (`Channel`): routes to mount on the web server (webhooks) and background work (polling). The
server runs whatever `configured_channels` returns; a new platform is a module here plus one line below.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.catalog import Catalog
from bot.config import Settings
from bot.conversation import Incoming, Reply

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine

    from bot.stores import StateStore


class Assistant(Protocol):
    """What every channel needs from the application (bot.app.App)."""

    settings: Settings
    engine: "Engine"
    state: "StateStore"  # small values shared by workers: webhook replays seen, Zalo reply windows

    @property
    def catalog(self) -> Catalog:
        """The current knowledge snapshot (index, offices, popular procedures)."""

    def respond(self, incoming: Incoming) -> Reply:
        """The reply to one incoming event (conversation loaded and saved)."""

    def record(self, incoming: Incoming, reply: Reply) -> None:
        """Log what happened for staff, after the reply is sent."""

    def reload(self) -> int:
        """Rebuild the catalogue from the database; returns how many procedures it holds."""

    def stats_text(self, days: int = 1) -> str:
        """Staff statistics as a message."""

    def shared_secret(self, name: str) -> str:
        """A secret every worker of the service agrees on."""


class Channel(Protocol):
    """A platform the server runs beside the web pages."""

    name: str

    def mount(self, web: "FastAPI") -> None:
        """Add this channel's routes (webhooks) to the web server; may add none."""

    async def run(self) -> None:
        """Do the channel's background work until cancelled; may return at once. A channel that polls has an
        attribute `exclusive` (an `Exclusive`) and polls through it: the server sets it to a lease, so that one
        process of the deployment polls while every process sends and takes webhooks."""

    async def send(self, user_id: str, reply: Reply) -> bool:
        """Send what the citizen did not just ask for (a staff answer to their question). True when sent;
        False when it cannot be delivered now (blocked, or outside Zalo's free reply window)."""


@dataclass(frozen=True)
class Capabilities:
    """What a platform can show, as data the renderers read."""

    max_text: int  # characters per message (Telegram counts UTF-16 units)
    html: bool  # the safe HTML subset, or plain text
    max_buttons: int | None  # buttons per message; None: no limit; 0: no buttons, numbered choices instead


Exclusive = Callable[[Callable[[], Awaitable[None]]], Awaitable[None]]


async def run_at_once(work: Callable[[], Awaitable[None]]) -> None:
    """The default `exclusive` of a polling channel: no lease (one process, tests); the server gives a lease."""
    await work()


async def retrying(
    step: Callable[[], Awaitable[None]],
    failure: str,
    errors: tuple[type[Exception], ...],
    first_pause: float,
    max_pause: float,
) -> None:
    """Run `step` until it succeeds; each failure with one of `errors` is logged (`failure` % (error, pause))
    and waited out, a little longer each time: a platform that is unreachable must not take the rest down."""
    pause = first_pause
    while True:
        try:
            await step()
            return
        except errors as error:
            logger.error(failure, error, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, max_pause)


class Background:
    """Work started after a webhook is acknowledged: tasks kept referenced until done (the event loop holds
    only weak references), errors logged, and one chat's work in arrival order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def start(self, key: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run `work()` after the earlier work of the same key; never raises into the caller."""

        async def guarded() -> None:
            try:
                async with self.serial(key):
                    await work()
            except Exception:
                logger.exception("%s: could not handle an update", self.name)

        task = asyncio.create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    @contextlib.asynccontextmanager
    async def serial(self, key: str) -> AsyncIterator[None]:
        """Hold the key's lock; the lock is forgotten when nobody holds or waits for it."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def drain(self) -> None:
        """Wait for the work in flight (tests; shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def utf16_length(text: str) -> int:
    """Length as Telegram and Zalo count it: UTF-16 code units (an emoji counts 2), never less than code points."""
    return len(text.encode("utf-16-le")) // 2


def configured_channels(assistant: Assistant) -> list[Channel]:
    """The channels the settings enable (the web pages always run; they are the server itself)."""
    from bot.channels import telegram, zalo_bot, zalo_oa

    factories: tuple[Callable[[Assistant], Channel | None], ...] = (
        telegram.from_settings,
        zalo_oa.from_settings,
        zalo_bot.from_settings,
    )
    return [channel for factory in factories if (channel := factory(assistant)) is not None]
