"""Reading verdicts and the audit trail of a session."""

from __future__ import annotations

from aiohttp import web

from engine.api.access import check_own_teaching, check_reader, visible_session
from engine.api.answers import AttendanceOut, HistoryList
from engine.api.http import database, now, path_id, respond
from engine.api.shapes import attendance_shape, history_shape
from engine.auth import authenticate, only
from engine.operations.attendance import session_attendance
from engine.routes import Route


async def get_attendance(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id)
        roster = await check_reader(uow, principal, session)
        attendance = await session_attendance(uow, session, now=now(request), roster=roster)
        # A student sees its own verdict, not its classmates'.
        only = principal.user_id if principal.role == "student" else None
        return respond(attendance_shape(attendance, only_student=only))


async def get_history(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id)
        check_own_teaching(principal, session)
        transitions = await uow.transitions.for_session(session.id)
        overrides = await uow.audit.for_session(session.id)
        return respond(history_shape(transitions, overrides))


ROUTES = (
    Route(
        "GET",
        "/v1/sessions/{id}/attendance",
        "Every roster student's verdict, with the teacher's attendance",
        get_attendance,
        answer=AttendanceOut,
        errors=(403,),
        tag="attendance",
        description="A student token sees only its own entry in `students`.",
    ),
    Route(
        "GET",
        "/v1/sessions/{id}/history",
        "Transitions and overrides, oldest first, each with who, when, before and after",
        get_history,
        rights=only("admin", "teacher"),
        answer=HistoryList,
        errors=(403,),
        tag="attendance",
    ),
)
