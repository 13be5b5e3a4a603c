"""Co-presence of a student and the teacher (CONTRACT 4.2a), by example and by property."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.attendance import measure
from rules.copresence import copresent_seconds, copresent_seconds_of, overlap
from rules.evidence import Evidence, Interval, build_intervals
from tests.unit.test_order_independence import STUDENTS, TEACHER, rearranged, traces

S = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
E = S + timedelta(minutes=60)
GAP = 120


def t(minutes: float = 0, seconds: float = 0) -> datetime:
    return S + timedelta(minutes=minutes, seconds=seconds)


def iv(start: datetime, end: datetime | None, *, user: int = 10, sid: str = "PA_a") -> Interval:
    return Interval(sid, str(user), user, "RM_1", start, end, True)


def together(
    student: list[Interval], teacher: list[Interval], *, until: datetime = E, gap: int = GAP
) -> int:
    return copresent_seconds(
        student, teacher, starts_at=S, ends_at=E, until=until, reconnect_gap_seconds=gap
    )


def attended(intervals: list[Interval], *, until: datetime = E, gap: int = GAP) -> int:
    return measure(
        intervals, starts_at=S, ends_at=E, until=until, reconnect_gap_seconds=gap
    ).attended_seconds


class TestCopresentSeconds:
    def test_the_overlap_of_teacher_and_student(self) -> None:
        """Teacher 0-30 min, student 10-50 min of a 60-min lesson: 1200 s together."""
        assert 1200 == together([iv(t(10), t(50))], [iv(t(0), t(30), user=5)])

    def test_a_student_who_waited_alone(self) -> None:
        """A student in the whole hour with no teacher is co-present 0 s, attended 3600 s."""
        student = [iv(t(0), t(60))]

        assert (0, 3600) == (together(student, []), attended(student))

    def test_a_short_drop_out_counts_as_it_does_for_attendance(self) -> None:
        """A 60-s reconnect of the student, inside the gap, is co-present with the teacher."""
        student = [iv(t(0), t(20), sid="PA_a"), iv(t(21), t(60), sid="PA_b")]

        assert 3600 == together(student, [iv(t(0), t(60), user=5)])

    def test_a_long_drop_out_is_not_counted(self) -> None:
        """A 10-min absence of the teacher beyond the gap is not co-presence."""
        teacher = [iv(t(0), t(20), user=5, sid="PA_t1"), iv(t(30), t(60), user=5, sid="PA_t2")]

        assert 3000 == together([iv(t(0), t(60))], teacher)

    def test_nothing_outside_the_window_counts(self) -> None:
        """Together from 15 min before start to 15 min after end counts only [S, E]."""
        assert 3600 == together([iv(t(-15), t(75))], [iv(t(-15), t(75), user=5)])

    def test_open_intervals_count_up_to_until(self) -> None:
        """Both still in at 25 min, together since 10 min: 900 s so far."""
        assert 900 == together([iv(t(10), None)], [iv(t(0), None, user=5)], until=t(25))

    def test_a_join_after_until_is_not_counted(self) -> None:
        """A join after the evidence's reach adds nothing, as in measure."""
        assert 0 == together([iv(t(30), t(40))], [iv(t(0), t(60), user=5)], until=t(20))

    def test_an_empty_window_is_refused(self) -> None:
        """A window that ends before it starts is a programming error, as for measure."""
        with pytest.raises(ValueError):
            copresent_seconds([], [], starts_at=E, ends_at=S, until=E, reconnect_gap_seconds=GAP)


class TestOverlap:
    def test_overlap_of_interleaved_stretches(self) -> None:
        """Each common piece of two interleaved lists of stretches, in order."""
        a = [(t(0), t(10)), (t(20), t(30)), (t(40), t(50))]
        b = [(t(5), t(25)), (t(28), t(45))]

        assert (
            (t(5), t(10)),
            (t(20), t(25)),
            (t(28), t(30)),
            (t(40), t(45)),
        ) == overlap(a, b)


