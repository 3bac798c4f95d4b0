"""Database access: engine from a URL, schema creation, seeding the bundled data, procedure reads and writes."""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel, create_engine, delete, func, select

from knowledge.models import Alias, Procedure, utcnow
from knowledge.records import OFFICE_KEYS, OfficeInfo, ProcedureInfo

logger = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).parent / "data"


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets foreign keys and cross-thread use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _enable_foreign_keys(dbapi_connection, _record) -> None:  # pragma: no cover - driver hook
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine, seed: bool = True) -> int:
    """Create missing tables; load the bundled knowledge base into an empty database. Returns rows seeded."""
    SQLModel.metadata.create_all(engine)
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


def count_procedures(engine: Engine) -> int:
    """How many procedures the database holds."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Procedure)).one()


def _to_info(row: Procedure, aliases: list[str]) -> ProcedureInfo:
    return ProcedureInfo(
        code=row.code,
        name=row.name,
        short_name=row.short_name,
        field=row.field,
        level=row.level,
        agency=row.agency,
        where_to_file=row.where_to_file,
        documents=tuple(row.documents),
        steps=tuple(row.steps),
        processing_time=row.processing_time,
        fees=row.fees,
        online=row.online,
        legal_basis=tuple(row.legal_basis),
        result=row.result,
        aliases=tuple(aliases),
        source_url=row.source_url,
        verified_on=row.verified_on,
        origin=row.origin,
    )


def load_procedures(engine: Engine) -> list[ProcedureInfo]:
    """Every procedure with its aliases, ordered by code."""
    with Session(engine) as session:
        aliases: dict[str, list[str]] = defaultdict(list)
        for code, text in session.exec(select(Alias.procedure_code, Alias.text).order_by(Alias.id)):
            aliases[code].append(text)
        rows = session.exec(select(Procedure).order_by(Procedure.code)).all()
        return [_to_info(row, aliases[row.code]) for row in rows]


def _insert(session: Session, info: ProcedureInfo) -> list[Alias]:
    """Add the procedure row; return its alias rows, to be added once the procedures are flushed."""
    values = info.to_dict()
    values.pop("aliases")
    session.add(Procedure(**values, origin=info.origin))
    return [Alias(procedure_code=info.code, text=text) for text in info.aliases]


@dataclass
class WriteResult:
    """What a write did (or, dry, would do)."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    kept: list[str]  # curated procedures a national import did not overwrite


def write_procedures(
    engine: Engine, infos: Iterable[ProcedureInfo], *, dry_run: bool = False, keep_curated: bool = False
) -> WriteResult:
    """Add or update procedures in one transaction (all or nothing); dry_run only reports."""
    result = WriteResult([], [], [], [])
    pending_aliases: list[Alias] = []
    with Session(engine) as session:
        existing = {info.code: info for info in load_procedures(engine)}
        for info in infos:
            old = existing.get(info.code)
            if old is None:
                result.added.append(info.code)
                if not dry_run:
                    pending_aliases.extend(_insert(session, info))
            elif keep_curated and old.origin != info.origin and old.origin == "curated":
                result.kept.append(info.code)
            elif old == info:  # the same data (origin aside): a re-imported export keeps national records as such
                result.unchanged.append(info.code)
            else:
                result.updated.append(info.code)
                if not dry_run:
                    session.exec(delete(Alias).where(Alias.procedure_code == info.code))
                    row = session.get(Procedure, info.code)
                    values = info.to_dict()
                    values.pop("aliases")
                    for key, value in values.items():
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
        return [OfficeInfo(**{key: getattr(row, key) for key in OFFICE_KEYS}) for row in rows]


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
