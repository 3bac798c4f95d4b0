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

from cachetools import TTLCache

from bot.conversation import Conversation

CONVERSATION_TTL_SECONDS = 12 * 3600
MAX_CONVERSATIONS = 50_000
MAX_BUCKETS = 100_000


class ConversationStore(Protocol):
    """Where conversations are kept between messages."""

    def load(self, key: str) -> Conversation | None:
        """The conversation, or None when there is none or it expired."""

    def save(self, key: str, conversation: Conversation) -> None:
        """Keep the conversation (its `touched` time starts its expiry)."""


class MemoryConversations:
    """Conversations in this process, expiring after 12 hours without a message."""

    def __init__(self, ttl: float = CONVERSATION_TTL_SECONDS, maxsize: int = MAX_CONVERSATIONS) -> None:
        self._cache: TTLCache[str, Conversation] = TTLCache(maxsize=maxsize, ttl=ttl, timer=time.time)
        self._lock = threading.Lock()  # TTLCache is not thread-safe; channels call from worker threads

    def load(self, key: str) -> Conversation | None:
        with self._lock:
            return self._cache.get(key)

    def save(self, key: str, conversation: Conversation) -> None:
        with self._lock:
            self._cache[key] = conversation


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
