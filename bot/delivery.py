"""The delivery loop: staff answers reach citizens on their own channel, and new questions reach the staff
group. Runs in every server process; a delivery is claimed in the database first, so it is sent once.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from sqlalchemy import Engine

from bot import texts
from bot.conversation import Message, Reply
from bot.tickets import (
    claim_delivery,
    claim_staff_post,
    mark_posted,
    pending_deliveries,
    record_delivery,
    unposted_to_staff,
)

logger = logging.getLogger(__name__)

DELIVERY_SECONDS = 3.0


class Sender(Protocol):
    """A channel that can send what the citizen did not just ask for (bot.channels.Channel.send)."""

    async def send(self, user_id: str, reply: Reply) -> bool: ...


class StaffPoster(Protocol):
    """The channel that posts new questions to the staff group (Telegram)."""

    async def post_to_staff(self, text: str) -> int | None: ...


async def deliver_once(engine: Engine, senders: Mapping[str, Sender], staff: StaffPoster | None = None) -> int:
    """One round: send pending answers, post new tickets to staff. Returns how many answers were sent."""
    sent = 0
    waiting = await asyncio.to_thread(pending_deliveries, engine, tuple(senders)) if senders else []
    for ticket in waiting:
        if not await asyncio.to_thread(claim_delivery, engine, ticket.code):
            continue  # another worker took it
        reply = Reply((Message(texts.ticket_answer(ticket.code, ticket.question, ticket.answer)),))
        try:
            reached = await senders[ticket.channel].send(ticket.user_ref, reply)
        except Exception as error:  # the platform is down or refused: retried a few times, then shown to staff
            logger.warning("could not deliver the answer to %s yet: %s", ticket.code, error)
            await asyncio.to_thread(record_delivery, engine, ticket.code, "retry", str(error))
            continue
        outcome = "delivered" if reached else "unreachable"
        await asyncio.to_thread(record_delivery, engine, ticket.code, outcome)
        sent += reached
    if staff is not None:
        for ticket in await asyncio.to_thread(unposted_to_staff, engine):
            if not await asyncio.to_thread(claim_staff_post, engine, ticket.code):
                continue  # another worker posts it
            try:
                message_id = await staff.post_to_staff(texts.staff_group_ticket(ticket))
            except Exception:  # the staff group is unreachable: released, posted on a later round
                logger.warning("could not post %s to the staff group", ticket.code, exc_info=True)
                await asyncio.to_thread(mark_posted, engine, ticket.code, None)
                break
            await asyncio.to_thread(mark_posted, engine, ticket.code, message_id)
    return sent


async def delivery_loop(
    engine: Engine, senders: Mapping[str, Sender], staff: StaffPoster | None = None, every: float = DELIVERY_SECONDS
) -> None:
    """Deliver until cancelled; a failing round is logged and the next one tries again."""
    while True:
        try:
            await deliver_once(engine, senders, staff)
        except Exception:
            logger.exception("the delivery round failed")
        await asyncio.sleep(every)
