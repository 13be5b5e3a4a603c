"""What the API answers: one pydantic model per response shape (CONTRACT 5).

`engine.api.shapes` fills them from store rows; `/openapi.json` describes them.
Times serialise as ISO 8601 UTC with a `Z`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel

from engine.api.bodies import AcademicCourseFields, AcademicFields, CourseFields, QuranFields
from rules.lifecycle import Status

ChargeState = Literal["charged", "waived", "unbilled", "none"]
StudentVerdict = Literal["present", "late", "left_early", "partial", "absent", "pending"]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["validation_failed"])
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """Every failure: `details` lists `{field, message}` for a 422."""

    error: ErrorDetail


# --- the platform's objects ---------------------------------------------------------


class AcademyOut(BaseModel):
    id: int
    name: str
    timezone: str
    locale: Literal["ar", "en"]
    created_at: datetime
    updated_at: datetime


class RuleSettingsOut(BaseModel):
    preparation_minutes: int
    buffer_minutes: int
    reconnect_gap_seconds: int
    late_grace_minutes: int
    early_leave_grace_minutes: int
    full_percent: float
    partial_percent: float
    teacher_full_percent: float
    teacher_partial_percent: float
    engagement_attendance_weight: float
    engagement_camera_weight: float
    engagement_microphone_weight: float


class RulesOut(BaseModel):
    """The settings in force: the built-in defaults under the academy's `default`,
    under each type's own; sending this back as a PUT changes nothing."""

    default: RuleSettingsOut
    quran_individual: RuleSettingsOut
    quran_circle: RuleSettingsOut
    academic_individual: RuleSettingsOut
    academic_course: RuleSettingsOut
    interactive_course: RuleSettingsOut


class UserOut(BaseModel):
    id: int
    academy_id: int
    role: Literal["admin", "teacher", "student"]
    name: str
    email: str | None
    created_at: datetime
    updated_at: datetime


class UsageRowOut(BaseModel):
    """One row of the usage ledger: at most one per session and student."""

    session_id: int
    student_id: int
    subscription_id: int | None
    status: Literal["charged", "waived", "unbilled"]
    reason: str
    verdict: str | None
    hand_set: bool
    created_at: datetime
    updated_at: datetime


class SubscriptionOut(BaseModel):
    id: int
    student_id: int
    academy_id: int
    kind: Literal["quran", "academic", "interactive"]
    total_sessions: int
    starts_at: datetime
    ends_at: datetime
    used_sessions: int
    remaining_sessions: int
    usage: list[UsageRowOut]
    created_at: datetime
    updated_at: datetime


class SubscriptionList(BaseModel):
    data: list[SubscriptionOut]
    next_cursor: str | None = Field(description="always null: a student's subscriptions fit a page")


# --- sessions -----------------------------------------------------------------------


class Person(BaseModel):
    id: int
    name: str
    email: str | None


class StatusDisplayOut(BaseModel):
    value: Status
    label: str
    label_en: str
    color: str
    icon: str
    can_start: bool
    can_cancel: bool
    can_join: bool


class _Session(BaseModel):
    id: int
    session_code: str = Field(examples=["QSE-1-000001"])
    academy_id: int
    status: Status
    status_display: StatusDisplayOut
    title: str
    description: str | None
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_minutes: int
    meeting_link: str | None
    meeting_room_name: str | None
    meeting_id: str | None = Field(description="the LiveKit room's sid, once known")
    meeting_expires_at: datetime | None = Field(description="when the room stops taking joins")
    meeting_data: dict[str, Any] | None = Field(
        description="LiveKit's answer (the Room) when the room was made, as JSON"
    )
    teacher: Person
    participants_count: int = Field(
        description="roster students who attended: verdict not `absent` (0 until someone has)"
    )
    roster_count: int = Field(description="students on the roster")
    subscription_counted: bool
    created_at: datetime
    cancellation_reason: str | None
    cancelled_by: int | None
    cancelled_at: datetime | None
    is_makeup_session: bool
    makeup_of_id: int | None = Field(description="the cancelled or absent session this makes up")
    schedule_id: int | None = Field(description="the recurring schedule that generated it")
    external_id: str | None = Field(description="the platform's own id, when it gave one")


class _Individual(BaseModel):
    student: Person | None = Field(description="the one student (null only for an empty roster)")
    attendance_status: StudentVerdict | None = Field(
        description="the student's current verdict (`pending` until the session finishes)"
    )


class _Group(BaseModel):
    students: list[Person]
    attendance_status: None = Field(default=None, description="null: see the attendance")


class QuranIndividualSession(_Session, _Individual, QuranFields):
    type: Literal["quran_individual"]


class QuranCircleSession(_Session, _Group, QuranFields):
    type: Literal["quran_circle"]


class AcademicIndividualSession(_Session, _Individual, AcademicFields):
    type: Literal["academic_individual"]


