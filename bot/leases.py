"""Work that only one process of a deployment may do at a time (long polling a chat platform, the daily purge),
whatever the number of workers and machines: a row of the `lease` table names its holder until it expires.

The holder renews the lease well before it expires; another process takes it over only once it has expired
(its holder died or lost the database) or was released (its holder stopped cleanly). On PostgreSQL the
expiry is reckoned on the database's clock, so machines whose clocks differ still agree.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, and_, delete, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.shared_state import quick_transaction
from knowledge.models import Lease, utcnow

logger = logging.getLogger(__name__)

LEASES = Lease.__table__  # type: ignore[attr-defined]
LEASE_SECONDS = 30.0  # a dead holder's work resumes elsewhere within this
RETRY_SECONDS = 5.0  # how often a process that does not hold the lease asks for it

T = TypeVar("T")


def holder_name() -> str:
    """This process, as a lease holder: host, process id and a random tag (process ids are reused)."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(3)}"


def _now(engine: Engine, later: float = 0.0) -> Any:
    """The time leases are reckoned in (plus `later` seconds): the database's on PostgreSQL, so machines whose
    clocks differ agree; this machine's on SQLite (one machine)."""
    if engine.dialect.name == "postgresql":
        return func.now() + timedelta(seconds=later) if later else func.now()
    return literal(utcnow() + timedelta(seconds=later))


def acquire(engine: Engine, name: str, holder: str, seconds: float = LEASE_SECONDS) -> bool:
    """Take or renew the lease for `seconds`: True when `holder` holds it now (it was free, expired, or
    already ours). One statement, so two processes can never both win."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    expires = _now(engine, seconds)
    statement = insert(LEASES).values(name=name, holder=holder, expires_at=expires)
    statement = statement.on_conflict_do_update(
        index_elements=[LEASES.c.name],
        set_={"holder": holder, "expires_at": expires},
        where=or_(LEASES.c.holder == holder, LEASES.c.expires_at <= _now(engine)),
    ).returning(LEASES.c.holder)
    with quick_transaction(engine) as connection:
        return connection.execute(statement).first() is not None


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up (if still ours), so another process takes over at once instead of after expiry."""
    with engine.begin() as connection:
        connection.execute(delete(LEASES).where(and_(LEASES.c.name == name, LEASES.c.holder == holder)))


def current_holder(engine: Engine, name: str) -> str | None:
    """Who holds the lease now (None when nobody does)."""
    query = select(LEASES.c.holder).where(LEASES.c.name == name, LEASES.c.expires_at > _now(engine))
    with engine.connect() as connection:
        return connection.execute(query).scalar_one_or_none()


async def while_holding(
    engine: Engine,
    name: str,
    run: Callable[[], Awaitable[T]],
    *,
    seconds: float = LEASE_SECONDS,
    retry: float = RETRY_SECONDS,
    holder: str | None = None,
) -> T:
    """Run `run()` only while this process holds the lease `name`; until then, ask again every `retry`
    seconds. The lease is renewed every third of its lifetime; when it is lost (another process took it
    after this one could not renew in time), `run()` is cancelled and the asking starts again. Returns
    what `run()` returns (and releases the lease); cancelling this coroutine cancels `run()` and releases.
    """
    holder = holder or holder_name()
    renew_every = seconds / 3
    waiting_logged = False
    while True:
        try:
            held = await asyncio.to_thread(acquire, engine, name, holder, seconds)
        except Exception as error:  # the database is away: keep asking
            logger.warning("lease %s: could not ask for it (%s)", name, error.__class__.__name__)
            held = False
        if not held:
            if not waiting_logged:
                logger.info("lease %s: held by another process; standing by", name)
                waiting_logged = True
            await asyncio.sleep(retry)
            continue
        logger.info("lease %s: taken by %s", name, holder)
        waiting_logged = False
        # Stop a little before the lease could expire unrenewed: the next holder must not overlap with us.
        valid_until = time.monotonic() + seconds - renew_every / 2
        task = asyncio.ensure_future(run())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=renew_every)
                if done:
                    return task.result()
                try:
                    renewed = await asyncio.to_thread(acquire, engine, name, holder, seconds)
                except Exception as error:  # keep working while the lease is surely still ours
                    logger.warning("lease %s: could not renew (%s)", name, error.__class__.__name__)
                    renewed = time.monotonic() < valid_until
                    if not renewed:
                        logger.warning("lease %s: may have expired; stopping", name)
                else:
                    if renewed:
                        valid_until = time.monotonic() + seconds - renew_every / 2
                    else:
                        logger.warning("lease %s: lost to another process; stopping", name)
                if not renewed:
                    break
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.to_thread(release, engine, name, holder))
