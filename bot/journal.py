"""Writes what the dialog decided to the query log, at the channel edge: user ids as salted hashes, questions
without the phone numbers citizens type into them (a ticket keeps its number apart, for the answer)."""

import hashlib
import logging

from sqlalchemy import Engine
from sqlmodel import Session

from bot.conversation import Event, Incoming
from bot.privacy import without_phones
from knowledge.models import Feedback, QueryLog

logger = logging.getLogger(__name__)


def user_hash(salt: str, channel: str, user_id: str) -> str:
    """A stable pseudonym for a user: never the raw id or name."""
    return hashlib.sha256(f"{salt}\x00{channel}\x00{user_id}".encode()).hexdigest()[:32]


def record(engine: Engine, salt: str, incoming: Incoming, events: tuple[Event, ...]) -> None:
    """Store the events of one reply; a logging failure never reaches the citizen."""
    if not events:
        return
    who = user_hash(salt, incoming.channel, incoming.user_id)
    try:
        with Session(engine) as session:
            for event in events:
                if event.kind == "feedback":
                    session.add(
                        Feedback(
                            channel=incoming.channel,
                            user_hash=who,
                            procedure_code=event.code or "",
                            helpful=bool(event.helpful),
                            question=without_phones(event.text[:500]),
                            asked=without_phones(event.asked[:500]),
                        )
                    )
                    continue
                session.add(
                    QueryLog(
                        channel=incoming.channel,
                        user_hash=who,
                        kind=event.kind,
                        text=without_phones(event.text[:500]),
                        asked=without_phones(event.asked[:500]),
                        decision=event.decision,
                        top_code=event.code,
                        top_score=event.score,
                        facets=",".join(event.facets),
                        office_slug=event.office,
                    )
                )
            session.commit()
    except Exception:  # the answer matters more than its log line
        logger.exception("could not write the query log")
