"""`GET /v1/attendance` and `GET /v1/attendance/summary`: attendance across sessions.

Rights are those of `GET /v1/sessions`: the service sees everything, an admin its
academy, a teacher its own sessions, a student its own rows. JSON pages by an opaque
cursor on the rows' order; CSV (`Accept: text/csv` or `?format=csv`) streams every
row, chunk by chunk (`engine.operations.attendance_report`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.api.bodies import TypeFilter
from engine.api.http import bad_field, database, now, read_query
from engine.api.types import MAX_ID, Id, Moment
from engine.auth import Principal, authenticate
from engine.operations.attendance_report import (
    COLUMNS,
    SUMMARY_COLUMNS,
    AttendanceRow,
    ReportFilter,
    RowKey,
    StudentSummary,
    report_rows,
    summarise,
)
from engine.routes import Route
from engine.wire import iso_z
from rules.codes import types_named
from rules.errors import Forbidden, NotFound

VerdictStatus = Literal["present", "late", "left_early", "partial", "absent", "pending", "attended"]
CSV = "text/csv"


class _Filters(BaseModel):
    REPEATABLE: ClassVar[frozenset[str]] = frozenset({"status", "type"})
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    academy_id: Id | None = None
    student_id: Id | None = None
    teacher_id: Id | None = None
    type: list[TypeFilter] = Field(default_factory=list, max_length=7)
    status: list[VerdictStatus] = Field(default_factory=list, max_length=7)
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None
    format: Literal["json", "csv"] | None = None

    @model_validator(mode="after")
    def _window(self) -> _Filters:
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("`to` must not be before `from`")
        return self


class AttendanceQuery(_Filters):
    """Filters of `GET /v1/attendance`; `from` inclusive and `to` exclusive on
    `scheduled_at`; `status` (verdict) and `type` may be given more than once."""

    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, min_length=1, max_length=200)


class SummaryQuery(_Filters):
    """The filters of `GET /v1/attendance`, grouped by student."""


class AttendanceRowOut(BaseModel):
    session_id: int
    session_code: str
    type: str
    scheduled_at: datetime
    user_id: int
    role: Literal["teacher", "student"]
    attendance_status: str
    source: str | None
    attended_seconds: int
    attendance_percentage: float
    copresent_seconds: int | None
    # interactive_course students only (CONTRACT 4.2a); null otherwise.
    engagement_score: int | None
    # Students' rows: seconds with each source on; null on the teacher's row.
    camera_seconds: int | None
    microphone_seconds: int | None
    screen_share_seconds: int | None
    first_join_at: datetime | None
    last_leave_at: datetime | None
    charge_status: str | None
    charge_reason: str | None


class AttendanceList(BaseModel):
    data: list[AttendanceRowOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class StudentSummaryOut(BaseModel):
    student_id: int
    sessions: int
    present: int
    late: int
    left_early: int
    partial: int
    absent: int
    pending: int
    attended_seconds: int
    attendance_rate: float | None = Field(
        description="share (0-1, two decimals) of the decided sessions not absent; "
        "null while none is decided"
    )


class SummaryList(BaseModel):
    data: list[StudentSummaryOut]
    next_cursor: None = None


def _scoped(principal: Principal, q: _Filters) -> ReportFilter:
    """The filter a caller may ask for: as `GET /v1/sessions` scopes it."""
    academy_id, teacher_id, student_id = q.academy_id, q.teacher_id, q.student_id
    if not principal.is_service:
        if academy_id not in (None, principal.academy_id):
            raise NotFound(f"no such academy {academy_id}")
        academy_id = principal.academy_id
    if principal.role == "teacher":
        if teacher_id not in (None, principal.user_id):
            raise Forbidden("a teacher may only report on its own sessions")
        teacher_id = principal.user_id
    if principal.role == "student":
        if student_id not in (None, principal.user_id):
            raise Forbidden("a student may only see its own attendance")
        student_id = principal.user_id
    return ReportFilter(
        academy_id=academy_id,
        teacher_id=teacher_id,
        student_id=student_id,
        types=tuple(dict.fromkeys(t.value for name in q.type for t in types_named(name))),
        statuses=frozenset(q.status),
        starts_from=q.from_,
        starts_before=q.to,
    )


def _wants_csv(request: web.Request, q: _Filters) -> bool:
    if q.format is not None:
        return q.format == "csv"
    return CSV in request.headers.get("Accept", "")


def encode_cursor(key: RowKey) -> str:
    at, session_id, rank, user_id = key
    raw = json.dumps([at.isoformat(), session_id, rank, user_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> RowKey:
    try:
        at, session_id, rank, user_id = json.loads(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        )
        moment = datetime.fromisoformat(at)
        numbers = (session_id, rank, user_id)
        if moment.tzinfo is None or rank not in (0, 1):
            raise ValueError(text)
        if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers):
            raise ValueError(text)
        if not (0 < session_id <= MAX_ID and 0 < user_id <= MAX_ID):
            raise ValueError(text)
        return moment.astimezone(UTC), session_id, rank, user_id
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise bad_field("cursor", "not a cursor this service handed out") from None


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    return "" if value is None else value


async def _stream_csv(
    request: web.Request, columns: Sequence[str], chunks: Any, name: str
) -> web.StreamResponse:
    """A CSV answer written chunk by chunk: RFC 4180 (CRLF, quoted as needed), UTF-8."""
    response = web.StreamResponse(
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
    )
    response.content_type = CSV
    response.charset = "utf-8"
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    async for values in chunks:
        writer.writerows([_cell(row[c]) for c in columns] for row in values)
        await response.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    await response.write(buffer.getvalue().encode("utf-8"))
    await response.write_eof()
    return response


async def list_attendance(request: web.Request) -> web.StreamResponse:
    principal = authenticate(request)
    query = read_query(request, AttendanceQuery)
    report = _scoped(principal, query)
    after = decode_cursor(query.cursor) if query.cursor else None
    moment = now(request)
    open_uow = database(request).uow
    if _wants_csv(request, query):

        async def every_row() -> Any:
            async for rows in report_rows(open_uow, report, now=moment, after=after):
                yield [row.values() for row in rows]

        return await _stream_csv(request, COLUMNS, every_row(), "attendance")
    page: list[AttendanceRow] = []
    more = False
    async for rows in report_rows(open_uow, report, now=moment, after=after, chunk=query.limit + 1):
        page.extend(rows)
        if len(page) > query.limit:
            more = True
            break
    page = page[: query.limit]
    answer = AttendanceList(
        data=[AttendanceRowOut.model_validate(r.values()) for r in page],
        next_cursor=encode_cursor(page[-1].key) if more else None,
    )
    return web.json_response(answer.model_dump(mode="json"))


async def summarise_attendance(request: web.Request) -> web.StreamResponse:
    principal = authenticate(request)
    query = read_query(request, SummaryQuery)
    report = _scoped(principal, query)
    moment = now(request)
    summaries: dict[int, StudentSummary] = {}
    async for rows in report_rows(database(request).uow, report, now=moment):
        summarise(rows, summaries)
    ordered = [summaries[k].values() for k in sorted(summaries)]
    if _wants_csv(request, query):
        return await _stream_csv(request, SUMMARY_COLUMNS, _once(ordered), "attendance-summary")
    answer = SummaryList(data=[StudentSummaryOut.model_validate(v) for v in ordered])
    return web.json_response(answer.model_dump(mode="json"))


async def _once(values: Iterable[dict[str, Any]]) -> Any:
    yield list(values)


_CSV_NOTE = (
    " With `Accept: text/csv` or `?format=csv` the whole result streams as CSV "
    "(RFC 4180, a header row, UTF-8) instead, every page at once."
)

ROUTES = (
    Route(
        "GET",
        "/v1/attendance",
        "Verdict rows across sessions, one per (session, user)",
        list_attendance,
        query=AttendanceQuery,
        answer=AttendanceList,
        answer_alternatives=(CSV,),
        errors=(403, 404),
        tag="attendance",
        description="Scheduled, not cancelled sessions by (scheduled_at, id), the "
        "teacher's row before the students'. Rights as for `GET /v1/sessions`: a teacher "
        "its own sessions, a student its own rows." + _CSV_NOTE,
    ),
    Route(
        "GET",
        "/v1/attendance/summary",
        "The attendance rows grouped by student",
        summarise_attendance,
        query=SummaryQuery,
        answer=SummaryList,
        answer_alternatives=(CSV,),
        errors=(403, 404),
        tag="attendance",
        description="Counts per verdict, attended seconds and the attendance rate of "
        "each student over the rows `GET /v1/attendance` answers for the same filters." + _CSV_NOTE,
    ),
)
