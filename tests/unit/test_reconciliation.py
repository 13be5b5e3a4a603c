"""Reconciling reports and meeting evidence into verdicts (CONTRACT 4.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules.attendance import AttendanceStatus, MeetingAttendance, TeacherStatus
from rules.reconciliation import (
    Verdict,
    VerdictSource,
    has_attended,
    reconcile_student,
    teacher_verdict,
)
from rules.settings import RuleSettings

S = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
E = S + timedelta(minutes=60)
A = AttendanceStatus
NEVER = MeetingAttendance(0, 0.0, None, None, 0, ())
# 48 of 60 min from 12 min after start: late once final.
LATE_48 = MeetingAttendance(2880, 80.0, S + timedelta(minutes=12), E, 1, ())
HALF_SO_FAR = MeetingAttendance(1800, 50.0, S, None, 1, ())


def verdict(
    meeting: MeetingAttendance, *, report: AttendanceStatus | None = None, finished: bool = True
) -> Verdict:
    return reconcile_student(
        10,
        report_status=report,
        meeting=meeting,
        reference_start=S,
        starts_at=S,
        ends_at=E,
        finished=finished,
        settings=RuleSettings(),
    )


class TestReconcileStudent:
    def test_teacher_report_wins(self) -> None:
        """A report with a status beats the meeting evidence."""
        assert Verdict(
            10, A.PRESENT, VerdictSource.TEACHER_REPORT, "teacher report: present", LATE_48
        ) == verdict(LATE_48, report=A.PRESENT)

    def test_teacher_report_wins_even_while_live(self) -> None:
        """A report is final at once, even before the session ends."""
        v = verdict(NEVER, report=A.ABSENT, finished=False)

        assert (A.ABSENT, VerdictSource.TEACHER_REPORT) == (v.status, v.source)

    def test_meeting_decides_without_report(self) -> None:
        """No report (or a null one): the meeting evidence decides once finished."""
        assert Verdict(
            10,
            A.LATE,
            VerdictSource.MEETING,
            "late: joined 12 min after start, 48 of 60 min",
            LATE_48,
        ) == verdict(LATE_48)

    def test_meeting_verdict_is_pending_while_live(self) -> None:
        """While live, the meeting verdict is pending but says where it points."""
        v = verdict(HALF_SO_FAR, finished=False)

        assert (A.PENDING, VerdictSource.MEETING) == (v.status, v.source)
        assert "pending: partial so far, 30 of 60 min, joined at start" == v.explanation

    def test_no_evidence_is_absent_once_finished(self) -> None:
        """Never joined and no report: absent, from no source."""
        assert Verdict(10, A.ABSENT, VerdictSource.NONE, "absent: never joined", NEVER) == verdict(
            NEVER
        )

    def test_no_evidence_is_pending_while_live(self) -> None:
        """Not joined yet while live: pending, from no source."""
        assert Verdict(
            10, A.PENDING, VerdictSource.NONE, "pending: not joined yet", NEVER
        ) == verdict(NEVER, finished=False)


class TestTeacherVerdict:
    def test_pending_while_live(self) -> None:
        """A live session's teacher verdict is pending."""
        assert TeacherStatus.PENDING is teacher_verdict(
            LATE_48, finished=False, settings=RuleSettings()
        )

    def test_final_once_finished(self) -> None:
        """Finished, the teacher's thresholds apply (80 % is partial)."""
        assert TeacherStatus.PARTIAL is teacher_verdict(
            LATE_48, finished=True, settings=RuleSettings()
        )


class TestHasAttended:
    @given(
        report=st.none() | st.sampled_from([s for s in A if s is not A.PENDING]),
        joins=st.integers(min_value=0, max_value=5),
        seconds=st.integers(min_value=0, max_value=3600),
        finished=st.booleans(),
    )
    def test_a_student_attended_exactly_when_not_absent_and_not_waiting_to_join(
        self, report: AttendanceStatus | None, joins: int, seconds: int, finished: bool
    ) -> None:
        """Counted when the verdict is neither `absent` nor a `pending` of someone who
        never joined: nobody counts before anyone has come."""
        first = S if joins else None
        meeting = MeetingAttendance(seconds if joins else 0, 0.0, first, None, joins, ())
        v = verdict(meeting, report=report, finished=finished)
        expected = v.status is not A.ABSENT and (v.status is not A.PENDING or joins > 0)
        assert expected == has_attended(v)
        if v.status is A.PENDING and joins == 0:
            assert False is has_attended(v)

    def test_a_live_student_who_has_joined_counts(self) -> None:
        """Joined, still pending: already attended."""
        assert True is has_attended(verdict(HALF_SO_FAR, finished=False))

    def test_nobody_yet_counts_nobody(self) -> None:
        """Not joined, pending: not counted."""
        assert False is has_attended(verdict(NEVER, finished=False))
