"""Hỏi cán bộ: a citizen's question handed to staff, answered on the citizen's own channel.

Storage and rules only (no chat platform): open a ticket with a code people can read over the phone,
answer it, queue its delivery, record what happened. The server's delivery loop (bot.delivery) sends;
the web page fetches its answers by polling (bot.channels.web).
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from bot.privacy import without_contacts
from bot.stores import Rate
from knowledge.db import ANSWERS_COUNTER, bump_knowledge_version
from knowledge.models import Outbox, Ticket, utcnow

CODE_PREFIX = "HCB-"
# No 0/O, 1/I/L, 5/S, 8/B: nothing to confuse when a code is read over the phone.
CODE_ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
CODE_LENGTH = 5
CODE_PATTERN = re.compile(r"\bHCB[\s-]*([" + CODE_ALPHABET + r"]{" + str(CODE_LENGTH) + r"})\b", re.IGNORECASE)
MAX_QUESTION = 2000
MAX_ANSWER = 4000
MAX_DELIVERY_ATTEMPTS = 5
# A worker that claimed a send or a staff post and has not finished it by then has stopped: the claim is released.
STALE_CLAIM = timedelta(minutes=5)
TICKET_OPEN_RATE = Rate(burst=3, per_second=1 / 1200)  # per conversation: a few at once, then one in 20 minutes
TICKET_LOOKUP_RATE = Rate(burst=10, per_second=0.2)  # a citizen checks a code now and then; guessing is slow
WEB = "web"
STATUSES = ("open", "answered", "closed")


class TicketError(ValueError):
    """A ticket operation that cannot be done (unknown code, already answered, empty answer)."""


@dataclass(frozen=True)
class TicketRequest:
    """What the dialog gathered for a new ticket; the application stores it and tells the citizen the code."""

    question: str
    phone: str
    office: str | None
    considered: tuple[str, ...]
    history: tuple[dict, ...]


def new_code() -> str:
    """A fresh random code such as HCB-7K3QP."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str | None:
    """The code in a text ("mã hcb 7k3qp", "HCB-7K3QP"), written canonically; None when there is none."""
    found = CODE_PATTERN.search(text or "")
    return CODE_PREFIX + found.group(1).upper() if found else None


def open_ticket(engine: Engine, request: TicketRequest, *, channel: str, user_ref: str, user_hash: str) -> Ticket:
    """Store a new ticket under a unique code (a clash of random codes is retried)."""
    for _ in range(20):
        ticket = Ticket(
            code=new_code(),
            channel=channel,
            user_ref=user_ref,
            user_hash=user_hash,
            phone=request.phone,
            question=request.question[:MAX_QUESTION],
            office_slug=request.office,
            considered=list(request.considered),
            history=list(request.history),
        )
        with Session(engine, expire_on_commit=False) as session:
            session.add(ticket)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            session.refresh(ticket)
            return ticket
    raise TicketError("could not find a free ticket code")  # pragma: no cover - 14 million codes


def find_ticket(engine: Engine, code: str) -> Ticket | None:
    """The ticket with this code (written any way), or None."""
    canonical = normalize_code(code)
    if canonical is None:
        return None
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Ticket, canonical)


def list_tickets(
    engine: Engine, status: str | None = None, limit: int = 500, deliveries: tuple[str, ...] = ()
) -> list[Ticket]:
    """Tickets, oldest first (open ones are worked through in order); only those whose delivery is one of
    `deliveries` when given."""
    with Session(engine, expire_on_commit=False) as session:
        query = select(Ticket).order_by(Ticket.created_at)
        if status:
            query = query.where(Ticket.status == status)
        if deliveries:
            query = query.where(Ticket.delivery.in_(deliveries))  # type: ignore[union-attr]
        return list(session.exec(query.limit(limit)).all())


