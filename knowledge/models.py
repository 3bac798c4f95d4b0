"""SQLModel tables of the knowledge base: procedures, their aliases, and what citizens asked."""

import types
from datetime import UTC, datetime

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from knowledge.records import DATA_FIELDS, LIST_KEYS, ORIGIN_CURATED, ORIGIN_NATIONAL, ProcedureInfo

__all__ = ["ORIGIN_CURATED", "ORIGIN_NATIONAL", "Procedure", "utcnow"]


def utcnow() -> datetime:
    """The current time in UTC (naive timestamps are ambiguous in logs)."""
    return datetime.now(UTC)


def _procedure_namespace(namespace: dict) -> None:
    """The columns of the procedure table, one per field of ProcedureInfo (aliases have their own table)."""
    annotations: dict[str, object] = {}
    for data_field in DATA_FIELDS:
        key = data_field.name
        if key == "aliases":
            continue
        if key == "code":
            # A plain String type (not SQLModel's AutoString) so admin forms can turn a submitted key into a str.
            annotations[key], namespace[key] = str, Field(primary_key=True, max_length=40, sa_type=String(40))
        elif key == "name":
            annotations[key] = str
        elif key in LIST_KEYS:
            annotations[key] = list[str]
            namespace[key] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
        else:
            annotations[key], namespace[key] = str, Field(default="", index=key == "field")
    # curated (bundled or staff-written) or dvcqg (imported from the national portal records)
    annotations["origin"], namespace["origin"] = str, Field(default=ORIGIN_CURATED, index=True)
    annotations["updated_at"], namespace["updated_at"] = datetime, Field(default_factory=utcnow)
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    namespace["__doc__"] = "One administrative procedure, keyed by its national code (columns: ProcedureInfo)."
    namespace["__str__"] = _procedure_str
    namespace["to_info"] = _procedure_to_info


def _procedure_str(row: "SQLModel") -> str:
    return f"{row.code} {row.name}"


def _procedure_to_info(row: "SQLModel", aliases: tuple[str, ...] = ()) -> ProcedureInfo:
    """The row as a record (a method of Procedure)."""
    values = {}
    for data_field in DATA_FIELDS:
        key = data_field.name
        if key != "aliases":
            values[key] = tuple(getattr(row, key)) if key in LIST_KEYS else getattr(row, key)
    return ProcedureInfo(origin=row.origin, aliases=tuple(aliases), **values)


# Built from the record type, so adding a field to ProcedureInfo adds its column (plus a migration).
Procedure = types.new_class("Procedure", (SQLModel,), {"table": True}, _procedure_namespace)


class Alias(SQLModel, table=True):
    """A way citizens name a procedure ("giấy độc thân", "nhập hộ khẩu")."""

    __table_args__ = (UniqueConstraint("procedure_code", "text"),)

    id: int | None = Field(default=None, primary_key=True)
    procedure_code: str = Field(foreign_key="procedure.code", index=True, ondelete="CASCADE")
    text: str
    procedure: Procedure | None = Relationship()

    def __str__(self) -> str:
        return self.text


class QueryLog(SQLModel, table=True):
    """One question or deep-link open, as staff see it: normalised text, never the raw user id."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    channel: str = Field(default="cli", max_length=20)
    user_hash: str = Field(default="", max_length=64)
    kind: str = Field(default="question", max_length=20)  # question | deeplink | choice_rejected
    text: str = ""  # normalised (folded), for grouping and statistics
    asked: str = ""  # as the citizen typed it (at most 500 characters), for staff to read
    decision: str = Field(default="", max_length=10)
    top_code: str | None = None
    top_score: float | None = None
    facets: str = ""
    office_slug: str | None = None


class Feedback(SQLModel, table=True):
    """A 👍/👎 on an answer."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    channel: str = Field(default="cli", max_length=20)
    user_hash: str = Field(default="", max_length=64)
    procedure_code: str
    helpful: bool
    question: str = ""  # the normalised question the answer was for, when known
    asked: str = ""  # the same question as the citizen typed it


