"""`PUT /v1/sessions/{id}/charges/{student_id}`: a charge set by hand (CONTRACT 4.4),
carried out by `engine.operations.charges.set_by_hand`."""

from __future__ import annotations

from aiohttp import web

from engine.api.access import check_on_roster, visible_session
from engine.api.answers import UsageRowOut
from engine.api.bodies import ChargeIn
from engine.api.http import database, now, path_id, read_body, respond
from engine.api.shapes import usage_shape
from engine.auth import authenticate, only
from engine.operations.charges import SetCharge, set_by_hand
from engine.routes import Route


async def put_charge(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    student_id = path_id(request, "student_id")
    body = await read_body(request, ChargeIn)
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_on_roster(student_id, await uow.sessions.roster(session.id), session.id)
        row = await set_by_hand(
            uow,
            session,
            SetCharge(student_id, counts=body.counts, reason=body.reason),
            at=moment,
            actor=principal.actor,
        )
        shape = usage_shape(row)
        await uow.commit()
    return respond(shape)


ROUTES = (
    Route(
        "PUT",
        "/v1/sessions/{id}/charges/{student_id}",
        "Set a student's charge by hand (admin or service)",
        put_charge,
        rights=only("admin"),
        body=ChargeIn,
        answer=UsageRowOut,
        errors=(403, 409),
        tag="attendance",
        description="`counts: true` charges the student's active subscription that ends "
        "first (`unbilled` without one), `false` waives. The one ledger row is updated in "
        "place, marked `hand_set`, and never changed by the rules again. Audited.",
    ),
)
