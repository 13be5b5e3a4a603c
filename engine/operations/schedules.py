"""Recurring schedules: put, delete, and generate their sessions.

`put` keeps the pattern; a change of *when* or *for whom* sessions happen (type,
teacher, roster, weekdays, start time, duration, dates) withdraws the generated
sessions that have not started yet, so the next generation makes them again from
the new pattern. `delete` stops generation and withdraws them too.

`generate` makes one schedule's due sessions, inside its caller's transaction:

1. the schedule row is locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL: a schedule
   another replica is generating right now is left to it; SQLite serialises all
   writers anyway);
2. `rules.recurrence.plan_slots` names the slots due, from the slots recorded so
   far (generated ones count toward the monthly limit, skipped ones do not);
3. each slot is first *claimed* with an insert-or-ignore on the unique
   `(schedule_id, slot_start)` row, so no two ticks, however concurrent, can make
   two sessions for one slot; then either
   * a SCHEDULED session is born (settings frozen from the academy's rules,
     history row `generated` by `schedule:<id>`), or
   * when the teacher already has a standing session overlapping it, the slot is
     recorded as skipped with the reason, and the history of that other session
     gets a `slot_skipped` row saying which schedule slot it displaced;
4. skipped slots free their place in the month, so the plan is asked again until
   nothing more is due.

`due_schedules` is the cheap look that comes first: which schedules have a slot due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from engine.operations import lifecycle
from engine.operations.people import academy_named, check_people
from engine.operations.sessions import cancel
from engine.wire import iso_z
from rules.actors import Actor
from rules.codes import SessionType
from rules.errors import Conflict
from rules.lifecycle import LifecycleEvent
from rules.recurrence import (
    EARLIEST,
    WEEKDAYS,
    Recurrence,
    parse_start_time,
    parse_weekdays,
    plan_slots,
)
from rules.settings import resolve_settings
from store.schema import Schedule, Session
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.recurring")

# What a change of which withdraws the upcoming generated sessions.
SHAPING_FIELDS = (
    "type",
    "teacher_id",
    "student_ids",
    "weekdays",
    "start_time",
    "duration_minutes",
    "starts_on",
    "ends_on",
)
DELETED_REASON = "schedule deleted"
CHANGED_REASON = "schedule changed"

# Slots are read back this far: enough to count every slot of the current local month.
COUNT_BACK = timedelta(days=33)


@dataclass(frozen=True, slots=True)
class PutSchedule:
    """Create or replace schedule `schedule_id` with this weekly pattern."""

    actor: Actor
    schedule_id: int
    academy_id: int
    session_type: SessionType
    title: str
    teacher_id: int
    student_ids: tuple[int, ...]
    weekdays: tuple[str, ...]
    start_time: str
    duration_minutes: int
    starts_on: date
    ends_on: date | None
    monthly_session_limit: int | None
    generate_days_ahead: int

    def stored(self) -> dict[str, Any]:
        """The schedule's columns."""
        return {
            "academy_id": self.academy_id,
            "type": self.session_type.value,
            "title": self.title,
            "teacher_id": self.teacher_id,
            "student_ids": {"ids": list(self.student_ids)},
            "weekdays": {"days": sorted(set(self.weekdays), key=WEEKDAYS.index)},
            "start_time": self.start_time,
            "duration_minutes": self.duration_minutes,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "monthly_session_limit": self.monthly_session_limit,
            "generate_days_ahead": self.generate_days_ahead,
        }


@dataclass(frozen=True, slots=True)
class GeneratedSlot:
    schedule_id: int
    slot_start: datetime
    session_id: int
    session_code: str


@dataclass(frozen=True, slots=True)
class SkippedSlot:
    schedule_id: int
    slot_start: datetime
    reason: str
    conflicting_session_id: int


@dataclass(frozen=True, slots=True)
class Generation:
    """What generating one schedule did; `over_limit` counts the slots the monthly
    limit held back."""

    generated: tuple[GeneratedSlot, ...] = ()
    skipped: tuple[SkippedSlot, ...] = ()
    over_limit: int = 0


