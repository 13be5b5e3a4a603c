"""The sweep's pure decisions: when a session is due, what its room looks like, and how
room work is retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.rooms import ClaimOutcome, RoomOperationKind, backoff, claim_outcome
from rules.settings import RuleSettings
from rules.sweep import (
    OpenInterval,
    finish_due,
    may_be_finish_due,
    meeting_expires_at,
    occupied,
    preparation_due,
    preparation_horizon,
    room_payload,
)

START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
DEFAULTS = RuleSettings()


class TestPreparationDue:
    def test_a_session_is_due_from_its_start_minus_the_preparation(self) -> None:
        """Due at S - 15 min with the defaults, not a second before."""
        assert (False, True) == (
            preparation_due(START, DEFAULTS, START - timedelta(minutes=15, seconds=1)),
            preparation_due(START, DEFAULTS, START - timedelta(minutes=15)),
        )


class TestPreparationHorizon:
    def test_the_longest_preparation_of_any_academy_and_type_wins(self) -> None:
        """An academy preparing circles 60 min ahead makes the horizon 60 min."""
        tables = [{}, {"quran_circle": {"preparation_minutes": 60}}, None]
        assert timedelta(minutes=60) == preparation_horizon(tables)

    def test_without_academies_the_default_preparation_is_the_horizon(self) -> None:
        """No rule tables: the built-in 15 min."""
        assert timedelta(minutes=15) == preparation_horizon([])

    def test_an_unreadable_rule_table_counts_for_nothing(self) -> None:
        """A negative preparation is not a setting; the default stands."""
        assert timedelta(minutes=15) == preparation_horizon(
            [{"default": {"preparation_minutes": -5}}]
        )


class TestOccupied:
    def test_a_roster_user_in_a_decisive_interval_occupies_the_room(self) -> None:
        """The teacher still in the room keeps it occupied."""
        assert occupied([OpenInterval(5, True)], {5, 10})

    def test_observers_and_indecisive_intervals_do_not(self) -> None:
        """An observer, an unknown identity and a non-decisive interval leave it free."""
        intervals = [OpenInterval(99, True), OpenInterval(None, True), OpenInterval(10, False)]
        assert not occupied(intervals, {5, 10})


class TestFinishDue:
    def test_an_empty_room_finishes_at_the_end_plus_the_buffer(self) -> None:
        """E + 10 min with nobody of the roster in the room."""
        assert (False, True) == (
            finish_due(END, DEFAULTS, END + timedelta(minutes=9), is_occupied=False),
            finish_due(END, DEFAULTS, END + timedelta(minutes=10), is_occupied=False),
        )

    def test_an_occupied_room_waits_for_the_hard_close(self) -> None:
        """Occupied: not at E + buffer, always at E + 60 min."""
        assert (False, True) == (
            finish_due(END, DEFAULTS, END + timedelta(minutes=59), is_occupied=True),
            finish_due(END, DEFAULTS, END + timedelta(minutes=60), is_occupied=True),
        )

    def test_the_time_half_is_asked_from_the_earlier_of_buffer_and_hard_close(self) -> None:
        """May be due from E + 10 min, whatever the room holds."""
        assert (False, True) == (
            may_be_finish_due(END, DEFAULTS, END + timedelta(minutes=9)),
            may_be_finish_due(END, DEFAULTS, END + timedelta(minutes=10)),
        )


class TestRoom:
    def test_joining_ends_at_the_end_plus_the_buffer(self) -> None:
        """The link expires at E + 10 min."""
        assert END + timedelta(minutes=10) == meeting_expires_at(END, DEFAULTS)

    def test_a_room_stays_open_until_joining_ends_with_seats_for_all(self) -> None:
        """Open 85 min when made at S - 15; three students, the teacher and five more."""
        expires = END + timedelta(minutes=10)
        assert {"empty_timeout": 85 * 60, "max_participants": 9} == room_payload(
            roster_size=3, now=START - timedelta(minutes=15), expires_at=expires
        )

    def test_a_room_opened_late_still_waits_five_minutes_empty(self) -> None:
        """Never less than 300 s of empty timeout."""
        assert 300 == room_payload(roster_size=1, now=END, expires_at=END)["empty_timeout"]


class TestRoomWork:
    def test_a_failed_call_waits_twice_as_long_each_time_up_to_ten_minutes(self) -> None:
        """10 s, 20 s, 40 s, ..., then 600 s for ever."""
        assert [10, 20, 40, 600, 600] == [backoff(n).total_seconds() for n in (1, 2, 3, 7, 1000)]

    def test_a_create_queued_before_the_room_s_delete_is_superseded(self) -> None:
        """The room is not brought back, LiveKit or not."""
        assert ClaimOutcome.SUPERSEDED == claim_outcome(
            RoomOperationKind.CREATE_ROOM, deleted_later=True, calls_enabled=False
        )

    def test_without_livekit_every_other_operation_is_skipped(self) -> None:
        """No URL, no call."""
        assert ClaimOutcome.SKIPPED == claim_outcome(
            RoomOperationKind.DELETE_ROOM, deleted_later=True, calls_enabled=False
        )

    def test_with_livekit_an_operation_is_called(self) -> None:
        """A create with no later delete, LiveKit set: called."""
        assert ClaimOutcome.CALL == claim_outcome(
            "create_room", deleted_later=False, calls_enabled=True
        )

    def test_a_create_after_a_pending_delete_of_its_room_waits(self) -> None:
        """A rescheduled session's new room waits for the old room's delete."""
        assert ClaimOutcome.WAIT == claim_outcome(
            "create_room", deleted_later=False, calls_enabled=True, deleted_before_pending=True
        )
        assert ClaimOutcome.CALL == claim_outcome(
            "delete_room", deleted_later=False, calls_enabled=True, deleted_before_pending=True
        )