class Office(SQLModel, table=True):
    """A commune one-stop office (Trung tâm Phục vụ hành chính công) that posts QR codes."""

    slug: str = Field(primary_key=True, max_length=40, sa_type=String(40))
    name: str
    address: str = ""
    hours: str = ""
    phone: str = ""
    map_url: str = ""
    province: str = ""
    commune: str = ""
    notes: str = ""
    agencies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class StaffUser(SQLModel, table=True):
    """A commune officer who may log into the web admin."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    password_hash: str
    role: str = Field(default="editor", max_length=10)  # admin | editor
    created_at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Who changed what in the knowledge base, and when."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    username: str = Field(max_length=64)
    action: str = Field(max_length=40)  # create | update | delete | import | alias | inbox
    target: str = ""
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class InboxStatus(SQLModel, table=True):
    """What staff decided about an unanswered question (keyed by its normalised text)."""

    text: str = Field(primary_key=True, max_length=500)
    status: str = Field(default="open", max_length=10)  # open | done | ignored
    updated_at: datetime = Field(default_factory=utcnow)


class KnowledgeVersion(SQLModel, table=True):
    """Change counters every worker compares with what it built (a cheap query every few seconds): row 1
    counts changes to procedures, aliases and offices (the index is rebuilt), row 2 to the public answers
    (only they are read again)."""

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    changed_at: datetime = Field(default_factory=utcnow)


class StaffSession(SQLModel, table=True):
    """A staff login: the cookie carries a random token, the database its hash. Logging out, a password
    change or a deleted account removes the row, which ends the session on every worker at once."""

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(index=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


# -- the service's own state: channel tokens, citizens' questions to staff, state shared by workers --------


class ChannelToken(SQLModel, table=True):
    """The OAuth token pair of a channel (the Zalo OA). Refresh tokens are single-use: each rotation is
    written before the new pair is used, and `version` lets one worker win a rotation race."""

    channel: str = Field(primary_key=True, max_length=20)
    access_token: str = ""
    refresh_token: str = ""
    expires_at: datetime = Field(default_factory=utcnow)
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Ticket(SQLModel, table=True):
    """A question a citizen handed to staff ("Hỏi cán bộ"), answered on the citizen's own channel."""

    code: str = Field(primary_key=True, max_length=12)  # HCB-7K3QP: readable over the phone
    status: str = Field(default="open", index=True, max_length=10)  # open | answered | closed
    created_at: datetime = Field(default_factory=utcnow, index=True)
    channel: str = Field(max_length=20)
    user_ref: str = ""  # the channel's user or chat id, only to deliver the answer; erased after retention
    user_hash: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=20)  # optional; erased after retention
    question: str = ""
    office_slug: str | None = None
    considered: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # matcher's codes
    history: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # the talk so far
    answer: str = ""
    answered_by: str = Field(default="", max_length=64)
    answered_at: datetime | None = None
    public: bool = False  # shown on /hoi-dap, without personal data
    procedure_code: str | None = None  # the procedure staff linked the answer to, if any
    delivery: str = Field(default="", max_length=12)  # "" | pending | delivered | failed | unreachable
    delivery_attempts: int = 0
    delivery_claimed_at: datetime | None = None  # when a worker took the delivery (a stale claim is released)
    delivered_at: datetime | None = None
    delivery_error: str = ""
    staff_message_id: int | None = Field(default=None, index=True)  # its post in the staff Telegram group
    staff_post_claimed_at: datetime | None = None  # when a worker took the post (a stale claim is released)
    purged_at: datetime | None = None


class Outbox(SQLModel, table=True):
    """Messages waiting for a web conversation to ask for them (`{"poll": true}`), each delivered once."""

    id: int | None = Field(default=None, primary_key=True)
    session_key: str = Field(index=True, max_length=80)
    html: str
    ticket_code: str | None = Field(default=None, max_length=12)  # the ticket whose answer this is
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class SharedState(SQLModel, table=True):
    """Small values every worker sees: conversations, webhook replays seen, Zalo reply windows."""

    key: str = Field(primary_key=True, max_length=200)
    value: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    expires_at: datetime = Field(index=True)


class RateBucket(SQLModel, table=True):
    """A token bucket shared by the workers (rate limits, login throttles)."""

    key: str = Field(primary_key=True, max_length=200)
    tokens: float = 0.0
    updated: float = 0.0  # seconds since the epoch
    expires_at: datetime = Field(index=True)


class Lease(SQLModel, table=True):
    """Work only one process may do (polling Telegram or the Zalo Bot): held while renewed, taken over when
    its holder stops renewing."""

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=80)
    expires_at: datetime
