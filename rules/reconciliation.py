"""One verdict per user per session (CONTRACT 4.3).

Sources in order of authority: the teacher's report with an ``attendance_status``,
then the meeting evidence, then nothing at all (absent once the session is over).
Until the session is finished any verdict from evidence is ``pending``: the
student may still join, leave or come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rules.attendance import (
    AttendanceStatus,
    MeetingAttendance,
    TeacherStatus,
    explain,
    explanation_code,
    student_status,
    teacher_status,
)
from rules.settings import RuleSettings

__all__ = ["Verdict", "VerdictSource", "has_attended", "reconcile_student", "teacher_verdict"]


class VerdictSource(StrEnum):
    TEACHER_REPORT = "teacher_report"
    MEETING = "meeting"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Verdict:
    user_id: int
    status: AttendanceStatus
    source: VerdictSource
    explanation: str
    # Kept even when a report wins, so the page can show both side by side.
    meeting: MeetingAttendance
    # The explanation as a stable code and its numbers (CONTRACT 5): the text for
    # people is rendered from it in the academy's locale (engine.explanations).
    explanation_code: dict[str, str | int | float] = field(default_factory=dict, compare=False)


def reconcile_student(
    user_id: int,
    *,
    report_status: AttendanceStatus | None,
    meeting: MeetingAttendance,
    reference_start: datetime,
    starts_at: datetime,
    ends_at: datetime,
    finished: bool,
    settings: RuleSettings,
) -> Verdict:
    """The verdict for one student; ``report_status=None`` defers to the evidence."""
    if report_status is not None:
        status = AttendanceStatus(report_status)
        return Verdict(
            user_id,
            status,
            VerdictSource.TEACHER_REPORT,
            f"teacher report: {status}",
            meeting,
            {"code": "teacher_report", "status": status.value},
        )
    if meeting.join_count == 0:
        status = AttendanceStatus.ABSENT if finished else AttendanceStatus.PENDING
        text = explain(
            status, meeting, reference_start=reference_start, starts_at=starts_at, ends_at=ends_at
        )
        code = explanation_code(
            status, meeting, reference_start=reference_start, starts_at=starts_at, ends_at=ends_at
        )
        return Verdict(user_id, status, VerdictSource.NONE, text, meeting, code)

    would_be = student_status(
        meeting, reference_start=reference_start, ends_at=ends_at, settings=settings
    )
    text = explain(
        would_be, meeting, reference_start=reference_start, starts_at=starts_at, ends_at=ends_at
    )
    code = explanation_code(
        would_be, meeting, reference_start=reference_start, starts_at=starts_at, ends_at=ends_at
    )
    if finished:
        return Verdict(user_id, would_be, VerdictSource.MEETING, text, meeting, code)
    # Show where the evidence points so far without committing to it.
    _, detail = text.split(": ", 1)
    pending = AttendanceStatus.PENDING
    return Verdict(
        user_id,
        pending,
        VerdictSource.MEETING,
        f"{pending}: {would_be} so far, {detail}",
        meeting,
        {**code, "code": pending.value, "so_far": would_be.value},
    )


def has_attended(verdict: Verdict) -> bool:
    """Whether a student counts among a session's participants (the seed's "number who
    attended"): any verdict but `absent`, where a `pending` one counts only once the
    student has joined (so a session nobody has come to yet counts 0)."""
    if verdict.status is AttendanceStatus.ABSENT:
        return False
    if verdict.status is AttendanceStatus.PENDING:
        return verdict.meeting.join_count > 0
    return True


def teacher_verdict(
    meeting: MeetingAttendance, *, finished: bool, settings: RuleSettings
) -> TeacherStatus:
    if not finished:
        return TeacherStatus.PENDING
    return teacher_status(meeting, settings)
