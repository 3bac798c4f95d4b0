"""SQLModel tables of the knowledge base: procedures, their aliases, and what citizens asked."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

# The DESIGN.md data keys, in export order. Lists are JSON columns; aliases live in their own table.
TEXT_KEYS = (
    "code",
    "name",
    "short_name",
    "field",
    "level",
    "agency",
    "where_to_file",
    "processing_time",
    "fees",
    "online",
    "result",
    "source_url",
    "verified_on",
)
LIST_KEYS = ("documents", "steps", "legal_basis", "aliases")
DATA_KEYS = (
    "code",
    "name",
    "short_name",
    "field",
    "level",
    "agency",
    "where_to_file",
    "documents",
    "steps",
    "processing_time",
    "fees",
    "online",
    "legal_basis",
    "result",
    "aliases",
    "source_url",
    "verified_on",
)

ORIGIN_CURATED = "curated"
ORIGIN_NATIONAL = "dvcqg"


def utcnow() -> datetime:
    """The current time in UTC (naive timestamps are ambiguous in logs)."""
    return datetime.now(UTC)


class Procedure(SQLModel, table=True):
    """One administrative procedure, keyed by its national code."""

    # A plain String type (not SQLModel's AutoString) so admin forms can turn a submitted key into a str.
    code: str = Field(primary_key=True, max_length=40, sa_type=String(40))
    name: str
    short_name: str = ""
    field: str = Field(default="", index=True)
    level: str = ""
    agency: str = ""
    where_to_file: str = ""
    documents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    steps: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    processing_time: str = ""
    fees: str = ""
    online: str = ""
    legal_basis: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    result: str = ""
    source_url: str = ""
    verified_on: str = ""
    # curated (bundled or staff-written) or dvcqg (imported from the national portal records)
    origin: str = Field(default=ORIGIN_CURATED, index=True)
    updated_at: datetime = Field(default_factory=utcnow)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


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
    text: str = ""
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
