"""The stores of bot.stores in the database: every worker, on every machine, sees the same conversations, rate
limits and login throttles, and they survive a restart.

Each operation is one short transaction whose outcome cannot be raced by another process: an upsert guarded
by a condition (`INSERT ... ON CONFLICT ... DO UPDATE ... WHERE ... RETURNING`) on SQLite (3.35+) and
PostgreSQL alike, or, for the login throttle, rows locked before they are read. Expired rows are swept by
the process that writes, at most once a minute and a bounded batch at a time, so a sweep never stalls a
request. On PostgreSQL these writes commit without waiting for the disk (synchronous_commit off, for them
only): a crash of the database server may forget the last fraction of a second of rate-limit counts and
conversation steps, never corrupt them, and each request is spared a disk flush per write; and the state store
and the rate limiter use a pool of their own in autocommit (`store_engine`), so an operation is one round trip.
"""

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Executable,
    Float,
    Row,
    Table,
    bindparam,
    case,
    create_engine,
    delete,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from bot.stores import Lockout, Rate
from knowledge.models import RateBucket, SharedState

logger = logging.getLogger(__name__)

STATE: Table = SharedState.__table__  # type: ignore[attr-defined]
BUCKETS: Table = RateBucket.__table__  # type: ignore[attr-defined]
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
SWEEP_SECONDS = 60.0  # how often a writing process looks for expired rows
SWEEP_BATCH = 1000  # rows deleted at most per sweep (a full batch brings the next sweep forward)
LOGIN_PREFIX = "login:"


def supports_shared_state(engine: Engine) -> bool:
    """Whether the database stores work on this engine (their upserts are written for SQLite and PostgreSQL)."""
    return engine.dialect.name in SUPPORTED_DIALECTS


def _insert(engine: Engine) -> Callable[[Table], Any]:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


_AUTOCOMMIT_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def store_engine(engine: Engine) -> Engine:
    """The engine the state store and the rate limiter write through. On PostgreSQL, a pool of its own whose
    connections commit every statement at once (each operation is one statement: one round trip instead of
    five for ping, BEGIN, SET, statement and COMMIT) and without waiting for the disk (synchronous_commit off
    for these connections only). On SQLite, the application's engine (in-process calls cost nothing)."""
    if engine.dialect.name != "postgresql":
        return engine
    url = engine.url
    options = url.query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    url = url.update_query_dict({"options": f"{options} -c synchronous_commit=off".strip()})
    # Each operation holds a connection for one statement: a few serve a worker's whole thread pool.
    quick = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=6)
    _AUTOCOMMIT_ENGINES.add(quick)
    return quick


@contextlib.contextmanager
def quick_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for state that may lose its last fraction of a second in a database crash: on PostgreSQL
    its commit does not wait for the disk. On a store engine (autocommit) each statement is its own."""
    if engine in _AUTOCOMMIT_ENGINES:
        with engine.connect() as connection:
            yield connection
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield connection


def run_statement(engine: Engine, statement: Executable, parameters: dict) -> list[Row]:
    """Execute one statement in a quick transaction; its rows. When the database restarted since the pool's
    connections were opened (the store engine does not ping before each use), it is run once more on a new
    connection: the operations here are upserts and reads that repeating does not change, but for a token or
    a replay mark taken twice in that one instant."""
    for attempt in (1, 2):
        try:
            with quick_transaction(engine) as connection:
                result = connection.execute(statement, parameters)
                return list(result) if result.returns_rows else []
        except DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _when(seconds: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime (the expiry columns' type)."""
    return datetime.fromtimestamp(seconds, UTC)


