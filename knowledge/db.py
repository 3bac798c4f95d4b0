"""Database access: engine from a URL, schema creation, seeding the bundled data, procedure reads and writes."""

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, event, inspect, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, SQLModel, create_engine, delete, func, select

from knowledge.models import Alias, KnowledgeVersion, Office, Procedure, utcnow
from knowledge.records import OFFICE_KEYS, ORIGIN_CURATED, OfficeInfo, ProcedureInfo, merge

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).parent / "data"
MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"  # the schema databases had before migrations existed


class SchemaBehindError(RuntimeError):
    """The database schema is older than this version of the code, and is not upgraded automatically."""


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        # A writer waits up to 15 s for another (the web server and a CLI import, say) instead of failing.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _configure(dbapi_connection, _record) -> None:  # pragma: no cover - driver hook
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if url not in ("sqlite://", "sqlite:///:memory:"):
                # Readers never block the writer (and the other way round): the chat keeps answering
                # while an import is written.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(connection: Connection) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's schema revision or None, the revision this code needs)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is None and inspect(connection).has_table("procedure"):
            current = FIRST_REVISION  # made by create_all before migrations existed
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    return current, str(head)


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to this code's revision; returns (revision before, revision after)."""
    from alembic import command

    before, head = schema_revisions(engine)
    if before == head:
        return before, head
    with engine.begin() as connection:
        config = _alembic_config(connection)
        if before is None and not inspect(connection).get_table_names():
            # A new database: create the tables as the models say, and record that they are current.
            SQLModel.metadata.create_all(connection)
            command.stamp(config, "head")
        else:
            if not inspect(connection).has_table("alembic_version"):
                command.stamp(config, FIRST_REVISION)
            command.upgrade(config, "head")
    return before, head


def init_db(engine: Engine, seed: bool = True) -> int:
    """Check or bring the schema up to date; load the bundled knowledge base into an empty database.

    SQLite (one commune, one process) is upgraded on its own; any other database must be upgraded by
    an operator (`tthc db upgrade`), so several workers never race to migrate it. Returns rows seeded.
    """
    current, head = schema_revisions(engine)
    if current != head:
        if engine.dialect.name != "sqlite" and current is not None:
            raise SchemaBehindError(
                f"the database schema is at revision {current}, this version needs {head}: run `tthc db upgrade`"
            )
        upgrade_schema(engine)
    if not seed or count_procedures(engine):
        return 0
    from knowledge.importer import read_bundled  # late: the importer depends on this module

    infos = read_bundled(BUNDLED_DIR)
    with Session(engine) as session:
        aliases = [alias for info in infos for alias in _insert(session, info)]
        session.flush()  # procedures first: aliases reference them
        session.add_all(aliases)
        session.commit()
    logger.info("seeded %d bundled procedures", len(infos))
    return len(infos)


_KNOWLEDGE_TABLES = (Procedure, Alias, Office)


_BUMPED = "knowledge_version_moved"  # session.info: the version already moved in this transaction


@event.listens_for(OrmSession, "before_flush")
def _count_knowledge_changes(session: OrmSession, _context: object, _instances: object) -> None:
    """A transaction that touches procedures, aliases or offices moves the knowledge version once, whoever
    writes (importer, admin, CLI): the running workers see it and reload."""
    if session.info.get(_BUMPED):
        return  # an import flushes once per row: one move per transaction is enough
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(row, _KNOWLEDGE_TABLES) for row in touched):
        bump_knowledge_version(session)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_version_move(session: OrmSession, transaction: SessionTransaction) -> None:
    # At the end of the transaction or of a savepoint (a rolled-back move is then made again, never missed);
    # not at the end of the inner transaction every flush opens.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_BUMPED, None)


KNOWLEDGE_COUNTER, ANSWERS_COUNTER = 1, 2  # rows of KnowledgeVersion


def bump_knowledge_version(session: OrmSession, counter: int = KNOWLEDGE_COUNTER) -> None:
    """Move a change counter in this transaction: the knowledge base's (by hand for changes the flush hook
    does not watch), or the public answers' (ANSWERS_COUNTER)."""
    if counter == KNOWLEDGE_COUNTER:
        session.info[_BUMPED] = True
    moved = session.execute(
        update(KnowledgeVersion)
        .where(KnowledgeVersion.id == counter)
        .values(version=KnowledgeVersion.version + 1, changed_at=utcnow())
    )
    if moved.rowcount == 0:
        session.add(KnowledgeVersion(id=counter, version=1))


