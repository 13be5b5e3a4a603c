"""An unfinished session's attendance answer written as JSON bytes straight from its
assessment.

`attendance_shape` validates the assessment's values through `AttendanceOut` and
then writes them; every value comes from the rules and the typed store, already of
the type the model declares, so the validation only cost time (about half of
writing a 30-student answer). These bytes are the model's: `attendance_fields` puts
the fields in the model's order, and pydantic-core's own writer writes each value as
the model would (a Hypothesis property over random assessments holds the two equal,
tests/unit/test_assessed_answer.py).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json

from engine.explanations import render, render_engagement
from engine.operations.attendance import SessionAttendance, StudentAttendance
from engine.operations.charges import charge_snapshot


def assessed_answer_json(
    attendance: SessionAttendance, *, only_student: int | None = None, locale: str | None = None
) -> bytes:
    return to_json(attendance_fields(attendance, only_student=only_student, locale=locale))


def _meeting(user_id: int, m: Any) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "attended_seconds": m.attended_seconds,
        "attendance_percentage": m.attendance_percentage,
        "first_join_at": m.first_join_at,
        "last_leave_at": m.last_leave_at,
        "join_count": m.join_count,
        "intervals": [{"joined_at": start, "left_at": end} for start, end in m.intervals],
    }


def student_attendance_fields(
    student: StudentAttendance, *, locale: str | None = None
) -> dict[str, Any]:
    """A student's answer entry as plain values, in `StudentAttendanceOut`'s order."""
    verdict, report, engagement = student.verdict, student.report, student.engagement
    overridden = report is not None and report.attendance_status is not None
    return {
        **_meeting(student.user_id, verdict.meeting),
        "copresent_seconds": student.copresent_seconds,
        "attendance_status": verdict.status.value,
        "source": verdict.source.value,
        "explanation": render(
            verdict.explanation_code,
            locale,
            fallback=verdict.explanation,
            status=verdict.status.value,
        ),
        "explanation_code": verdict.explanation_code,
        "camera_seconds": engagement.camera_seconds,
        "microphone_seconds": engagement.microphone_seconds,
        "screen_share_seconds": engagement.screen_share_seconds,
        "engagement_score": engagement.engagement_score,
        "engagement_explanation": render_engagement(engagement.explanation_code, locale),
        "engagement_explanation_code": engagement.explanation_code,
        "manually_overridden": overridden,
        "overridden_by": report.reported_by if overridden and report else None,
        "charge": charge_snapshot(student.charge),
    }


def attendance_fields(
    attendance: SessionAttendance,
    *,
    only_student: int | None = None,
    locale: str | None = None,
) -> dict[str, Any]:
    """An assessed session's answer as plain values, in `AttendanceOut`'s order:
    what `attendance_shape` validates, and what `assessed_answer_json` writes without
    validating."""
    session = attendance.session
    return {
        "session_id": session.id,
        "status": session.status,
        "counts_for_teacher": session.counts_for_teacher,
        "teacher": {
            **_meeting(attendance.teacher_id, attendance.teacher_meeting),
            "attendance_status": attendance.teacher_status.value,
        },
        "students": [
            student_attendance_fields(s, locale=locale)
            for s in attendance.students
            if only_student is None or s.user_id == only_student
        ],
    }
