"""Charging students once per finished session (CONTRACT 4.4)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.attendance import AttendanceStatus
from rules.charging import (
    ChargeDecision,
    ChargeStatus,
    SubscriptionView,
    choose_subscription,
    counts_as_usage,
    counts_for_teacher,
    decide_charge,
    plan_charges,
)
from rules.codes import SubscriptionKind
from rules.settings import RuleSettings

NOW = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
RULES = RuleSettings()
A = AttendanceStatus
Q = SubscriptionKind.QURAN


def days(n: float) -> datetime:
    return NOW + timedelta(days=n)


def sub(
    sid: int,
    *,
    start: float = -10,
    end: float = 20,
    total: int = 8,
    used: int = 0,
    kind: SubscriptionKind = Q,
) -> SubscriptionView:
    return SubscriptionView(sid, kind, days(start), days(end), total, used)


SUB = sub(3)


def decide(
    verdict: AttendanceStatus,
    student: float,
    teacher: float,
    subscription: SubscriptionView | None = SUB,
) -> ChargeDecision:
    return decide_charge(
        student_id=10,
        verdict=verdict,
        student_percentage=student,
        teacher_percentage=teacher,
        subscription=subscription,
        settings=RULES,
    )


class TestDecideCharge:
    @pytest.mark.parametrize(
        ("teacher", "student", "verdict", "expected"),
        [
            (95.0, 90.0, A.PRESENT, ChargeStatus.CHARGED),
            (95.0, 10.0, A.ABSENT, ChargeStatus.CHARGED),
            (90.0, 50.0, A.PARTIAL, ChargeStatus.CHARGED),
            (50.0, 90.0, A.PRESENT, ChargeStatus.CHARGED),
            (50.0, 49.99, A.ABSENT, ChargeStatus.CHARGED),
            (49.99, 50.0, A.PARTIAL, ChargeStatus.WAIVED),
            (0.0, 100.0, A.PRESENT, ChargeStatus.WAIVED),
            (49.99, 49.99, A.ABSENT, ChargeStatus.CHARGED),
            (0.0, 0.0, A.ABSENT, ChargeStatus.CHARGED),
        ],
    )
    def test_teacher_against_student(
        self, teacher: float, student: float, verdict: A, expected: ChargeStatus
    ) -> None:
        """Waived only when the teacher was below 50 % and the student at least 50 %."""
        assert expected is decide(verdict, student, teacher).status

    def test_charged_carries_the_verdict_and_subscription(self) -> None:
        """A charge names the verdict as its reason and the subscription charged."""
        assert ChargeDecision(10, ChargeStatus.CHARGED, "late", 3, A.LATE) == decide(
            A.LATE, 80.0, 100.0
        )

    def test_no_show_student_is_charged_as_absent(self) -> None:
        """A student who never came is charged, with reason "absent"."""
        assert ChargeDecision(10, ChargeStatus.CHARGED, "absent", 3, A.ABSENT) == decide(
            A.ABSENT, 0.0, 100.0
        )

    def test_waived_names_the_teacher_and_no_subscription(self) -> None:
        """A waiver says teacher_absent and touches no subscription."""
        assert ChargeDecision(10, ChargeStatus.WAIVED, "teacher_absent", None, A.PRESENT) == (
            decide(A.PRESENT, 100.0, 10.0)
        )

    def test_no_subscription_is_unbilled(self) -> None:
        """Without a usable subscription the row is unbilled."""
        assert ChargeDecision(10, ChargeStatus.UNBILLED, "no_subscription", None, A.PRESENT) == (
            decide(A.PRESENT, 100.0, 100.0, subscription=None)
        )

    def test_waiver_beats_missing_subscription(self) -> None:
        """A student the teacher failed is waived, subscription or not."""
        assert ChargeStatus.WAIVED is decide(A.PRESENT, 100.0, 0.0, subscription=None).status

    def test_pending_verdict_cannot_be_charged(self) -> None:
        """Charging on a pending verdict is a caller bug and refused."""
        with pytest.raises(ValueError, match="pending"):
            decide(A.PENDING, 100.0, 100.0)


class TestCountsForTeacher:
    @pytest.mark.parametrize(("pct", "counts"), [(100.0, True), (90.0, True), (89.99, False)])
    def test_from_the_teacher_full_percent(self, pct: float, counts: bool) -> None:
        """The session counts for the teacher from 90 %."""
        assert counts is counts_for_teacher(pct, RULES)


class TestCountsAsUsage:
    @pytest.mark.parametrize("status", list(ChargeStatus))
    def test_only_a_charge_uses_a_session(self, status: ChargeStatus) -> None:
        """Waived, unbilled and none use nothing."""
        assert (status is ChargeStatus.CHARGED) is counts_as_usage(status)


class TestChooseSubscription:
    def test_picks_the_active_one_ending_first(self) -> None:
        """Of several usable subscriptions, the one ending first."""
        subs = [sub(1, end=30), sub(2, end=5), sub(3, end=10)]

        assert 2 == choose_subscription(subs, kind=Q, at=NOW).id  # type: ignore[union-attr]

    def test_skips_expired_future_exhausted_and_other_kinds(self) -> None:
        """Expired, not yet started, used up or other-kind subscriptions are skipped."""
        subs = [
            sub(1, start=-30, end=-1),
            sub(2, start=1, end=2),
            sub(3, end=1, total=4, used=4),
            sub(4, end=1, kind=SubscriptionKind.ACADEMIC),
            sub(5, end=40),
        ]

        assert 5 == choose_subscription(subs, kind=Q, at=NOW).id  # type: ignore[union-attr]

    def test_active_window_is_half_open(self) -> None:
        """Active from starts_at inclusive to ends_at exclusive."""
        assert choose_subscription([sub(1, start=0)], kind=Q, at=NOW) is not None
        assert choose_subscription([sub(1, end=0)], kind=Q, at=NOW) is None

    def test_ties_go_to_the_lowest_id_in_any_order(self) -> None:
        """Two ending together: the lowest id, whatever the input order."""
        subs = [sub(9, end=5), sub(4, end=5)]

        assert 4 == choose_subscription(subs, kind=Q, at=NOW).id  # type: ignore[union-attr]
        assert 4 == choose_subscription(subs[::-1], kind=Q, at=NOW).id  # type: ignore[union-attr]

    def test_none_usable_is_none(self) -> None:
        """Nothing usable gives None."""
        assert choose_subscription([], kind=Q, at=NOW) is None

    def test_over_used_has_no_remaining(self) -> None:
        """Hand corrections can over-use a package; remaining never goes negative."""
        assert 0 == sub(1, total=2, used=3).remaining_sessions


def wanted(student_id: int, status: ChargeStatus = ChargeStatus.CHARGED) -> ChargeDecision:
    return ChargeDecision(student_id, status, "present", 3, A.PRESENT)


class TestPlanCharges:
    def test_skips_students_already_in_the_ledger(self) -> None:
        """A ledger row, hand-set or not, is never planned again."""
        assert (wanted(11),) == plan_charges([wanted(10), wanted(11)], already_charged={10})

    def test_one_per_student_first_wins(self) -> None:
        """A repeated student is planned once, with the first decision."""
        first, again = wanted(10), wanted(10, ChargeStatus.WAIVED)

        assert (first,) == plan_charges([first, again], already_charged=())

    @settings(max_examples=500)
    @given(
        students=st.lists(st.integers(1, 12), max_size=30),
        ledger=st.frozensets(st.integers(1, 12)),
    )
    def test_never_plans_a_student_twice(self, students: list[int], ledger: frozenset[int]) -> None:
        """The plan holds each new student exactly once and no ledger student."""
        plan = [d.student_id for d in plan_charges(map(wanted, students), already_charged=ledger)]

        assert len(plan) == len(set(plan))
        assert set(students) - ledger == set(plan)

    @settings(max_examples=500)
    @given(
        students=st.lists(st.integers(1, 12), min_size=1, max_size=20),
        sweeps=st.integers(1, 6),
        rnd=st.randoms(use_true_random=False),
    )
    def test_repeated_sweeps_charge_each_student_exactly_once(
        self, students: list[int], sweeps: int, rnd: random.Random
    ) -> None:
        """Feeding the ledger back, any number of retried sweeps writes each student once."""
        ledger: dict[int, ChargeDecision] = {}
        for _ in range(sweeps):
            # A retry sees the same decisions in any order, perhaps only some.
            attempt = [wanted(s) for s in students if rnd.random() < 0.8]
            rnd.shuffle(attempt)
            for decision in plan_charges(attempt, already_charged=ledger.keys()):
                assert decision.student_id not in ledger
                ledger[decision.student_id] = decision
        for decision in plan_charges(map(wanted, students), already_charged=ledger.keys()):
            ledger[decision.student_id] = decision

        assert set(students) == set(ledger)