def knowledge_versions(engine: Engine) -> tuple[int, int]:
    """The knowledge base's and the public answers' change counters (0 before the first change)."""
    with Session(engine) as session:
        rows = dict(session.exec(select(KnowledgeVersion.id, KnowledgeVersion.version)).all())
    return rows.get(KNOWLEDGE_COUNTER, 0), rows.get(ANSWERS_COUNTER, 0)


def knowledge_version(engine: Engine) -> int:
    """The knowledge base's change counter (0 before the first change)."""
    return knowledge_versions(engine)[0]


def count_procedures(engine: Engine) -> int:
    """How many procedures the database holds."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Procedure)).one()


def load_procedures(engine: Engine) -> list[ProcedureInfo]:
    """Every procedure with its aliases, ordered by code."""
    with Session(engine) as session:
        aliases: dict[str, list[str]] = defaultdict(list)
        for code, text in session.exec(select(Alias.procedure_code, Alias.text).order_by(Alias.id)):
            aliases[code].append(text)
        rows = session.exec(select(Procedure).order_by(Procedure.code)).all()
        return [row.to_info(aliases[row.code]) for row in rows]


def load_procedure(engine: Engine, code: str) -> ProcedureInfo | None:
    """One procedure with its aliases, or None."""
    with Session(engine) as session:
        row = session.get(Procedure, code)
        if row is None:
            return None
        aliases = session.exec(select(Alias.text).where(Alias.procedure_code == code).order_by(Alias.id)).all()
        return row.to_info(tuple(aliases))


def _columns(info: ProcedureInfo) -> dict:
    """The procedure row's values (everything but the aliases, which have their own table)."""
    values = info.to_dict()
    values.pop("aliases")
    return values


def _insert(session: Session, info: ProcedureInfo) -> list[Alias]:
    """Add the procedure row; return its alias rows, to be added once the procedures are flushed."""
    session.add(Procedure(**_columns(info), origin=info.origin))
    return [Alias(procedure_code=info.code, text=text) for text in info.aliases]


