"""Personal data kept no longer than its purpose needs (Nghị định 13/2023/NĐ-CP): `tthc purge`, and daily in
`tthc run`.

- The query log and feedback keep the questions (what citizens need, for staff to improve the answers) but
  lose who asked (the salted user hash) after TTHC_LOG_RETENTION_DAYS.
- A ticket keeps the question and the staff answer, but its contact details (the channel's user id, the
  phone number, the user hash) are erased after TTHC_TICKET_RETENTION_DAYS, as are phone numbers the citizen
  typed into the question or the conversation; answers still waiting in the web outbox go too.
- Shared values past their lifetime (conversations, whose history may hold a phone number, replay marks,
  rate-limit buckets) are deleted, also on a server too idle for its writes to sweep them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, select

from bot.privacy import without_phones
from bot.shared_state import supports_shared_state, sweep_expired
from knowledge.models import Feedback, Outbox, QueryLog, Ticket, utcnow

TICKET_BATCH = 500  # tickets rewritten per transaction (their texts are scrubbed in Python)


@dataclass(frozen=True)
class PurgeReport:
    """What one purge erased, and the cut-off dates it used."""

    log_before: datetime
    ticket_before: datetime
    questions: int  # query-log rows whose user hash was erased
    feedback: int  # feedback rows whose user hash was erased
    tickets: int  # tickets whose contact details were erased
    outbox: int  # undelivered or old web outbox messages deleted
    expired: int = 0  # shared values past their lifetime deleted (conversations, replay marks, buckets)

    @property
    def total(self) -> int:
        """Rows changed in all."""
        return self.questions + self.feedback + self.tickets + self.outbox + self.expired

    def lines(self) -> list[str]:
        """The report, one line per kind of data."""
        log_day, ticket_day = self.log_before.date().isoformat(), self.ticket_before.date().isoformat()
        return [
            f"query log: who asked erased from {self.questions} questions and {self.feedback} feedback "
            f"entries made before {log_day}",
            f"tickets: user id, phone and user hash erased from {self.tickets} tickets opened before {ticket_day}",
            f"web outbox: {self.outbox} messages from before {ticket_day} deleted",
            f"shared state: {self.expired} expired conversations, replay marks and rate limits deleted",
        ]


def scrub_phones(value: Any) -> Any:
    """`value` (text, or lists and mappings of them) with phone numbers replaced."""
    if isinstance(value, str):
        return without_phones(value)  # the same mark as in the journal: one way to read it
    if isinstance(value, list | tuple):
        return [scrub_phones(item) for item in value]
    if isinstance(value, dict):
        return {key: scrub_phones(item) for key, item in value.items()}
    return value


def purge_personal_data(engine: Engine, log_days: int, ticket_days: int, now: datetime | None = None) -> PurgeReport:
    """Erase what is past its retention; idempotent (a second run erases nothing)."""
    now = now or utcnow()
    log_before, ticket_before = now - timedelta(days=log_days), now - timedelta(days=ticket_days)
    with Session(engine) as session:
        questions = session.execute(
            update(QueryLog)
            .where(QueryLog.created_at < log_before, QueryLog.user_hash != "")  # type: ignore[arg-type]
            .values(user_hash="")
        ).rowcount
        feedback = session.execute(
            update(Feedback)
            .where(Feedback.created_at < log_before, Feedback.user_hash != "")  # type: ignore[arg-type]
            .values(user_hash="")
        ).rowcount
        outbox = session.execute(delete(Outbox).where(Outbox.created_at < ticket_before)).rowcount  # type: ignore[arg-type]
        session.commit()
    tickets = 0
    while True:
        with Session(engine) as session:
            batch = session.exec(
                select(Ticket)
                .where(Ticket.created_at < ticket_before, Ticket.purged_at.is_(None))  # type: ignore[union-attr]
                .limit(TICKET_BATCH)
            ).all()
            for ticket in batch:
                ticket.user_ref, ticket.phone, ticket.user_hash = "", "", ""
                ticket.question = scrub_phones(ticket.question)
                ticket.history = scrub_phones(list(ticket.history))
                ticket.purged_at = now
            session.commit()
        tickets += len(batch)
        if len(batch) < TICKET_BATCH:
            break
    expired = sweep_expired(engine) if supports_shared_state(engine) else 0
    return PurgeReport(log_before, ticket_before, questions or 0, feedback or 0, tickets, outbox or 0, expired)