def _by_user(intervals: tuple[Interval, ...]) -> dict[int, list[Interval]]:
    by_user: dict[int, list[Interval]] = defaultdict(list)
    for interval in intervals:
        if interval.decisive and interval.user_id is not None:
            by_user[interval.user_id].append(interval)
    return by_user


untils = st.sampled_from([t(30), E, E + timedelta(minutes=10)])
gaps = st.sampled_from([0, 60, GAP, 600])


class TestCopresenceProperties:
    @settings(max_examples=500)
    @given(events=traces(), until=untils, gap=gaps)
    def test_never_more_than_either_partys_attended_time(
        self, events: list[Evidence], until: datetime, gap: int
    ) -> None:
        """Co-presence is at most the student's and at most the teacher's attended seconds."""
        by_user = _by_user(build_intervals(events))
        teacher = by_user[TEACHER]
        for student in STUDENTS:
            both = together(by_user[student], teacher, until=until, gap=gap)

            assert 0 <= both <= attended(by_user[student], until=until, gap=gap)
            assert both <= attended(teacher, until=until, gap=gap)

    @settings(max_examples=500)
    @given(events=traces(), until=untils, gap=gaps)
    def test_symmetric_in_the_teachers_and_the_students_intervals(
        self, events: list[Evidence], until: datetime, gap: int
    ) -> None:
        """Swapping the teacher's and the student's intervals gives the same seconds."""
        by_user = _by_user(build_intervals(events))
        teacher = by_user[TEACHER]
        for student in STUDENTS:
            assert together(by_user[student], teacher, until=until, gap=gap) == together(
                teacher, by_user[student], until=until, gap=gap
            )

    @settings(max_examples=500)
    @given(
        events=traces(),
        rnd=st.randoms(use_true_random=False),
        repeats=st.lists(st.integers(min_value=0, max_value=50), max_size=12),
        until=untils,
    )
    def test_invariant_under_the_order_of_events_and_repeats(
        self, events: list[Evidence], rnd: random.Random, repeats: list[int], until: datetime
    ) -> None:
        """Shuffled and repeated evidence gives every student the same co-presence."""
        expected = _by_user(build_intervals(events))
        again = _by_user(build_intervals(rearranged(events, rnd, repeats)))
        for student in STUDENTS:
            assert together(expected[student], expected[TEACHER], until=until) == together(
                again[student], again[TEACHER], until=until
            )

    @settings(max_examples=500)
    @given(events=traces(), rnd=st.randoms(use_true_random=False))
    def test_invariant_under_the_order_of_intervals(
        self, events: list[Evidence], rnd: random.Random
    ) -> None:
        """The same intervals in any order give the same co-presence."""
        by_user = _by_user(build_intervals(events))
        for student in STUDENTS:
            shuffled_student, shuffled_teacher = by_user[student][:], by_user[TEACHER][:]
            rnd.shuffle(shuffled_student)
            rnd.shuffle(shuffled_teacher)

            assert together(by_user[student], by_user[TEACHER]) == together(
                shuffled_student, shuffled_teacher
            )

    @settings(max_examples=500)
    @given(events=traces())
    def test_a_teacher_with_oneself_is_co_present_for_all_attended_time(
        self, events: list[Evidence]
    ) -> None:
        """Anyone's co-presence with themself is exactly their attended seconds."""
        for intervals in _by_user(build_intervals(events)).values():
            assert attended(intervals) == together(intervals, intervals)

    @settings(max_examples=500)
    @given(events=traces(), until=untils, gap=gaps)
    def test_the_same_from_the_measured_stretches(
        self, events: list[Evidence], until: datetime, gap: int
    ) -> None:
        """Co-presence of the stretches `measure` kept (what an assessment holds) is
        that of the raw intervals."""
        by_user = _by_user(build_intervals(events))

        def stretches(intervals: list[Interval]) -> tuple[tuple[datetime, datetime], ...]:
            return measure(
                intervals, starts_at=S, ends_at=E, until=until, reconnect_gap_seconds=gap
            ).intervals

        for student in STUDENTS:
            assert together(by_user[student], by_user[TEACHER], until=until, gap=gap) == (
                copresent_seconds_of(stretches(by_user[student]), stretches(by_user[TEACHER]))
            )
