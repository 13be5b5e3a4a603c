"""Reading verdicts and the audit trail of a session."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from functools import partial

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from engine.api.access import (
    check_own_teaching,
    check_reads,
    check_visible,
    visible_session,
)
from engine.api.answers import AttendanceOut, HistoryList
from engine.api.assessed_answer import assessed_answer_json
from engine.api.http import (
    bad_field,
    database,
    now,
    path_id,
    read_query,
    respond,
    respond_json,
)
from engine.api.kept_answer import kept_answer_json
from engine.api.shapes import (
    HistoryKey,
    history_shape,
    kept_attendance_shape,
)
from engine.api.types import MAX_ID
from engine.auth import Principal, authenticate, only
from engine.fresh_reads import PROJECTOR, checks_freshness_itself
from engine.operations.attendance import attendance_of
from engine.operations.kept import KeptRead, kept_attendance
from engine.routes import Route
from rules.errors import NotFound
from store.uow import UnitOfWork


@checks_freshness_itself
async def get_attendance(request: web.Request) -> web.Response:
    principal = authenticate(request)
    session_id = path_id(request)
    # The session, a finished one's written verdicts and charges or an unfinished
    # one's assessment inputs, and the projection's position: one query. No snapshot
    # is held across the read (on SQLite no BEGIN and ROLLBACK around it): a finished
    # answer not kept whole reads its inputs in a further statement, which may see
    # later commits than the first, never earlier ones, as every read on
    # PostgreSQL's READ COMMITTED does, so the freshness the first one found holds.
    return await database(request).on_loop_first(
        partial(_read, request, principal, session_id), name="attendance_read"
    )


async def _read(
    request: web.Request, principal: Principal, session_id: int, on_loop: bool
) -> web.Response:
    # One session's read: short enough to run its statements on the loop.
    async with database(request).reading(snapshot=False, on_loop=on_loop) as uow:
        read = await kept_attendance(uow, session_id)
        if read.fresh:
            return await _answer(request, uow, principal, read)
    # Behind (or no such session, which says nothing of the projection): project what
    # was acknowledged before this request, then read again (CONTRACT 3).
    await request.app[PROJECTOR].catch_up()
    async with database(request).reading(snapshot=False, on_loop=on_loop) as uow:
        return await _answer(request, uow, principal, await kept_attendance(uow, session_id))


async def _answer(
    request: web.Request, uow: UnitOfWork, principal: Principal, read: KeptRead
) -> web.Response:
    # A student sees its own verdict, not its classmates'. Explanations are rendered
    # in the academy's locale (CONTRACT 4.3).
    only = principal.user_id if principal.role == "student" else None
    facts = check_visible(principal, read.session, path_id(request))
    if read.kept is not None:
        check_reads(principal, facts, read.kept.student_ids)
        body = kept_answer_json(read.kept, only_student=only, locale=read.locale)
        if body is not None:
            return respond_json(body)
        return respond(kept_attendance_shape(read.kept, only_student=only, locale=read.locale))
    # Assessed from its rows, read with the session while it is unfinished; a
    # finished answer not kept whole reads them now (issue 12).
    inputs = read.inputs or await uow.assessing.inputs(facts.id)
    if inputs is None:  # gone since the first statement: no snapshot spans the read
        raise NotFound(f"no such session {facts.id}")
    check_reads(principal, inputs.session, inputs.roster)
    attendance = await attendance_of(uow, inputs, now=now(request))
    return respond_json(assessed_answer_json(attendance, only_student=only, locale=read.locale))


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = Field(default=None, min_length=1, max_length=200)


def encode_history_cursor(key: HistoryKey) -> str:
    at, kind, row_id = key
    raw = json.dumps([at.isoformat(), kind, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_history_cursor(text: str) -> HistoryKey:
    """The key of the last entry of the previous page; 422 for anything not handed out."""
    try:
        at, kind, row_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or kind not in (-1, 0, 1) or isinstance(row_id, bool):
            raise ValueError(text)
        if not isinstance(row_id, int) or not 0 < row_id <= MAX_ID:
            raise ValueError(text)
        return moment.astimezone(UTC), kind, row_id
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise bad_field("cursor", "not a cursor this service handed out") from None


async def get_history(request: web.Request) -> web.Response:
    """Keyset pages on (at, the session's moves | overrides | the moves they caused,
    id): an entry written while a reader pages never makes it skip or repeat one. A
    session's history is short (tens of rows), so both tables are read whole and
    merged; the page is cut after."""
    principal = authenticate(request)
    session_id = path_id(request)
    query = read_query(request, HistoryQuery)
    after = decode_history_cursor(query.cursor) if query.cursor else None
    async with database(request).reading() as uow:
        session = await visible_session(uow, principal, session_id)
        check_own_teaching(principal, session)
        transitions = await uow.transitions.for_session(session.id)
        overrides = await uow.audit.for_session(session.id)
        page, last = history_shape(transitions, overrides, after=after, limit=query.limit)
    page.next_cursor = None if last is None else encode_history_cursor(last)
    return respond(page)


ROUTES = (
    Route(
        "GET",
        "/v1/sessions/{id}/attendance",
        "Every roster student's verdict, with the teacher's attendance",
        get_attendance,
        answer=AttendanceOut,
        errors=(403,),
        tag="attendance",
        description="A student token sees only its own entry in `students`.",
    ),
    Route(
        "GET",
        "/v1/sessions/{id}/history",
        "Transitions and overrides, oldest first, each with who, when, before and after",
        get_history,
        rights=only("admin", "teacher"),
        query=HistoryQuery,
        answer=HistoryList,
        errors=(403,),
        tag="attendance",
    ),
)
