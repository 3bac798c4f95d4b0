"""What operators watch: Prometheus metrics at /metrics, readiness at /readyz, and logs (text or JSON lines)
that never hold a token, a raw user id or a phone number.

Metrics live in this process (prometheus-client). With several workers (`tthc run --workers N`) the
supervisor gives every worker one directory (PROMETHEUS_MULTIPROC_DIR, prometheus-client's multiprocess
mode): each worker writes its counts there and /metrics, on whichever worker answers, adds them up. Figures
that the database knows (tickets open, failed deliveries) are read from it when /metrics is asked for, so
they are the same on every worker.
"""

import asyncio
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from sqlalchemy import Engine, func, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.conversation import Incoming, Reply
from bot.privacy import PHONE
from knowledge.models import Ticket

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.app import App

logger = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable; set by the supervisor
READY_TIMEOUT_SECONDS = 2.0
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# -- metrics of this process ---------------------------------------------------------------------------------

REPLIES = Counter("tthc_replies", "Replies the dialog produced, per channel", ["channel"])
REPLY_SECONDS = Histogram(
    "tthc_reply_seconds",
    "Time to produce a reply (dialog, conversation, ticket), per channel",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
DECISIONS = Counter(
    "tthc_decisions", "Questions by decision (answer, clarify, none), per channel", ["channel", "decision"]
)
HTTP_REQUESTS = Counter("tthc_http_requests", "HTTP requests, per route group and status", ["route", "status"])
HTTP_SECONDS = Histogram(
    "tthc_http_request_seconds", "HTTP request latency, per route group", ["route"], buckets=LATENCY_BUCKETS
)
INDEX_PROCEDURES = Gauge("tthc_index_procedures", "Procedures in the search index", multiprocess_mode="livemax")
INDEX_RELOAD_SECONDS = Gauge(
    "tthc_index_reload_seconds", "Duration of the last index (re)build", multiprocess_mode="livemax"
)
INDEX_RELOADS = Counter("tthc_index_reloads", "Index (re)builds")

_ROUTES = (
    ("/api/chat", "chat_api"),
    ("/static/", "static"),
    ("/admin", "admin"),
    ("/p/", "procedure_page"),
    ("/o/", "office_page"),
    ("/zalo/", "zalo_webhook"),
    ("/telegram", "telegram_webhook"),
)


def route_group(path: str) -> str:
    """A few labels for every path (a label per path would grow without bound)."""
    if path == "/":
        return "chat_page"
    if path in ("/healthz", "/readyz", "/metrics"):
        return "probe"
    for prefix, group in _ROUTES:
        if path.startswith(prefix):
            return group
    return "other"


def observe_reply(incoming: Incoming, reply: Reply, seconds: float) -> None:
    """Count one reply and its questions' decisions (bot.app.App.respond calls this)."""
    channel = incoming.channel
    REPLIES.labels(channel).inc()
    REPLY_SECONDS.labels(channel).observe(seconds)
    for event in reply.events:
        if event.kind in ("question", "smalltalk") and event.decision:  # greetings are `none` too (DESIGN)
            DECISIONS.labels(channel, event.decision).inc()


def observe_reload(procedures: int, seconds: float) -> None:
    """Record an index (re)build (bot.app.App.reload calls this)."""
    INDEX_PROCEDURES.set(procedures)
    INDEX_RELOAD_SECONDS.set(seconds)
    INDEX_RELOADS.inc()


class Instrumented:
    """ASGI middleware: counts HTTP requests and times them, per route group and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the application fails before answering

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = route_group(scope.get("path", ""))
            HTTP_REQUESTS.labels(route, str(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)


class DatabaseFigures:
    """A collector of what the database knows, read when /metrics is asked for (the same on every worker)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        try:
            with self.engine.connect() as connection:
                open_tickets = connection.execute(
                    select(func.count()).select_from(Ticket).where(Ticket.status == "open")
                ).scalar_one()
                failed = connection.execute(
                    select(func.count()).select_from(Ticket).where(Ticket.delivery == "failed")
                ).scalar_one()
        except Exception as error:  # the page must still show this process's figures
            logger.warning("metrics: could not read the database (%s)", error.__class__.__name__)
            return
        yield GaugeMetricFamily("tthc_tickets_open", "Questions handed to staff and not answered yet", open_tickets)
        yield GaugeMetricFamily(
            "tthc_ticket_deliveries_failed", "Staff answers that could not be delivered to the citizen", failed
        )


def metrics_page(database: CollectorRegistry) -> bytes:
    """The Prometheus text page: this process's (or every worker's) metrics, then the database's."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(database)


def mount_probes(app: "App") -> Callable[["FastAPI"], None]:
    """The routes /metrics and /readyz, to add to the web application (bot.server.build_web)."""
    from fastapi import Response

    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseFigures(app.engine))  # type: ignore[arg-type]

    def mount(web: "FastAPI") -> None:
        @web.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            body = await asyncio.to_thread(metrics_page, database)
            return Response(body, media_type=CONTENT_TYPE_LATEST)

        @web.get("/readyz", include_in_schema=False)
        async def ready() -> Response:
            problem = await readiness_problem(app)
            if problem:
                return Response(f"not ready: {problem}\n", status_code=503, media_type="text/plain")
            return Response("ready\n", media_type="text/plain")

    return mount


async def readiness_problem(app: "App") -> str | None:
    """Why this worker should get no traffic yet (None: ready): the index not built, the database away."""
    if not app.index_loaded:
        return "the search index is not built yet"

    def ping() -> None:
        with app.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        return "the database does not answer"
    except Exception as error:
        return f"the database is unreachable ({error.__class__.__name__})"
    return None


# -- logs ----------------------------------------------------------------------------------------------------

# What must never reach a log line, most specific first: chat platforms' bot tokens ({bot id}:{secret}, also
# inside /bot<token>/ URLs), secrets in query strings, Vietnamese phone numbers, then any long run of digits
# (Telegram and Zalo user and chat ids) and named ids.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)\d{3,}:[A-Za-z0-9_-]{8,}"), "[token]"),
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|secret_token|secret|token|password|app_secret|api_key)"
            r"([\"']?\s*[=:]\s*[\"']?)[^\s&\"',;]+"
        ),
        r"\1\2[redacted]",
    ),
    (PHONE, "[phone]"),
    (
        re.compile(
            r"(?i)\b(user_id|chat_id|session_id|user_ref|from_id|sender_id|phone)([\"']?\s*[=:]\s*[\"']?)[\w.+-]+"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"(?<![\w.])\d{8,}(?![\w.])"), "[id]"),
)


def redact(text: str) -> str:
    """The text without tokens, secrets, phone numbers and user ids."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record before any handler formats it: message (with its arguments), traceback and
    stack are redacted, so no formatter can print what was removed."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and exception when any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_handler(json_lines: bool, stream: Any = None) -> logging.Handler:
    """A handler writing redacted records, as text or as JSON lines, to `stream` (standard error)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    return handler


def configure_logging(verbose: bool, log_format: str = "text") -> None:
    """Logging for a command: INFO with --verbose, else WARNING; JSON lines when TTHC_LOG_FORMAT=json.
    Leaves logging alone when something (a test runner, an embedding program) configured it already."""
    root = logging.getLogger()
    if root.handlers:
        return
    root.addHandler(log_handler(log_format == "json"))
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines are URLs, with tokens in them
    # uvicorn's own messages go through the same handler: start-up and errors always; one line per request
    # (with the client's address, personal data) only with --verbose: the proxy logs requests already.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("uvicorn.access").setLevel(logging.INFO if verbose else logging.WARNING)
