"""Creating, reading and listing sessions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from engine.api.access import check_reader, visible_session
from engine.api.answers import SessionList, SessionOut
from engine.api.bodies import NewSession, SessionQuery, type_field_names
from engine.api.http import database, now, path_id, read_body, read_query, respond
from engine.api.listing import Cursor, find, scope_window
from engine.api.shapes import session_shape, session_shapes
from engine.auth import authenticate, only
from engine.operations import sessions
from engine.operations.sessions import CreateSession
from engine.routes import Route
from rules.codes import SessionType, is_individual, types_named
from rules.errors import Forbidden, NotFound
from store.repositories.sessions import SessionFilter

UTC_ZONE = ZoneInfo("UTC")


async def create_session(request: web.Request) -> web.Response:
    principal = authenticate(request)
    body = (await read_body(request, NewSession)).root
    principal.check_academy(body.academy_id)
    session_type = SessionType(body.type)
    students = [body.student_id] if is_individual(session_type) else body.student_ids  # type: ignore[union-attr]
    command = CreateSession(
        actor=principal.actor,
        academy_id=body.academy_id,
        session_type=session_type,
        title=body.title,
        duration_minutes=body.duration_minutes,
        teacher_id=body.teacher_id,
        student_ids=students,
        description=body.description,
        extra={
            name: value
            for name, value in body.model_dump(
                mode="json", include=set(type_field_names(session_type))
            ).items()
            if value is not None
        },
        external_id=body.external_id,
    )
    moment = now(request)
    async with database(request).uow() as uow:
        made = await sessions.create(uow, command, at=moment)
        shape = await session_shape(uow, made.session, now=moment)
        await uow.commit()
    return respond(shape, status=201 if made.created else 200)


async def get_session(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    async with database(request).reading() as uow:
        session = await visible_session(uow, principal, session_id)
        await check_reader(uow, principal, session)
        return respond(await session_shape(uow, session, now=now(request)))


async def list_sessions(request: web.Request) -> web.Response:
    principal = authenticate(request)
    query = read_query(request, SessionQuery)
    academy_id, teacher_id, student_id = query.academy_id, query.teacher_id, query.student_id
    if not principal.is_service:
        if academy_id not in (None, principal.academy_id):
            raise NotFound(f"no such academy {academy_id}")
        academy_id = principal.academy_id
    if principal.role == "teacher":
        if teacher_id not in (None, principal.user_id):
            raise Forbidden("a teacher may only list its own sessions")
        teacher_id = principal.user_id
    if principal.role == "student":
        if student_id not in (None, principal.user_id):
            raise Forbidden("a student may only list its own sessions")
        student_id = principal.user_id
    moment = now(request)
    async with database(request).reading() as uow:
        zone = UTC_ZONE
        if academy_id is not None and (academy := await uow.academies.get(academy_id)):
            zone = ZoneInfo(academy.timezone)
        starts_from, starts_before, ended_by = (
            scope_window(query.scope, now=moment, zone=zone) if query.scope else (None,) * 3
        )
        if query.from_ is not None:
            starts_from = max(filter(None, (starts_from, query.from_)))
        if query.to is not None:
            starts_before = min(filter(None, (starts_before, query.to)))
        page, next_cursor = await find(
            uow,
            SessionFilter(
                academy_id=academy_id,
                status=tuple(s.value for s in query.status),
                teacher_id=teacher_id,
                student_id=student_id,
                types=tuple(
                    dict.fromkeys(t.value for name in query.type for t in types_named(name))
                ),
                starts_from=starts_from,
                starts_before=starts_before,
                ended_by=ended_by,
                upcoming_at=moment if query.scope == "upcoming" else None,
                external_id=query.external_id,
                after=Cursor.decode(query.cursor).keyset() if query.cursor else None,
                limit=query.limit,
            ),
        )
        shapes = await session_shapes(uow, page, now=moment)
    return respond(
        SessionList(data=shapes, next_cursor=next_cursor.encode() if next_cursor else None)
    )


ROUTES = (
    Route(
        "POST",
        "/v1/sessions",
        "Create a session (UNSCHEDULED)",
        create_session,
        rights=only("admin"),
        body=NewSession,
        answer=SessionOut,
        status=201,
        successes=(200,),
        errors=(403, 404, 409),
        description="With an `external_id` the academy already knows: 200 with that "
        "session when the request is the same one (the same fields and values; key order, "
        "spacing, nulls left out and the roster's order do not matter), 409 naming it "
        "(`details.session_id`) when it is another.",
    ),
    Route(
        "GET",
        "/v1/sessions",
        "List sessions: filters, scopes in the academy's time zone, cursor paging",
        list_sessions,
        query=SessionQuery,
        answer=SessionList,
        errors=(403, 404),
        description="Ordered by `scheduled_at` then `id`, unscheduled sessions last. "
        "`today` and `this_week` (Monday to Sunday) follow the academy's time zone "
        "(UTC for a service call without `academy_id`); `upcoming` is `scheduled_at > now` "
        "and not yet begun (SCHEDULED or READY), never cancelled or finished; "
        "`past` is `scheduled_at + duration <= now`; `from`/`to` bound `scheduled_at`; "
        "`type` is one type, or `individual`/`group` for every type of that shape; "
        "`external_id` finds the session the platform created under its own id.",
    ),
    Route(
        "GET",
        "/v1/sessions/{id}",
        "A session",
        get_session,
        answer=SessionOut,
        errors=(403,),
    ),
)