class AcademicCourseSession(_Session, _Group, AcademicCourseFields):
    type: Literal["academic_course"]


class InteractiveCourseSession(_Session, _Group, CourseFields):
    type: Literal["interactive_course"]


class SessionOut(
    RootModel[
        Annotated[
            QuranIndividualSession
            | QuranCircleSession
            | AcademicIndividualSession
            | AcademicCourseSession
            | InteractiveCourseSession,
            Field(discriminator="type"),
        ]
    ]
):
    """A session as the platform's API shapes it: `student` for individual types,
    `students` for group types, plus the type's own fields."""


class SessionList(BaseModel):
    data: list[SessionOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class JoinTokenOut(BaseModel):
    token: str
    url: str | None = Field(description="where to connect; null when no LiveKit URL is set")
    room: str
    identity: str
    expires_at: datetime


# --- attendance ---------------------------------------------------------------------


class IntervalOut(BaseModel):
    joined_at: datetime
    left_at: datetime


class ChargeOut(BaseModel):
    status: ChargeState
    reason: str | None
    subscription_id: int | None


class _Meeting(BaseModel):
    user_id: int
    attended_seconds: int
    attendance_percentage: float
    first_join_at: datetime | None
    last_leave_at: datetime | None
    join_count: int
    intervals: list[IntervalOut]


class TeacherAttendanceOut(_Meeting):
    attendance_status: Literal["attended", "partial", "absent", "pending"]


class StudentAttendanceOut(_Meeting):
    # Seconds inside [S, E], after the reconnect merge, with the teacher in too.
    copresent_seconds: int
    attendance_status: StudentVerdict
    source: Literal["teacher_report", "meeting", "none"]
    # In the academy's locale (`ar` reads Arabic, others English).
    explanation: str
    # The same, as a stable code and its numbers, for a platform to render its own:
    # {"code": "late", "late_minutes": 12, "attended_minutes": 48, "of_minutes": 60, ...}.
    # An empty object for a verdict written before codes were kept.
    explanation_code: dict[str, str | int | float]
    # Seconds inside [S, E] and inside the attended stretches with each source on
    # (CONTRACT 4.2a); overlapping tracks of one source count once.
    camera_seconds: int
    microphone_seconds: int
    screen_share_seconds: int
    # 0..100 for interactive_course sessions, null for every other type.
    engagement_score: int | None
    # Names the parts, in the academy's locale, beside its stable code:
    # {"code": "engagement", "score": 85, "attendance_points": 50.0, ...} or, unscored,
    # {"code": "tracks", "camera_seconds": 1800, ...}. Empty for a verdict written
    # before engagement was kept.
    engagement_explanation: str
    engagement_explanation_code: dict[str, str | int | float]
    manually_overridden: bool
    overridden_by: int | None
    charge: ChargeOut


class AttendanceOut(BaseModel):
    """Every roster student's verdict (a student sees only its own)."""

    session_id: int
    status: Status
    counts_for_teacher: bool | None
    teacher: TeacherAttendanceOut
    students: list[StudentAttendanceOut]


class HomeworkOut(BaseModel):
    description: str | None
    submitted_at: datetime | None
    grade: float | None


class WrittenReportOut(BaseModel):
    """A teacher's report as written: every type's fields (null when not the
    session type's or not given), who wrote it and when."""

    session_id: int
    student_id: int
    attendance_status: str | None
    actual_attendance_minutes: int | None
    participation_score: float | None
    notes: str | None
    papers_memorized_today: float | None
    recitation_quality: float | None
    session_grade: float | None
    learning_outcomes: list[str] | None
    homework: HomeworkOut | None
    quiz_score: float | None
    video_completion_percent: float | None
    exercises_completed: int | None
    exercises_total: int | None
    reported_by: int | None = Field(
        description="who wrote the report: the teacher, or the user the platform named"
    )
    created_at: datetime = Field(description="when the first report on this student was written")
    updated_at: datetime = Field(description="when the report was last replaced")


class WrittenReportList(BaseModel):
    """A session's reports by student id; one page (`next_cursor` always null)."""

    data: list[WrittenReportOut]
    next_cursor: str | None = None


class ReportOut(WrittenReportOut):
    """The stored report and the verdict it led to."""

    session_status: Status
    verdict: StudentAttendanceOut


class ReportList(BaseModel):
    """The reports a bulk report wrote, in the order sent, each with its verdict after."""

    data: list[ReportOut]
    next_cursor: str | None = Field(default=None, description="always null: one page")


class HistoryEntry(BaseModel):
    """A transition (`kind: transition`) or an override (`report`, `charge`)."""

    kind: str = Field(examples=["transition", "report", "charge"])
    at: datetime
    actor: str = Field(examples=["user:5", "service", "sweeper"])
    event: str | None
    student_id: int | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    details: dict[str, Any] | None


class HistoryList(BaseModel):
    data: list[HistoryEntry]
    next_cursor: str | None = None
