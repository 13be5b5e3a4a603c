"""The lifecycle table of CONTRACT 4.1, its display, and its invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rules.errors import IllegalTransition
from rules.lifecycle import (
    COUNTS_TOWARD_SUBSCRIPTION,
    FINISHED,
    STATUS_DISPLAY,
    TERMINAL,
    TRANSITIONS,
    LifecycleEvent,
    Status,
    apply,
    display_for,
)

S, Ev = Status, LifecycleEvent

# The contract's table, written out independently of rules.lifecycle.
ALLOWED = [
    (S.UNSCHEDULED, Ev.SCHEDULE, S.SCHEDULED),
    (S.SCHEDULED, Ev.PREPARE, S.READY),
    (S.SCHEDULED, Ev.START, S.ONGOING),
    (S.READY, Ev.START, S.ONGOING),
    (S.ONGOING, Ev.COMPLETE, S.COMPLETED),
    (S.READY, Ev.COMPLETE, S.COMPLETED),
    (S.READY, Ev.MARK_ABSENT, S.ABSENT),
    (S.ONGOING, Ev.MARK_ABSENT, S.ABSENT),
    (S.COMPLETED, Ev.REPORT_ABSENT, S.ABSENT),
    (S.ABSENT, Ev.REPORT_PRESENT, S.COMPLETED),
    (S.UNSCHEDULED, Ev.CANCEL, S.CANCELLED),
    (S.SCHEDULED, Ev.CANCEL, S.CANCELLED),
    (S.READY, Ev.CANCEL, S.CANCELLED),
    (S.ONGOING, Ev.CANCEL, S.CANCELLED),
]
FORBIDDEN = [
    (status, event)
    for status in Status
    for event in LifecycleEvent
    if (status, event) not in {(a, e) for a, e, _ in ALLOWED}
]

E = datetime(2025, 12, 1, 11, 0, tzinfo=UTC)


class TestApply:
    @pytest.mark.parametrize(("before", "event", "after"), ALLOWED)
    def test_allowed_moves(self, before: Status, event: LifecycleEvent, after: Status) -> None:
        """Every row of the contract's table is an allowed move to its target."""
        assert after is apply(before, event)

    def test_table_has_exactly_the_contract_rows(self) -> None:
        """TRANSITIONS holds the contract's rows and nothing else."""
        assert {(a, e): b for a, e, b in ALLOWED} == dict(TRANSITIONS)

    @pytest.mark.parametrize(("status", "event"), FORBIDDEN)
    def test_every_other_pair_is_illegal(self, status: Status, event: LifecycleEvent) -> None:
        """A pair not in the table raises IllegalTransition naming both."""
        with pytest.raises(IllegalTransition) as info:
            apply(status, event)

        assert (status, event) == (info.value.status_from, info.value.event)
        assert f"'{event.value}'" in info.value.message
        assert f"'{status.value}'" in info.value.message

    def test_plain_string_values_are_accepted(self) -> None:
        """Stored plain strings work like the enums."""
        assert S.SCHEDULED is apply("unscheduled", "schedule")  # type: ignore[arg-type]

    def test_unknown_values_are_illegal_not_value_errors(self) -> None:
        """A status or event outside the enums is an illegal transition, not a crash."""
        with pytest.raises(IllegalTransition, match="'teleport'"):
            apply(S.READY, "teleport")  # type: ignore[arg-type]

    def test_table_is_read_only(self) -> None:
        """Nobody can add a move to the table at run time."""
        with pytest.raises(TypeError):
            TRANSITIONS[(S.CANCELLED, Ev.START)] = S.ONGOING  # type: ignore[index]


class TestStatusSets:
    def test_terminal_finished_and_counting_sets(self) -> None:
        """Terminal, finished and counting statuses are as the contract says."""
        assert {S.COMPLETED, S.ABSENT, S.CANCELLED} == TERMINAL
        assert {S.COMPLETED, S.ABSENT} == FINISHED == COUNTS_TOWARD_SUBSCRIPTION


