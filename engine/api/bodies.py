"""What callers send: one pydantic model per request body or query string.

The same classes validate requests and describe them in `/openapi.json`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from engine.api.types import (
    BODY_CONFIG,
    Email,
    ExternalId,
    Id,
    LongText,
    Moment,
    Name,
    Reason,
    ShortText,
    TimeZone,
    Title,
    WebUrl,
)
from rules.codes import SessionType
from rules.lifecycle import Status

# --- the platform's objects ---------------------------------------------------------


class AcademyIn(BaseModel):
    """An academy (tenant); `timezone` decides what `today` and `this_week` mean."""

    model_config = BODY_CONFIG
    name: Name
    timezone: TimeZone
    locale: Literal["ar", "en"]


class UserIn(BaseModel):
    """A platform user, known by the platform's own id."""

    model_config = BODY_CONFIG
    academy_id: Id
    role: Literal["admin", "teacher", "student"]
    name: Name
    email: Email | None = None


class SubscriptionIn(BaseModel):
    """A student's package of sessions of one kind; `ends_at` must follow `starts_at`."""

    model_config = BODY_CONFIG
    student_id: Id
    academy_id: Id
    kind: Literal["quran", "academic", "interactive"]
    total_sessions: int = Field(ge=0, le=100_000)
    starts_at: Moment
    ends_at: Moment


# --- rule settings ------------------------------------------------------------------

Minutes = Annotated[int, Field(ge=0, le=1440)]
Percent = Annotated[float, Field(ge=0, le=100)]
Weight = Annotated[float, Field(ge=0, le=1)]


class RuleSettingsIn(BaseModel):
    """Any of the settings of CONTRACT 4; the ones left out keep the level below."""

    model_config = BODY_CONFIG
    preparation_minutes: Minutes | None = None
    buffer_minutes: Minutes | None = None
    reconnect_gap_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    late_grace_minutes: Minutes | None = None
    early_leave_grace_minutes: Minutes | None = None
    full_percent: Percent | None = None
    partial_percent: Percent | None = None
    teacher_full_percent: Percent | None = None
    teacher_partial_percent: Percent | None = None
    engagement_attendance_weight: Weight | None = None
    engagement_camera_weight: Weight | None = None
    engagement_microphone_weight: Weight | None = None


class RulesIn(BaseModel):
    """An academy's overrides: `default` for every type, then per session type.

    The whole set is replaced; send `{}` to fall back to the built-in defaults.
    """

    model_config = BODY_CONFIG
    default: RuleSettingsIn | None = None
    quran_individual: RuleSettingsIn | None = None
    quran_circle: RuleSettingsIn | None = None
    academic_individual: RuleSettingsIn | None = None
    academic_course: RuleSettingsIn | None = None
    interactive_course: RuleSettingsIn | None = None


# --- sessions -----------------------------------------------------------------------


