"""Meeting attendance of one user (CONTRACT 4.2), at the edges of every rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.attendance import (
    AttendanceStatus,
    MeetingAttendance,
    TeacherStatus,
    explain,
    measure,
    reference_start,
    student_status,
    teacher_status,
)
from rules.evidence import Interval
from rules.settings import RuleSettings

S = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
E = S + timedelta(minutes=60)
RULES = RuleSettings()
A = AttendanceStatus


def t(minutes: float = 0, seconds: float = 0) -> datetime:
    return S + timedelta(minutes=minutes, seconds=seconds)


def iv(start: datetime, end: datetime | None, sid: str = "PA_a") -> Interval:
    return Interval(sid, "10", 10, "RM_1", start, end, True)


def measured(*intervals: Interval, until: datetime = E, gap: int = 120) -> MeetingAttendance:
    return measure(intervals, starts_at=S, ends_at=E, until=until, reconnect_gap_seconds=gap)


def meeting(
    pct: float, *, first: datetime | None = S, last: datetime | None = E, joins: int = 1
) -> MeetingAttendance:
    return MeetingAttendance(int(pct * 36), pct, first, last, joins, ())


def status(m: MeetingAttendance, *, ref: datetime = S) -> AttendanceStatus:
    return student_status(m, reference_start=ref, ends_at=E, settings=RULES)


class TestMeasure:
    def test_one_interval_inside_the_session(self) -> None:
        """An interval inside [S, E] counts in full."""
        assert MeetingAttendance(
            attended_seconds=1800,
            attendance_percentage=50.0,
            first_join_at=t(10),
            last_leave_at=t(40),
            join_count=1,
            intervals=((t(10), t(40)),),
        ) == measured(iv(t(10), t(40)))

    def test_preparation_time_and_overtime_never_count(self) -> None:
        """Presence before S and after E is clipped away; raw first/last stay raw."""
        m = measured(iv(t(-15), t(80)), until=t(90))

        assert (3600, 100.0) == (m.attended_seconds, m.attendance_percentage)
        assert ((S, E),) == m.intervals
        assert (t(-15), t(80)) == (m.first_join_at, m.last_leave_at)

    def test_presence_entirely_outside_is_dropped(self) -> None:
        """An interval wholly in the preparation time adds nothing but is still a join."""
        m = measured(iv(t(-15), t(-1)))

        assert (0, 0.0, (), 1) == (
            m.attended_seconds,
            m.attendance_percentage,
            m.intervals,
            m.join_count,
        )

    def test_open_interval_counts_up_to_until(self) -> None:
        """A live session counts an open interval up to now, and has no last leave."""
        m = measured(iv(t(0), None), until=t(30))

        assert (1800, None) == (m.attended_seconds, m.last_leave_at)

    def test_nothing_after_until_counts(self) -> None:
        """Closed intervals are also cut at until, and joins after it add nothing, not
        even a join (a finished session's figures are final)."""
        m = measured(iv(t(0), t(50)), iv(t(45), t(55), "PA_b"), until=t(30))

        assert (1800, 1) == (m.attended_seconds, m.join_count)

    def test_gap_of_exactly_the_reconnect_gap_is_merged_and_counted(self) -> None:
        """A 120 s drop-out is a reconnect: the gap counts as present."""
        m = measured(iv(t(0), t(20)), iv(t(20, 120), t(40), "PA_b"))

        assert (2400, ((t(0), t(40)),)) == (m.attended_seconds, m.intervals)

    def test_gap_one_second_longer_is_not_merged(self) -> None:
        """A 121 s gap is an absence: two intervals, the gap not counted."""
        m = measured(iv(t(0), t(20)), iv(t(20, 121), t(40), "PA_b"))

        assert 2400 - 121 == m.attended_seconds
        assert ((t(0), t(20)), (t(20, 121), t(40))) == m.intervals

    def test_overlapping_connections_count_once(self) -> None:
        """Two devices at once are not twice the presence."""
        m = measured(iv(t(0), t(30)), iv(t(10), t(20), "PA_b"), iv(t(25), t(45), "PA_c"))

        assert (2700, ((t(0), t(45)),)) == (m.attended_seconds, m.intervals)

    def test_seconds_are_floored(self) -> None:
        """Fractions of a second are dropped, never rounded up."""
        assert 10 == measured(iv(t(0), t(0, 10.9))).attended_seconds

    def test_percentage_is_rounded_to_two_decimals(self) -> None:
        """20 min of 60 is 33.33 %."""
        assert 33.33 == measured(iv(t(0), t(20))).attendance_percentage

    def test_no_intervals_is_nothing(self) -> None:
        """No presence at all: zeros and no times."""
        assert MeetingAttendance(0, 0.0, None, None, 0, ()) == measured()

    def test_last_leave_is_the_latest_when_all_closed(self) -> None:
        """Every interval closed: last_leave_at is the latest raw leave."""
        assert t(50) == measured(iv(t(0), t(50)), iv(t(10), t(20), "PA_b")).last_leave_at

    def test_any_open_interval_means_no_last_leave(self) -> None:
        """Someone still connected has not left."""
        assert measured(iv(t(0), t(50)), iv(t(10), None, "PA_b"), until=t(59)).last_leave_at is None

    def test_session_must_have_a_length(self) -> None:
        """E must be after S."""
        with pytest.raises(ValueError, match="must be after"):
            measure([], starts_at=S, ends_at=S, until=S, reconnect_gap_seconds=120)


class TestReferenceStart:
    def test_no_teacher_join_means_start(self) -> None:
        """Without a teacher join, R is S."""
        assert S == reference_start(S, None)

    def test_teacher_early_means_start(self) -> None:
        """A teacher in the room before S does not move R earlier."""
        assert S == reference_start(S, t(-10))

    def test_teacher_late_moves_reference(self) -> None:
        """A late teacher's first join is R."""
        assert t(15) == reference_start(S, t(15))


class TestStudentStatus:
    def test_no_join_is_absent(self) -> None:
        """No interval at all is absent."""
        assert A.ABSENT is status(meeting(0.0, first=None, last=None, joins=0))

    def test_exactly_partial_percent_is_partial_not_absent(self) -> None:
        """50 % is enough not to be absent."""
        assert A.PARTIAL is status(meeting(50.0))

    def test_just_below_partial_percent_is_absent(self) -> None:
        """49.99 % is absent."""
        assert A.ABSENT is status(meeting(49.99))

    def test_exactly_full_percent_is_present(self) -> None:
        """80 % is present."""
        assert A.PRESENT is status(meeting(80.0))

    def test_just_below_full_percent_is_partial(self) -> None:
        """79.99 % is partial."""
        assert A.PARTIAL is status(meeting(79.99))

    def test_exactly_the_late_grace_is_not_late(self) -> None:
        """Joining exactly 10 min after R is on time."""
        assert A.PRESENT is status(meeting(83.33, first=t(10)))

    def test_one_second_past_the_late_grace_is_late(self) -> None:
        """Joining 10 min 1 s after R is late."""
        assert A.LATE is status(meeting(83.3, first=t(10, 1)))

    def test_late_is_measured_from_the_reference_start(self) -> None:
        """With the teacher 15 min late, joining 16 min after S is not late."""
        assert A.PRESENT is status(meeting(80.0, first=t(16)), ref=t(15))

    def test_leaving_exactly_at_the_early_leave_grace_is_not_early(self) -> None:
        """Leaving exactly at E - 10 min is not leaving early."""
        assert A.PRESENT is status(meeting(83.33, last=t(50)))

    def test_leaving_one_second_before_is_left_early(self) -> None:
        """Leaving at E - 10 min - 1 s is left_early."""
        assert A.LEFT_EARLY is status(meeting(83.3, last=t(49, 59)))

    def test_still_connected_is_never_left_early(self) -> None:
        """No last leave (still in) cannot be an early leave."""
        assert A.PRESENT is status(meeting(80.0, last=None))

    def test_absent_wins_over_late(self) -> None:
        """First match wins: too little presence is absent even when late."""
        assert A.ABSENT is status(meeting(40.0, first=t(30)))

    def test_late_wins_over_left_early(self) -> None:
        """First match wins: late before left_early."""
        assert A.LATE is status(meeting(60.0, first=t(15), last=t(40)))

    def test_settings_move_the_thresholds(self) -> None:
        """An academy's own thresholds are used."""
        strict = RuleSettings(partial_percent=70.0, late_grace_minutes=2)

        assert A.ABSENT is student_status(
            meeting(69.0), reference_start=S, ends_at=E, settings=strict
        )
        assert A.LATE is student_status(
            meeting(90.0, first=t(3)), reference_start=S, ends_at=E, settings=strict
        )

    def test_teacher_late_student_with_teacher_is_not_late(self) -> None:
        """Measured end to end: a student who arrives with a late teacher is present."""
        teacher = measured(iv(t(12), E, "PA_t"))
        student = measured(iv(t(12), E, "PA_s"))
        ref = reference_start(S, teacher.first_join_at)

        assert A.PRESENT is student_status(student, reference_start=ref, ends_at=E, settings=RULES)
        assert A.LATE is student_status(student, reference_start=S, ends_at=E, settings=RULES)


class TestTeacherStatus:
    @pytest.mark.parametrize(
        ("pct", "expected"),
        [
            (100.0, TeacherStatus.ATTENDED),
            (90.0, TeacherStatus.ATTENDED),
            (89.99, TeacherStatus.PARTIAL),
            (50.0, TeacherStatus.PARTIAL),
            (49.99, TeacherStatus.ABSENT),
            (0.0, TeacherStatus.ABSENT),
        ],
    )
    def test_thresholds(self, pct: float, expected: TeacherStatus) -> None:
        """Attended from 90 %, partial from 50 %, else absent."""
        assert expected is teacher_status(meeting(pct), RULES)

    def test_never_joined_is_absent_even_with_zero_thresholds(self) -> None:
        """A teacher who never came is absent whatever the academy's bar."""
        lax = RuleSettings(teacher_full_percent=0.0, teacher_partial_percent=0.0)

        assert TeacherStatus.ABSENT is teacher_status(meeting(0.0, joins=0), lax)


class TestExplain:
    def _explain(self, status: A, m: MeetingAttendance, ref: datetime = S) -> str:
        return explain(status, m, reference_start=ref, starts_at=S, ends_at=E)

    def test_present(self) -> None:
        """Present says how long and when the student joined."""
        m = measured(iv(t(2), t(54)))

        assert "present: 52 of 60 min, joined 2 min after start" == self._explain(A.PRESENT, m)

    def test_present_joining_early_and_on_the_dot(self) -> None:
        """Joining before S, or exactly at S, is said so."""
        assert "present: 60 of 60 min, joined 3 min before start" == self._explain(
            A.PRESENT, measured(iv(t(-3), E))
        )
        assert "present: 60 of 60 min, joined at start" == self._explain(
            A.PRESENT, measured(iv(S, E))
        )

    def test_late(self) -> None:
        """Late says how late first."""
        m = measured(iv(t(12), E))

        assert "late: joined 12 min after start, 48 of 60 min" == self._explain(A.LATE, m)

    def test_late_by_a_second_is_exact(self) -> None:
        """Odd seconds are shown, so 10 min 1 s does not read as 10 min."""
        m = measured(iv(t(10, 1), E))

        assert "late: joined 10 min 1 s after start, 50 of 60 min" == self._explain(A.LATE, m)

    def test_relative_to_a_late_teacher(self) -> None:
        """With the teacher late, joining times are relative to the teacher's arrival."""
        assert "present: 48 of 60 min, joined with the teacher" == self._explain(
            A.PRESENT, measured(iv(t(12), E)), ref=t(12)
        )
        assert "late: joined 45 s after the teacher arrived, 25 of 60 min" == self._explain(
            A.LATE, measured(iv(t(34, 45), E)), ref=t(34)
        )

    def test_left_early(self) -> None:
        """Left early says how early."""
        m = measured(iv(S, t(45)))

        assert "left_early: left 15 min before end, 45 of 60 min" == self._explain(A.LEFT_EARLY, m)

    def test_left_early_while_connected_falls_back(self) -> None:
        """A left_early label (e.g. from a report) on an open meeting still explains."""
        m = measured(iv(S, None), until=t(30))

        assert "left_early: 30 of 60 min, joined at start" == self._explain(A.LEFT_EARLY, m)

    def test_absent_never_joined(self) -> None:
        """No join at all."""
        assert "absent: never joined" == self._explain(A.ABSENT, measured())

    def test_absent_too_little(self) -> None:
        """Some presence, but too little."""
        m = measured(iv(t(0), t(20)))

        assert "absent: 20 of 60 min (33.33 %)" == self._explain(A.ABSENT, m)

    def test_partial_and_pending(self) -> None:
        """Partial and pending read like present."""
        m = measured(iv(t(0), t(0, 40)), iv(t(20), t(60), "PA_b"))

        assert "partial: 41 of 60 min, joined at start" == self._explain(A.PARTIAL, m)
        assert "pending: not joined yet" == self._explain(A.PENDING, measured())

    def test_always_starts_with_the_status(self) -> None:
        """Every explanation opens with "<status>: "."""
        for value in AttendanceStatus:
            for m in (measured(), measured(iv(t(5), t(30)))):
                assert self._explain(value, m).startswith(f"{value.value}: ")


# -- property (b): more presence never hurts ---------------------------------

minute_offsets = st.integers(min_value=-20 * 60, max_value=80 * 60)


@st.composite
def raw_intervals(draw: st.DrawFn, sid: str) -> Interval:
    start = draw(minute_offsets)
    length = draw(st.none() | st.integers(min_value=0, max_value=70 * 60))
    end = None if length is None else t(seconds=start + length)
    return iv(t(seconds=start), end, sid)


class TestMorePresenceNeverHurts:
    @settings(max_examples=500)
    @given(
        base=st.lists(st.integers(0, 10**6).map(str), max_size=5, unique=True).flatmap(
            lambda sids: st.tuples(*(raw_intervals(f"PA_{s}") for s in sids))
        ),
        extra=raw_intervals("PA_extra"),
        until=st.integers(min_value=0, max_value=90 * 60).map(lambda s: t(seconds=s)),
        gap=st.integers(min_value=0, max_value=600),
        late_teacher=st.none() | st.integers(0, 40 * 60).map(lambda s: t(seconds=s)),
    )
    def test_an_extra_interval_never_lowers_attendance_or_makes_absent(
        self,
        base: tuple[Interval, ...],
        extra: Interval,
        until: datetime,
        gap: int,
        late_teacher: datetime | None,
    ) -> None:
        """Adding an interval never lowers attended seconds and never turns a student absent."""
        before = measured(*base, until=until, gap=gap)
        after = measured(*base, extra, until=until, gap=gap)
        ref = reference_start(S, late_teacher)

        assert after.attended_seconds >= before.attended_seconds
        assert after.attendance_percentage >= before.attendance_percentage
        if status(before, ref=ref) is not A.ABSENT:
            assert A.ABSENT is not status(after, ref=ref)
