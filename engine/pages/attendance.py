"""`GET/POST /sessions/{id}/attendance`: the teacher's attendance page.

Same rights as the API. The token comes in the `Authorization` header, or once as
`?token=` (a link a teacher can open, from an e-mail or another site): it is then kept
in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS) and the address is cleaned of
it. The override form posts back here and goes through the same report logic as
`PUT /v1/sessions/{id}/reports/{student_id}`, once `engine.pages.csrf` has found it
same-origin and carrying its CSRF token; "mark all present" posts to
`/sessions/{id}/attendance/present` and goes through the bulk reports operation
(`PUT /v1/sessions/{id}/reports`) under the same checks. Both answer 303 back to the
page (Post/Redirect/Get). `engine.pages.guard` adds the headers and turns errors into
HTML for people.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from aiohttp import web
from pydantic import ValidationError

from engine.api.access import check_on_roster, check_own_teaching, check_reader, visible_session
from engine.api.http import database, field_errors, invalid, now, path_id
from engine.auth import Principal, authenticate, bearer_token
from engine.operations.attendance import session_attendance
from engine.operations.reports import RecordReport, RecordReports, record_report, record_reports
from engine.pages import csrf
from engine.pages.forms import MarkAllForm, OverrideForm
from engine.pages.guard import NONCE, PRINCIPAL, guarded, templates
from engine.pages.view import build_page
from rules.actors import Actor, ActorKind
from rules.attendance import AttendanceStatus
from rules.errors import BadRequest, Forbidden, Unauthorized
from store.schema import AuditEntry, StudentReport

COOKIE = "hudur_token"
F = TypeVar("F", OverrideForm, MarkAllForm)


def _principal(request: web.Request) -> Principal:
    token = bearer_token(request) or request.cookies.get(COOKIE)
    if token is None:
        raise Unauthorized("open this page with ?token=<your token> or an Authorization header")
    principal = authenticate(request, token)
    request[PRINCIPAL] = principal
    return principal


def _may_override(principal: Principal) -> bool:
    return principal.role in ("service", "admin", "teacher")


def _actor_ids(audit: list[AuditEntry]) -> list[int]:
    """The people who overrode something, to be named on the page."""
    ids = []
    for entry in audit:
        try:
            actor = Actor.parse(entry.actor)
        except ValueError:
            continue
        if actor.kind is ActorKind.USER and actor.id is not None and actor.id.isdigit():
            ids.append(int(actor.id))
    return ids


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
        intervals = await uow.intervals.for_session(session.id)
        transitions = await uow.transitions.for_session(session.id)
        audit = await uow.audit.for_session(session.id)
        users = await uow.users.get_many([session.teacher_id, *roster, *_actor_ids(audit)])
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
            transitions=transitions,
            audit=audit,
        )
        template = templates().get_template("attendance.html")
        html = template.render(
            page=page,
            w=page.words,
            action=request.path,
            mark_all_action=f"{request.path}/present",
            saved="saved" in request.query,
            csrf_field=csrf.FIELD,
            csrf_token=csrf.form_token(request, principal, session_id, moment),
            nonce=request[NONCE],
        )
    return web.Response(text=html, content_type="text/html")


async def _checked_form(request: web.Request, model: type[F]) -> tuple[Principal, F]:
    """The caller and its form, once the post is found same-origin, from someone who
    may override, carrying this caller's CSRF token for this session, and valid."""
    csrf.check_same_origin(request)
    principal = _principal(request)
    if not _may_override(principal):
        raise Forbidden("only the teacher or an admin may override a verdict")
    try:
        posted = await request.post()
    except ValueError as exc:  # e.g. multipart without a boundary
        raise BadRequest(f"the form cannot be read: {exc}") from None
    token = posted.get(csrf.FIELD)
    csrf.check_form_token(
        request,
        principal,
        path_id(request),
        now(request),
        token if isinstance(token, str) else None,
    )
    try:
        return principal, model.model_validate(dict(posted))
    except ValidationError as exc:
        raise invalid(*field_errors(exc)) from None


def _keeping(
    current: StudentReport | None, student_id: int, status: str | None, principal: Principal
) -> RecordReport:
    """A report changing the verdict only: the rest of the report stays as it was."""
    return RecordReport(
        student_id=student_id,
        attendance_status=status,
        actual_attendance_minutes=current.actual_attendance_minutes if current else None,
        participation_score=current.participation_score if current else None,
        notes=current.notes if current else None,
        fields=dict(current.fields) if current else {},
        reported_by=principal.user_id,
    )


async def post_override(request: web.Request) -> web.StreamResponse:
    principal, form = await _checked_form(request, OverrideForm)
    session_id = path_id(request)
    moment = now(request)
    student_id = form.student_id
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        check_on_roster(student_id, await uow.sessions.roster(session.id), session.id)
        current = await uow.reports.get(session.id, student_id)
        command = replace(
            _keeping(current, student_id, form.attendance_status or None, principal),
            reason=form.reason,
        )
        await record_report(uow, session, command, at=moment, actor=principal.actor)
        await uow.commit()
    raise web.HTTPSeeOther(location=f"{request.path}?saved=1")


async def post_mark_all(request: web.Request) -> web.StreamResponse:
    """Every roster student present, with one reason: the bulk reports operation, all
    or nothing, each report audited."""
    principal, form = await _checked_form(request, MarkAllForm)
    session_id = path_id(request)
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        roster = await uow.sessions.roster(session.id)
        current = await uow.reports.for_session(session.id)
        present = AttendanceStatus.PRESENT.value
        command = RecordReports(
            reports=tuple(
                _keeping(current.get(sid), sid, present, principal) for sid in sorted(roster)
            ),
            reason=form.reason,
        )
        await record_reports(uow, session, command, at=moment, actor=principal.actor)
        await uow.commit()
    page = request.path.removesuffix("/present")
    raise web.HTTPSeeOther(location=f"{page}?saved=1")


def setup(app: web.Application) -> None:
    app.router.add_get("/sessions/{id:\\d+}/attendance", guarded(get_page))
    app.router.add_post("/sessions/{id:\\d+}/attendance", guarded(post_override))
    app.router.add_post("/sessions/{id:\\d+}/attendance/present", guarded(post_mark_all))
