"""`PUT /v1/users/{id}`: the platform's users, upserted by the platform's id."""

from __future__ import annotations

from aiohttp import web

from engine.api.answers import UserOut
from engine.api.bodies import UserIn
from engine.api.http import database, now, path_id, read_body, respond
from engine.api.shapes import user_shape
from engine.auth import authenticate, only
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
)