class TestStatusDisplay:
    @pytest.mark.parametrize(
        ("status", "label", "label_en", "color", "icon", "start", "cancel", "join"),
        [
            (S.UNSCHEDULED, "غير مجدولة", "Unscheduled", "gray", "ri-draft-line", 0, 1, 0),
            (S.SCHEDULED, "مجدولة", "Scheduled", "blue", "ri-calendar-line", 1, 1, 0),
            (S.READY, "جاهزة", "Ready", "violet", "ri-video-line", 1, 1, 1),
            (S.ONGOING, "جارية", "Ongoing", "cyan", "ri-live-line", 0, 1, 1),
            (S.COMPLETED, "مكتملة", "Completed", "green", "ri-check-circle-line", 0, 0, 0),
            (S.ABSENT, "غياب", "Absent", "amber", "ri-user-unfollow-line", 0, 0, 0),
            (S.CANCELLED, "ملغاة", "Cancelled", "red", "ri-close-circle-line", 0, 0, 0),
        ],
    )
    def test_display_of_each_status(
        self,
        status: Status,
        label: str,
        label_en: str,
        color: str,
        icon: str,
        start: int,
        cancel: int,
        join: int,
    ) -> None:
        """Each status displays exactly as the contract's table says."""
        assert {
            "value": status.value,
            "label": label,
            "label_en": label_en,
            "color": color,
            "icon": icon,
            "can_start": bool(start),
            "can_cancel": bool(cancel),
            "can_join": bool(join),
        } == STATUS_DISPLAY[status].as_dict()

    def test_every_status_has_a_display(self) -> None:
        """No status is missing from the display table."""
        assert set(Status) == set(STATUS_DISPLAY)


class TestDisplayFor:
    @pytest.mark.parametrize("status", [S.READY, S.ONGOING])
    def test_can_join_until_just_before_end_plus_buffer(self, status: Status) -> None:
        """One second before E + 10 min, a joinable status can still be joined."""
        now = E + timedelta(minutes=10) - timedelta(seconds=1)

        assert display_for(status, now=now, ends_at=E, buffer_minutes=10).can_join

    @pytest.mark.parametrize("status", [S.READY, S.ONGOING])
    def test_cannot_join_from_end_plus_buffer(self, status: Status) -> None:
        """From E + 10 min on, can_join is false; the rest is unchanged."""
        shown = display_for(status, now=E + timedelta(minutes=10), ends_at=E, buffer_minutes=10)

        assert not shown.can_join
        assert STATUS_DISPLAY[status].can_cancel == shown.can_cancel
        assert STATUS_DISPLAY[status].label == shown.label

    def test_unscheduled_session_has_no_end(self) -> None:
        """Without an end time the table's value stands."""
        assert STATUS_DISPLAY[S.READY] == display_for(
            S.READY, now=E + timedelta(days=9), ends_at=None, buffer_minutes=10
        )


# Moves a terminal status may make: a teacher report flipping the verdict.
REPORT_FLIPS = {
    (S.COMPLETED, Ev.REPORT_ABSENT, S.ABSENT),
    (S.ABSENT, Ev.REPORT_PRESENT, S.COMPLETED),
}


class LifecycleMachine(RuleBasedStateMachine):
    """Random events against one session: finished sessions never reopen."""

    def __init__(self) -> None:
        super().__init__()
        self.status = S.UNSCHEDULED
        self.was_terminal = False
        self.was_cancelled = False

    @initialize(start=st.sampled_from(Status))
    def start_somewhere(self, start: Status) -> None:
        self.status = start
        self.was_terminal = start in TERMINAL
        self.was_cancelled = start is S.CANCELLED

    @rule(event=st.sampled_from(LifecycleEvent))
    def send(self, event: LifecycleEvent) -> None:
        before = self.status
        try:
            after = apply(before, event)
        except IllegalTransition as exc:
            assert (before, event) == (exc.status_from, exc.event)
            assert (before, event) not in TRANSITIONS
            return
        if before in TERMINAL:
            assert (before, event, after) in REPORT_FLIPS
        assert before is not S.CANCELLED
        self.status = after
        self.was_terminal = self.was_terminal or after in TERMINAL
        self.was_cancelled = self.was_cancelled or after is S.CANCELLED

    @invariant()
    def terminal_stays_terminal(self) -> None:
        if self.was_terminal:
            assert self.status in TERMINAL

    @invariant()
    def cancelled_stays_cancelled(self) -> None:
        if self.was_cancelled:
            assert S.CANCELLED is self.status


LifecycleMachine.TestCase.settings = settings(max_examples=500, stateful_step_count=20)
# pytest collects the machine through its generated unittest case.
TestLifecycleMachine = LifecycleMachine.TestCase