@dataclass(frozen=True, slots=True)
class DueSchedules:
    """Which active schedules have a slot due; `unreadable` ones cannot be planned."""

    due: tuple[int, ...] = ()
    unreadable: tuple[int, ...] = ()
    over_limit: int = 0


def _shaping(schedule: Schedule) -> tuple[Any, ...]:
    return tuple(
        sorted(getattr(schedule, name)["days"], key=WEEKDAYS.index)
        if name == "weekdays"
        else getattr(schedule, name)
        for name in SHAPING_FIELDS
    )


async def put(
    uow: UnitOfWork, existing: Schedule | None, command: PutSchedule, *, at: datetime
) -> Schedule:
    """Create or replace the schedule (`existing`, locked by the caller, when there is
    one); a reshaped active schedule withdraws its upcoming generated sessions."""
    if existing is not None and existing.academy_id != command.academy_id:
        raise Conflict(
            f"schedule {command.schedule_id} belongs to another academy; schedules do not move",
            details={"field": "academy_id"},
        )
    await academy_named(uow, command.academy_id)
    await check_people(
        uow,
        command.academy_id,
        command.teacher_id,
        list(command.student_ids),
        roster_field="student_ids",
    )
    before = _shaping(existing) if existing is not None and existing.active else None
    schedule = await uow.schedules.upsert(command.schedule_id, now=at, **command.stored())
    if before is not None and before != _shaping(schedule):
        await withdraw_upcoming(uow, schedule, now=at, actor=command.actor, reason=CHANGED_REASON)
    return schedule


async def delete(uow: UnitOfWork, schedule: Schedule, *, at: datetime, actor: Actor) -> Schedule:
    """Stop generating and withdraw the upcoming generated sessions; twice is harmless."""
    if schedule.active:
        schedule.active = False
        schedule.deleted_at = at
        schedule.updated_at = at
        await withdraw_upcoming(uow, schedule, now=at, actor=actor, reason=DELETED_REASON)
    return schedule


async def withdraw_upcoming(
    uow: UnitOfWork, schedule: Schedule, *, now: datetime, actor: Actor, reason: str
) -> list[Session]:
    """Cancel the schedule's generated sessions that start after `now` and have not
    started, and forget their slots and any skipped future slot."""
    sessions = await uow.schedules.upcoming_sessions(schedule.id, now, for_update=True)
    for session in sessions:
        await cancel(
            uow,
            session,
            at=now,
            actor=actor,
            reason=reason,
            details={"schedule_id": schedule.id},
        )
    await uow.schedules.forget_slots(schedule.id, after=now, session_ids=[s.id for s in sessions])
    return sessions


def _since(now: datetime) -> datetime:
    """How far back slots are read (clamped at the start of time)."""
    return max(now, EARLIEST + COUNT_BACK) - COUNT_BACK


def recurrence_of(schedule: Schedule, zone: str) -> Recurrence:
    """The pure rule of a stored schedule (ValueError if the row cannot be one)."""
    return Recurrence(
        weekdays=parse_weekdays(schedule.weekdays.get("days", [])),
        start_time=parse_start_time(schedule.start_time),
        zone=zone,
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        generate_days_ahead=schedule.generate_days_ahead,
        monthly_session_limit=schedule.monthly_session_limit,
    )


async def due_schedules(
    uow: UnitOfWork, now: datetime, *, academy_id: int | None = None
) -> DueSchedules:
    """The active schedules that have a slot due, from one unlocked read of every
    schedule and its recent slots; only those are then locked and generated (where
    the plan is made again under the lock). An idle tick costs three queries."""
    schedules = await uow.schedules.active(academy_id)
    zones = await uow.academies.zones()
    slots = await uow.schedules.slot_starts_since([s.id for s in schedules], _since(now))
    due, unreadable, over_limit = [], [], 0
    for schedule in schedules:
        recorded = slots[schedule.id]
        try:
            rule = recurrence_of(schedule, zones.get(schedule.academy_id, "UTC"))
            plan = plan_slots(
                rule,
                now=now,
                known=[start for start, _ in recorded],
                counted=[start for start, generated in recorded if generated],
            )
        except Exception:
            log.exception("schedule_unreadable", schedule_id=schedule.id)
            unreadable.append(schedule.id)
            continue
        if plan.due:
            due.append(schedule.id)
        else:
            over_limit += len(plan.over_limit)
    return DueSchedules(due=tuple(due), unreadable=tuple(unreadable), over_limit=over_limit)


