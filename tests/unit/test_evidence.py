"""LiveKit evidence -> intervals (CONTRACT 3), by example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.evidence import (
    ConnectionAborted,
    Evidence,
    Interval,
    ParticipantJoined,
    ParticipantLeft,
    RoomFinished,
    SessionClosed,
    build_intervals,
    joined_members,
    parse_identity,
)

T0 = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def joined(
    eid: str, sid: str, at: float, identity: str = "10", room: str = "RM_1", decisive: bool = True
) -> ParticipantJoined:
    return ParticipantJoined(eid, room, t(at), sid, identity, decisive)


def left(
    eid: str,
    sid: str,
    at: float,
    identity: str = "10",
    room: str = "RM_1",
    joined_at: float | None = None,
) -> ParticipantLeft:
    start = None if joined_at is None else t(joined_at)
    return ParticipantLeft(eid, room, t(at), sid, identity, True, start)


def aborted(eid: str, sid: str, at: float, identity: str = "10") -> ConnectionAborted:
    return ConnectionAborted(eid, "RM_1", t(at), sid, identity, True)


def spans(intervals: tuple[Interval, ...]) -> list[tuple[str, datetime, datetime | None]]:
    return [(i.sid, i.joined_at, i.left_at) for i in intervals]


class TestParseIdentity:
    @pytest.mark.parametrize(
        ("identity", "user_id"),
        [
            ("10", 10),
            ("10_Mohamed", 10),
            ("10_", 10),
            ("10_a_b\nc", 10),
            ("007", 7),
            ("abc", None),
            ("", None),
            ("-3", None),
            ("10x", None),
            (" 10", None),
            ("10 ", None),
            ("_10", None),
            ("١٠", None),
        ],
    )
    def test_identity_to_user_id(self, identity: str, user_id: int | None) -> None:
        """Decimal digits, optionally followed by "_" and anything, are a user id."""
        assert user_id == parse_identity(identity)


class TestParticipantEvents:
    def test_join_and_leave_make_one_closed_interval(self) -> None:
        """A join and its leave give one interval with everything filled in."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0, "10_Mohamed"),
            left("e2", "PA_a", 30, "10_Mohamed"),
        ]

        assert (Interval("PA_a", "10_Mohamed", 10, "RM_1", t(0), t(30), True),) == build_intervals(
            events
        )

    def test_join_alone_is_open(self) -> None:
        """Without a leave the interval stays open."""
        assert [("PA_a", t(0), None)] == spans(build_intervals([joined("e1", "PA_a", 0)]))

    def test_non_decisive_join_is_kept_and_marked(self) -> None:
        """An observer's interval is built but marked non-decisive."""
        (interval,) = build_intervals([joined("e1", "PA_o", 0, "obs", decisive=False)])

        assert (False, None) == (interval.decisive, interval.user_id)

    def test_leave_with_joined_at_stands_in_for_a_lost_join(self) -> None:
        """A leave carrying joinedAt yields the interval its lost join would have opened."""
        events: list[Evidence] = [left("e2", "PA_a", 30, room="RM_9", joined_at=5)]

        (interval,) = build_intervals(events)
        assert (t(5), t(30), "RM_9") == (interval.joined_at, interval.left_at, interval.room_sid)

    def test_a_real_join_outranks_a_leaves_joined_at(self) -> None:
        """When both exist, the join's own time is the start."""
        events: list[Evidence] = [joined("e1", "PA_a", 1), left("e2", "PA_a", 30, joined_at=0.5)]

        assert [("PA_a", t(1), t(30))] == spans(build_intervals(events))

    def test_earliest_of_several_leave_joined_ats(self) -> None:
        """Several leaves for a lost join: the earliest joined_at wins."""
        events: list[Evidence] = [
            left("e2", "PA_a", 30, joined_at=6),
            left("e3", "PA_a", 31, joined_at=5),
        ]

        assert [("PA_a", t(5), t(30))] == spans(build_intervals(events))

    @pytest.mark.parametrize(
        "orphan",
        [left("e2", "PA_a", 30), aborted("e2", "PA_a", 30)],
        ids=["left", "aborted"],
    )
    def test_end_without_start_yields_nothing(
        self, orphan: ParticipantLeft | ConnectionAborted
    ) -> None:
        """A leave without joinedAt, or an abort, with no join proves no presence."""
        assert () == build_intervals([orphan])

    def test_aborted_connection_closes_the_interval(self) -> None:
        """An aborted connection ends the sid's interval at its time."""
        events: list[Evidence] = [joined("e1", "PA_a", 0), aborted("e2", "PA_a", 12)]

        assert [("PA_a", t(0), t(12))] == spans(build_intervals(events))

    def test_earliest_end_wins(self) -> None:
        """A leave and an abort for the same sid: the earlier closes it."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0),
            left("e2", "PA_a", 20),
            aborted("e3", "PA_a", 12),
        ]

        assert [("PA_a", t(0), t(12))] == spans(build_intervals(events))

    def test_leave_a_moment_before_join_is_clamped(self) -> None:
        """A join stamped just after its own leave gives an empty interval, never a negative one."""
        events: list[Evidence] = [joined("e1", "PA_a", 10), left("e2", "PA_a", 10 - 0.5 / 60)]

        assert [("PA_a", t(10), t(10))] == spans(build_intervals(events))

    def test_naive_datetimes_are_refused(self) -> None:
        """Every evidence time must be aware UTC."""
        with pytest.raises(ValueError, match="joined_at"):
            ParticipantLeft("e", "RM", T0, "PA", "10", True, datetime(2025, 12, 1, 10, 0))


class TestRoomAndSessionEnd:
    def test_room_finished_closes_only_its_room(self) -> None:
        """room_finished ends the open intervals of that room, no other."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0, "10", room="RM_1"),
            joined("e2", "PA_b", 0, "11", room="RM_2"),
            RoomFinished("e3", "RM_1", t(50)),
        ]

        assert [("PA_a", t(0), t(50)), ("PA_b", t(0), None)] == spans(build_intervals(events))

    def test_room_finished_before_a_join_does_not_close_it(self) -> None:
        """Only a room end at or after the join closes the interval."""
        events: list[Evidence] = [RoomFinished("e0", "RM_1", t(-1)), joined("e1", "PA_a", 0)]

        assert [("PA_a", t(0), None)] == spans(build_intervals(events))

    def test_earliest_applicable_room_end_wins(self) -> None:
        """Of several room ends after the join, the first closes it."""
        events: list[Evidence] = [
            RoomFinished("e0", "RM_1", t(-5)),
            joined("e1", "PA_a", 0),
            RoomFinished("e2", "RM_1", t(70)),
            RoomFinished("e3", "RM_1", t(40)),
        ]

        assert [("PA_a", t(0), t(40))] == spans(build_intervals(events))

    def test_room_end_does_not_move_an_earlier_leave(self) -> None:
        """An interval closed before the room ended keeps its own end."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0),
            left("e2", "PA_a", 5),
            RoomFinished("e3", "RM_1", t(9)),
        ]

        assert [("PA_a", t(0), t(5))] == spans(build_intervals(events))

    def test_session_closed_closes_every_room(self) -> None:
        """The session's end closes every interval open at it, in any room."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0, "10", room="RM_1"),
            joined("e2", "PA_b", 0, "11", room="RM_2"),
            SessionClosed("close", t(60)),
        ]

        assert [("PA_a", t(0), t(60)), ("PA_b", t(0), t(60))] == spans(build_intervals(events))

    def test_join_after_session_closed_stays_open(self) -> None:
        """A join after the end is recorded; the close does not reach back over it."""
        events: list[Evidence] = [SessionClosed("close", t(60)), joined("e1", "PA_a", 61)]

        assert [("PA_a", t(61), None)] == spans(build_intervals(events))