class _Sweeper:
    """Deletes expired rows of one table now and then: at most every `every` seconds per process, at most
    `batch` rows at a time, skipping rows another process is sweeping or writing."""

    def __init__(self, engine: Engine, table: Table, key: Column, expires: Column, every: float = SWEEP_SECONDS):
        self.engine, self.table, self.key, self.expires, self.every = engine, table, key, expires, every
        self._next = time.monotonic() + every
        self._lock = threading.Lock()

    def maybe(self, now: float) -> None:
        """Sweep when it is time (called after a write; one thread sweeps, the others go on)."""
        if time.monotonic() < self._next or not self._lock.acquire(blocking=False):
            return
        try:
            deleted = self.sweep(now)
            # A full batch means more are waiting: come back soon instead of in a minute.
            self._next = time.monotonic() + (1.0 if deleted >= SWEEP_BATCH else self.every)
        except DBAPIError as error:  # a lock conflict or a hiccup: expired rows are harmless, try later
            logger.info("sweeping %s failed (%s); will retry", self.table.name, error.__class__.__name__)
            self._next = time.monotonic() + self.every
        finally:
            self._lock.release()

    def sweep(self, now: float, batch: int = SWEEP_BATCH) -> int:
        """Delete up to `batch` rows expired before `now`; returns how many."""
        expired = select(self.key).where(self.expires < _when(now)).limit(batch).with_for_update(skip_locked=True)
        with quick_transaction(self.engine) as connection:
            return connection.execute(delete(self.table).where(self.key.in_(expired))).rowcount or 0


