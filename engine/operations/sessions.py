"""Sessions: create, schedule, cancel, complete, make-up.

Each operation takes the session row its caller has loaded (and checked the caller
may act on), a frozen command saying who asks for what, and the moment; it never
commits. Every status change goes through `engine.operations.lifecycle`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.operations import lifecycle, slots
from engine.operations.lifecycle import transition
from engine.operations.people import academy_named, check_people
from engine.operations.presence import adopt_orphan_evidence, close_presence, start_from_evidence
from engine.operations.verdicts import close_room, finalise
from engine.wire import wire_time
from rules.actors import Actor
from rules.codes import SessionType, is_individual
from rules.errors import Conflict
from rules.lifecycle import LifecycleEvent, Status, apply, takes_makeup
from store.faults import Taken
from store.schema import Session, Transition
from store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class CreateSession:
    """A new UNSCHEDULED session; `extra` holds the fields of its type."""

    actor: Actor
    academy_id: int
    session_type: SessionType
    title: str
    duration_minutes: int
    teacher_id: int
    student_ids: Sequence[int]
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The platform's own id for it, unique in the academy: a repeat finds this session.
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedSession:
    """What `create` gives: the session, and whether this call made it (False: the
    request repeats the one that made it, under the same `external_id`)."""

    session: Session
    created: bool


@dataclass(frozen=True, slots=True)
class ScheduleSession:
    actor: Actor
    scheduled_at: datetime


@dataclass(frozen=True, slots=True)
class CancelSession:
    """A cancellation asked for by hand; `cancelled_by` is the person it is recorded under."""

    actor: Actor
    reason: str
    cancelled_by: int | None = None


@dataclass(frozen=True, slots=True)
class CompleteSession:
    actor: Actor


@dataclass(frozen=True, slots=True)
class CreateMakeup:
    """A make-up of a cancelled or absent session, SCHEDULED at once with `scheduled_at`."""

    actor: Actor
    scheduled_at: datetime | None = None


async def create(uow: UnitOfWork, command: CreateSession, *, at: datetime) -> CreatedSession:
    """A new UNSCHEDULED session of an existing academy, its teacher and students checked;
    evidence its room received before it existed is adopted. With an `external_id` the
    academy already knows, the session it names when the request is the same (409
    when it is another): a retry, or two racing ones, make one session."""
    await academy_named(uow, command.academy_id)
    digest = request_sha256(command) if command.external_id is not None else None
    if command.external_id is not None:
        earlier = await uow.sessions.by_external_id(command.academy_id, command.external_id)
        if earlier is not None:
            return _repeated(earlier, command, digest)
    individual = is_individual(command.session_type)
    await check_people(
        uow,
        command.academy_id,
        command.teacher_id,
        list(command.student_ids),
        roster_field="student_id" if individual else "student_ids",
    )
    key = course_key(command.session_type, command.extra)
    if key:
        await _check_number_free(uow, command, key)
    if command.external_id is None and not key:
        session = await _insert(uow, command, at=at)
    else:
        # The lookups above cannot see a racing create that has not committed; the
        # unique indexes decide, and the savepoint also undoes the loser's code number.
        stamp = {} if digest is None else {"external_request_sha256": digest}
        try:
            async with uow.savepoint():
                session = await _insert(uow, command, at=at, **key, **stamp)
        except Taken:
            if command.external_id is not None:
                earlier = await uow.sessions.by_external_id(command.academy_id, command.external_id)
                if earlier is not None:
                    return _repeated(earlier, command, digest)
            if key:
                await _check_number_free(uow, command, key)
            raise
    await adopt_orphan_evidence(uow, session, now=at)
    return CreatedSession(session, created=True)


def course_key(session_type: SessionType, extra: dict[str, Any]) -> dict[str, int]:
    """`course_id` and `session_number` of a course session that has both, else {}:
    what the unique index of a course's numbers holds."""
    key = {name: extra.get(name) for name in ("course_id", "session_number")}
    if is_individual(session_type) or None in key.values():
        return {}
    return {name: int(value) for name, value in key.items() if value is not None}


async def _check_number_free(uow: UnitOfWork, command: CreateSession, key: dict[str, int]) -> None:
    taken = await uow.sessions.by_course_number(
        command.academy_id, command.session_type.value, key["course_id"], key["session_number"]
    )
    if taken is not None:
        raise Conflict(
            f"session {key['session_number']} of course {key['course_id']} is "
            f"{taken.session_code} already",
            details={"session_id": taken.id, "session_code": taken.session_code, **key},
        )


async def _insert(
    uow: UnitOfWork, command: CreateSession, *, at: datetime, **fields: Any
) -> Session:
    return await lifecycle.create(
        uow,
        LifecycleEvent.CREATE,
        at=at,
        actor=command.actor,
        academy_id=command.academy_id,
        session_type=command.session_type,
        title=command.title,
        duration_minutes=command.duration_minutes,
        teacher_id=command.teacher_id,
        student_ids=command.student_ids,
        description=command.description,
        extra=dict(command.extra),
        external_id=command.external_id,
        **fields,
    )


