"""Charges: each student's one row per session, settled from the verdicts (CONTRACT 4.4).

A row is written once; later verdict changes update it in place (never a second
row), and a row set by hand is never touched by the rules again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rules.charging import (
    ChargeDecision,
    ChargeStatus,
    SubscriptionView,
    choose_subscription,
    decide_charge,
    plan_charges,
)
from rules.codes import SessionType, kind_of
from store.metrics import CHARGES
from store.schema import Charge, Session
from store.uow import UnitOfWork

if TYPE_CHECKING:  # attendance finalises through settle(): a cycle only for types
    from engine.operations.attendance import SessionAttendance


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