class TestSameIdentity:
    def test_reconnect_closes_the_older_sid_at_the_new_join(self) -> None:
        """A new join of the same user closes the older open interval at the new join time."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0),
            joined("e2", "PA_b", 20),
            left("e3", "PA_b", 50),
        ]

        assert [("PA_a", t(0), t(20)), ("PA_b", t(20), t(50))] == spans(build_intervals(events))

    def test_two_devices_of_one_user_keep_both_intervals(self) -> None:
        """Identities "10" and "10_phone" are two connections of one user: LiveKit only
        replaces an exact duplicate identity, so neither join closes the other."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0, "10"),
            joined("e2", "PA_b", 20, "10_phone"),
        ]

        assert [("PA_a", t(0), None), ("PA_b", t(20), None)] == spans(build_intervals(events))

    def test_other_users_do_not_interfere(self) -> None:
        """A different user's join never closes anyone else."""
        events: list[Evidence] = [joined("e1", "PA_a", 0, "10"), joined("e2", "PA_b", 20, "11")]

        assert [("PA_a", t(0), None), ("PA_b", t(20), None)] == spans(build_intervals(events))

    def test_unparsed_identities_group_by_exact_string(self) -> None:
        """Identities without a user id only match themselves."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0, "EG_x", decisive=False),
            joined("e2", "PA_b", 10, "EG_y", decisive=False),
            joined("e3", "PA_c", 20, "EG_x", decisive=False),
        ]

        assert [
            ("PA_a", t(0), t(20)),
            ("PA_b", t(10), None),
            ("PA_c", t(20), None),
        ] == spans(build_intervals(events))

    def test_an_already_closed_interval_keeps_its_leave(self) -> None:
        """The replacement rule only cuts an interval still open at the new join."""
        events: list[Evidence] = [
            joined("e1", "PA_a", 0),
            left("e2", "PA_a", 5),
            joined("e3", "PA_b", 20),
        ]

        assert [("PA_a", t(0), t(5)), ("PA_b", t(20), None)] == spans(build_intervals(events))

    def test_simultaneous_joins_break_ties_by_sid(self) -> None:
        """Two joins at the same instant: the lower sid closes at once."""
        events: list[Evidence] = [joined("e2", "PA_b", 0), joined("e1", "PA_a", 0)]

        assert [("PA_a", t(0), t(0)), ("PA_b", t(0), None)] == spans(build_intervals(events))


class TestEventIdentity:
    def test_repeated_events_count_once(self) -> None:
        """The same event delivered three times is one event."""
        once: list[Evidence] = [joined("e1", "PA_a", 0), left("e2", "PA_a", 30)]

        assert build_intervals(once) == build_intervals(once * 3)

    def test_result_is_sorted_by_join_then_sid(self) -> None:
        """Intervals come sorted by (joined_at, sid), whatever the input order."""
        events: list[Evidence] = [
            joined("e3", "PA_c", 5, "12"),
            joined("e2", "PA_b", 0, "11"),
            joined("e1", "PA_z", 0),
        ]

        assert ["PA_b", "PA_z", "PA_c"] == [i.sid for i in build_intervals(events)]

    def test_conflicting_events_under_one_id_are_resolved_order_free(self) -> None:
        """Two different events sharing an event id: the same one is kept either way."""
        first, second = joined("dup", "PA_a", 0), left("dup", "PA_a", 5, joined_at=1)

        assert build_intervals([first, second]) == build_intervals([second, first])
        assert [("PA_a", t(0), None)] == spans(build_intervals([second, first]))


_INTERVALS = st.lists(
    st.builds(
        Interval,
        sid=st.text(min_size=1, max_size=4),
        identity=st.just("x"),
        user_id=st.one_of(st.none(), st.integers(1, 8)),
        room_sid=st.just("RM_1"),
        joined_at=st.just(T0),
        left_at=st.one_of(st.none(), st.just(t(5))),
        decisive=st.booleans(),
    ),
    max_size=8,
)


class TestJoinedMembers:
    @given(intervals=_INTERVALS, members=st.frozensets(st.integers(1, 8)))
    def test_a_member_has_joined_exactly_when_a_decisive_interval_is_theirs(
        self, intervals: list[Interval], members: frozenset[int]
    ) -> None:
        """Open or closed, a decisive interval of a member counts; an observer's, an
        agent's or a stranger's never does."""
        expected = {i.user_id for i in intervals if i.decisive and i.user_id in members}
        assert expected == joined_members(intervals, members)
