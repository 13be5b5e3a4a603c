"""Any order and any repeats of the same evidence give the same intervals and verdicts.

Realistic traces: a teacher and a few students, reconnects under new sids, a second
device under a suffixed identity, observers and egress, lost joins, aborted
connections, a room that finishes and is recreated, and the session's close.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.attendance import MeetingAttendance, measure, reference_start
from rules.evidence import (
    ConnectionAborted,
    Evidence,
    Interval,
    ParticipantJoined,
    ParticipantLeft,
    RoomFinished,
    SessionClosed,
    build_intervals,
    parse_identity,
)
from rules.reconciliation import Verdict, reconcile_student, teacher_verdict
from rules.settings import RuleSettings

S = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
E = S + timedelta(minutes=60)
RULES = RuleSettings()
TEACHER, STUDENTS = 5, (10, 11, 12)
IDENTITIES = ["5", "5_tablet", "10", "10_Mohamed", "10_phone", "11", "12_Sara", "EG_rec", "obs"]
ROOMS = ["RM_first", "RM_second"]

# Coarse minutes plus a few jitters make equal timestamps (ties) common.
moments = st.builds(
    lambda minute, ms: S + timedelta(minutes=minute, milliseconds=ms),
    st.integers(min_value=-20, max_value=80),
    st.sampled_from([0, 0, 1, 400, 999]),
)


@st.composite
def traces(draw: st.DrawFn) -> list[Evidence]:
    ids = (f"EV_{n}" for n in itertools.count())
    events: list[Evidence] = []
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        sid = f"PA_{n}"
        identity, room = draw(st.sampled_from(IDENTITIES)), draw(st.sampled_from(ROOMS))
        decisive = parse_identity(identity) is not None and draw(st.integers(0, 9)) > 0
        start = draw(moments)
        # Negative jitter: joinedAtMs a moment after the leave's createdAt.
        end = start + timedelta(
            minutes=draw(st.integers(0, 70)), milliseconds=draw(st.sampled_from([0, -300, 250]))
        )
        join_lost = draw(st.integers(0, 5)) == 0
        if not join_lost:
            events.append(ParticipantJoined(next(ids), room, start, sid, identity, decisive))
            if draw(st.integers(0, 7)) == 0:
                # The same join reported again under another event id, a bit later.
                later = start + timedelta(seconds=1)
                events.append(ParticipantJoined(next(ids), room, later, sid, identity, decisive))
        ending = draw(st.sampled_from(["left", "left", "aborted", "open", "both"]))
        if ending in ("left", "both"):
            carried = draw(st.sampled_from([start, None]))
            events.append(ParticipantLeft(next(ids), room, end, sid, identity, decisive, carried))
        if ending in ("aborted", "both"):
            events.append(ConnectionAborted(next(ids), room, end, sid, identity, decisive))
    for room in ROOMS:
        for finished_at in draw(st.lists(moments, max_size=2)):
            events.append(RoomFinished(next(ids), room, finished_at))
    if draw(st.booleans()):
        closed_at = draw(st.sampled_from([E, E + timedelta(minutes=10)]))
        events.append(SessionClosed(next(ids), closed_at))
    return events


def verdicts(intervals: tuple[Interval, ...], *, finished: bool) -> dict[str, object]:
    by_user: dict[int, list[Interval]] = defaultdict(list)
    for interval in intervals:
        if interval.decisive and interval.user_id is not None:
            by_user[interval.user_id].append(interval)
    until = E + timedelta(minutes=10) if finished else S + timedelta(minutes=30)

    def of(user_id: int) -> MeetingAttendance:
        return measure(
            by_user[user_id],
            starts_at=S,
            ends_at=E,
            until=until,
            reconnect_gap_seconds=RULES.reconnect_gap_seconds,
        )

    teacher = of(TEACHER)
    ref = reference_start(S, teacher.first_join_at)
    result: dict[str, object] = {
        "teacher": teacher_verdict(teacher, finished=finished, settings=RULES)
    }
    for student in STUDENTS:
        verdict: Verdict = reconcile_student(
            student,
            report_status=None,
            meeting=of(student),
            reference_start=ref,
            starts_at=S,
            ends_at=E,
            finished=finished,
            settings=RULES,
        )
        result[str(student)] = verdict
    return result


def rearranged(events: list[Evidence], rnd: random.Random, repeats: list[int]) -> list[Evidence]:
    """The same events shuffled, some delivered more than once."""
    again = [events[i % len(events)] for i in repeats] if events else []
    mixed = events + again
    rnd.shuffle(mixed)
    return mixed


class TestOrderIndependence:
    @settings(max_examples=500)
    @given(
        events=traces(),
        rnd=st.randoms(use_true_random=False),
        repeats=st.lists(st.integers(min_value=0, max_value=50), max_size=12),
    )
    def test_any_order_and_repeats_give_the_same_intervals_and_verdicts(
        self, events: list[Evidence], rnd: random.Random, repeats: list[int]
    ) -> None:
        """Shuffled and repeated evidence yields identical intervals and verdicts."""
        expected = build_intervals(events)
        again = build_intervals(rearranged(events, rnd, repeats))

        assert expected == again
        for finished in (True, False):
            assert verdicts(expected, finished=finished) == verdicts(again, finished=finished)

    @settings(max_examples=500)
    @given(events=traces(), rnd=st.randoms(use_true_random=False))
    def test_measure_ignores_the_order_of_intervals(
        self, events: list[Evidence], rnd: random.Random
    ) -> None:
        """measure gives the same figures whatever order the intervals come in."""
        intervals = list(build_intervals(events))
        shuffled = intervals[:]
        rnd.shuffle(shuffled)

        def of(given: list[Interval]) -> MeetingAttendance:
            return measure(given, starts_at=S, ends_at=E, until=E, reconnect_gap_seconds=120)

        assert of(intervals) == of(shuffled)

    @settings(max_examples=500)
    @given(events=traces())
    def test_one_persons_intervals_never_overlap(self, events: list[Evidence]) -> None:
        """Per identity, intervals are well formed, disjoint, and at most one is open."""
        by_person: dict[object, list[Interval]] = defaultdict(list)
        for interval in build_intervals(events):
            assert interval.left_at is None or interval.left_at >= interval.joined_at
            by_person[interval.identity].append(interval)
        for intervals in by_person.values():
            assert sum(i.left_at is None for i in intervals) <= 1
            for earlier, later in itertools.pairwise(intervals):
                assert earlier.left_at is not None
                assert earlier.left_at <= later.joined_at
