"""`GET/POST /sessions/{id}/attendance`: the teacher's attendance page.

Same rights as the API. The token comes in the `Authorization` header, or once as
`?token=` (a link a teacher can open, from an e-mail or another site): it is then kept
in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS) and the address is cleaned of
it. The override form posts back here and goes through the same report logic as
`PUT /v1/sessions/{id}/reports/{student_id}`, once `engine.pages.csrf` has found it
same-origin and carrying its CSRF token. `engine.pages.guard` adds the headers and
turns errors into HTML for people.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from engine.api.access import check_on_roster, check_own_teaching, check_reader, visible_session
from engine.api.http import database, field_errors, invalid, now, path_id
from engine.auth import Principal, authenticate, bearer_token
from engine.operations.attendance import session_attendance
from engine.operations.reports import RecordReport, record_report
from engine.pages import csrf
from engine.pages.forms import OverrideForm
from engine.pages.guard import NONCE, PRINCIPAL, guarded, templates
from engine.pages.view import build_page
from rules.errors import BadRequest, Forbidden, Unauthorized

COOKIE = "hudur_token"


def _principal(request: web.Request) -> Principal:
    token = bearer_token(request) or request.cookies.get(COOKIE)
    if token is None:
        raise Unauthorized("open this page with ?token=<your token> or an Authorization header")
    principal = authenticate(request, token)
    request[PRINCIPAL] = principal
    return principal


def _may_override(principal: Principal) -> bool:
    return principal.role in ("service", "admin", "teacher")


async def get_page(request: web.Request) -> web.StreamResponse:
    token = request.query.get("token")
    if token:
        authenticate(request, token)  # a bad token is refused before it is stored
        response = web.HTTPSeeOther(location=request.path)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="Lax", path="/sessions", secure=request.secure
        )
        raise response
    principal = _principal(request)
    session_id = path_id(request)
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id)
        roster = await check_reader(uow, principal, session)
        attendance = await session_attendance(uow, session, now=moment, roster=roster)
        academy = await uow.academies.get(session.academy_id)
        users = await uow.users.get_many([session.teacher_id, *roster])
        intervals = await uow.intervals.for_session(session.id)
        # Rendered inside the unit of work: leaving it expires the rows read.
        page = build_page(
            attendance,
            users=users,
            intervals=intervals,
            locale=academy.locale if academy else "en",
            timezone=academy.timezone if academy else "UTC",
            now=moment,
            can_override=_may_override(principal),
            only_student=principal.user_id if principal.role == "student" else None,
        )
        template = templates().get_template("attendance.html")
        html = template.render(
            page=page,
            w=page.words,
            action=request.path,
            saved="saved" in request.query,
            csrf_field=csrf.FIELD,
            csrf_token=csrf.form_token(request, principal, session_id, moment),
            nonce=request[NONCE],
        )
    return web.Response(text=html, content_type="text/html")


async def post_override(request: web.Request) -> web.StreamResponse:
    csrf.check_same_origin(request)
    principal = _principal(request)
    if not _may_override(principal):
        raise Forbidden("only the teacher or an admin may override a verdict")
    session_id = path_id(request)
    moment = now(request)
    try:
        posted = await request.post()
    except ValueError as exc:  # e.g. multipart without a boundary
        raise BadRequest(f"the form cannot be read: {exc}") from None
    token = posted.get(csrf.FIELD)
    csrf.check_form_token(
        request, principal, session_id, moment, token if isinstance(token, str) else None
    )
    try:
        form = OverrideForm.model_validate(dict(posted))
    except ValidationError as exc:
        raise invalid(*field_errors(exc)) from None
    student_id = form.student_id
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        check_on_roster(student_id, await uow.sessions.roster(session.id), session.id)
        # The form changes the verdict only: the rest of the report stays as it was.
        current = await uow.reports.get(session.id, student_id)
        command = RecordReport(
            student_id=student_id,
            attendance_status=form.attendance_status or None,
            actual_attendance_minutes=current.actual_attendance_minutes if current else None,
            participation_score=current.participation_score if current else None,
            notes=current.notes if current else None,
            fields=dict(current.fields) if current else {},
            reason=form.reason,
            reported_by=principal.user_id,
        )
        await record_report(uow, session, command, at=moment, actor=principal.actor)
        await uow.commit()
    raise web.HTTPSeeOther(location=f"{request.path}?saved=1")


def setup(app: web.Application) -> None:
    app.router.add_get("/sessions/{id:\\d+}/attendance", guarded(get_page))
    app.router.add_post("/sessions/{id:\\d+}/attendance", guarded(post_override))
