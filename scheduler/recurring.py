"""Sessions from recurring schedules: `generate(db, now)`, run by every sweep.

For each active schedule, in its own transaction:

1. the schedule row is locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL: a schedule
   another replica is generating right now is left to it; SQLite serialises all
   writers anyway);
2. `rules.recurrence.plan_slots` names the slots due, from the slots recorded so
   far (generated ones count toward the monthly limit, skipped ones do not);
3. each slot is first *claimed* with an insert-or-ignore on the unique
   `(schedule_id, slot_start)` row, so no two ticks, however concurrent, can make
   two sessions for one slot; then either
   * a SCHEDULED session is created (settings frozen from the academy's rules,
     history row `generated` by `schedule:<id>`), or
   * when the teacher already has a non-cancelled session overlapping it, the slot
     is recorded as skipped with the reason, and the history of that other
     session gets a `slot_skipped` row saying which schedule slot it displaced;
4. skipped slots free their place in the month, so the plan is asked again until
   nothing more is due.

`withdraw_upcoming` is what deleting or reshaping a schedule does to the sessions
it generated that have not started yet: cancel them, and forget their slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select

from engine.operations import lifecycle
from engine.operations.sessions import cancel as cancel_session
from engine.wire import iso_z
from rules.actors import Actor
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent
from rules.recurrence import (
    EARLIEST,
    Recurrence,
    parse_start_time,
    parse_weekdays,
    plan_slots,
)
from rules.settings import resolve_settings
from store.database import Database
from store.schema import Academy, Schedule, Session, User
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.recurring")

# Slots are read back this far: enough to count every slot of the current local month.
COUNT_BACK = timedelta(days=33)


def _since(now: datetime) -> datetime:
    """How far back slots are read (clamped at the start of time)."""
    return max(now, EARLIEST + COUNT_BACK) - COUNT_BACK


def actor_of(schedule_id: int) -> Actor:
    return Actor.schedule(schedule_id)


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


@dataclass(slots=True)
class GenerationReport:
    """What one `generate` run did, across all schedules."""

    generated: list[GeneratedSlot] = field(default_factory=list)
    skipped: list[SkippedSlot] = field(default_factory=list)
    over_limit: int = 0
    failed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "generated": [
                {
                    "schedule_id": g.schedule_id,
                    "slot_start": iso_z(g.slot_start),
                    "session_id": g.session_id,
                    "session_code": g.session_code,
                }
                for g in self.generated
            ],
            "skipped": [
                {
                    "schedule_id": s.schedule_id,
                    "slot_start": iso_z(s.slot_start),
                    "reason": s.reason,
                    "conflicting_session_id": s.conflicting_session_id,
                }
                for s in self.skipped
            ],
            "over_limit": self.over_limit,
            "failed": list(self.failed),
        }


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


async def generate(database: Database, now: datetime) -> GenerationReport:
    """Create the due sessions of every active schedule as of `now`. Safe to run any
    number of times, concurrently, on any number of replicas."""
    report = GenerationReport()
    for schedule_id in await _with_due_slots(database, now, report):
        try:
            async with database.uow() as uow:
                await generate_one(uow, schedule_id, now, report)
                await uow.commit()
        except (OSError, ConnectionError):
            raise
        except Exception:
            log.exception("schedule_generation_failed", schedule_id=schedule_id)
            report.failed.append(schedule_id)
    if report.generated or report.skipped:
        log.info(
            "schedules_generated",
            at=iso_z(now),
            generated=len(report.generated),
            skipped=len(report.skipped),
        )
    return report


async def _with_due_slots(database: Database, now: datetime, report: GenerationReport) -> list[int]:
    """The active schedules that have a slot due, from one unlocked read of every
    schedule and its recent slots; only those are then locked and generated (where
    the plan is made again under the lock). An idle tick costs two queries."""
    async with database.uow() as uow:
        schedules = await uow.schedules.active()
        zones = {
            academy_id: zone
            for academy_id, zone in await uow.session.execute(select(Academy.id, Academy.timezone))
        }
        slots = await uow.schedules.slot_starts_since([s.id for s in schedules], _since(now))
        uow.session.expunge_all()
    due = []
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
            report.failed.append(schedule.id)
            continue
        if plan.due:
            due.append(schedule.id)
        else:
            report.over_limit += len(plan.over_limit)
    return due


async def generate_one(
    uow: UnitOfWork, schedule_id: int, now: datetime, report: GenerationReport
) -> None:
    """One schedule's due slots, inside the caller's transaction (committed by it)."""
    schedule = await uow.schedules.get(schedule_id, for_update=True, skip_locked=True)
    if schedule is None or not schedule.active:
        return
    academy = await uow.session.get(Academy, schedule.academy_id)
    assert academy is not None
    rule = recurrence_of(schedule, academy.timezone)
    session_type = SessionType(schedule.type)
    settings = resolve_settings(academy.rules or {}, session_type.value).to_dict()
    roster = list(schedule.student_ids.get("ids", []))
    duration = timedelta(minutes=schedule.duration_minutes)

    recorded = (await uow.schedules.slot_starts_since([schedule.id], _since(now)))[schedule.id]
    known = {start for start, _ in recorded}
    counted = {start for start, generated in recorded if generated}
    teacher_held = False
    while True:
        plan = plan_slots(rule, now=now, known=known, counted=counted)
        if not plan.due:
            report.over_limit += len(plan.over_limit)
            return
        if not teacher_held:
            # Hold the teacher's row (as scheduling by hand does), so no other session
            # can take the teacher's time between the overlap check and the insert.
            await uow.session.execute(
                select(User.id).where(User.id == schedule.teacher_id).with_for_update()
            )
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
                report.skipped.append(await _skip(uow, schedule, slot_id, start, other, now))
                continue
            session = await lifecycle.create(
                uow,
                LifecycleEvent.GENERATE,
                at=now,
                actor=actor_of(schedule.id),
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
            report.generated.append(
                GeneratedSlot(schedule.id, start, session.id, session.session_code)
            )


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
        actor=actor_of(schedule.id),
        details={
            "schedule_id": schedule.id,
            "slot_start": iso_z(start),
            "reason": "teacher_overlap",
            "message": reason,
        },
    )
    log.info("schedule_slot_skipped", schedule_id=schedule.id, slot_start=iso_z(start))
    return SkippedSlot(schedule.id, start, reason, other.id)


async def withdraw_upcoming(
    uow: UnitOfWork, schedule: Schedule, *, now: datetime, actor: Actor, reason: str
) -> list[Session]:
    """Cancel the schedule's generated sessions that start after `now` and have not
    started, and forget their slots and any skipped future slot."""
    sessions = await uow.schedules.upcoming_sessions(schedule.id, now, for_update=True)
    for session in sessions:
        await cancel_session(
            uow,
            session,
            at=now,
            actor=actor,
            reason=reason,
            details={"schedule_id": schedule.id},
        )
    await uow.schedules.forget_slots(schedule.id, after=now, session_ids=[s.id for s in sessions])
    return sessions
