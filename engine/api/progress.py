"""`GET /v1/students/{id}/progress`: what a student's lessons add up to, by kind.

The rights are attendance's: the service any student, an admin its academy's, a
teacher the students of its own sessions (and only those sessions count), a student
itself. The lessons are those `GET /v1/attendance` reports for the same window and
type (scheduled, not cancelled), so each kind's `attendance` row is the summary row.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.api.access import visible_user
from engine.api.attendance_report import StudentSummaryOut
from engine.api.bodies import TypeFilter
from engine.api.http import database, now, path_id, read_query, respond
from engine.api.types import Moment
from engine.auth import authenticate
from engine.operations.attendance_report import ReportFilter
from engine.operations.progress import student_progress
from engine.routes import Route
from rules.codes import SubscriptionKind, kind_of, types_named
from rules.errors import NotFound


class ProgressQuery(BaseModel):
    """`from` inclusive and `to` exclusive on `scheduled_at`; `type` one session type,
    or `individual` / `group`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None
    type: TypeFilter | None = None

    @model_validator(mode="after")
    def _window(self) -> ProgressQuery:
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("`to` must not be before `from`")
        return self


class QuranProgressOut(BaseModel):
    sessions: int
    papers_memorized: float = Field(description="papers memorized in all")
    average_recitation_quality: float | None
    makeups: int = Field(description="make-up sessions among the lessons")
    attendance: StudentSummaryOut


class HomeworkProgressOut(BaseModel):
    given: int
    submitted: int
    graded: int
    average_grade: float | None


class AcademicProgressOut(BaseModel):
    sessions: int
    average_grade: float | None = Field(description="the average `session_grade`")
    homework: HomeworkProgressOut
    quiz_average: float | None
    attendance: StudentSummaryOut


class InteractiveProgressOut(BaseModel):
    sessions: int
    average_video_completion: float | None
    exercises_completed: int
    exercises_total: int
    average_engagement_score: float | None
    attendance: StudentSummaryOut


class ProgressOut(BaseModel):
    """Each kind the `type` asked for (all three without one; null for the others).
    Averages have two decimals and leave out lessons whose report does not give the
    value; an average of nothing is null."""

    model_config = ConfigDict(populate_by_name=True)
    student_id: int
    from_: datetime | None = Field(alias="from")
    to: datetime | None
    type: str | None
    quran: QuranProgressOut | None
    academic: AcademicProgressOut | None
    interactive: InteractiveProgressOut | None


async def get_progress(request: web.Request) -> web.Response:
    principal = authenticate(request)
    student_id = path_id(request)
    query = read_query(request, ProgressQuery)
    named = types_named(query.type) if query.type else ()
    types = tuple(t.value for t in named)
    kinds = [k for k in SubscriptionKind if not named or any(kind_of(t) is k for t in named)]
    async with database(request).reading() as uow:
        student = await visible_user(uow, principal, student_id, students_taught=True)
        if student.role != "student":
            raise NotFound(f"no such student {student_id}")
        academy_id = student.academy_id
    report = ReportFilter(
        academy_id=academy_id,
        teacher_id=principal.user_id if principal.role == "teacher" else None,
        student_id=student_id,
        types=types,
        starts_from=query.from_,
        starts_before=query.to,
    )
    found = await student_progress(database(request).uow, report, kinds, now=now(request))
    shape = ProgressOut.model_validate(
        {
            "student_id": student_id,
            "from": query.from_,
            "to": query.to,
            "type": query.type,
            **{kind.value: found.get(kind) for kind in SubscriptionKind},
        }
    )
    return respond(shape)


ROUTES = (
    Route(
        "GET",
        "/v1/students/{id}/progress",
        "A student's progress across lessons, by kind, with its attendance summary row",
        get_progress,
        query=ProgressQuery,
        answer=ProgressOut,
        errors=(403,),
        tag="attendance",
        description="Quran: papers memorized in all, average recitation quality, make-ups; "
        "academic: average grade, homework given / submitted / graded and their average "
        "grade, quiz average; interactive: average video completion, exercises completed "
        "of total, average engagement score. The lessons are the scheduled, not cancelled "
        "sessions with the student in `[from, to)`. A student sees only itself, a teacher "
        "its own sessions' students over its own sessions only.",
    ),
)