async def generate(uow: UnitOfWork, schedule_id: int, now: datetime) -> Generation:
    """One schedule's due sessions as of `now` (nothing while another transaction
    generates it, or once it is deleted)."""
    schedule = await uow.schedules.get(schedule_id, for_update=True, skip_locked=True)
    if schedule is None or not schedule.active:
        return Generation()
    academy = await uow.academies.get(schedule.academy_id)
    assert academy is not None
    rule = recurrence_of(schedule, academy.timezone)
    session_type = SessionType(schedule.type)
    settings = resolve_settings(academy.rules or {}, session_type.value).to_dict()
    roster = list(schedule.student_ids.get("ids", []))
    duration = timedelta(minutes=schedule.duration_minutes)
    actor = Actor.schedule(schedule.id)

    recorded = (await uow.schedules.slot_starts_since([schedule.id], _since(now)))[schedule.id]
    known = {start for start, _ in recorded}
    counted = {start for start, generated in recorded if generated}
    generated: list[GeneratedSlot] = []
    skipped: list[SkippedSlot] = []
    teacher_held = False
    while True:
        plan = plan_slots(rule, now=now, known=known, counted=counted)
        if not plan.due:
            return Generation(tuple(generated), tuple(skipped), len(plan.over_limit))
        if not teacher_held:
            # Hold the teacher's row (as scheduling by hand does), so no other session
            # can take the teacher's time between the overlap check and the insert.
            await uow.users.lock(schedule.teacher_id)
            teacher_held = True
        for start in plan.due:
            known.add(start)
            slot_id = await uow.schedules.claim_slot(schedule.id, start, now=now)
            if slot_id is None:
                continue  # recorded meanwhile by another tick: it is that tick's slot
            other = await uow.sessions.teacher_overlap(
                schedule.teacher_id, start, start + duration, exclude_id=None
            )
            if other is not None:
                skipped.append(await _skip(uow, schedule, slot_id, start, other, now))
                continue
            session = await lifecycle.create(
                uow,
                LifecycleEvent.GENERATE,
                at=now,
                actor=actor,
                details={"schedule_id": schedule.id, "slot_start": iso_z(start)},
                academy_id=schedule.academy_id,
                session_type=session_type,
                title=schedule.title,
                duration_minutes=schedule.duration_minutes,
                teacher_id=schedule.teacher_id,
                student_ids=roster,
                scheduled_at=start,
                ends_at=start + duration,
                settings=settings,
                schedule_id=schedule.id,
            )
            await uow.schedules.resolve_slot(slot_id, session_id=session.id)
            counted.add(start)
            generated.append(GeneratedSlot(schedule.id, start, session.id, session.session_code))


async def _skip(
    uow: UnitOfWork,
    schedule: Schedule,
    slot_id: int,
    start: datetime,
    other: Session,
    now: datetime,
) -> SkippedSlot:
    reason = (
        f"teacher {schedule.teacher_id} already has session {other.session_code} "
        f"at {iso_z(other.scheduled_at or start)}"
    )
    await uow.schedules.resolve_slot(slot_id, skipped_reason=reason)
    lifecycle.note(
        uow,
        other,
        LifecycleEvent.SLOT_SKIPPED,
        at=now,
        actor=Actor.schedule(schedule.id),
        details={
            "schedule_id": schedule.id,
            "slot_start": iso_z(start),
            "reason": "teacher_overlap",
            "message": reason,
        },
    )
    log.info("schedule_slot_skipped", schedule_id=schedule.id, slot_start=iso_z(start))
    return SkippedSlot(schedule.id, start, reason, other.id)
