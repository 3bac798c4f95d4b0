"""The composition root: builds settings, database, stores, the catalogue and the dialog, once.

Commands and channels receive an App and use what they need; nothing heavy is built before it is asked
for (the search index is built on first use, so `tthc office list` never builds it).
"""

import logging
import secrets
import threading
import time

from sqlalchemy import Engine

from bot import texts
from bot.catalog import Catalog, popular_codes
from bot.config import Settings
from bot.conversation import Conversation, Incoming, Message, Reply
from bot.dialog import Dialog
from bot.journal import record, user_hash
from bot.observability import observe_reload, observe_reply
from bot.stores import (
    ConversationStore,
    LoginThrottle,
    MemoryLoginThrottle,
    MemoryRateLimiter,
    MemoryStateStore,
    RateLimiter,
    StateStore,
    StoredConversations,
)
from bot.texts import stats_text
from bot.tickets import TICKET_LOOKUP_RATE, TICKET_OPEN_RATE, find_ticket, open_ticket, public_answers
from knowledge.db import (
    answered_counts,
    deeplink_opens,
    init_db,
    knowledge_versions,
    load_offices,
    load_procedures,
    make_engine,
    query_stats,
)
from knowledge.normalize import Lexicon
from knowledge.search import SearchIndex, bundled_popularity

logger = logging.getLogger(__name__)

KNOWLEDGE_CHECK_SECONDS = 2.0  # how stale a worker's index may be after another process changed the data
SECRET_TTL_SECONDS = 10 * 365 * 24 * 3600.0  # shared secrets outlive any deployment
CONVERSATION_LOCKS = 256  # striped: bounded memory, and two chats rarely wait for each other


class SetupError(Exception):
    """The application cannot start with these settings; the message says why in one line."""


