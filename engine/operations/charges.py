"""Charges: each student's one row per session, settled from the verdicts (CONTRACT 4.4).

A row is written once; later verdict changes update it in place (never a second
row), and a row set by hand is never touched by the rules again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from engine.operations.attendance import SessionAttendance, session_attendance
from rules.actors import Actor, AuditKind
from rules.attendance import AttendanceStatus
from rules.charging import (
    ChargeDecision,
    ChargeStatus,
    SubscriptionView,
    choose_subscription,
    decide_charge,
    plan_charges,
)
from rules.codes import SessionType, kind_of
from rules.errors import Conflict
from rules.lifecycle import accepts_reports, is_finished
from store.metrics import CHARGES
from store.schema import Charge, Session
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.charges")

HAND_SET = "hand_set"  # the reason of a charge set by hand


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
            _log_charge(uow, session.id, decision, was=None)
    for decision in decisions:
        row = rows.get(decision.student_id)
        if row is not None and (row.status, row.reason, row.subscription_id, row.verdict) != (
            decision.status.value,
            decision.reason,
            decision.subscription_id,
            decision.verdict.value,
        ):
            was = row.status
            uow.charges.update(row, decision, at=at)
            written.append(decision)
            _log_charge(uow, session.id, decision, was=was)
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


def _log_charge(
    uow: UnitOfWork,
    session_id: int,
    decision: ChargeDecision,
    *,
    was: str | None,
    actor: Actor | None = None,
) -> None:
    """One line per ledger row written (`from_status` null) or changed, once it is
    committed; `actor` null is the charging rules themselves."""
    fields = {
        "session_id": session_id,
        "student_id": decision.student_id,
        "from_status": was,
        "status": decision.status.value,
        "reason": decision.reason,
        "subscription_id": decision.subscription_id,
        "verdict": decision.verdict.value,
        "actor": None if actor is None else str(actor),
    }
    uow.after_commit(lambda: log.info("charge", **fields))


def charge_snapshot(row: Charge | None) -> dict[str, Any]:
    """A charge as answers and the audit log show it (`none` before there is one)."""
    if row is None:
        return {"status": "none", "reason": None, "subscription_id": None}
    return {"status": row.status, "reason": row.reason, "subscription_id": row.subscription_id}


@dataclass(frozen=True, slots=True)
class SetCharge:
    """Set one student's charge by hand: `counts` charges (or marks it unbilled without
    a subscription), otherwise it is waived."""

    student_id: int
    counts: bool
    reason: str


def _row_fields(row: Charge | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "status": row.status,
        "reason": row.reason,
        "subscription_id": row.subscription_id,
        "verdict": row.verdict,
        "hand_set": row.hand_set,
    }


async def set_by_hand(
    uow: UnitOfWork, session: Session, command: SetCharge, *, at: datetime, actor: Actor
) -> Charge:
    """Write or update the student's one row, marked hand-set so the rules never change
    it again; its reason is `hand_set`, the person's reason goes to the audit log with
    the row before and after. The caller holds the session row locked and has checked
    the roster."""
    if not accepts_reports(session.status):
        raise Conflict(
            "a cancelled session is never charged",
            details={"current_status": session.status},
        )
    student_id = command.student_id
    row = (await uow.charges.for_session(session.id)).get(student_id)
    before = _row_fields(row)
    verdict = AttendanceStatus.PENDING
    if is_finished(session.status):
        attendance = await session_attendance(uow, session, now=at)
        verdict = attendance.student(student_id).verdict.status
    subscription_id = None
    status = ChargeStatus.WAIVED
    if command.counts:
        subscription = await subscription_for(uow, session, student_id, row, at=at)
        subscription_id = subscription.id if subscription else None
        status = ChargeStatus.CHARGED if subscription_id else ChargeStatus.UNBILLED
    decision = ChargeDecision(student_id, status, HAND_SET, subscription_id, verdict)
    was = None if row is None else row.status
    if row is None:
        await uow.charges.charge(session.id, decision, now=at, hand_set=True)
        row = (await uow.charges.for_session(session.id))[student_id]
    uow.charges.update(row, decision, at=at, hand_set=True)
    _log_charge(uow, session.id, decision, was=was, actor=actor)
    uow.audit.record(
        session.id,
        student_id=student_id,
        kind=AuditKind.CHARGE,
        actor=actor,
        at=at,
        reason=command.reason,
        before=before,
        after=_row_fields(row),
    )
    return row