@dataclass
class WriteResult:
    """What a write did (or, dry, would do)."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    kept: list[str]  # curated procedures a national import did not overwrite


def write_procedures(
    engine: Engine,
    infos: Iterable[ProcedureInfo],
    *,
    dry_run: bool = False,
    keep_curated: bool = False,
    given: Mapping[str, Collection[str]] | None = None,
) -> WriteResult:
    """Add or update procedures in one transaction (all or nothing); dry_run only reports.

    `given` names, per code, the fields the source had (a spreadsheet exported before a field existed);
    the other fields of an existing procedure stay as they are.
    """
    result = WriteResult([], [], [], [])
    pending_aliases: list[Alias] = []
    given = given or {}
    with Session(engine) as session:
        existing = {info.code: info for info in load_procedures(engine)}
        for info in infos:
            old = existing.get(info.code)
            if old is not None and info.code in given:
                info = merge(old, info, given[info.code])
            if old is None:
                result.added.append(info.code)
                if not dry_run:
                    pending_aliases.extend(_insert(session, info))
            elif keep_curated and old.origin != info.origin and old.origin == ORIGIN_CURATED:
                result.kept.append(info.code)
            elif old == info:  # the same data (origin aside): a re-imported export keeps national records as such
                result.unchanged.append(info.code)
            else:
                result.updated.append(info.code)
                if not dry_run:
                    session.exec(delete(Alias).where(Alias.procedure_code == info.code))
                    row = session.get(Procedure, info.code)
                    for key, value in _columns(info).items():
                        setattr(row, key, value)
                    row.origin = info.origin
                    row.updated_at = utcnow()
                    pending_aliases.extend(Alias(procedure_code=info.code, text=text) for text in info.aliases)
            existing[info.code] = info
        if dry_run:
            session.rollback()
        else:
            session.flush()
            session.add_all(pending_aliases)
            session.commit()
    return result


def add_alias(engine: Engine, code: str, text: str) -> bool:
    """Attach one alias to a procedure; False when the procedure is unknown or already has it."""
    with Session(engine) as session:
        if session.get(Procedure, code) is None:
            return False
        exists = session.exec(select(Alias).where(Alias.procedure_code == code, Alias.text == text)).first()
        if exists:
            return False
        session.add(Alias(procedure_code=code, text=text))
        session.commit()
        return True


def answered_counts(engine: Engine, minimum_total: int = 50) -> dict[str, float]:
    """How often each procedure was answered or opened, once the log holds enough to be meaningful."""
    from knowledge.models import QueryLog

    with Session(engine) as session:
        rows = session.exec(
            select(QueryLog.top_code, func.count())
            .where(QueryLog.decision == "answer", QueryLog.top_code.is_not(None))
            .group_by(QueryLog.top_code)
        ).all()
    counts = {code: float(count) for code, count in rows if code}
    return counts if sum(counts.values()) >= minimum_total else {}


@dataclass
class Stats:
    """What staff see in /stats and `tthc stats`."""

    questions: int
    answered: int
    opens: int
    unanswered: list[tuple[str, int]]


def query_stats(engine: Engine, since: datetime, top: int = 5) -> Stats:
    """Questions, answered share, deep-link opens and the most frequent unanswered questions since a time."""
    from knowledge.models import QueryLog

    with Session(engine) as session:
        recent = QueryLog.created_at >= since
        questions = session.exec(select(func.count()).where(recent, QueryLog.kind == "question")).one()
        answered = session.exec(
            select(func.count()).where(recent, QueryLog.kind == "question", QueryLog.decision == "answer")
        ).one()
        opens = session.exec(select(func.count()).where(recent, QueryLog.kind == "deeplink")).one()
        rows = session.exec(
            select(QueryLog.text, func.count().label("n"))
            .where(recent, QueryLog.kind.in_(("question", "choice_rejected")), QueryLog.decision == "none")
            .group_by(QueryLog.text)
            .order_by(func.count().desc())
            .limit(top)
        ).all()
    return Stats(questions, answered, opens, [(text, count) for text, count in rows])


def load_offices(engine: Engine) -> list[OfficeInfo]:
    """Every office, ordered by slug."""
    from knowledge.models import Office

    with Session(engine) as session:
        rows = session.exec(select(Office).order_by(Office.slug)).all()
        return [OfficeInfo(**{key: _plain(getattr(row, key)) for key in OFFICE_KEYS}) for row in rows]


def _plain(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def write_offices(engine: Engine, offices: Iterable[OfficeInfo]) -> tuple[int, int]:
    """Add or replace offices in one transaction; returns (added, updated)."""
    from knowledge.models import Office

    added = updated = 0
    with Session(engine) as session:
        for office in offices:
            row = session.get(Office, office.slug)
            if row is None:
                session.add(Office(**office.to_dict()))
                added += 1
            else:
                for key, value in office.to_dict().items():
                    setattr(row, key, value)
                updated += 1
        session.commit()
    return added, updated


def remove_office(engine: Engine, slug: str) -> bool:
    """Delete an office; False when there is none with that slug."""
    from knowledge.models import Office

    with Session(engine) as session:
        row = session.get(Office, slug)
        if row is None:
            return False
        session.delete(row)
        session.commit()
        return True


def deeplink_opens(engine: Engine, since: datetime) -> list[tuple[str, str, int]]:
    """QR and deep-link opens since a time: (office slug or "", procedure code or "", count), most first."""
    from knowledge.models import QueryLog

    with Session(engine) as session:
        rows = session.exec(
            select(QueryLog.office_slug, QueryLog.top_code, func.count())
            .where(QueryLog.kind == "deeplink", QueryLog.created_at >= since)
            .group_by(QueryLog.office_slug, QueryLog.top_code)
            .order_by(func.count().desc())
        ).all()
    return [(office or "", code or "", count) for office, code, count in rows]


def most_asked(engine: Engine, office: str | None = None, limit: int = 6) -> list[str]:
    """Codes of the procedures answered or opened most often (at one office, when given)."""
    from knowledge.models import QueryLog

    with Session(engine) as session:
        query = select(QueryLog.top_code, func.count()).where(
            QueryLog.decision == "answer", QueryLog.top_code.is_not(None)
        )
        if office:
            query = query.where(QueryLog.office_slug == office)
        rows = session.exec(query.group_by(QueryLog.top_code).order_by(func.count().desc()).limit(limit)).all()
    return [code for code, _ in rows]
