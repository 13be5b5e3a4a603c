"""`PUT/GET /v1/subscriptions/{id}`: packages of sessions and what used them."""

from __future__ import annotations

from aiohttp import web

from engine.api.answers import SubscriptionOut
from engine.api.bodies import SubscriptionIn
from engine.api.http import bad_field, database, invalid, now, path_id, read_body, respond
from engine.api.shapes import subscription_shape
from engine.auth import authenticate, only
from engine.routes import Route
from rules.errors import Conflict, NotFound


async def put_subscription(request: web.Request) -> web.Response:
    principal = authenticate(request)
    subscription_id = path_id(request)
    body = await read_body(request, SubscriptionIn)
    principal.check_academy(body.academy_id)
    if body.ends_at <= body.starts_at:
        raise invalid({"field": "ends_at", "message": "must be after starts_at"})
    async with database(request).uow() as uow:
        existing = await uow.subscriptions.get(subscription_id)
        if existing is not None:
            principal.check_academy(existing.academy_id)
            changed = [
                name
                for name in ("student_id", "academy_id", "kind")
                if getattr(existing, name) != getattr(body, name)
            ]
            if changed:
                raise Conflict(
                    f"a subscription keeps its {', '.join(changed)}; create a new one instead",
                    details={"fields": changed},
                )
        student = await uow.users.get(body.student_id)
        if student is None or student.academy_id != body.academy_id:
            raise NotFound(
                f"no such student {body.student_id} in academy {body.academy_id}",
                details={"field": "student_id"},
            )
        if student.role != "student":
            raise bad_field("student_id", f"user {student.id} is a {student.role}, not a student")
        sub = await uow.subscriptions.upsert(subscription_id, now=now(request), **body.model_dump())
        usage = await uow.charges.for_subscription(sub.id)
        await uow.commit()
    return respond(subscription_shape(sub, usage))


async def get_subscription(request: web.Request) -> web.Response:
    principal = authenticate(request)
    subscription_id = path_id(request)
    async with database(request).uow() as uow:
        sub = await uow.subscriptions.get(subscription_id)
        if sub is None or not principal.sees(sub.academy_id):
            raise NotFound(f"no such subscription {subscription_id}")
        usage = await uow.charges.for_subscription(sub.id)
        return respond(subscription_shape(sub, usage))


ROUTES = (
    Route(
        "PUT",
        "/v1/subscriptions/{id}",
        "Create or update a subscription",
        put_subscription,
        rights=only("admin"),
        body=SubscriptionIn,
        answer=SubscriptionOut,
        errors=(403, 409),
        tag="directory",
    ),
    Route(
        "GET",
        "/v1/subscriptions/{id}",
        "A subscription with used and remaining sessions and its usage rows",
        get_subscription,
        rights=only("admin"),
        answer=SubscriptionOut,
        errors=(403,),
        tag="directory",
    ),
)
