"""`GET /v1/sessions/{id}/reports` and `…/reports/{student_id}`: the teachers' reports
as written, with who wrote them and when.

The rights are attendance's: the service, an admin of the academy, the session's
teacher, and a roster student, who sees only its own report.
"""

from __future__ import annotations

from aiohttp import web

from engine.api.access import check_on_roster, check_reader, visible_session
from engine.api.answers import WrittenReportList, WrittenReportOut
from engine.api.http import database, path_id, respond
from engine.api.shapes import written_report
from engine.auth import authenticate
from engine.routes import Route
from rules.errors import Forbidden, NotFound


async def get_reports(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    async with database(request).reading() as uow:
        session = await visible_session(uow, principal, session_id)
        await check_reader(uow, principal, session)
        reports = await uow.reports.for_session(session.id)
        # A student sees its own report, not its classmates'.
        shown = [
            WrittenReportOut.model_validate(written_report(reports[student_id]))
            for student_id in sorted(reports)
            if principal.role != "student" or student_id == principal.user_id
        ]
    return respond(WrittenReportList(data=shown))


async def get_report(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    student_id = path_id(request, "student_id")
    async with database(request).reading() as uow:
        session = await visible_session(uow, principal, session_id)
        roster = await check_reader(uow, principal, session)
        if principal.role == "student" and student_id != principal.user_id:
            raise Forbidden("a student may only read its own report")
        check_on_roster(student_id, roster, session.id)
        report = await uow.reports.get(session.id, student_id)
        if report is None:
            raise NotFound(f"no report on student {student_id} in session {session_id} yet")
        shape = WrittenReportOut.model_validate(written_report(report))
    return respond(shape)


ROUTES = (
    Route(
        "GET",
        "/v1/sessions/{id}/reports",
        "The teacher's reports on the session's students, as written",
        get_reports,
        answer=WrittenReportList,
        errors=(403,),
        tag="attendance",
        description="By student id, each with every type's fields (null when not given), "
        "`reported_by`, `created_at` (first written) and `updated_at` (last replaced). A "
        "student token sees only its own report.",
    ),
    Route(
        "GET",
        "/v1/sessions/{id}/reports/{student_id}",
        "The teacher's report on one student, as written",
        get_report,
        answer=WrittenReportOut,
        errors=(403,),
        tag="attendance",
        description="404 when the student is not on the roster or has no report yet; a "
        "student token may read only its own.",
    ),
)