class App:
    """Everything a command or a channel needs, built once from the settings."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        lexicon: Lexicon,
        *,
        state: StateStore,
        conversations: ConversationStore,
        rate_limiter: RateLimiter,
        login_throttle: LoginThrottle,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.lexicon = lexicon
        self.state = state  # small shared values: webhook replays seen, Zalo reply windows, ...
        self.conversations = conversations
        self.rate_limiter = rate_limiter
        self.login_throttle = login_throttle
        self._dialog: Dialog | None = None
        self._built_versions = (-1, -1)  # (knowledge, public answers) the catalogue was built from
        self._reload_lock = threading.Lock()
        self._conversation_locks = [threading.Lock() for _ in range(CONVERSATION_LOCKS)]

    # -- the knowledge base, built on first use ----------------------------------------------------------

    @property
    def dialog(self) -> Dialog:
        """The dialog over the current catalogue (built on first use)."""
        if self._dialog is None:
            self.reload()
        assert self._dialog is not None
        return self._dialog

    @property
    def catalog(self) -> Catalog:
        """The current snapshot: index, offices, popular procedures."""
        return self.dialog.catalog

    @property
    def index(self) -> SearchIndex:
        """The live search index."""
        return self.catalog.index

    @property
    def index_loaded(self) -> bool:
        """Whether the catalogue is built (a worker answers its first citizen without a wait)."""
        return self._dialog is not None

    def reload(self) -> int:
        """Rebuild the catalogue from the database (after an import or a staff edit); returns procedures."""
        with self._reload_lock:
            started = time.perf_counter()
            versions = knowledge_versions(self.engine)
            popularity = answered_counts(self.engine) or bundled_popularity()
            index = SearchIndex(load_procedures(self.engine), self.lexicon, popularity)
            offices = {office.slug: office for office in load_offices(self.engine)}
            catalog = Catalog.build(index, popular_codes(popularity), offices, public_answers(self.engine))
            if self._dialog is None:
                self._dialog = Dialog(catalog, contact_retention_days=self.settings.ticket_retention_days)
            else:
                self._dialog.catalog = catalog  # one assignment: a request sees the old or the new, whole
            self._built_versions = versions
            observe_reload(len(index), time.perf_counter() - started)
            return len(index)

    def reload_if_changed(self) -> bool:
        """Reload when another process (an import, an admin edit on another worker) changed the knowledge
        base since this catalogue was built (the server asks every KNOWLEDGE_CHECK_SECONDS); when only the
        public answers changed, read them again without rebuilding the index."""
        if self._dialog is None:
            return False
        versions = knowledge_versions(self.engine)
        if versions == self._built_versions:
            return False
        if versions[0] != self._built_versions[0]:
            logger.info("the knowledge base changed: reloading")
            self.reload()
        else:
            with self._reload_lock:
                self._dialog.catalog = self._dialog.catalog.with_answers(public_answers(self.engine))
                self._built_versions = versions
        return True

    # -- conversations ----------------------------------------------------------------------------------

    def respond(self, incoming: Incoming) -> Reply:
        """The dialog's reply, with the conversation loaded from and saved to its store; a ticket the dialog
        asked for is opened (or looked up) here, where the database is."""
        started = time.perf_counter()
        key = incoming.conversation_key
        # Two updates of one chat handled at once (PTB's concurrent updates, a double tap) would each load the
        # same conversation and one save would lose the other's turn: one chat's turns run one at a time.
        with self._conversation_locks[hash(key) % CONVERSATION_LOCKS]:
            conversation = self.conversations.load(key) or Conversation()
            reply = self.dialog.handle(incoming, conversation)
            self.conversations.save(key, conversation)
        if reply.open_ticket is not None or reply.ticket_lookup is not None:
            reply = self._tickets(incoming, reply)
        observe_reply(incoming, reply, time.perf_counter() - started)
        return reply

    def _tickets(self, incoming: Incoming, reply: Reply) -> Reply:
        """Open the ticket the dialog asked for, or say how one is doing (its answer only to who asked it)."""
        who = user_hash(self.settings.log_salt.get_secret_value(), incoming.channel, incoming.user_id)
        if reply.open_ticket is not None:
            # A few questions at once, then one every 20 minutes: a script cannot flood the staff.
            if not self.rate_limiter.allow(f"ticket-open:{incoming.conversation_key}", TICKET_OPEN_RATE):
                return Reply((*reply.messages, Message(texts.TICKET_TOO_MANY)))
            ticket = open_ticket(
                self.engine, reply.open_ticket, channel=incoming.channel, user_ref=incoming.user_id, user_hash=who
            )
            message = Message(texts.ticket_opened(ticket.code, self.settings.ticket_hours))
            return Reply((*reply.messages, message), reply.events)
        assert reply.ticket_lookup is not None
        if not self.rate_limiter.allow(f"ticket-lookup:{incoming.conversation_key}", TICKET_LOOKUP_RATE):
            return Reply((Message(texts.API_ERRORS["too_many"]),))
        found = find_ticket(self.engine, reply.ticket_lookup)
        if found is None:
            text = texts.TICKET_UNKNOWN.format(code=reply.ticket_lookup)
        else:
            text = texts.ticket_status(found, with_answer=found.user_hash == who)
        return Reply((*reply.messages, Message(text)), reply.events)

    def record(self, incoming: Incoming, reply: Reply) -> None:
        """Log what happened for staff (after the reply is sent)."""
        record(self.engine, self.settings.log_salt.get_secret_value(), incoming, reply.events)

    def handle(self, incoming: Incoming) -> Reply:
        """Respond and log, in the caller's thread (the terminal; web requests in a worker thread)."""
        reply = self.respond(incoming)
        self.record(incoming, reply)
        return reply

    def shared_secret(self, name: str) -> str:
        """A secret every worker agrees on (the admin cookie's key, a webhook's secret token when the operator set
        none): made once, kept in the shared state, so the workers and machines of one service match."""
        key = f"secret:{name}"
        self.state.add(key, {"value": secrets.token_urlsafe(32)}, SECRET_TTL_SECONDS)
        stored = self.state.get(key)
        assert stored is not None
        return str(stored["value"])

    def stats_text(self, days: int = 1) -> str:
        """Staff statistics since the start of today (or of the last `days` days), as a message."""
        start = texts.local_days_start(days)
        stats = query_stats(self.engine, start)
        titles = {info.code: info.title for info in self.index.procedures}
        opens = [
            (office or "—", titles.get(code, "—"), count) for office, code, count in deeplink_opens(self.engine, start)
        ][:5]
        return stats_text(stats.questions, stats.answered, stats.opens, stats.unanswered, opens, days)


def build_app(settings: Settings | None = None) -> App:
    """Wire settings, database, lexicon and stores (the only place that does)."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    init_db(engine)
    try:
        lexicon = Lexicon.load(settings.terms_file)
    except (OSError, ValueError) as error:
        raise SetupError(f"{settings.terms_file}: cannot load the terms file ({error})") from None
    state, rate_limiter, login_throttle = shared_stores(engine)
    return App(
        settings,
        engine,
        lexicon,
        state=state,
        conversations=StoredConversations(state),
        rate_limiter=rate_limiter,
        login_throttle=login_throttle,
    )


def shared_stores(engine: Engine) -> tuple[StateStore, RateLimiter, LoginThrottle]:
    """The stores every worker shares and a restart keeps: in the database (bot.shared_state). A measurement
    found Redis not worth a second service (README "Performance"). Memory only for a database whose SQL the
    shared stores are not written for."""
    from bot.shared_state import (
        DatabaseLoginThrottle,
        DatabaseRateLimiter,
        DatabaseStateStore,
        store_engine,
        supports_shared_state,
    )

    if supports_shared_state(engine):
        quick = store_engine(engine)  # PostgreSQL: one round trip per operation (bot.shared_state)
        return DatabaseStateStore(quick), DatabaseRateLimiter(quick), DatabaseLoginThrottle(engine)
    logger.warning(
        "%s: conversations and rate limits are kept by each process (shared state needs SQLite or PostgreSQL)",
        engine.dialect.name,
    )
    return MemoryStateStore(), MemoryRateLimiter(), MemoryLoginThrottle()
