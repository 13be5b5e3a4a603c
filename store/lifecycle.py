"""Lifecycle operations: the rules' decisions carried out inside one unit of work.

Every caller (webhook intake, the HTTP API, the sweeper) moves sessions through
these functions, so a transition is always recorded, counted and charged the same
way. The caller holds the session row locked (`get(..., for_update=True)`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rules import evidence as ev
from rules.attendance import AttendanceStatus
from rules.charging import (
    ChargeDecision,
    ChargeStatus,
    SubscriptionView,
    choose_subscription,
    counts_for_teacher,
    decide_charge,
    plan_charges,
)
from rules.codes import SessionType, is_individual, kind_of
from rules.lifecycle import LifecycleEvent, Status, apply
from store.attendance import SessionAttendance, session_attendance, settings_of
from store.metrics import CHARGES, TRANSITIONS
from store.repositories.evidence import to_rule_evidence
from store.schema import Charge, Evidence, Session, Transition
from store.uow import UnitOfWork


async def transition(
    uow: UnitOfWork,
    session: Session,
    event: LifecycleEvent,
    *,
    at: datetime,
    actor: str,
    details: dict[str, Any] | None = None,
) -> Transition:
    """Apply one lifecycle event; raises IllegalTransition and changes nothing if not allowed."""
    old = Status(session.status)
    new = apply(old, event)
    row = uow.transitions.record(
        session.id,
        from_status=old.value,
        to_status=new.value,
        event=event.value,
        at=at,
        actor=actor,
        details=details,
    )
    session.status = new.value
    session.updated_at = at
    session.revision += 1
    uow.after_commit(lambda: TRANSITIONS.labels(old.value, new.value).inc())
    return row


async def recompute_intervals(uow: UnitOfWork, session_id: int) -> tuple[ev.Interval, ...]:
    """Rebuild a session's intervals from all of its evidence (order-free by construction)."""
    rows = await uow.evidence.for_session(session_id)
    intervals = ev.build_intervals(to_rule_evidence(r) for r in rows)
    await uow.intervals.replace(session_id, intervals)
    return intervals


async def start_on_join(
    uow: UnitOfWork, session: Session, *, joined_at: datetime, user_id: int, event_id: str
) -> Transition | None:
    """SCHEDULED/READY -> ONGOING on the first roster join at or after S - preparation."""
    if session.status not in (Status.SCHEDULED, Status.READY) or session.scheduled_at is None:
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
        actor=f"evidence:{event_id}",
        details={"user_id": user_id},
    )


async def finish_session(
    uow: UnitOfWork,
    session: Session,
    *,
    at: datetime,
    actor: str,
    roster: list[int] | None = None,
) -> SessionAttendance:
    """READY/ONGOING -> COMPLETED or ABSENT: close intervals, settle verdicts and charges.
    `roster`, when the caller has read it in this transaction, saves reading it again."""
    if session.status not in (Status.READY, Status.ONGOING):
        # Let the table name the refusal (e.g. completing a cancelled session).
        apply(Status(session.status), LifecycleEvent.COMPLETE)
    session.ended_at = at
    await _close_presence(uow, session, at=at)
    attendance = await session_attendance(uow, session, now=at, finished=True, roster=roster)
    event = LifecycleEvent.COMPLETE
    if is_individual(SessionType(session.type)) and all(
        s.verdict.status is AttendanceStatus.ABSENT for s in attendance.students
    ):
        event = LifecycleEvent.MARK_ABSENT
    await transition(uow, session, event, at=at, actor=actor)
    session.counts_for_teacher = counts_for_teacher(
        attendance.teacher_meeting.attendance_percentage, attendance.settings
    )
    session.subscription_counted = True
    await settle_charges(uow, session, attendance, at=at)
    _close_room(uow, session, at=at)
    return attendance


async def cancel_session(
    uow: UnitOfWork,
    session: Session,
    *,
    at: datetime,
    actor: str,
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
    await _close_presence(uow, session, at=at)
    _close_room(uow, session, at=at)
    return row


async def _close_presence(uow: UnitOfWork, session: Session, *, at: datetime) -> None:
    """Whoever is still in the room is out from `at` on: a synthetic evidence row, so
    a rebuild from the inbox reaches the same intervals."""
    await uow.evidence.add(
        Evidence(
            event_id=f"closed:{session.id}",
            source="system",
            kind="session_closed",
            room_name=session.session_code,
            session_id=session.id,
            at=at,
            decisive=True,
        )
    )
    await recompute_intervals(uow, session.id)


def _close_room(uow: UnitOfWork, session: Session, *, at: datetime) -> None:
    if session.meeting_room_name:
        uow.rooms.enqueue("delete_room", session.meeting_room_name, now=at, session_id=session.id)


async def settle_charges(
    uow: UnitOfWork, session: Session, attendance: SessionAttendance, *, at: datetime
) -> list[ChargeDecision]:
    """Write each student's ledger row once; later verdict changes update the row in
    place (never a second row), and a hand-set row is never touched."""
    rows: dict[int, Charge] = {}  # read in this transaction, with the attendance
    decisions = []
    for student in attendance.students:
        row = student.charge
        if row is not None:
            rows[student.user_id] = row
            if row.hand_set:
                continue
        subscription = await subscription_for(uow, session, student.user_id, row, at=at)
        decisions.append(
            decide_charge(
                student_id=student.user_id,
                verdict=student.verdict.status,
                student_percentage=student.verdict.meeting.attendance_percentage,
                teacher_percentage=attendance.teacher_meeting.attendance_percentage,
                subscription=subscription,
                settings=attendance.settings,
            )
        )
    written = []
    for decision in plan_charges(decisions, already_charged=rows):
        # The unique (session, student) key refuses a row another replica wrote first.
        if await uow.charges.charge(session.id, decision, now=at):
            written.append(decision)
            _count_charge(uow, decision.status)
    for decision in decisions:
        row = rows.get(decision.student_id)
        if row is not None and (row.status, row.reason, row.subscription_id, row.verdict) != (
            decision.status.value,
            decision.reason,
            decision.subscription_id,
            decision.verdict.value,
        ):
            row.status = decision.status.value
            row.reason = decision.reason
            row.subscription_id = decision.subscription_id
            row.verdict = decision.verdict.value
            row.updated_at = at
            written.append(decision)
    return written


async def subscription_for(
    uow: UnitOfWork, session: Session, student_id: int, row: Charge | None, *, at: datetime
) -> SubscriptionView | None:
    """The subscription a counted session goes to (CONTRACT 4.4): the one its charged
    row already names while the student still has it, else the rule's choice. The
    student's subscriptions are read locked, so usage is counted under the lock."""
    kind = kind_of(SessionType(session.type))
    views = await uow.subscriptions.views_for(student_id, session.academy_id, kind, lock=True)
    if row is not None and row.status == ChargeStatus.CHARGED and row.subscription_id:
        kept = next((v for v in views if v.id == row.subscription_id), None)
        if kept is not None:
            return kept
    return choose_subscription(views, kind=kind, at=session.scheduled_at or at)


def _count_charge(uow: UnitOfWork, status: ChargeStatus) -> None:
    uow.after_commit(lambda: CHARGES.labels(status.value).inc())


async def adopt_orphan_evidence(uow: UnitOfWork, session: Session) -> None:
    """Attach webhooks that arrived for this room before the session existed."""
    await uow.inbox.attach(session.session_code, session.id)
    if await uow.evidence.attach(session.session_code, session.id):
        await recompute_intervals(uow, session.id)
