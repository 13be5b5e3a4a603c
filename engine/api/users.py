"""`PUT/GET /v1/users/{id}`: the platform's users, upserted by the platform's id, and
`GET /v1/users/{id}/subscriptions`."""

from __future__ import annotations

from aiohttp import web

from engine.api.access import visible_user
from engine.api.answers import SubscriptionList, UserOut
from engine.api.bodies import UserIn
from engine.api.http import database, now, path_id, read_body, respond
from engine.api.shapes import subscription_shape, user_shape
from engine.auth import EVERYONE, authenticate, only
from engine.routes import Route
from rules.errors import Conflict, NotFound


async def put_user(request: web.Request) -> web.Response:
    principal = authenticate(request)
    user_id = path_id(request)
    body = await read_body(request, UserIn)
    principal.check_academy(body.academy_id)
    async with database(request).uow() as uow:
        existing = await uow.users.get(user_id)
        if existing is not None:
            principal.check_academy(existing.academy_id)
            if existing.academy_id != body.academy_id:
                raise Conflict(
                    f"user {user_id} belongs to another academy; users do not move",
                    details={"field": "academy_id"},
                )
        if await uow.academies.get(body.academy_id) is None:
            raise NotFound(f"no such academy {body.academy_id}", details={"field": "academy_id"})
        user = await uow.users.upsert(user_id, now=now(request), **body.model_dump())
        await uow.commit()
    return respond(user_shape(user))


async def get_user(request: web.Request) -> web.Response:
    principal = authenticate(request)
    async with database(request).uow() as uow:
        # A teacher's pages name the students of its sessions.
        user = await visible_user(uow, principal, path_id(request), students_taught=True)
        return respond(user_shape(user))


async def get_user_subscriptions(request: web.Request) -> web.Response:
    principal = authenticate(request)
    async with database(request).uow() as uow:
        # Billing is the student's and the academy's business, not its teachers'.
        user = await visible_user(uow, principal, path_id(request), students_taught=False)
        subs = await uow.subscriptions.of_student(user.id)
        usage = await uow.subscriptions.usage_of([sub.id for sub in subs])
        data = [subscription_shape(sub, usage[sub.id]) for sub in subs]
        return respond(SubscriptionList(data=data, next_cursor=None))


ROUTES = (
    Route(
        "PUT",
        "/v1/users/{id}",
        "Create or update a user",
        put_user,
        rights=only("admin"),
        body=UserIn,
        answer=UserOut,
        errors=(403, 409),
        tag="directory",
    ),
    Route(
        "GET",
        "/v1/users/{id}",
        "A user, as its PUT answers it",
        get_user,
        rights=EVERYONE,
        answer=UserOut,
        errors=(403,),
        tag="directory",
        description="The service reads anyone; an admin its academy's users; a teacher "
        "itself and the students on the roster of a session it teaches; a student itself.",
    ),
    Route(
        "GET",
        "/v1/users/{id}/subscriptions",
        "A user's subscriptions, each with used and remaining sessions and its usage rows",
        get_user_subscriptions,
        rights=EVERYONE,
        answer=SubscriptionList,
        errors=(403,),
        tag="directory",
        description="The service reads anyone's; an admin its academy's users'; a teacher "
        "or student only its own (a teacher has none: an empty list).",
    ),
)
