"""Sessions: create, schedule, cancel, complete, make-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.operations.lifecycle import transition
from engine.operations.presence import close_presence
from engine.operations.verdicts import close_room
from rules.actors import Actor
from rules.lifecycle import LifecycleEvent
from store.schema import Session, Transition
from store.uow import UnitOfWork


async def cancel(
    uow: UnitOfWork,
    session: Session,
    *,
    at: datetime,
    actor: Actor,
    reason: str,
    cancelled_by: int | None = None,
    details: dict[str, Any] | None = None,
) -> Transition:
    """-> CANCELLED: nobody is counted from now on, the room closes, nothing is charged."""
    row = await transition(
        uow,
        session,
        LifecycleEvent.CANCEL,
        at=at,
        actor=actor,
        details={"reason": reason, **(details or {})},
    )
    session.cancellation_reason = reason
    session.cancelled_by = cancelled_by
    session.cancelled_at = at
    await close_presence(uow, session, at=at)
    close_room(uow, session, at=at)
    return row
