"""The server: the web pages, the admin and every configured channel, in one process (one event loop).

Several such processes may serve one deployment (`tthc run --workers N`, several machines): whatever must
happen once (long polling a chat platform, the daily purge) runs under a lease (bot.leases), everything else
in every process.
"""

import asyncio
import functools
import logging
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from starlette.types import ASGIApp

from bot.admin import setup_admin
from bot.app import KNOWLEDGE_CHECK_SECONDS, App, SetupError
from bot.channels import Channel, configured_channels
from bot.channels.web import create_web_app
from bot.delivery import delivery_loop
from bot.guards import Guard, behind_proxies
from bot.leases import while_holding
from bot.observability import Instrumented, mount_probes
from bot.retention import purge_personal_data

logger = logging.getLogger(__name__)


def build_web(app: App, channels: Sequence[Channel] = ()) -> ASGIApp:
    """The web application: chat, landing pages, admin and the channels' webhooks, behind the guards."""
    settings = app.settings
    # Without TTHC_SECRET_KEY the workers share one made-up key (kept in the database): a login holds on all.
    secret = settings.secret_key.get_secret_value() if settings.secret_key else app.shared_secret("admin_cookie")
    https_only = bool(settings.public_url and settings.public_url.startswith("https://"))
    admin = setup_admin(app, secret, https_only)
    mounts = (admin, mount_probes(app), *(channel.mount for channel in channels))
    web = create_web_app(app, rate_limiter=app.rate_limiter, mounts=mounts)
    return behind_proxies(Instrumented(Guard(web)), settings.trusted_proxy_list)


async def _watch_knowledge(app: App) -> None:
    """Reload when another process changed the knowledge base (an import, an edit on another worker)."""
    while True:
        await asyncio.sleep(KNOWLEDGE_CHECK_SECONDS)
        try:
            await asyncio.to_thread(app.reload_if_changed)
        except Exception:  # a database hiccup must not stop the watching
            logger.exception("could not check the knowledge base for changes")


STOP_SECONDS = 20.0  # for the background work to stop once the web server has
PURGE_EVERY_SECONDS = 24 * 3600.0
PURGE_FIRST_AFTER_SECONDS = 30.0  # not in the way of start-up, yet done even when restarts come often


def _background(app: App, channel: Channel) -> Coroutine[Any, Any, None]:
    """The channel's background work; its long polling, by one process of the deployment at a time."""
    exclusive = functools.partial(while_holding, app.engine, f"poll:{channel.name}")
    if hasattr(channel, "exclusive"):  # the channel starts up everywhere and polls under the lease
        channel.exclusive = exclusive  # type: ignore[attr-defined]
    return channel.run()


async def _purge_daily(app: App) -> None:
    """Erase personal data past its retention, now and then every day (README "Privacy")."""
    settings = app.settings
    await asyncio.sleep(PURGE_FIRST_AFTER_SECONDS)
    while True:
        try:
            report = await asyncio.to_thread(
                purge_personal_data, app.engine, settings.log_retention_days, settings.ticket_retention_days
            )
            if report.total:
                logger.warning("purge: %s", "; ".join(report.lines()))
        except Exception:  # a database hiccup: tomorrow's run catches up
            logger.exception("could not purge personal data past its retention")
        await asyncio.sleep(PURGE_EVERY_SECONDS)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other workers bind too (SO_REUSEPORT): the kernel spreads connections over
    them evenly, and a worker that stops takes only its own connections down."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = found[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def serve(app: App, *, reuse_port: bool = False) -> None:
    """Serve until stopped: uvicorn for the web, a task per channel, the knowledge watcher, the delivery
    loop and the daily purge. `reuse_port`: one of several workers on the same port (bot.workers)."""
    import uvicorn

    settings = app.settings
    app.reload()  # build the index before the first citizen waits for it
    sockets = None
    if reuse_port:  # bound once the index is built: the kernel sends connections to ready workers only
        try:
            sockets = [reuse_port_socket(settings.host, settings.port)]
        except OSError as error:
            raise SetupError(f"cannot listen on {settings.host}:{settings.port} ({error.strerror or error})") from None
    channels = configured_channels(app)
    config = uvicorn.Config(
        build_web(app, channels),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,  # uvicorn's lines go through our handler: redacted, text or JSON (bot.observability)
        proxy_headers=False,  # bot.guards believes forwarded headers from the configured proxies only
        server_header=False,
    )
    server = uvicorn.Server(config)
    logger.warning("channels: %s", ", ".join(["web", *(channel.name for channel in channels)]))
    tasks = [asyncio.create_task(_background(app, channel), name=channel.name) for channel in channels]
    purge: Callable[[], Awaitable[None]] = functools.partial(_purge_daily, app)
    tasks.append(asyncio.create_task(while_holding(app.engine, "purge", purge), name="purge"))
    tasks.append(asyncio.create_task(_watch_knowledge(app), name="knowledge"))
    senders = {channel.name: channel for channel in channels}
    staff = next((channel for channel in channels if getattr(channel, "staff_chat_id", None)), None)
    tasks.append(asyncio.create_task(delivery_loop(app.engine, senders, staff), name="delivery"))
    for task in tasks:
        task.add_done_callback(_report_stopped)
    # uvicorn raises the signal that stopped it again once it has stopped: absorb it, so the work below runs
    # (leases released, so another process takes the polling over at once; channels closed) instead of the
    # process dying on the spot. The stopping is bounded: a second signal is not needed.
    absorbed = _absorb_stop_signals()
    try:
        await server.serve(sockets=sockets)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            task.remove_done_callback(_report_stopped)
        done, pending = await asyncio.wait(tasks, timeout=STOP_SECONDS)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                logger.error("%s stopped with an error", task.get_name(), exc_info=task.exception())
        if pending:
            logger.error("not stopped within %.0f s: %s", STOP_SECONDS, ", ".join(t.get_name() for t in pending))
        for sig, handler in absorbed.items():
            signal.signal(sig, handler)


def _report_stopped(task: asyncio.Task) -> None:
    """A background task that ends by itself is a fault (they run until the server stops): log it at once."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.error("%s stopped with an error; restart tthc run", task.get_name(), exc_info=error)
    else:
        logger.error("%s stopped; restart tthc run", task.get_name())


def _absorb_stop_signals() -> dict[int, Any]:
    """Ignore SIGTERM and SIGINT outside uvicorn's own handling (main thread only); the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
