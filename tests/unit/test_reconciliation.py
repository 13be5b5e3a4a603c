"""Reconciling reports and meeting evidence into verdicts (CONTRACT 4.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.attendance import AttendanceStatus, MeetingAttendance, TeacherStatus
from rules.reconciliation import Verdict, VerdictSource, reconcile_student, teacher_verdict
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
