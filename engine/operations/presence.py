"""Presence: evidence in, intervals out, and the start a roster join triggers.

Intervals are always rebuilt from the whole evidence of a session, so any order
and any repeats of the same events give the same intervals (CONTRACT 3).
"""

from __future__ import annotations

from datetime import datetime

from engine.operations.attendance import closing_event_id
from engine.operations.lifecycle import transition
from engine.operations.settings import settings_of
from rules import evidence as ev
from rules.actors import Actor
from rules.lifecycle import LifecycleEvent, awaits_start
from store.schema import Session, Transition
from store.uow import UnitOfWork


async def recompute_intervals(uow: UnitOfWork, session_id: int) -> tuple[ev.Interval, ...]:
    """Rebuild a session's intervals from all of its evidence (order-free by construction)."""
    evidence = await uow.evidence.for_session(session_id)
    intervals = ev.build_intervals(evidence)
    await uow.intervals.replace(session_id, intervals)
    return intervals


async def start_on_join(
    uow: UnitOfWork, session: Session, *, joined_at: datetime, user_id: int, event_id: str
) -> Transition | None:
    """SCHEDULED/READY -> ONGOING on the first roster join at or after S - preparation."""
    if not awaits_start(session.status) or session.scheduled_at is None:
        return None
    settings = await settings_of(uow, session)
    if joined_at < settings.opens_at(session.scheduled_at):
        return None
    session.started_at = joined_at
    return await transition(
        uow,
        session,
        LifecycleEvent.START,
        at=joined_at,
        actor=Actor.evidence(event_id),
        details={"user_id": user_id},
    )


async def close_presence(uow: UnitOfWork, session: Session, *, at: datetime) -> None:
    """Whoever is still in the room is out from `at` on: a synthetic evidence row, so
    a rebuild from the inbox reaches the same intervals."""
    await uow.evidence.add_closed(
        session.id, session.session_code, at=at, event_id=closing_event_id(session.id)
    )
    await recompute_intervals(uow, session.id)


async def adopt_orphan_evidence(uow: UnitOfWork, session: Session) -> None:
    """Attach webhooks that arrived for this room before the session existed."""
    await uow.inbox.attach(session.session_code, session.id)
    if await uow.evidence.attach(session.session_code, session.id):
        await recompute_intervals(uow, session.id)
