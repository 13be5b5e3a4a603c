"""`PUT /v1/sessions/{id}/reports/{student_id}`: a teacher's report, and
`PUT /v1/sessions/{id}/reports`: many at once.

What a report changes is `engine.operations.reports.record_report`'s (and
`record_reports`'); these handlers check rights, the roster and the type's fields, in
that order (404 before 422). In a bulk report the student is a value of the body, not
the path: one off the roster is a bad entry (422) named with all the others.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from engine.api.access import acting_user, check_on_roster, check_own_teaching, visible_session
from engine.api.answers import ReportList, ReportOut
from engine.api.bodies import ALL_REPORT_FIELDS, REPORT_FIELDS, ReportIn, ReportsIn
from engine.api.http import database, invalid, now, path_id, read_body, respond
from engine.api.shapes import report_shape
from engine.auth import authenticate, only
from engine.operations.reports import (
    RecordReport,
    RecordReports,
    entry_problems,
    record_report,
    record_reports,
)
from engine.routes import Route
from rules.codes import SessionType
from rules.errors import ValidationFailed
from rules.reports import exercises_problem
from store.schema import Session
from store.uow import UnitOfWork


def _type_fields(raw: Any, session_type: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """The report fields of this session type, and an error for each field of another
    type the body carries and for exercises completed over their total (checked on the
    raw JSON, so they are named even when other fields fail validation too)."""
    own = REPORT_FIELDS[SessionType(session_type)]
    present = raw if isinstance(raw, dict) else {}
    message = f"not a field of {session_type} sessions"
    problems = [
        {"field": name, "message": message}
        for name in ALL_REPORT_FIELDS
        if name not in own and present.get(name) is not None
    ]
    over = exercises_problem(present.get("exercises_completed"), present.get("exercises_total"))
    if over is not None and "exercises_completed" in own:
        problems.append({"field": "exercises_completed", "message": over})
    return own, problems


def _own_values(body: BaseModel, own: tuple[str, ...]) -> dict[str, Any]:
    """The type's own fields the body gives, as JSON (homework's time as ISO text)."""
    dumped = body.model_dump(mode="json", include=set(own))
    return {name: value for name, value in dumped.items() if value is not None}


async def put_report(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    student_id = path_id(request, "student_id")
    try:
        body: ReportIn | None = await read_body(request, ReportIn)
        problems: list[dict[str, str]] = []
    except ValidationFailed as exc:
        body, problems = None, list(exc.details)  # type: ignore[call-overload]
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        check_on_roster(student_id, await uow.sessions.roster(session.id), session.id)
        own, foreign = _type_fields(json.loads(await request.read()), session.type)
        if problems or foreign:
            named = {f["field"] for f in foreign}
            raise invalid(*(p for p in problems if p["field"] not in named), *foreign)
        assert body is not None
        command = RecordReport(
            student_id=student_id,
            attendance_status=body.attendance_status,
            actual_attendance_minutes=body.actual_attendance_minutes,
            participation_score=body.participation_score,
            notes=body.notes,
            fields=_own_values(body, own),
            reason=body.reason,
            reported_by=acting_user(principal, body.reported_by, "reported_by"),
        )
        recorded = await record_report(uow, session, command, at=moment, actor=principal.actor)
        shape = report_shape(
            recorded.report, session, recorded.after, locale=await _locale(uow, session)
        )
        await uow.commit()
    return respond(shape)


_ENTRY = re.compile(r"^reports\.(\d+)")


def _entry_index(problem: dict[str, str]) -> int:
    found = re.match(r"^reports\[(\d+)\]", problem["field"])
    return int(found[1]) if found else -1


def _merge(*groups: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every problem once per field (the first group that names a field wins: a type's
    or the roster's message says more than pydantic's), body-level ones first, then
    by entry."""
    merged: dict[str, dict[str, str]] = {}
    for group in reversed(groups):
        merged.update({p["field"]: p for p in group})
    return sorted(merged.values(), key=_entry_index)


async def put_reports(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    try:
        body: ReportsIn | None = await read_body(request, ReportsIn)
        problems: list[dict[str, str]] = []
    except ValidationFailed as exc:
        body, problems = None, list(exc.details)  # type: ignore[call-overload]
    # pydantic says `reports.2.notes`; the platform reads `reports[2].notes`.
    problems = [{**p, "field": _ENTRY.sub(r"reports[\1]", p["field"])} for p in problems]
    raw = json.loads(await request.read())
    entries = raw.get("reports") if isinstance(raw, dict) else None
    entries = entries if isinstance(entries, list) else []
    moment = now(request)
    async with database(request).uow() as uow:
        session = await visible_session(uow, principal, session_id, for_update=True)
        check_own_teaching(principal, session)
        foreign = [
            {**p, "field": f"reports[{index}].{p['field']}"}
            for index, entry in enumerate(entries)
            for p in _type_fields(entry, session.type)[1]
        ]
        off_roster = entry_problems(
            [e.get("student_id") if isinstance(e, dict) else None for e in entries],
            await uow.sessions.roster(session.id),
            session.id,
        )
        if problems or foreign or off_roster:
            raise invalid(*_merge(foreign, off_roster, problems))
        assert body is not None
        own = _type_fields({}, session.type)[0]
        reported_by = acting_user(principal, body.reported_by, "reported_by")
        command = RecordReports(
            reports=tuple(
                RecordReport(
                    student_id=entry.student_id,
                    attendance_status=entry.attendance_status,
                    actual_attendance_minutes=entry.actual_attendance_minutes,
                    participation_score=entry.participation_score,
                    notes=entry.notes,
                    fields=_own_values(entry, own),
                    reported_by=reported_by,
                )
                for entry in body.reports
            ),
            reason=body.reason,
        )
        recorded = await record_reports(uow, session, command, at=moment, actor=principal.actor)
        locale = await _locale(uow, session)
        shape = ReportList(
            data=[report_shape(r.report, session, r.after, locale=locale) for r in recorded],
            next_cursor=None,
        )
        await uow.commit()
    return respond(shape)


ROUTES = (
    Route(
        "PUT",
        "/v1/sessions/{id}/reports/{student_id}",
        "Record (replace) the teacher's report on one student",
        put_report,
        rights=only("admin", "teacher"),
        body=ReportIn,
        answer=ReportOut,
        errors=(403, 409),
        tag="attendance",
        description="`attendance_status` decides the verdict (`null` hands it back to the "
        "meeting evidence). On a COMPLETED or ABSENT session the verdict is re-decided at "
        "once: an individual session moves COMPLETED <-> ABSENT with its student, and the "
        "ledger row is updated in place. Audited with before and after.",
    ),
    Route(
        "PUT",
        "/v1/sessions/{id}/reports",
        "Record (replace) the teacher's reports on many students at once",
        put_reports,
        rights=only("admin", "teacher"),
        body=ReportsIn,
        answer=ReportList,
        errors=(403, 409),
        tag="attendance",
        description="All or nothing: every entry is checked (its fields, its session "
        "type's fields, a roster student named once) before any is written, and every bad "
        "one is named in the 422 as `reports[<index>].<field>`. Each entry then acts as "
        "`PUT .../reports/{student_id}` would, with one `reason` for all; a COMPLETED or "
        "ABSENT session is re-decided once for the whole batch. Each report is audited.",
    ),
)


async def _locale(uow: UnitOfWork, session: Session) -> str | None:
    """The academy's locale, which a verdict's explanation is written in."""
    academy = await uow.academies.get(session.academy_id)
    return academy.locale if academy is not None else None
