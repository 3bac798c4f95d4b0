"""State that outlives one message: conversations, rate limits and login throttles, behind small interfaces.

The composition root picks an implementation. The in-memory ones here serve one process; the database
ones (bot.shared_state) serve several workers and survive restarts. Memory stays bounded in both: entries
expire, and a full table forgets its least recently used entries, never everyone at once.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cachetools import TLRUCache, TTLCache

from bot.conversation import Conversation

CONVERSATION_TTL_SECONDS = 12 * 3600
MAX_BUCKETS = 100_000


class StateStore(Protocol):
    """Small JSON values under string keys, each with its own lifetime: conversations, webhook replays seen,
    a citizen's reply window on Zalo. The memory one serves a process; the database one (bot.shared_state)
    every worker."""

    def get(self, key: str) -> dict | None:
        """The value, or None when absent or expired."""

    def put(self, key: str, value: dict, ttl: float) -> None:
        """Store (or replace) a value for `ttl` seconds."""

    def add(self, key: str, value: dict, ttl: float) -> bool:
        """Store only if absent or expired; True when stored (the first to see a webhook message wins)."""

    def delete(self, key: str) -> None:
        """Forget a value."""


def _expiry(_key: str, item: tuple[dict, float], now: float) -> float:
    return item[1]


class MemoryStateStore:
    """Values in this process; the least recently used go first when it is full."""

    def __init__(self, maxsize: int = 200_000, clock: Callable[[], float] = time.time) -> None:
        self._items: TLRUCache[str, tuple[dict, float]] = TLRUCache(maxsize=maxsize, ttu=_expiry, timer=clock)
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            item = self._items.get(key)
            return item[0] if item else None

    def put(self, key: str, value: dict, ttl: float) -> None:
        with self._lock:
            self._items[key] = (value, self._clock() + ttl)

    def add(self, key: str, value: dict, ttl: float) -> bool:
        with self._lock:
            if self._items.get(key) is not None:
                return False
            self._items[key] = (value, self._clock() + ttl)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


def seen_before(state: StateStore, key: str, ttl: float = 24 * 3600) -> bool:
    """Whether a message id was already handled (webhook replays, polling repeats); marks it as seen."""
    return not state.add(f"seen:{key}", {}, ttl)


class ConversationStore(Protocol):
    """Where conversations are kept between messages."""

    def load(self, key: str) -> Conversation | None:
        """The conversation, or None when there is none or it expired."""

    def save(self, key: str, conversation: Conversation) -> None:
        """Keep the conversation; its lifetime starts again now."""


class StoredConversations:
    """Conversations kept in a StateStore (memory or database), expiring 12 hours after the last message."""

    def __init__(self, state: StateStore, ttl: float = CONVERSATION_TTL_SECONDS) -> None:
        self.state, self.ttl = state, ttl

    def load(self, key: str) -> Conversation | None:
        value = self.state.get(f"conversation:{key}")
        return Conversation.from_json(value) if value is not None else None

    def save(self, key: str, conversation: Conversation) -> None:
        self.state.put(f"conversation:{key}", conversation.to_json(), self.ttl)


@dataclass(frozen=True)
class Rate:
    """A token bucket: `burst` requests at once, then `per_second` on average."""

    burst: float
    per_second: float

    @property
    def refill_seconds(self) -> float:
        """How long an empty bucket takes to fill: after that, forgetting it changes nothing."""
        return self.burst / self.per_second


class RateLimiter(Protocol):
    """Counts what is served, per key: a refused request costs nothing, so a busy client is slowed, never
    locked out."""

    def allow(self, key: str, rate: Rate, now: float | None = None) -> bool:
        """Whether one more request under `key` may be served now (and count it if so)."""


class MemoryRateLimiter:
    """Token buckets in this process."""

    def __init__(
        self, maxsize: int = MAX_BUCKETS, longest_refill: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # An idle bucket refills completely, so an entry may expire once its longest refill is over.
        self._buckets: TTLCache[str, tuple[float, float]] = TTLCache(maxsize=maxsize, ttl=longest_refill, timer=clock)
        self._clock = clock
        self._lock = threading.Lock()

    def allow(self, key: str, rate: Rate, now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (rate.burst, now))
            tokens = min(rate.burst, tokens + max(0.0, now - last) * rate.per_second)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            return allowed


@dataclass(frozen=True)
class Lockout:
    """At most `failures` failed attempts per `window` seconds under one key."""

    failures: int
    window: float


class LoginThrottle(Protocol):
    """Failed-login counting that concurrent guesses cannot race past."""

    def attempt(self, keys: Sequence[tuple[str, Lockout]], now: float | None = None) -> bool:
        """Atomically: False when any key is locked; else count this attempt as a failure under every key
        (it is cleared by `succeeded`), so parallel guesses are counted before any password is checked."""

    def succeeded(self, keys: Sequence[tuple[str, Lockout]]) -> None:
        """The attempt was right: forget the failures under these keys."""


class MemoryLoginThrottle:
    """Failed logins in this process."""

    def __init__(
        self, maxsize: int = 10_000, longest_window: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._failures: TTLCache[str, deque[float]] = TTLCache(maxsize=maxsize, ttl=longest_window, timer=clock)
        self._clock = clock
        self._lock = threading.Lock()

    def attempt(self, keys: Sequence[tuple[str, Lockout]], now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        with self._lock:
            recent: list[deque[float]] = []
            for key, lockout in keys:
                times = self._failures.get(key) or deque()
                while times and now - times[0] >= lockout.window:
                    times.popleft()
                if len(times) >= lockout.failures:
                    return False
                recent.append(times)
            for (key, _), times in zip(keys, recent, strict=True):
                times.append(now)
                self._failures[key] = times  # re-inserting restarts the entry's expiry
            return True

    def succeeded(self, keys: Sequence[tuple[str, Lockout]]) -> None:
        with self._lock:
            for key, _ in keys:
                self._failures.pop(key, None)