def answer_ticket(engine: Engine, code: str, answer: str, *, staff: str, public: bool = False) -> Ticket:
    """Record staff's answer and queue its delivery; a ticket is answered once (a second answer is refused)."""
    answer = answer.strip()
    if not answer:
        raise TicketError("the answer is empty")
    if len(answer) > MAX_ANSWER:
        raise TicketError(f"the answer is longer than {MAX_ANSWER} characters")
    canonical = normalize_code(code)
    if canonical is None:
        raise TicketError(f"'{code}' is not a ticket code like HCB-7K3QP")
    with Session(engine, expire_on_commit=False) as session:
        now = utcnow()
        # One statement decides: two staff answering at once cannot both win.
        answered = session.execute(
            update(Ticket)
            .where(Ticket.code == canonical, Ticket.status == "open")
            .values(
                status="answered",
                answer=answer,
                answered_by=staff[:64],
                answered_at=now,
                public=public,
                delivery="pending",
            )
        )
        if answered.rowcount != 1:
            ticket = session.get(Ticket, canonical)
            session.rollback()
            if ticket is None:
                raise TicketError(f"no ticket {canonical}")
            raise TicketError(f"ticket {canonical} is already {ticket.status}")
        ticket = session.get(Ticket, canonical)
        assert ticket is not None
        if ticket.channel == WEB and ticket.user_ref:
            # The web page fetches it by polling; it counts as delivered when fetched.
            session.add(Outbox(session_key=f"{WEB}:{ticket.user_ref}", html="", ticket_code=canonical))
        if public:
            bump_knowledge_version(session, ANSWERS_COUNTER)  # every worker reads the public answers again
        session.commit()
        session.refresh(ticket)
        return ticket


def _deliverable(now: datetime, older_than: timedelta = STALE_CLAIM):
    """Deliveries waiting to be sent, and those a worker claimed and never finished (it stopped)."""
    stale = (Ticket.delivery == "sending") & (Ticket.delivery_claimed_at < now - older_than)
    return (Ticket.delivery == "pending") | stale


def claim_delivery(engine: Engine, code: str) -> bool:
    """Take a delivery for this worker (several workers may look at the same ticket)."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        claimed = session.execute(
            update(Ticket)
            .where(Ticket.code == code, _deliverable(now))
            .values(delivery="sending", delivery_attempts=Ticket.delivery_attempts + 1, delivery_claimed_at=now)
        )
        session.commit()
        return claimed.rowcount == 1


def record_delivery(engine: Engine, code: str, outcome: str, error: str = "") -> None:
    """delivered | retry (back to pending, unless attempts are used up: failed) | unreachable | failed."""
    with Session(engine, expire_on_commit=False) as session:
        ticket = session.get(Ticket, code)
        if ticket is None:
            return
        if outcome == "retry":
            outcome = "failed" if ticket.delivery_attempts >= MAX_DELIVERY_ATTEMPTS else "pending"
        ticket.delivery = outcome
        ticket.delivery_error = error[:300]
        if outcome == "delivered":
            ticket.delivered_at = utcnow()
        session.add(ticket)
        session.commit()


def pending_deliveries(engine: Engine, channels: tuple[str, ...], limit: int = 50) -> list[Ticket]:
    """Answered tickets waiting to be sent on these channels (the web's go through the outbox)."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(
                select(Ticket)
                .where(_deliverable(utcnow()), Ticket.channel.in_(channels))
                .order_by(Ticket.answered_at)
                .limit(limit)
            ).all()
        )


def fetch_outbox(engine: Engine, session_key: str) -> list[tuple[str, Ticket | None]]:
    """Messages waiting for a web conversation, each returned once; fetching records the delivery."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(Outbox).where(Outbox.session_key == session_key, Outbox.delivered_at.is_(None)).order_by(Outbox.id)
        ).all()
        delivered: list[tuple[str, Ticket | None]] = []
        now = utcnow()
        for row in rows:
            claimed = session.execute(
                update(Outbox).where(Outbox.id == row.id, Outbox.delivered_at.is_(None)).values(delivered_at=now)
            )
            if claimed.rowcount != 1:
                continue  # another request fetched it first
            ticket = session.get(Ticket, row.ticket_code) if row.ticket_code else None
            if ticket is not None:
                ticket.delivery, ticket.delivered_at = "delivered", now
                session.add(ticket)
            delivered.append((row.html, ticket))
        session.commit()
        return delivered


def _unposted(now: datetime, older_than: timedelta = STALE_CLAIM):
    """Open tickets not posted to the staff group, and not being posted (a claim older than `older_than` was
    left by a worker that stopped mid-post)."""
    return (
        (Ticket.status == "open")
        & Ticket.staff_message_id.is_(None)
        & (Ticket.staff_post_claimed_at.is_(None) | (Ticket.staff_post_claimed_at < now - older_than))
    )


def claim_staff_post(engine: Engine, code: str) -> bool:
    """Take the posting of a new ticket to the staff group for this worker (it is posted once)."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        claimed = session.execute(
            update(Ticket).where(Ticket.code == code, _unposted(now)).values(staff_post_claimed_at=now)
        )
        session.commit()
        return claimed.rowcount == 1


