"""The lifecycle table of CONTRACT 4.1, its predicates, and its invariants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rules.errors import IllegalTransition
from rules.lifecycle import (
    COUNTS_TOWARD_SUBSCRIPTION,
    FINISHED,
    TERMINAL,
    TRANSITIONS,
    LifecycleEvent,
    Status,
    apply,
    born,
    can_cancel,
    can_join,
    can_start,
    note,
    rescheduled,
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
    (S.SCHEDULED, Ev.RESCHEDULE, S.SCHEDULED),
    (S.READY, Ev.RESCHEDULE, S.SCHEDULED),
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


class TestPredicates:
    @pytest.mark.parametrize("status", list(S))
    def test_can_start_and_cancel_as_the_contract_table_says(self, status: Status) -> None:
        """can_start is SCHEDULED/READY; can_cancel is every status not yet terminal."""
        assert (status in {S.SCHEDULED, S.READY}) == can_start(status)
        assert (status not in TERMINAL) == can_cancel(status)

    @pytest.mark.parametrize("status", list(S))
    def test_only_ready_and_ongoing_sessions_can_be_joined(self, status: Status) -> None:
        """can_join is READY/ONGOING before E + buffer."""
        joinable = can_join(status, now=E, ends_at=E, buffer_minutes=10)

        assert (status in {S.READY, S.ONGOING}) == joinable

    @pytest.mark.parametrize(
        ("event", "scheduled", "status"),
        [
            (Ev.CREATE, False, S.UNSCHEDULED),
            (Ev.GENERATE, True, S.SCHEDULED),
            (Ev.MAKEUP_CREATED, False, S.UNSCHEDULED),
            (Ev.MAKEUP_CREATED, True, S.SCHEDULED),
        ],
    )
    def test_a_session_is_born_by_its_creating_event(
        self, event: LifecycleEvent, scheduled: bool, status: Status
    ) -> None:
        """Creation is a move of the table too: each creating event names its status."""
        assert status == born(event, scheduled=scheduled)

    @pytest.mark.parametrize("event", [Ev.START, Ev.CANCEL, Ev.SCHEDULE])
    def test_other_events_create_nothing(self, event: LifecycleEvent) -> None:
        """Only creating events are births; any other raises IllegalTransition."""
        with pytest.raises(IllegalTransition):
            born(event, scheduled=True)

    def test_a_note_leaves_the_status_and_a_move_is_no_note(self) -> None:
        """A note keeps the status; a real move cannot pass as one."""
        assert S.ABSENT == note(S.ABSENT, Ev.MAKEUP_CREATED)
        with pytest.raises(IllegalTransition):
            note(S.READY, Ev.START)


class TestReschedule:
    @given(status=st.sampled_from(Status), joined=st.booleans())
    def test_only_a_session_nobody_joined_moves_and_it_lands_scheduled(
        self, status: Status, joined: bool
    ) -> None:
        """SCHEDULED or READY with no roster join -> SCHEDULED; anything else raises
        IllegalTransition naming the status it still has."""
        if status in {S.SCHEDULED, S.READY} and not joined:
            assert S.SCHEDULED is rescheduled(status, roster_joined=joined)
            return
        with pytest.raises(IllegalTransition) as info:
            rescheduled(status, roster_joined=joined)
        assert {"current_status": status.value, "event": "reschedule"} == info.value.details


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
