"""The database stores and leases: the memory stores' semantics, atomic under concurrency, on SQLite and on
PostgreSQL (TTHC_TEST_POSTGRES_URL)."""

import asyncio
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from bot.accounts import create_user
from bot.app import build_app
from bot.conversation import Incoming
from bot.leases import acquire, current_holder, release, while_holding
from bot.server import build_web
from bot.shared_state import (
    BUCKETS,
    STATE,
    DatabaseLoginThrottle,
    DatabaseRateLimiter,
    DatabaseStateStore,
    store_engine,
    sweep_expired,
)
from bot.stores import Lockout, MemoryLoginThrottle, MemoryRateLimiter, Rate, StoredConversations
from knowledge.models import Lease, utcnow

pytestmark = pytest.mark.databases  # SQLite, and PostgreSQL when TTHC_TEST_POSTGRES_URL is set


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def together(count: int, work) -> list:
    """Run `work()` in `count` threads released at the same moment; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def one(i: int) -> None:
        barrier.wait()
        results[i] = work()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- values with lifetimes -----------------------------------------------------------------------------------


def test_values_expire_and_add_stores_only_once(engine):
    clock = Clock()
    store = DatabaseStateStore(store_engine(engine), clock=clock)
    assert store.get("a") is None
    assert store.add("a", {"n": 1}, ttl=10) is True
    assert store.add("a", {"n": 2}, ttl=10) is False
    assert store.get("a") == {"n": 1}
    store.put("a", {"n": 3, "text": "Đăng ký khai sinh"}, ttl=10)
    assert store.get("a") == {"n": 3, "text": "Đăng ký khai sinh"}
    clock.now += 11
    assert store.get("a") is None
    assert store.add("a", {"n": 4}, ttl=10) is True  # an expired value is replaced
    assert store.get("a") == {"n": 4}
    store.delete("a")
    assert store.get("a") is None


def test_only_one_of_many_concurrent_adds_wins(engine):
    store = DatabaseStateStore(store_engine(engine))
    won = together(12, lambda: store.add("seen:telegram:42", {}, ttl=60))
    assert won.count(True) == 1


def test_expired_rows_are_swept_in_bounded_batches(engine):
    clock = Clock()
    store = DatabaseStateStore(store_engine(engine), clock=clock)
    for i in range(30):
        store.put(f"old:{i}", {}, ttl=1)
    store.put("young", {}, ttl=3600)
    assert store.sweeper.sweep(clock.now + 5, batch=10) == 10
    assert sweep_expired(engine, clock.now + 5) == 20
    with engine.connect() as connection:
        assert connection.execute(select(STATE.c.key)).scalars().all() == ["young"]


def test_the_stores_carry_on_when_the_database_server_restarted(engine):
    store, limiter = DatabaseStateStore(store_engine(engine)), DatabaseRateLimiter(store_engine(engine))
    store.put("conversation:web:x", {"step": 1}, ttl=60)
    assert limiter.allow("k", Rate(burst=5, per_second=1.0))
    if engine.dialect.name == "postgresql":  # as after a restart: every connection of the pools is gone
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND datname = current_database() AND application_name = current_setting('application_name')"
                )
            )
    assert store.get("conversation:web:x") == {"step": 1}
    assert limiter.allow("k", Rate(burst=5, per_second=1.0))


def test_a_conversation_survives_a_restart_and_is_shared_by_workers(database_url):
    first, second = build_app(), build_app()  # two workers, or one before and after a restart
    assert isinstance(first.state, DatabaseStateStore)
    assert isinstance(first.conversations, StoredConversations)
    assert "1.001193" in first.respond(Incoming("web", "citizen-1", text="làm giấy khai sinh cần gì")).messages[0].html
    follow_up = second.respond(Incoming("web", "citizen-1", text="còn lệ phí thì sao?")).messages[0].html
    assert "1.001193" in follow_up and "Phí, lệ phí" in follow_up
    first.engine.dispose()
    second.engine.dispose()


def test_messages_of_one_chat_arriving_together_all_stay_in_its_history(database_url):
    app = build_app()
    questions = ["làm giấy khai sinh cần gì", "đăng ký kết hôn ở đâu", "cấp lại căn cước mất bao lâu"]
    pending = iter(questions)
    lock = threading.Lock()

    def ask() -> None:
        with lock:
            question = next(pending)
        app.respond(Incoming("telegram", "citizen-7", text=question))

    together(len(questions), ask)
    conversation = app.conversations.load(Incoming("telegram", "citizen-7", text="").conversation_key)
    said = [line["text"] for line in conversation.history if line["who"] == "citizen"]
    assert sorted(said) == sorted(questions)  # no turn lost to another's save
    app.engine.dispose()


def test_a_staff_login_on_one_worker_is_valid_on_the_others_without_a_configured_key(database_url, monkeypatch):
    monkeypatch.delenv("TTHC_SECRET_KEY", raising=False)
    first, second = build_app(), build_app()
    create_user(first.engine, "canbo", "mật-khẩu-đủ-dài-123", "admin")
    with (
        TestClient(build_web(first), base_url="http://testserver") as one,
        TestClient(build_web(second), base_url="http://testserver") as other,
    ):
        signed_in = one.post(
            "/admin/login",
            data={"username": "canbo", "password": "mật-khẩu-đủ-dài-123"},
            headers={"Origin": "http://testserver"},
            follow_redirects=False,
        )
        assert signed_in.status_code in (302, 303)
        assert other.get("/admin/procedure/list", follow_redirects=False).status_code != 200  # not signed in there
        other.cookies.update(one.cookies)
        assert other.get("/admin/procedure/list", follow_redirects=False).status_code == 200
    assert build_app().shared_secret("admin_cookie") == first.shared_secret("admin_cookie")
    first.engine.dispose()
    second.engine.dispose()


# -- token buckets -------------------------------------------------------------------------------------------


def test_the_rate_limiter_keeps_the_memory_buckets_semantics(engine):
    # Quarter seconds and a power-of-two rate keep the arithmetic exact in SQL and in Python alike.
    rate = Rate(burst=3, per_second=2.0)
    steps = [0, 0, 0, 0, 0.25, 0.25, 0.5, 0, 0, 1.5, 0, 0, 0, 0, 10, 0, 0, 0, 0]
    database, memory = DatabaseRateLimiter(store_engine(engine)), MemoryRateLimiter()
    now = 1_800_000_000.0
    expected, got = [], []
    for step in steps:
        now += step
        expected.append(memory.allow("k", rate, now))
        got.append(database.allow("k", rate, now))
    assert got == expected
    assert True in got and False in got


def test_concurrent_requests_never_overdraw_a_bucket(engine):
    limiter = DatabaseRateLimiter(store_engine(engine))
    rate = Rate(burst=20, per_second=0.001)
    allowed = together(16, lambda: sum(limiter.allow("web:address:10.0.0.1", rate, 1_800_000_000.0) for _ in range(4)))
    assert sum(allowed) == 20


def test_buckets_are_forgotten_once_refilled(engine):
    limiter = DatabaseRateLimiter(store_engine(engine))
    limiter.allow("short", Rate(burst=2, per_second=1.0), 1_800_000_000.0)
    limiter.allow("long", Rate(burst=200, per_second=1.0), 1_800_000_000.0)
    assert sweep_expired(engine, 1_800_000_000.0 + 10) == 1
    with engine.connect() as connection:
        assert connection.execute(select(BUCKETS.c.key)).scalars().all() == ["long"]


# -- login throttles -----------------------------------------------------------------------------------------


def test_the_login_throttle_keeps_the_memory_semantics(engine):
    keys = [("user:canbo", Lockout(3, 60.0)), ("address:10.0.0.9", Lockout(5, 60.0))]
    database, memory = DatabaseLoginThrottle(engine), MemoryLoginThrottle()
    now = 1_800_000_000.0
    for step in [0, 1, 1, 1, 1, 58, 1, 0, 30, 31, 0, 0, 0]:
        now += step
        assert database.attempt(keys, now) == memory.attempt(keys, now), now
    database.succeeded(keys[:1])
    memory.succeeded(keys[:1])
    assert database.attempt(keys, now) == memory.attempt(keys, now)


def test_parallel_guesses_are_all_counted(engine):
    throttle = DatabaseLoginThrottle(engine)
    keys = [("user:canbo", Lockout(5, 300.0)), ("address:203.0.113.7", Lockout(20, 300.0))]
    results = together(16, lambda: throttle.attempt(keys, 1_800_000_000.0))
    assert results.count(True) == 5
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(STATE)).scalar_one()
    assert rows == 2


# -- leases --------------------------------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_expires_or_is_released(engine):
    assert acquire(engine, "poll:telegram", "a", seconds=30)
    assert not acquire(engine, "poll:telegram", "b", seconds=30)
    assert acquire(engine, "poll:telegram", "a", seconds=30)  # renewal
    assert current_holder(engine, "poll:telegram") == "a"
    release(engine, "poll:telegram", "b")  # not b's to give
    assert current_holder(engine, "poll:telegram") == "a"
    release(engine, "poll:telegram", "a")
    assert current_holder(engine, "poll:telegram") is None
    assert acquire(engine, "poll:telegram", "b", seconds=30)


def test_an_expired_lease_is_taken_over(engine):
    with engine.begin() as connection:  # a holder that died ten seconds ago
        connection.execute(
            Lease.__table__.insert().values(name="purge", holder="dead", expires_at=utcnow() - timedelta(seconds=10))
        )
    assert current_holder(engine, "purge") is None
    assert acquire(engine, "purge", "alive", seconds=30)
    assert current_holder(engine, "purge") == "alive"


def test_concurrent_takers_get_one_lease(engine):
    names = iter(range(100))
    lock = threading.Lock()

    def take() -> bool:
        with lock:
            holder = f"h{next(names)}"
        return acquire(engine, "poll:zalo_bot", holder, seconds=30)

    assert together(10, take).count(True) == 1


async def test_while_holding_runs_the_work_in_one_process_and_hands_it_over(engine):
    running: list[str] = []
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    def work(name: str):
        async def run() -> None:
            running.append(name)
            started[name].set()
            try:
                await asyncio.Event().wait()
            finally:
                running.remove(name)

        return run

    a = asyncio.create_task(while_holding(engine, "poll:telegram", work("a"), seconds=3, retry=0.05, holder="a"))
    await asyncio.wait_for(started["a"].wait(), 10)
    b = asyncio.create_task(while_holding(engine, "poll:telegram", work("b"), seconds=3, retry=0.05, holder="b"))
    await asyncio.sleep(0.5)
    assert running == ["a"]  # b stands by
    a.cancel()  # a stops cleanly: it releases, b takes over without waiting for the expiry
    with pytest.raises(asyncio.CancelledError):
        await a
    await asyncio.wait_for(started["b"].wait(), 10)
    assert running == ["b"]
    b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b
    assert await asyncio.to_thread(current_holder, engine, "poll:telegram") is None


async def test_work_that_lost_its_lease_is_stopped(engine):
    stopped = asyncio.Event()

    async def run() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    task = asyncio.create_task(while_holding(engine, "purge", run, seconds=0.6, retry=0.05, holder="mine"))
    while await asyncio.to_thread(current_holder, engine, "purge") != "mine":
        await asyncio.sleep(0.02)
    with engine.begin() as connection:  # another process took it (as after this one had stalled past expiry)
        connection.execute(Lease.__table__.update().values(holder="thief"))
    await asyncio.wait_for(stopped.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_while_holding_returns_what_the_work_returns_and_releases(engine):
    async def run() -> int:
        return 42

    assert await while_holding(engine, "once", run, seconds=5, retry=0.05) == 42
    assert await asyncio.to_thread(current_holder, engine, "once") is None
