"""Charges: each student's one row per session, settled from the verdicts (CONTRACT 4.4).

A row is written once; later verdict changes update it in place (never a second
row), and a row set by hand is never touched by the rules again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog

from engine.operations import announce
from engine.operations.attendance import SessionAttendance, session_attendance
from rules.actors import Actor, AuditKind
from rules.attendance import AttendanceStatus
from rules.charging import (
    ChargeDecision,
    ChargeStatus,
    SubscriptionView,
    choose_subscription,
    counts_as_usage,
    decide_charge,
    plan_charges,
)
from rules.codes import SessionType, SubscriptionKind, kind_of
from rules.errors import Conflict
from rules.lifecycle import accepts_reports, is_finished
from store.metrics import CHARGES
from store.repositories.due import SessionLike
from store.schema import Charge, Session
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.charges")

HAND_SET = "hand_set"  # the reason of a charge set by hand


class Ledger:
    """The subscriptions of the students being settled, each with its usage: read once
    (locked) for a whole batch, and kept current in memory as charges are decided, so
    a student's second session in one batch sees the first one's charge."""

    def __init__(self, views: dict[tuple[int, int, SubscriptionKind], list[SubscriptionView]]):
        self._views = views

    @classmethod
    async def load(cls, uow: UnitOfWork, student_ids: Iterable[int]) -> Ledger:
        """The subscriptions of `student_ids`, read locked so that usage is counted
        under the lock (CONTRACT 4.4: two sessions cannot both take the last one)."""
        return cls(await uow.subscriptions.views_for_many(sorted(set(student_ids)), lock=True))

    def subscription_for(
        self, session: SessionLike, student_id: int, row: Charge | None, *, at: datetime
    ) -> SubscriptionView | None:
        """The subscription a counted session goes to: the one its charged row already
        names while the student still has it, else the rule's choice."""
        kind = kind_of(SessionType(session.type))
        views = self._views.get((student_id, session.academy_id, kind), [])
        if row is not None and row.status == ChargeStatus.CHARGED and row.subscription_id:
            kept = next((v for v in views if v.id == row.subscription_id), None)
            if kept is not None:
                return kept
        return choose_subscription(views, kind=kind, at=session.scheduled_at or at)

    def record(
        self, session: SessionLike, student_id: int, was: Charge | None, now: ChargeDecision
    ) -> None:
        """Count `now` in place of the row `was` in the subscriptions' usage."""
        kind = kind_of(SessionType(session.type))
        key = (student_id, session.academy_id, kind)
        moves = {}
        if was is not None and was.status == ChargeStatus.CHARGED and was.subscription_id:
            moves[was.subscription_id] = -1
        if counts_as_usage(now.status) and now.subscription_id:
            moves[now.subscription_id] = moves.get(now.subscription_id, 0) + 1
        if any(moves.values()):
            self._views[key] = [
                replace(v, used_sessions=v.used_sessions + moves.get(v.id, 0))
                for v in self._views.get(key, [])
            ]


@dataclass(frozen=True, slots=True)
class Settlement:
    """What settling one session's charges writes: new ledger rows, and rows changed
    in place (with the decision each now holds)."""

    session_id: int
    new: tuple[ChargeDecision, ...]
    changed: tuple[tuple[Charge, ChargeDecision], ...]


def settlement(
    session: SessionLike, attendance: SessionAttendance, ledger: Ledger, *, at: datetime
) -> Settlement:
    """Decide each student's ledger row once (CONTRACT 4.4): a later verdict change
    updates the row in place (never a second row), and a hand-set row is never
    touched. Decided in memory; `write_settlements` writes it."""
    rows: dict[int, Charge] = {}  # read in this transaction, with the attendance
    decisions = []
    for student in attendance.students:
        row = student.charge
        if row is not None:
            rows[student.user_id] = row
            if row.hand_set:
                continue
        decision = decide_charge(
            student_id=student.user_id,
            verdict=student.verdict.status,
            student_percentage=student.verdict.meeting.attendance_percentage,
            teacher_percentage=attendance.teacher_meeting.attendance_percentage,
            subscription=ledger.subscription_for(session, student.user_id, row, at=at),
            settings=attendance.settings,
        )
        decisions.append(decision)
    new = plan_charges(decisions, already_charged=rows)
    changed = tuple(
        (rows[d.student_id], d)
        for d in decisions
        if d.student_id in rows
        and (
            rows[d.student_id].status,
            rows[d.student_id].reason,
            rows[d.student_id].subscription_id,
            rows[d.student_id].verdict,
        )
        != (d.status.value, d.reason, d.subscription_id, d.verdict.value)
    )
    for decision in new:
        ledger.record(session, decision.student_id, None, decision)
    for row, decision in changed:
        ledger.record(session, decision.student_id, row, decision)
    return Settlement(session.id, new, changed)


async def write_settlements(
    uow: UnitOfWork, settlements: Sequence[Settlement], *, at: datetime
) -> list[ChargeDecision]:
    """Write the settlements of many sessions: every new row in one insert (the
    unique (session, student) key refuses a row another replica wrote first), every
    changed row updated in place. The decisions written, in order."""
    wanted = [(s.session_id, d) for s in settlements for d in s.new]
    inserted = await uow.charges.charge_many(wanted, now=at)
    written = []
    for session_id, decision in wanted:
        if (session_id, decision.student_id) in inserted:
            written.append(decision)
            _count_charge(uow, decision.status)
            _log_charge(uow, session_id, decision, was=None)
            announce.charged(uow, session_id, decision, at=at)
    for s in settlements:
        for row, decision in s.changed:
            was = row.status
            uow.charges.update(row, decision, at=at)
            written.append(decision)
            _log_charge(uow, s.session_id, decision, was=was)
            announce.charged(uow, s.session_id, decision, at=at)
    return written


async def settle_charges(
    uow: UnitOfWork, session: Session, attendance: SessionAttendance, *, at: datetime
) -> list[ChargeDecision]:
    """One session's charges settled, as a batch of one."""
    ledger = await Ledger.load(uow, [s.user_id for s in attendance.students])
    return await write_settlements(uow, [settlement(session, attendance, ledger, at=at)], at=at)


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
        ledger = await Ledger.load(uow, [student_id])
        subscription = ledger.subscription_for(session, student_id, row, at=at)
        subscription_id = subscription.id if subscription else None
        status = ChargeStatus.CHARGED if subscription_id else ChargeStatus.UNBILLED
    decision = ChargeDecision(student_id, status, HAND_SET, subscription_id, verdict)
    was = None if row is None else row.status
    if row is None:
        await uow.charges.charge(session.id, decision, now=at, hand_set=True)
        row = (await uow.charges.for_session(session.id))[student_id]
    uow.charges.update(row, decision, at=at, hand_set=True)
    _log_charge(uow, session.id, decision, was=was, actor=actor)
    announce.charged(uow, session.id, decision, at=at, academy_id=session.academy_id)
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
