"""`PUT /v1/sessions/{id}/reports/{student_id}`: a teacher's report.

What a report changes is `engine.operations.reports.record_report`'s; this handler
checks rights, the roster and the type's fields, in that order (404 before 422).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from engine.api.access import acting_user, check_on_roster, check_own_teaching, visible_session
from engine.api.answers import ReportOut
from engine.api.bodies import ACADEMIC_REPORT_FIELDS, QURAN_REPORT_FIELDS, ReportIn
from engine.api.http import database, invalid, now, path_id, read_body, respond
from engine.api.shapes import report_shape
from engine.auth import authenticate, only
from engine.operations.reports import RecordReport, record_report
from engine.routes import Route
from rules.codes import SessionType, SubscriptionKind, kind_of
from rules.errors import ValidationFailed


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
        command = RecordReport(
            student_id=student_id,
            attendance_status=body.attendance_status,
            actual_attendance_minutes=body.actual_attendance_minutes,
            participation_score=body.participation_score,
            notes=body.notes,
            fields={name: getattr(body, name) for name in own if getattr(body, name) is not None},
            reason=body.reason,
            reported_by=acting_user(principal, body.reported_by, "reported_by"),
        )
        recorded = await record_report(uow, session, command, at=moment, actor=principal.actor)
        shape = report_shape(recorded.report, session, recorded.after)
        await uow.commit()
    return respond(shape)


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
