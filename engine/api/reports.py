"""`PUT /v1/sessions/{id}/reports/{student_id}`: a teacher's report, and what it changes.

On a finished session a report re-decides the student's verdict at once: an
individual session follows its student between COMPLETED and ABSENT, and the
student's ledger row is updated in place (never a second charge; a hand-set row
is left alone). Every report is audited with the report and verdict before and after.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from engine.api.access import acting_user, check_on_roster, check_own_teaching, visible_session
from engine.api.answers import ReportOut
from engine.api.bodies import ACADEMIC_REPORT_FIELDS, QURAN_REPORT_FIELDS, ReportIn
from engine.api.http import database, invalid, now, path_id, read_body, respond
from engine.api.shapes import charge_shape, report_fields, report_shape
from engine.auth import Principal, authenticate, only
from engine.openapi import Route
from engine.operations.attendance import StudentAttendance, session_attendance
from engine.operations.charges import settle_charges
from engine.operations.lifecycle import transition
from rules.attendance import AttendanceStatus
from rules.codes import SessionType, SubscriptionKind, is_individual, kind_of
from rules.errors import Conflict, ValidationFailed
from rules.lifecycle import FINISHED, LifecycleEvent, Status
from store.schema import Session, StudentReport
from store.uow import UnitOfWork


def _type_fields(raw: Any, session_type: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """The report fields of this session type, and an error for each field of another
    type the body carries (checked on the raw JSON, so they are named even when other
    fields fail validation too)."""
    quran = kind_of(SessionType(session_type)) is SubscriptionKind.QURAN
    own, foreign = (
        (QURAN_REPORT_FIELDS, ACADEMIC_REPORT_FIELDS)
        if quran
        else (ACADEMIC_REPORT_FIELDS, QURAN_REPORT_FIELDS)
    )
    present = raw if isinstance(raw, dict) else {}
    message = f"not a field of {session_type} sessions"
    return own, [
        {"field": name, "message": message} for name in foreign if present.get(name) is not None
    ]


def _follow_student(session: Session, verdict: AttendanceStatus) -> LifecycleEvent | None:
    """The move that keeps a finished individual session's status in step with its
    student's verdict: ABSENT exactly when the student is absent."""
    if not is_individual(SessionType(session.type)):
        return None
    absent = verdict is AttendanceStatus.ABSENT
    if session.status == Status.COMPLETED and absent:
        return LifecycleEvent.REPORT_ABSENT
    if session.status == Status.ABSENT and not absent:
        return LifecycleEvent.REPORT_PRESENT
    return None


def _verdict(student: StudentAttendance) -> dict[str, Any]:
    return {
        "attendance_status": student.verdict.status.value,
        "source": student.verdict.source.value,
        "charge": charge_shape(student.charge).model_dump(),
    }


async def put_report(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    student_id = path_id(request, "student_id")
    try:
        body: ReportIn | None = await read_body(request, ReportIn)
        problems: list[dict[str, str]] = []
    except ValidationFailed as exc:
        body, problems = None, list(exc.details)  # type: ignore[call-overload]
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        check_on_roster(student_id, await uow.sessions.roster(session.id), session.id)
        own, foreign = _type_fields(json.loads(await request.read()), session.type)
        if problems or foreign:
            named = {f["field"] for f in foreign}
            raise invalid(*(p for p in problems if p["field"] not in named), *foreign)
        assert body is not None
        fields = {name: getattr(body, name) for name in own if getattr(body, name) is not None}
        report, after = await apply_report(
            uow, principal, session, student_id, body, fields, at=moment
        )
        shape = report_shape(report, session, after)
        await uow.commit()
    return respond(shape)


async def apply_report(
    uow: UnitOfWork,
    principal: Principal,
    session: Session,
    student_id: int,
    body: ReportIn,
    fields: dict[str, Any],
    *,
    at: datetime,
) -> tuple[StudentReport, StudentAttendance]:
    """Replace one student's report and carry out what it changes; the caller holds
    the session locked and has checked the caller's rights on it and that the student
    is on its roster. Shared by the API and the attendance page's override form."""
    reported_by = acting_user(principal, body.reported_by, "reported_by")
    if session.status == Status.CANCELLED:
        raise Conflict(
            "a cancelled session takes no reports",
            details={"current_status": session.status},
        )
    before = (await session_attendance(uow, session, now=at)).student(student_id)
    report = before.report
    before_audit = {"report": report_fields(report), **_verdict(before)}
    if report is None:
        report = StudentReport(session_id=session.id, student_id=student_id, created_at=at)
        uow.session.add(report)
    report.attendance_status = body.attendance_status
    report.actual_attendance_minutes = body.actual_attendance_minutes
    report.participation_score = body.participation_score
    report.notes = body.notes
    report.fields = fields
    report.reported_by = reported_by
    report.updated_at = at
    await uow.session.flush()

    if Status(session.status) in FINISHED:
        attendance = await session_attendance(uow, session, now=at)
        event = _follow_student(session, attendance.student(student_id).verdict.status)
        if event is not None:
            await transition(
                uow,
                session,
                event,
                at=at,
                actor=principal.actor,
                details={"student_id": student_id, "reason": body.reason},
            )
        await settle_charges(uow, session, attendance, at=at)
        await uow.session.flush()
    after = (await session_attendance(uow, session, now=at)).student(student_id)
    uow.audit.record(
        session.id,
        student_id=student_id,
        kind="report",
        actor=principal.actor,
        at=at,
        reason=body.reason,
        before=before_audit,
        after={"report": report_fields(report), **_verdict(after)},
    )
    return report, after


ROUTES = (
    Route(
        "PUT",
        "/v1/sessions/{id}/reports/{student_id}",
        "Record (replace) the teacher's report on one student",
        put_report,
        rights=only("admin", "teacher"),
        body=ReportIn,
        answer=ReportOut,
        errors=(403, 409),
        tag="attendance",
        description="`attendance_status` decides the verdict (`null` hands it back to the "
        "meeting evidence). On a COMPLETED or ABSENT session the verdict is re-decided at "
        "once: an individual session moves COMPLETED <-> ABSENT with its student, and the "
        "ledger row is updated in place. Audited with before and after.",
    ),
)
