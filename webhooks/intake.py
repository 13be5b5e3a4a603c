"""Write one verified event inside a unit of work: inbox, evidence, intervals, trigger.

The caller commits; until then nothing is visible, and a failure anywhere rolls
all of it back together (the inbox row included, so LiveKit's retry is taken in
as new). Locks are always taken in one order, inbox row first, then the session
row, so concurrent deliveries, the sweeper and `rebuild` cannot deadlock.

    inbox insert-or-ignore on the event id,
      attached to the session of its room            -> duplicate: stop here
    that session, row-locked                         -> unknown room: kept as an orphan
    evidence row + recompute the session's intervals
    trigger: first roster join -> ONGOING; a join into a finished session -> removal
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from engine.operations.presence import recompute_intervals, start_on_join
from engine.operations.settings import settings_of
from rules.lifecycle import TERMINAL, Status
from store.schema import Evidence, Session
from store.uow import UnitOfWork
from webhooks.derive import derive_evidence
from webhooks.parse import LiveKitEvent


@dataclass(frozen=True, slots=True)
class Intake:
    """What taking one event in did."""

    status: Literal["accepted", "duplicate"]
    session_id: int | None = None
    evidence: str | None = None  # the evidence kind written, if any
    started: bool = False  # moved its session to ONGOING
    removal: bool = False  # flagged the participant for removal from the room


async def take_in(uow: UnitOfWork, event: LiveKitEvent, body: bytes, *, now: datetime) -> Intake:
    """Store `event` (its raw `body` as received) and everything derived from it."""
    evidence = derive_evidence(event)
    stored = await uow.inbox.add(
        event_id=event.id,
        event=event.event,
        room_name=event.room_name,
        room_sid=event.room_sid,
        occurred_at=event.created_at,
        received_at=now,
        body=body,
        state="ignored" if evidence is None else "processed",
    )
    if stored is None:
        return Intake("duplicate")
    if evidence is None:
        return Intake("accepted", session_id=stored.session_id)
    session = None
    if stored.session_id is not None:
        session = await uow.sessions.get(stored.session_id, for_update=True)
    evidence.session_id = session.id if session else None
    await uow.evidence.add(evidence)
    if session is None:
        return Intake("accepted", evidence=evidence.kind)
    await recompute_intervals(uow, session.id)
    started = removal = False
    if evidence.kind == "joined":
        started, removal = await _on_join(uow, session, evidence, now=now)
    return Intake(
        "accepted", session_id=session.id, evidence=evidence.kind, started=started, removal=removal
    )


async def _on_join(
    uow: UnitOfWork, session: Session, evidence: Evidence, *, now: datetime
) -> tuple[bool, bool]:
    """(started, flagged for removal) for a join into `session` (row-locked)."""
    status = Status(session.status)
    if status in TERMINAL:  # recorded, and the participant removed from the room
        uow.rooms.enqueue(
            "remove_participant",
            session.session_code,
            now=now,
            session_id=session.id,
            identity=evidence.identity,
        )
        return False, True
    if not evidence.decisive or evidence.user_id is None:
        return False, False
    if evidence.user_id != session.teacher_id and evidence.user_id not in set(
        await uow.sessions.roster(session.id)
    ):
        return False, False
    if status in (Status.SCHEDULED, Status.READY):
        moved = await start_on_join(
            uow,
            session,
            joined_at=evidence.at,
            user_id=evidence.user_id,
            event_id=evidence.event_id,
        )
        return moved is not None, False
    if status is Status.ONGOING and session.started_at and evidence.at < session.started_at:
        await _start_earlier(uow, session, evidence.at, now=now)
    return False, False


async def _start_earlier(uow: UnitOfWork, session: Session, at: datetime, *, now: datetime) -> None:
    """A roster join earlier than the one that started the session arrived late:
    `started_at` is the first join by event time, never by arrival (CONTRACT 3)."""
    if session.scheduled_at is None:
        return
    settings = await settings_of(uow, session)
    if at >= settings.opens_at(session.scheduled_at):
        session.started_at = at
        session.updated_at = now
