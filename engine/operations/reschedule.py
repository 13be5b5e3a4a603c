"""Moving a session that has not begun to another time (CONTRACT 4.1).

SCHEDULED or READY, nobody on the roster (the teacher included) in the room yet: the
session takes the new time if its teacher is free then, keeps the rule settings frozen
when it was first scheduled, and goes back to SCHEDULED. A READY session gives its room
up (DeleteRoom queued, the meeting fields cleared); the sweep prepares it again before
the new time, under the same room name, as for any scheduled session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.operations import slots
from engine.operations.lifecycle import transition
from engine.operations.verdicts import close_room
from engine.wire import wire_time
from rules.actors import Actor
from rules.errors import ValidationFailed
from rules.evidence import joined_members
from rules.lifecycle import LifecycleEvent, rescheduled
from store.schema import Session
from store.uow import UnitOfWork

__all__ = ["RescheduleSession", "reschedule"]


@dataclass(frozen=True, slots=True)
class RescheduleSession:
    actor: Actor
    scheduled_at: datetime
    reason: str


async def reschedule(
    uow: UnitOfWork, session: Session, command: RescheduleSession, *, at: datetime
) -> Session:
    """SCHEDULED/READY -> SCHEDULED at `command.scheduled_at` (422 when that is not in
    the future; 409 when someone on the roster has joined, or the teacher is busy
    then); the history row keeps the old time, the new one and the reason."""
    if command.scheduled_at <= at:
        # A lesson moved into the past would be prepared and finished as missed at once.
        raise ValidationFailed(
            "invalid values: scheduled_at",
            details=[{"field": "scheduled_at", "message": "must be in the future"}],
        )
    members = {session.teacher_id, *await uow.sessions.roster(session.id)}
    joined = joined_members(await uow.intervals.for_session(session.id), members)
    rescheduled(session.status, roster_joined=bool(joined))  # 409 before anything changes
    slot = await slots.claim_like(uow, session, command.scheduled_at, exclude_id=session.id)
    before = session.scheduled_at
    session.scheduled_at = slot.scheduled_at
    session.ends_at = slot.ends_at
    # The room (if one was made) belonged to the old time: its expiry and empty timeout
    # were set for it. The sweep makes a new one under the same name.
    close_room(uow, session, at=at)
    session.meeting_room_name = None
    session.meeting_link = None
    session.meeting_expires_at = None
    session.meeting_id = None
    session.meeting_data = None
    await transition(
        uow,
        session,
        LifecycleEvent.RESCHEDULE,
        at=at,
        actor=command.actor,
        details={
            "from_scheduled_at": wire_time(before),
            "scheduled_at": wire_time(slot.scheduled_at),
            "reason": command.reason,
        },
    )
    return session