def _distinct(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("must not name a student twice")
    return ids


class QuranFields(BaseModel):
    """Fields of Quran sessions (`quran_individual`, `quran_circle`)."""

    surah_number: Annotated[int, Field(ge=1, le=114)] | None = None
    juz_number: Annotated[int, Field(ge=1, le=30)] | None = None
    from_verse: Annotated[int, Field(ge=1, le=286)] | None = None
    to_verse: Annotated[int, Field(ge=1, le=286)] | None = None
    lesson_content: ShortText | None = None


class AcademicFields(BaseModel):
    """Fields of `academic_individual` sessions."""

    subject: ShortText | None = None
    lesson_content: ShortText | None = None


class CourseFields(BaseModel):
    """Fields of course sessions (`academic_course`, `interactive_course`): the
    platform's course and the session's number in it, unique within the course (a
    second session with a number answers 409)."""

    course_id: Id | None = None
    session_number: Annotated[int, Field(ge=1, le=10_000)] | None = None
    lesson_content: ShortText | None = None


class Material(BaseModel):
    """A lesson material: a title and an http(s) address."""

    model_config = BODY_CONFIG
    title: Title
    url: WebUrl


class AcademicCourseFields(CourseFields):
    """Fields of `academic_course` sessions: a course session's, and its materials."""

    materials: Annotated[list[Material], Field(max_length=100)] | None = None


TYPE_FIELDS: dict[SessionType, type[BaseModel]] = {
    SessionType.QURAN_INDIVIDUAL: QuranFields,
    SessionType.QURAN_CIRCLE: QuranFields,
    SessionType.ACADEMIC_INDIVIDUAL: AcademicFields,
    SessionType.ACADEMIC_COURSE: AcademicCourseFields,
    SessionType.INTERACTIVE_COURSE: CourseFields,
}


def type_field_names(session_type: str) -> tuple[str, ...]:
    return tuple(TYPE_FIELDS[SessionType(session_type)].model_fields)


class _NewSession(BaseModel):
    model_config = BODY_CONFIG
    academy_id: Id
    title: Title
    description: LongText | None = None
    duration_minutes: int = Field(ge=1, le=1440)
    teacher_id: Id
    external_id: ExternalId | None = Field(
        default=None,
        description="the platform's own id, unique in the academy: repeating the same "
        "request answers 200 with the session it made, another request 409",
    )


class _OneStudent(BaseModel):
    student_id: Id


class _Roster(BaseModel):
    student_ids: Annotated[
        list[Id],
        Field(min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ]


class NewQuranIndividual(_NewSession, _OneStudent, QuranFields):
    type: Literal["quran_individual"]


class NewQuranCircle(_NewSession, _Roster, QuranFields):
    type: Literal["quran_circle"]


class NewAcademicIndividual(_NewSession, _OneStudent, AcademicFields):
    type: Literal["academic_individual"]


class NewAcademicCourse(_NewSession, _Roster, AcademicCourseFields):
    type: Literal["academic_course"]


class NewInteractiveCourse(_NewSession, _Roster, CourseFields):
    type: Literal["interactive_course"]


NewSessionBody = Annotated[
    NewQuranIndividual
    | NewQuranCircle
    | NewAcademicIndividual
    | NewAcademicCourse
    | NewInteractiveCourse,
    Field(discriminator="type"),
]


class NewSession(RootModel[NewSessionBody]):
    """A new session, UNSCHEDULED: individual types take `student_id`, group types
    `student_ids`; each type may carry its own fields."""


class ScheduleIn(BaseModel):
    model_config = BODY_CONFIG
    scheduled_at: Moment


class RescheduleIn(BaseModel):
    """A new start for a SCHEDULED or READY session nobody on the roster has joined;
    it must lie in the future. The reason goes to the session's history."""

    model_config = BODY_CONFIG
    scheduled_at: Moment
    reason: Reason


class CancelIn(BaseModel):
    """`cancelled_by` lets the platform (service token) name the person it acts for;
    for a user token it is that user."""

    model_config = BODY_CONFIG
    reason: Reason
    cancelled_by: Id | None = None


class JoinTokenIn(BaseModel):
    """Whose token: a teacher or student may leave `user_id` out (or send no body) to
    mean itself; the service and admins must name the user."""

    model_config = BODY_CONFIG
    user_id: Id | None = None


Score = Annotated[float, Field(ge=0, le=10)]
Count = Annotated[int, Field(ge=0, le=10_000)]


class HomeworkIn(BaseModel):
    """Homework set in an academic lesson: what it is, when the student handed it in
    (null: not yet) and its grade 0-10 (null: not graded yet)."""

    model_config = BODY_CONFIG
    description: LongText | None = None
    submitted_at: Moment | None = None
    grade: Score | None = None


class _ReportFields(BaseModel):
    """The report's fields; which of the type's own fields a session takes is
    `REPORT_FIELDS`'s (another type's field is named in the 422)."""

    model_config = BODY_CONFIG
    attendance_status: Literal["present", "late", "left_early", "partial", "absent"] | None = None
    actual_attendance_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    participation_score: Score | None = None
    notes: LongText | None = None
    # Quran
    papers_memorized_today: Annotated[float, Field(ge=0, le=604)] | None = None
    recitation_quality: Score | None = None
    # academic (and, as before, interactive)
    session_grade: Score | None = None
    learning_outcomes: Annotated[list[ShortText], Field(max_length=100)] | None = None
    # academic
    homework: HomeworkIn | None = None
    # academic course
    quiz_score: Score | None = None
    # interactive course
    video_completion_percent: Percent | None = None
    exercises_completed: Count | None = Field(default=None, description="at most `exercises_total`")
    exercises_total: Count | None = None


_QURAN_REPORT = ("papers_memorized_today", "recitation_quality")
_ACADEMIC_REPORT = ("session_grade", "learning_outcomes", "homework")
REPORT_FIELDS: dict[SessionType, tuple[str, ...]] = {
    SessionType.QURAN_INDIVIDUAL: _QURAN_REPORT,
    SessionType.QURAN_CIRCLE: _QURAN_REPORT,
    SessionType.ACADEMIC_INDIVIDUAL: _ACADEMIC_REPORT,
    SessionType.ACADEMIC_COURSE: (*_ACADEMIC_REPORT, "quiz_score"),
    SessionType.INTERACTIVE_COURSE: (
        "session_grade",
        "learning_outcomes",
        "video_completion_percent",
        "exercises_completed",
        "exercises_total",
    ),
}
ALL_REPORT_FIELDS = tuple(dict.fromkeys(f for names in REPORT_FIELDS.values() for f in names))


class ReportIn(_ReportFields):
    """A teacher's report on one student, replacing any earlier one.

    `attendance_status` (when not null) decides the verdict; null hands it back to
    the meeting evidence. Quran sessions take `papers_memorized_today` and
    `recitation_quality`; academic ones `session_grade`, `learning_outcomes` and
    `homework`, academic courses `quiz_score` too; interactive courses
    `session_grade`, `learning_outcomes`, `video_completion_percent`,
    `exercises_completed` and `exercises_total`. `reported_by` lets the platform name
    the teacher it acts for.
    """

    reason: ShortText | None = None
    reported_by: Id | None = None


class ReportEntryIn(_ReportFields):
    """One student's report in a bulk report: the single report's fields (`ReportIn`)
    and the student it is about; `reason` and `reported_by` are the batch's."""

    student_id: Id


class ReportsIn(BaseModel):
    """Many students' reports at once, all or nothing, each replacing any earlier one.

    Each entry follows the single report's rules; one `reason` for all. A student may
    appear once, and only a roster student: every bad entry is named in the 422 as
    `reports[<index>].<field>`.
    """

    model_config = BODY_CONFIG
    reason: ShortText | None = None
    reported_by: Id | None = None
    reports: Annotated[list[ReportEntryIn], Field(min_length=1, max_length=500)]


class ChargeIn(BaseModel):
    """`counts: true` charges the student (or marks it unbilled without a
    subscription); `false` waives the session."""

    model_config = BODY_CONFIG
    counts: bool
    reason: Reason


# One session type, or every type of a shape (one Literal: a union would name the
# field after its branches in a 422).
TypeFilter = Literal[
    "quran_individual",
    "quran_circle",
    "academic_individual",
    "academic_course",
    "interactive_course",
    "individual",
    "group",
]


class SessionQuery(BaseModel):
    """Filters of `GET /v1/sessions`; all of them must hold. `status` and `type` may be
    given more than once (`?status=completed&status=absent`): any of their values."""

    REPEATABLE: ClassVar[frozenset[str]] = frozenset({"status", "type"})
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    status: list[Status] = Field(default_factory=list, max_length=len(Status))
    teacher_id: Id | None = None
    student_id: Id | None = None
    academy_id: Id | None = None
    type: list[TypeFilter] = Field(default_factory=list, max_length=len(SessionType) + 2)
    scope: Literal["today", "upcoming", "past", "this_week"] | None = None
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    external_id: ExternalId | None = None