def unposted_to_staff(engine: Engine, limit: int = 20) -> list[Ticket]:
    """Open tickets not yet posted to the staff group (nor being posted)."""
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(select(Ticket).where(_unposted(utcnow())).order_by(Ticket.created_at).limit(limit)).all()
        )


def mark_posted(engine: Engine, code: str, message_id: int | None) -> None:
    """Remember the staff group post of a ticket (a reply to it answers the ticket); None: not posted after all,
    the claim is released for a later round."""
    with Session(engine, expire_on_commit=False) as session:
        session.execute(
            update(Ticket).where(Ticket.code == code).values(staff_message_id=message_id, staff_post_claimed_at=None)
        )
        session.commit()


def ticket_for_staff_post(engine: Engine, message_id: int) -> Ticket | None:
    """The ticket a staff group post is about."""
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(Ticket).where(Ticket.staff_message_id == message_id)).first()


def working_days_between(start: datetime, end: datetime) -> float:
    """Working days (Monday to Friday) from start to end, in days."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start
    while day < end:
        step = min(end, (day + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0))
        if day.weekday() < 5:
            total += (step - day).total_seconds() / 86400
        day = step
    return total


def service_levels(engine: Engine, target_days: float, now: datetime | None = None) -> dict:
    """Open tickets with their age, the overdue ones, and the share answered within the target."""
    now = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        open_tickets = session.exec(select(Ticket).where(Ticket.status == "open").order_by(Ticket.created_at)).all()
        answered = session.exec(  # two dates per ticket, not whole rows: this grows with the service's life
            select(Ticket.created_at, Ticket.answered_at).where(Ticket.answered_at.is_not(None))
        ).all()
        failed = session.exec(select(func.count()).select_from(Ticket).where(Ticket.delivery == "failed")).one()
    ages = [(ticket, working_days_between(ticket.created_at, now)) for ticket in open_tickets]
    in_time = sum(1 for asked, replied in answered if working_days_between(asked, replied) <= target_days)
    return {
        "open": [{"ticket": ticket, "age_days": age, "overdue": age > target_days} for ticket, age in ages],
        "overdue": sum(1 for _, age in ages if age > target_days),
        "answered": len(answered),
        "answered_in_time_share": in_time / len(answered) if answered else None,
        "delivery_failed": failed,
    }


@dataclass(frozen=True)
class PublicAnswer:
    """A staff answer made public ("Công khai"): on /hoi-dap, and offered for similar questions."""

    code: str
    question: str
    answer: str
    answered_at: datetime | None


def public_answers(engine: Engine, limit: int = 2000) -> list[PublicAnswer]:
    """Public answers, newest first (no personal data: question and answer only)."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(Ticket)
            .where(Ticket.public.is_(True), Ticket.status != "open")
            .order_by(Ticket.answered_at.desc())
            .limit(limit)
        ).all()
    return [
        PublicAnswer(row.code, without_contacts(row.question), without_contacts(row.answer), row.answered_at)
        for row in rows
    ]


def reopen_delivery(engine: Engine, code: str) -> None:
    """Staff ask to send a failed answer again."""
    with Session(engine, expire_on_commit=False) as session:
        session.execute(
            update(Ticket)
            .where(Ticket.code == code, Ticket.delivery.in_(("failed", "unreachable")))
            .values(delivery="pending", delivery_attempts=0, delivery_error="")
        )
        session.commit()


def close_ticket(engine: Engine, code: str) -> None:
    """Staff closed a ticket (answered by phone, or not a question)."""
    with Session(engine, expire_on_commit=False) as session:
        session.execute(update(Ticket).where(Ticket.code == code).values(status="closed"))
        session.commit()
