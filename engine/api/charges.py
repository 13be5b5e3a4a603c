"""`PUT /v1/sessions/{id}/charges/{student_id}`: a charge set by hand (CONTRACT 4.4).

The student's one ledger row is written or updated in place and marked hand-set,
so the rules never change it again. The row's `reason` is `hand_set`; the person's
reason is kept in the audit log with the row before and after.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from engine.api.access import check_on_roster, visible_session
from engine.api.answers import UsageRowOut
from engine.api.bodies import ChargeIn
from engine.api.http import database, now, path_id, read_body, respond
from engine.api.shapes import usage_shape
from engine.auth import authenticate, only
from engine.openapi import Route
from engine.operations.attendance import session_attendance
from engine.operations.charges import subscription_for
from rules.attendance import AttendanceStatus
from rules.charging import ChargeDecision, ChargeStatus
from rules.errors import Conflict
from rules.lifecycle import FINISHED, Status
from store.schema import Charge

HAND_SET = "hand_set"


def _row_fields(row: Charge | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "status": row.status,
        "reason": row.reason,
        "subscription_id": row.subscription_id,
        "verdict": row.verdict,
        "hand_set": row.hand_set,
    }


async def put_charge(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    student_id = path_id(request, "student_id")
    body = await read_body(request, ChargeIn)
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_on_roster(student_id, await uow.sessions.roster(session.id), session.id)
        if session.status == Status.CANCELLED:
            raise Conflict(
                "a cancelled session is never charged",
                details={"current_status": session.status},
            )
        row = (await uow.charges.for_session(session.id)).get(student_id)
        before = _row_fields(row)
        verdict = AttendanceStatus.PENDING
        if Status(session.status) in FINISHED:
            attendance = await session_attendance(uow, session, now=moment)
            verdict = attendance.student(student_id).verdict.status
        subscription_id = None
        status = ChargeStatus.WAIVED
        if body.counts:
            subscription = await subscription_for(uow, session, student_id, row, at=moment)
            subscription_id = subscription.id if subscription else None
            status = ChargeStatus.CHARGED if subscription_id else ChargeStatus.UNBILLED
        if row is None:
            decision = ChargeDecision(student_id, status, HAND_SET, subscription_id, verdict)
            await uow.charges.charge(session.id, decision, now=moment, hand_set=True)
            row = (await uow.charges.for_session(session.id))[student_id]
        row.status = status.value
        row.reason = HAND_SET
        row.subscription_id = subscription_id
        row.verdict = verdict.value
        row.hand_set = True
        row.updated_at = moment
        uow.audit.record(
            session.id,
            student_id=student_id,
            kind="charge",
            actor=principal.actor,
            at=moment,
            reason=body.reason,
            before=before,
            after=_row_fields(row),
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
