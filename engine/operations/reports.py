"""A teacher's report on one student, and what it changes.

On a finished session a report re-decides the verdicts at once (`verdicts.redecide`):
an individual session follows its student between COMPLETED and ABSENT, the written
verdicts and the student's charge are updated in place (never a second charge; a
hand-set one is left alone). Every report is audited with the report and the verdict
before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.operations.attendance import StudentAttendance, session_attendance
from engine.operations.verdicts import redecide, verdict_snapshot
from rules.actors import Actor, AuditKind
from rules.errors import Conflict
from rules.lifecycle import accepts_reports, is_finished
from store.schema import Session, StudentReport
from store.uow import UnitOfWork

REPORT_COLUMNS = ("attendance_status", "actual_attendance_minutes", "participation_score", "notes")


@dataclass(frozen=True, slots=True)
class RecordReport:
    """Replace one student's report. `fields` are the session type's own fields."""

    student_id: int
    attendance_status: str | None
    actual_attendance_minutes: int | None = None
    participation_score: float | None = None
    notes: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    reported_by: int | None = None


@dataclass(frozen=True, slots=True)
class ReportRecorded:
    report: StudentReport
    before: StudentAttendance
    after: StudentAttendance


def report_fields(report: StudentReport | None) -> dict[str, Any] | None:
    """The report as the audit log keeps it: columns and the type's own fields."""
    if report is None:
        return None
    return {
        **{name: getattr(report, name) for name in REPORT_COLUMNS},
        **(report.fields or {}),
        "reported_by": report.reported_by,
    }


async def record_report(
    uow: UnitOfWork, session: Session, command: RecordReport, *, at: datetime, actor: Actor
) -> ReportRecorded:
    """Replace one student's report and carry out what it changes. The caller holds the
    session row locked and has checked the caller's rights and the roster."""
    if not accepts_reports(session.status):
        raise Conflict(
            "a cancelled session takes no reports",
            details={"current_status": session.status},
        )
    student_id = command.student_id
    before = (await session_attendance(uow, session, now=at)).student(student_id)
    before_audit = {"report": report_fields(before.report), **verdict_snapshot(before)}
    report = await uow.reports.put(
        before.report,
        session.id,
        student_id,
        values={
            "attendance_status": command.attendance_status,
            "actual_attendance_minutes": command.actual_attendance_minutes,
            "participation_score": command.participation_score,
            "notes": command.notes,
            "fields": dict(command.fields),
            "reported_by": command.reported_by,
        },
        at=at,
    )
    if is_finished(session.status):
        await redecide(
            uow,
            session,
            at=at,
            actor=actor,
            details={"student_id": student_id, "reason": command.reason},
        )
    # Read again: a charge the re-decision wrote first is not in what it assessed.
    after = (await session_attendance(uow, session, now=at)).student(student_id)
    uow.audit.record(
        session.id,
        student_id=student_id,
        kind=AuditKind.REPORT,
        actor=actor,
        at=at,
        reason=command.reason,
        before=before_audit,
        after={"report": report_fields(report), **verdict_snapshot(after)},
    )
    return ReportRecorded(report, before, after)
