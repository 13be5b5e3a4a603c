"""Moving a session along: schedule, reschedule, cancel, complete, and joining its room.

The handlers translate: the work is done by `engine.operations.sessions`, whose every
status change goes through `engine.operations.lifecycle`, so it is recorded in the
history, counted, and (on completion) charged like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from aiohttp import web
from livekit import api as livekit

from engine.api.access import acting_user, check_own_teaching, visible_session
from engine.api.answers import JoinTokenOut, SessionOut
from engine.api.bodies import CancelIn, JoinTokenIn, RescheduleIn, ScheduleIn
from engine.api.http import bad_field, database, now, path_id, read_body, respond
from engine.api.shapes import session_shape
from engine.auth import authenticate, only
from engine.display import display_for
from engine.keys import SETTINGS
from engine.operations import sessions
from engine.operations.reschedule import RescheduleSession, reschedule
from engine.operations.sessions import CancelSession, CompleteSession, ScheduleSession
from engine.operations.settings import settings_of
from engine.routes import Route
from rules.errors import Conflict, Forbidden
from rules.lifecycle import Status
from rules.sweep import meeting_expires_at


async def schedule_session(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    body = await read_body(request, ScheduleIn)
    moment = now(request)
    command = ScheduleSession(actor=principal.actor, scheduled_at=body.scheduled_at)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        await sessions.schedule(uow, session, command, at=moment)
        shape = await session_shape(uow, session, now=moment)
        await uow.commit()
    return respond(shape)


async def reschedule_session(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    body = await read_body(request, RescheduleIn)
    moment = now(request)
    command = RescheduleSession(
        actor=principal.actor, scheduled_at=body.scheduled_at, reason=body.reason
    )
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        await reschedule(uow, session, command, at=moment)
        shape = await session_shape(uow, session, now=moment)
        await uow.commit()
    return respond(shape)


async def cancel_session(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    body = await read_body(request, CancelIn)
    command = CancelSession(
        actor=principal.actor,
        reason=body.reason,
        cancelled_by=acting_user(principal, body.cancelled_by, "cancelled_by"),
    )
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        await sessions.cancel_on_request(uow, session, command, at=moment)
        shape = await session_shape(uow, session, now=moment)
        await uow.commit()
    return respond(shape)


async def complete_session(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    moment = now(request)
    command = CompleteSession(actor=principal.actor)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        await sessions.complete(uow, session, command, at=moment)
        shape = await session_shape(uow, session, now=moment)
        await uow.commit()
    return respond(shape)


async def join_token(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    body = await read_body(request, JoinTokenIn) if await request.read() else JoinTokenIn()
    user_id = body.user_id
    if principal.role in ("teacher", "student"):
        user_id = principal.user_id if user_id is None else user_id
        if user_id != principal.user_id:
            raise Forbidden("a teacher or student may only ask for its own join token")
    if user_id is None:
        raise bad_field("user_id", "required: the service and admins name whose token it is")
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id)
        roster = await uow.sessions.roster(session.id)
        if user_id != session.teacher_id and user_id not in roster:
            raise Forbidden(f"user {user_id} is neither the teacher nor on the roster")
        settings = await settings_of(uow, session)
        display = display_for(
            Status(session.status),
            now=moment,
            ends_at=session.ends_at,
            buffer_minutes=settings.buffer_minutes,
        )
        if not display.can_join or session.ends_at is None:
            raise Conflict(
                f"the session cannot be joined now (it is {session.status!r})",
                details={"current_status": session.status, "can_join": False},
            )
        user = await uow.users.get(user_id)
        # Valid until joining is no longer allowed (E + buffer).
        closes_at = meeting_expires_at(session.ends_at, settings)
        room, name = session.session_code, user.name if user else str(user_id)
    app_settings = request.app[SETTINGS]
    token = (
        livekit.AccessToken(app_settings.livekit_api_key, app_settings.livekit_api_secret)
        .with_identity(str(user_id))
        .with_name(name)
        .with_grants(livekit.VideoGrants(room_join=True, room=room))
        .with_ttl(max(closes_at - moment, timedelta(seconds=1)))
        .to_jwt()
    )
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    return respond(
        JoinTokenOut(
            token=token,
            url=app_settings.public_url or app_settings.livekit_url,
            room=room,
            identity=str(user_id),
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
    )


ROUTES = (
    Route(
        "POST",
        "/v1/sessions/{id}/schedule",
        "Schedule an UNSCHEDULED session",
        schedule_session,
        rights=only("admin", "teacher"),
        body=ScheduleIn,
        answer=SessionOut,
        errors=(403, 409),
        description="Freezes the academy's rule settings for this session. 409 when the "
        "session is not UNSCHEDULED or the teacher has another non-cancelled session "
        "overlapping.",
    ),
    Route(
        "POST",
        "/v1/sessions/{id}/reschedule",
        "Move a SCHEDULED or READY session nobody has joined to another time",
        reschedule_session,
        rights=only("admin", "teacher"),
        body=RescheduleIn,
        answer=SessionOut,
        errors=(403, 409),
        description="The session is SCHEDULED at the new time (which must be in the "
        "future, else 422) with the rule settings frozen when it was first scheduled; "
        "a READY session's room is closed and the sweep makes it again before the new "
        "time. 409 with the current status when the session is not SCHEDULED or READY "
        "or someone on the roster (the teacher included) has joined, and when the "
        "teacher has another non-cancelled session overlapping. The history keeps the "
        "old time, the new one and the reason.",
    ),
    Route(
        "POST",
        "/v1/sessions/{id}/cancel",
        "Cancel a session (while `can_cancel`)",
        cancel_session,
        rights=only("admin", "teacher"),
        body=CancelIn,
        answer=SessionOut,
        errors=(403, 409),
        description="Records reason, who and when; closes the room if one was created; "
        "never charges.",
    ),
    Route(
        "POST",
        "/v1/sessions/{id}/complete",
        "End a READY or ONGOING session now (its teacher or the service)",
        complete_session,
        rights=only("teacher"),
        answer=SessionOut,
        errors=(403, 409),
        description="Closes open intervals, settles verdicts and charges, closes the room; "
        "an individual session whose student is absent ends ABSENT.",
    ),
    Route(
        "POST",
        "/v1/sessions/{id}/join-token",
        "A LiveKit join token for the teacher or a roster student (while `can_join`)",
        join_token,
        body=JoinTokenIn,
        body_required=False,
        answer=JoinTokenOut,
        errors=(403, 409),
    ),
)
