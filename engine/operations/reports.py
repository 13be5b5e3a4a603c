"""A teacher's report on one student, and what it changes.

On a finished session a report re-decides the verdicts at once (`verdicts.redecide`):
an individual session follows its student between COMPLETED and ABSENT, the written
verdicts and the student's charge are updated in place (never a second charge; a
hand-set one is left alone). Every report is audited with the report and the verdict
before and after. `record_reports` does the same for many students at once: every
entry checked before anything is written, one re-decision for all of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.operations.attendance import StudentAttendance, session_attendance
from engine.operations.verdicts import redecide, verdict_snapshot
from rules.actors import Actor, AuditKind
from rules.errors import Conflict, ValidationFailed
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


def _check_accepts_reports(session: Session) -> None:
    if not accepts_reports(session.status):
        raise Conflict(
            "a cancelled session takes no reports",
            details={"current_status": session.status},
        )


async def _dated(uow: UnitOfWork, session: Session, at: datetime) -> datetime:
    """When a report on `session` is recorded: `at`, or the session's last move if that
    is later. A day played with `as_of` sweeps (a simulation, a replay) or a replica
    whose clock lags another's would otherwise date a report before the lesson it
    corrects, and its history would list the correction first."""
    last = await uow.transitions.last_at(session.id)
    return max(at, last) if last is not None else at


def _values(command: RecordReport) -> dict[str, Any]:
    return {
        "attendance_status": command.attendance_status,
        "actual_attendance_minutes": command.actual_attendance_minutes,
        "participation_score": command.participation_score,
        "notes": command.notes,
        "fields": dict(command.fields),
        "reported_by": command.reported_by,
    }


async def record_report(
    uow: UnitOfWork, session: Session, command: RecordReport, *, at: datetime, actor: Actor
) -> ReportRecorded:
    """Replace one student's report and carry out what it changes. The caller holds the
    session row locked and has checked the caller's rights and the roster."""
    _check_accepts_reports(session)
    at = await _dated(uow, session, at)
    student_id = command.student_id
    before = (await session_attendance(uow, session, now=at)).student(student_id)
    before_audit = {"report": report_fields(before.report), **verdict_snapshot(before)}
    report = await uow.reports.put(
        before.report,
        session.id,
        student_id,
        values=_values(command),
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


@dataclass(frozen=True, slots=True)
class RecordReports:
    """Replace several students' reports at once, all or nothing. One `reason` for all:
    it is what each entry is audited and the re-decision noted with (the entries' own
    `reason` is not read)."""

    reports: tuple[RecordReport, ...]
    reason: str | None = None


def entry_problems(
    student_ids: Sequence[object], roster: Collection[int], session_id: int
) -> list[dict[str, str]]:
    """A `reports[i].student_id` error for each entry naming a student off the roster or
    one an earlier entry named already (two reports on one student would leave which
    one wins to their order). Ids that are not integers are the body's to refuse."""
    problems: list[dict[str, str]] = []
    seen: dict[int, int] = {}
    for index, student_id in enumerate(student_ids):
        if not isinstance(student_id, int) or isinstance(student_id, bool):
            continue
        field_name = f"reports[{index}].student_id"
        if student_id not in roster:
            message = f"student {student_id} is not on the roster of session {session_id}"
            problems.append({"field": field_name, "message": message})
        elif student_id in seen:
            message = f"student {student_id} is reported already in reports[{seen[student_id]}]"
            problems.append({"field": field_name, "message": message})
        else:
            seen[student_id] = index
    return problems


async def record_reports(
    uow: UnitOfWork, session: Session, command: RecordReports, *, at: datetime, actor: Actor
) -> list[ReportRecorded]:
    """Replace every entry's report, then carry out what they change together: a
    finished session is decided again once (not once per entry: an individual session
    would otherwise move for each and every charge be rewritten N times). The caller
    holds the session row locked and has checked the caller's rights; every entry is
    checked here before the first write, so a refusal leaves everything as it was."""
    _check_accepts_reports(session)
    at = await _dated(uow, session, at)
    roster = await uow.sessions.roster(session.id)
    problems = entry_problems([e.student_id for e in command.reports], roster, session.id)
    if problems:
        names = ", ".join(p["field"] for p in problems)
        raise ValidationFailed(f"invalid values: {names}", details=problems)
    before = await session_attendance(uow, session, now=at, roster=roster)
    # Snapshot first: a charge row is one object, rewritten in place by the re-decision.
    befores = {e.student_id: before.student(e.student_id) for e in command.reports}
    audits = {
        sid: {"report": report_fields(b.report), **verdict_snapshot(b)}
        for sid, b in befores.items()
    }
    written = [
        await uow.reports.put(
            befores[e.student_id].report, session.id, e.student_id, values=_values(e), at=at
        )
        for e in command.reports
    ]
    if is_finished(session.status):
        student_ids = [e.student_id for e in command.reports]
        details = {"student_ids": student_ids, "reason": command.reason}
        await redecide(uow, session, at=at, actor=actor, details=details)
    after = await session_attendance(uow, session, now=at, roster=roster)
    recorded = []
    for report in written:
        current = after.student(report.student_id)
        uow.audit.record(
            session.id,
            student_id=report.student_id,
            kind=AuditKind.REPORT,
            actor=actor,
            at=at,
            reason=command.reason,
            before=audits[report.student_id],
            after={"report": report_fields(report), **verdict_snapshot(current)},
        )
        recorded.append(ReportRecorded(report, befores[report.student_id], current))
    return recorded
