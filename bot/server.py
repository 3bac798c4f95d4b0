"""The server: the web pages, the admin and every configured channel, in one process (one event loop)."""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence

from starlette.types import ASGIApp

from bot.admin import setup_admin
from bot.app import KNOWLEDGE_CHECK_SECONDS, App
from bot.channels import Channel, configured_channels
from bot.channels.web import create_web_app
from bot.delivery import delivery_loop
from bot.guards import Guard, behind_proxies

logger = logging.getLogger(__name__)


def build_web(app: App, channels: Sequence[Channel] = ()) -> ASGIApp:
    """The web application: chat, landing pages, admin and the channels' webhooks, behind the guards."""
    settings = app.settings
    if settings.secret_key is None:
        logger.warning("TTHC_SECRET_KEY is not set: staff must log in again after every restart")
    secret = settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_urlsafe(32)
    https_only = bool(settings.public_url and settings.public_url.startswith("https://"))
    admin = setup_admin(app, secret, https_only)
    web = create_web_app(app, rate_limiter=app.rate_limiter, mounts=(admin, *(channel.mount for channel in channels)))
    return behind_proxies(Guard(web), settings.trusted_proxy_list)


async def _watch_knowledge(app: App) -> None:
    """Reload when another process changed the knowledge base (an import, an edit on another worker)."""
    while True:
        await asyncio.sleep(KNOWLEDGE_CHECK_SECONDS)
        try:
            await asyncio.to_thread(app.reload_if_changed)
        except Exception:  # a database hiccup must not stop the watching
            logger.exception("could not check the knowledge base for changes")


async def serve(app: App) -> None:
    """Serve until stopped: uvicorn for the web, a task per channel, and the knowledge watcher."""
    import uvicorn

    settings = app.settings
    app.reload()  # build the index before the first citizen waits for it
    channels = configured_channels(app)
    config = uvicorn.Config(
        build_web(app, channels),
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=False,  # bot.guards believes forwarded headers from the configured proxies only
        server_header=False,
    )
    server = uvicorn.Server(config)
    logger.warning("channels: %s", ", ".join(["web", *(channel.name for channel in channels)]))
    tasks = [asyncio.create_task(channel.run(), name=channel.name) for channel in channels]
    tasks.append(asyncio.create_task(_watch_knowledge(app), name="knowledge"))
    senders = {channel.name: channel for channel in channels}
    staff = next((channel for channel in channels if getattr(channel, "staff_chat_id", None)), None)
    tasks.append(asyncio.create_task(delivery_loop(app.engine, senders, staff), name="delivery"))
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
