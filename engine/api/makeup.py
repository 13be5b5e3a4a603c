"""`POST /v1/sessions/{id}/makeup`: a linked make-up session for a cancelled or absent one.

The make-up copies the original's academy, type, title, description, type fields,
duration, teacher and roster, with `is_makeup_session` true and `makeup_of_id`
naming the original. It is not a schedule slot, so no monthly limit applies to
it. Without `scheduled_at` it is UNSCHEDULED (schedule it later with
`POST /v1/sessions/{id}/schedule`); with one it is SCHEDULED at once, settings
frozen, after the same teacher-overlap check as scheduling by hand. One original
has at most one make-up that is not cancelled. Both sessions' histories record it.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from engine.api.access import check_own_teaching, visible_session
from engine.api.answers import SessionOut
from engine.api.http import bad_field, database, now, path_id, read_body, respond
from engine.api.shapes import session_shape
from engine.api.types import BODY_CONFIG, Moment
from engine.auth import authenticate, only
from engine.operations import sessions
from engine.operations.sessions import CreateMakeup
from engine.routes import Route


class MakeupIn(BaseModel):
    """Optional: `scheduled_at` schedules the make-up at once; without it (or without a
    body) it is created UNSCHEDULED."""

    model_config = BODY_CONFIG
    scheduled_at: Moment | None = None


async def _body(request: web.Request) -> MakeupIn:
    if not (await request.read()).strip():
        return MakeupIn()
    return await read_body(request, MakeupIn)


async def create_makeup(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    body = await _body(request)
    moment = now(request)
    if body.scheduled_at is not None and body.scheduled_at <= moment:
        raise bad_field("scheduled_at", "must be in the future")
    command = CreateMakeup(actor=principal.actor, scheduled_at=body.scheduled_at)
    async with database(request).uow() as uow:
        original = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, original)
        makeup = await sessions.make_up(uow, original, command, at=moment)
        shape = await session_shape(uow, makeup, now=moment)
        await uow.commit()
    return respond(shape, status=201)


ROUTES = (
    Route(
        "POST",
        "/v1/sessions/{id}/makeup",
        "Create a make-up session for a cancelled or absent one",
        create_makeup,
        rights=only("admin", "teacher"),
        body=MakeupIn,
        body_required=False,
        answer=SessionOut,
        status=201,
        errors=(403, 409),
        tag="schedules",
        description="Admin, the session's teacher, or the service. The body is optional. "
        "The make-up copies type, title, duration, teacher and roster, has "
        "`is_makeup_session` true and does not count toward a schedule's monthly limit. "
        "409 unless the session is CANCELLED or ABSENT, when it already has a make-up "
        "that is not cancelled, or when `scheduled_at` overlaps another session of the "
        "teacher.",
    ),
)