def _repeated(earlier: Session, command: CreateSession, digest: str | None) -> CreatedSession:
    if earlier.external_request_sha256 != digest:
        raise Conflict(
            f"external_id {command.external_id!r} already names session "
            f"{earlier.session_code}, created by another request",
            details={
                "session_id": earlier.id,
                "session_code": earlier.session_code,
                "external_id": command.external_id,
            },
        )
    return CreatedSession(earlier, created=False)


def request_sha256(command: CreateSession) -> str:
    """The create request in a canonical form, hashed: the same values give the same
    digest whatever the order or spacing of the JSON, a null is the same as a field left
    out, and a roster is a set. Who asks is no part of it (a retry may come under
    another credential)."""
    canonical = {
        "academy_id": command.academy_id,
        "type": command.session_type.value,
        "title": command.title,
        "description": command.description,
        "duration_minutes": command.duration_minutes,
        "teacher_id": command.teacher_id,
        "student_ids": sorted(command.student_ids),
        "extra": {name: value for name, value in command.extra.items() if value is not None},
        "external_id": command.external_id,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def schedule(
    uow: UnitOfWork, session: Session, command: ScheduleSession, *, at: datetime
) -> Session:
    """UNSCHEDULED -> SCHEDULED at `command.scheduled_at`, the academy's rules frozen,
    once the teacher is free then (409 otherwise)."""
    apply(Status(session.status), LifecycleEvent.SCHEDULE)  # 409 before anything else
    slot = await slots.claim_like(uow, session, command.scheduled_at, exclude_id=session.id)
    session.scheduled_at = slot.scheduled_at
    session.ends_at = slot.ends_at
    session.settings = slot.settings
    await transition(
        uow,
        session,
        LifecycleEvent.SCHEDULE,
        at=at,
        actor=command.actor,
        details={"scheduled_at": wire_time(command.scheduled_at)},
    )
    await start_from_evidence(uow, session, now=at)  # joins its room saw before
    return session


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
    # A cancelled lesson gives its number in the course back (it still shows it).
    session.course_id = session.session_number = None
    await close_presence(uow, session, at=at)
    close_room(uow, session, at=at)
    return row


async def cancel_on_request(
    uow: UnitOfWork, session: Session, command: CancelSession, *, at: datetime
) -> Session:
    """`cancel`, asked for by hand: the history names who cancelled."""
    await cancel(
        uow,
        session,
        at=at,
        actor=command.actor,
        reason=command.reason,
        cancelled_by=command.cancelled_by,
        details={"cancelled_by": command.cancelled_by},
    )
    return session


async def complete(
    uow: UnitOfWork, session: Session, command: CompleteSession, *, at: datetime
) -> Session:
    """End a READY or ONGOING session now: COMPLETED, or ABSENT for an individual
    session whose student is absent; verdicts and charges settled, the room closed."""
    await finalise(uow, session, at=at, actor=command.actor)
    return session


async def make_up(
    uow: UnitOfWork, original: Session, command: CreateMakeup, *, at: datetime
) -> Session:
    """A make-up copying the original (a cancelled or absent session that has no standing
    make-up yet), UNSCHEDULED or SCHEDULED in a free slot of the teacher; both sessions'
    histories record it."""
    if not takes_makeup(original.status):
        raise Conflict(
            f"only a cancelled or absent session gets a make-up; this one is {original.status!r}",
            details={"current_status": original.status},
        )
    earlier = await uow.sessions.standing_makeup(original.id)
    if earlier is not None:
        raise Conflict(
            f"session {original.session_code} already has make-up {earlier.session_code}",
            details={
                "current_status": original.status,
                "makeup_session_id": earlier.id,
                "makeup_session_code": earlier.session_code,
            },
        )
    fields: dict[str, Any] = {}
    if command.scheduled_at is not None:
        slot = await slots.claim_like(uow, original, command.scheduled_at, exclude_id=None)
        fields = slot.fields()
    makeup = await lifecycle.create(
        uow,
        LifecycleEvent.MAKEUP_CREATED,
        at=at,
        actor=command.actor,
        details={
            "makeup_of_id": original.id,
            "makeup_of_code": original.session_code,
            "scheduled_at": wire_time(fields.get("scheduled_at")),
        },
        academy_id=original.academy_id,
        session_type=SessionType(original.type),
        title=original.title,
        duration_minutes=original.duration_minutes,
        teacher_id=original.teacher_id,
        student_ids=await uow.sessions.roster(original.id),
        description=original.description,
        extra=dict(original.extra or {}),
        is_makeup_session=True,
        makeup_of_id=original.id,
        **fields,
    )
    lifecycle.note(
        uow,
        original,
        LifecycleEvent.MAKEUP_CREATED,
        at=at,
        actor=command.actor,
        details={
            "makeup_session_id": makeup.id,
            "makeup_session_code": makeup.session_code,
            "scheduled_at": wire_time(makeup.scheduled_at),
        },
    )
    return makeup