class DatabaseStateStore:
    """Small JSON values with lifetimes in the `sharedstate` table (bot.stores.StateStore)."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock
        self.sweeper = _Sweeper(engine, STATE, STATE.c.key, STATE.c.expires_at)
        # Built once with bound parameters: SQLAlchemy compiles each statement once, a request only binds.
        self._get = select(STATE.c.value).where(STATE.c.key == bindparam("key"), STATE.c.expires_at > bindparam("now"))
        upsert = _insert(engine)(STATE).values(
            key=bindparam("key"), value=bindparam("value"), expires_at=bindparam("expires")
        )
        replace = {"value": upsert.excluded.value, "expires_at": upsert.excluded.expires_at}
        self._put = upsert.on_conflict_do_update(index_elements=[STATE.c.key], set_=replace)
        # A present row is replaced only once it has expired; RETURNING says whether this call stored it.
        self._add = upsert.on_conflict_do_update(
            index_elements=[STATE.c.key], set_=replace, where=STATE.c.expires_at <= bindparam("now")
        ).returning(STATE.c.key)
        self._delete = delete(STATE).where(STATE.c.key == bindparam("key"))

    def get(self, key: str) -> dict | None:
        rows = run_statement(self.engine, self._get, {"key": key, "now": _when(self._clock())})
        return rows[0][0] if rows else None

    def put(self, key: str, value: dict, ttl: float) -> None:
        now = self._clock()
        run_statement(self.engine, self._put, {"key": key, "value": value, "expires": _when(now + ttl)})
        self.sweeper.maybe(now)

    def add(self, key: str, value: dict, ttl: float) -> bool:
        now = self._clock()
        parameters = {"key": key, "value": value, "expires": _when(now + ttl), "now": _when(now)}
        stored = bool(run_statement(self.engine, self._add, parameters))
        self.sweeper.maybe(now)
        return stored

    def delete(self, key: str) -> None:
        run_statement(self.engine, self._delete, {"key": key})


class DatabaseRateLimiter:
    """Token buckets in the `ratebucket` table (bot.stores.RateLimiter): one upsert per request, which takes a
    token only when the refilled bucket has one, so concurrent requests on several workers never overdraw."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock  # wall-clock seconds: every process, on every machine, must agree
        self.sweeper = _Sweeper(engine, BUCKETS, BUCKETS.c.key, BUCKETS.c.expires_at)
        now, burst, per_second = (
            bindparam("now", type_=Float),
            bindparam("burst", type_=Float),
            bindparam("rate", type_=Float),
        )
        tokens, updated = BUCKETS.c.tokens, BUCKETS.c.updated
        elapsed = case((updated < now, now - updated), else_=0.0)
        refilled = case((tokens + elapsed * per_second > burst, burst), else_=tokens + elapsed * per_second)
        upsert = _insert(engine)(BUCKETS).values(
            key=bindparam("key"), tokens=burst - 1.0, updated=now, expires_at=bindparam("expires")
        )
        # A refused request leaves the row as it was: with fewer than one token the refill is linear and below
        # the cap, so keeping (tokens, updated) is the same bucket as storing the refilled value.
        self._take = upsert.on_conflict_do_update(
            index_elements=[BUCKETS.c.key],
            set_={
                "tokens": refilled - 1.0,
                "updated": case((updated < now, now), else_=updated),
                "expires_at": upsert.excluded.expires_at,
            },
            where=refilled >= 1.0,
        ).returning(BUCKETS.c.key)

    def allow(self, key: str, rate: Rate, now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        # Forgetting a bucket after it would have refilled completely changes nothing.
        parameters = {
            "key": key,
            "now": now,
            "burst": float(rate.burst),
            "rate": float(rate.per_second),
            "expires": _when(now + rate.refill_seconds),
        }
        allowed = bool(run_statement(self.engine, self._take, parameters))
        self.sweeper.maybe(now)
        return allowed


class DatabaseLoginThrottle:
    """Failed logins in the `sharedstate` table (bot.stores.LoginThrottle), the same sliding windows as
    MemoryLoginThrottle: the rows of an attempt are created if missing, then locked (PostgreSQL: FOR UPDATE;
    SQLite: the transaction's first statement writes, so it holds the database's write lock), checked and
    counted in one transaction."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        if engine in _AUTOCOMMIT_ENGINES:
            raise ValueError("the login throttle needs transactions: give it the application's engine")
        self.engine = engine
        self._clock = clock
        self._insert = _insert(engine)

    def attempt(self, keys: Sequence[tuple[str, Lockout]], now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        lockouts = {LOGIN_PREFIX + key: lockout for key, lockout in keys}
        if not lockouts:
            return True
        names = sorted(lockouts)  # one order for every process: no deadlock between two attempts
        fresh = [{"key": name, "value": {"failures": []}, "expires_at": _when(now)} for name in names]
        with quick_transaction(self.engine) as connection:
            connection.execute(self._insert(STATE).values(fresh).on_conflict_do_nothing(index_elements=[STATE.c.key]))
            rows = connection.execute(
                select(STATE.c.key, STATE.c.value, STATE.c.expires_at)
                .where(STATE.c.key.in_(names))
                .order_by(STATE.c.key)
                .with_for_update()
            ).all()
            recent: dict[str, list[float]] = {}
            for name, value, expires_at in rows:
                window = lockouts[name].window
                alive = _aware(expires_at) > _when(now)
                times = [t for t in (value or {}).get("failures", []) if alive and now - float(t) < window]
                if len(times) >= lockouts[name].failures:
                    return False
                recent[name] = times
            for name in names:
                connection.execute(
                    STATE.update()
                    .where(STATE.c.key == name)
                    .values(value={"failures": [*recent[name], now]}, expires_at=_when(now + lockouts[name].window))
                )
        return True

    def succeeded(self, keys: Sequence[tuple[str, Lockout]]) -> None:
        names = [LOGIN_PREFIX + key for key, _ in keys]
        with quick_transaction(self.engine) as connection:
            connection.execute(delete(STATE).where(STATE.c.key.in_(names)))


def _aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored in UTC): make them comparable with aware ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def sweep_expired(engine: Engine, now: float | None = None) -> int:
    """Delete every expired shared value and token bucket now (`tthc purge`, daily in `tthc run`); rows deleted."""
    now = time.time() if now is None else now
    total = 0
    for table in (STATE, BUCKETS):
        sweeper = _Sweeper(engine, table, table.c.key, table.c.expires_at)
        while (deleted := sweeper.sweep(now)) > 0:
            total += deleted
            if deleted < SWEEP_BATCH:
                break
    return total
