"""Charging students once per finished session (CONTRACT 4.4).

Everything here decides; nothing writes. The ledger's unique (session, student)
row is what makes a charge happen once under races and retries; ``plan_charges``
is the same rule in pure form, and ``engine.operations.charges.settle_charges`` writes the
new rows it plans, so the property tests speak of what the store does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rules._utc import require_utc
from rules.attendance import AttendanceStatus
from rules.codes import SubscriptionKind
from rules.settings import RuleSettings

__all__ = [
    "ChargeDecision",
    "ChargeStatus",
    "SubscriptionView",
    "choose_subscription",
    "counts_as_usage",
    "counts_for_teacher",
    "decide_charge",
    "plan_charges",
]


class ChargeStatus(StrEnum):
    CHARGED = "charged"
    WAIVED = "waived"
    UNBILLED = "unbilled"
    # Not charged yet, or never will be (cancelled).
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    kind: SubscriptionKind
    starts_at: datetime
    ends_at: datetime
    total_sessions: int
    used_sessions: int

    def __post_init__(self) -> None:
        require_utc("starts_at", self.starts_at)
        require_utc("ends_at", self.ends_at)

    @property
    def remaining_sessions(self) -> int:
        return max(0, self.total_sessions - self.used_sessions)


@dataclass(frozen=True, slots=True)
class ChargeDecision:
    student_id: int
    status: ChargeStatus
    reason: str
    subscription_id: int | None
    verdict: AttendanceStatus


def choose_subscription(
    subs: Iterable[SubscriptionView], *, kind: SubscriptionKind, at: datetime
) -> SubscriptionView | None:
    """The active subscription of ``kind`` with sessions left that ends first.

    Ending first uses up the package that would otherwise expire unused; ties go
    to the lowest id so the choice never depends on the order of ``subs``.
    """
    usable = [
        sub
        for sub in subs
        if sub.kind == kind and sub.starts_at <= at < sub.ends_at and sub.remaining_sessions > 0
    ]
    return min(usable, key=lambda sub: (sub.ends_at, sub.id), default=None)


def decide_charge(
    *,
    student_id: int,
    verdict: AttendanceStatus,
    student_percentage: float,
    teacher_percentage: float,
    subscription: SubscriptionView | None,
    settings: RuleSettings,
) -> ChargeDecision:
    """Charge the student, unless the teacher failed a student who came.

    A no-show student is charged like any other: the session was held for them.
    """
    verdict = AttendanceStatus(verdict)
    if verdict is AttendanceStatus.PENDING:
        # Charges are written when a session finishes; a pending verdict here
        # means the caller is charging too early.
        raise ValueError(f"cannot charge student {student_id} on a pending verdict")
    if (
        teacher_percentage < settings.teacher_partial_percent
        and student_percentage >= settings.partial_percent
    ):
        return ChargeDecision(student_id, ChargeStatus.WAIVED, "teacher_absent", None, verdict)
    if subscription is None:
        return ChargeDecision(student_id, ChargeStatus.UNBILLED, "no_subscription", None, verdict)
    return ChargeDecision(student_id, ChargeStatus.CHARGED, verdict.value, subscription.id, verdict)


def counts_for_teacher(teacher_percentage: float, settings: RuleSettings) -> bool:
    """Whether the session counts toward the teacher's held sessions."""
    return teacher_percentage >= settings.teacher_full_percent


def plan_charges(
    decisions_wanted: Iterable[ChargeDecision], *, already_charged: Collection[int]
) -> tuple[ChargeDecision, ...]:
    """The decisions still to write: one per student, none for a ledger row.

    ``already_charged`` holds every student with a ledger row for the session,
    hand-set or not; such a student never gets a second row (a changed verdict
    updates the one row in place). For a student repeated in the input the first
    decision wins.
    """
    seen = set(already_charged)
    planned = []
    for decision in decisions_wanted:
        if decision.student_id not in seen:
            seen.add(decision.student_id)
            planned.append(decision)
    return tuple(planned)


def counts_as_usage(status: ChargeStatus) -> bool:
    """Only a charge uses up a session of the subscription."""
    return status == ChargeStatus.CHARGED
