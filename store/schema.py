"""The relational schema: one declarative model per table.

Raw evidence (the webhook inbox) is never changed after it is stored; everything
below it (evidence rows, intervals) is derived and can be rebuilt from it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.types import UTCDateTime

# Autoincrement keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        date: Date(),
    }


class Academy(Base):
    __tablename__ = "academies"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(8), default="ar")
    # {"default": {...}, "<session type>": {...}}: the rule settings in force.
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (Index(None, "student_id", "academy_id", "kind"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id"))
    kind: Mapped[str] = mapped_column(String(16))
    total_sessions: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SessionCodeCounter(Base):
    """Last sequence number handed out per academy and prefix (row-locked on use)."""

    __tablename__ = "session_code_counters"

    academy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index(None, "status", "scheduled_at"),
        Index(None, "teacher_id", "scheduled_at"),
        Index(None, "academy_id", "scheduled_at"),
        # The platform's own id: one session per id and academy (NULLs never collide).
        Index(None, "academy_id", "external_id", unique=True),
        # One session per number of a course (NULLs never collide: no course, a make-up).
        Index(None, "academy_id", "type", "course_id", "session_number", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_code: Mapped[str] = mapped_column(String(32), unique=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id"))
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scheduled_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]  # scheduled_at + duration, kept for index range scans
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # Rule settings frozen when the session was scheduled (RuleSettings.to_dict()).
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    meeting_room_name: Mapped[str | None] = mapped_column(String(64))
    meeting_link: Mapped[str | None] = mapped_column(String(500))
    meeting_expires_at: Mapped[datetime | None]
    # The LiveKit room's sid (CreateRoom's answer, else the first webhook of its room)
    # and CreateRoom's whole answer, as protobuf's JSON mapping writes it.
    meeting_id: Mapped[str | None] = mapped_column(String(64))
    meeting_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[int | None] = mapped_column(BigInteger)
    cancelled_at: Mapped[datetime | None]
    subscription_counted: Mapped[bool] = mapped_column(Boolean, default=False)
    counts_for_teacher: Mapped[bool | None] = mapped_column(Boolean)
    # Type-specific fields (e.g. Quran surah, course lesson number).
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A course session's place in its course, copied from `extra` for the unique index
    # above; NULL on make-ups (they repeat their lesson) and once cancelled (the number
    # is free again). `extra` is what the session shows.
    course_id: Mapped[int | None] = mapped_column(BigInteger)
    session_number: Mapped[int | None] = mapped_column(Integer)
    schedule_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    is_makeup_session: Mapped[bool] = mapped_column(Boolean, default=False)
    makeup_of_id: Mapped[int | None] = mapped_column(BigInteger)
    external_id: Mapped[str | None] = mapped_column(String(128))
    # SHA-256 of the create request's canonical form: what a repeat is compared with.
    external_request_sha256: Mapped[str | None] = mapped_column(String(64))
    # Bumped on every visible change: the calendar feed's SEQUENCE.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SessionStudent(Base):
    """The roster: one row per student of a session (one for individual types)."""

    __tablename__ = "session_students"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class WebhookEvent(Base):
    """The inbox: every verified LiveKit webhook, raw bytes as received, kept forever."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(48))
    room_name: Mapped[str | None] = mapped_column(String(64), index=True)
    room_sid: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime]  # the event's createdAt
    received_at: Mapped[datetime]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="processed")
    session_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class ProjectionPosition(Base):
    """How far a projector has read the inbox: every row with an id up to `position`
    is reflected in what it derives (evidence, intervals, starts)."""

    __tablename__ = "projection_positions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class Evidence(Base):
    """One fact about presence, derived from a webhook or added by reconciliation."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # webhook | reconciled | system
    kind: Mapped[str] = mapped_column(
        String(24)
    )  # joined | left | aborted | room_finished | session_closed | track_(un)published
    room_name: Mapped[str | None] = mapped_column(String(64), index=True)
    room_sid: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    participant_sid: Mapped[str | None] = mapped_column(String(64))
    identity: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime]
    joined_at: Mapped[datetime | None]
    decisive: Mapped[bool] = mapped_column(Boolean, default=True)
    # Track events only: LiveKit's track sid and its source's enum name as sent.
    track_sid: Mapped[str | None] = mapped_column(String(64))
    track_source: Mapped[str | None] = mapped_column(String(24))


class Interval(Base):
    """A participant's stretch of presence in a session's room (derived, rebuildable)."""

    __tablename__ = "intervals"
    __table_args__ = (UniqueConstraint("session_id", "participant_sid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    participant_sid: Mapped[str] = mapped_column(String(64))
    identity: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    room_sid: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    decisive: Mapped[bool] = mapped_column(Boolean, default=True)


class StudentReport(Base):
    """What the teacher recorded for one student in one session."""

    __tablename__ = "student_reports"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    attendance_status: Mapped[str | None] = mapped_column(String(16))
    actual_attendance_minutes: Mapped[int | None] = mapped_column(Integer)
    participation_score: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the type's own fields
    reported_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StoredVerdict(Base):
    """A finished session's verdict of one user, written when it finishes and again
    whenever a report or a rebuild changes it; reads of a finished session serve it."""

    __tablename__ = "verdicts"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    role: Mapped[str] = mapped_column(String(8))  # student | teacher
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(16))  # students only
    explanation: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    # The rest of the user's entry in the attendance answer, as it was written (NULL:
    # not kept, or its intervals changed since; the read then assesses the evidence).
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditEntry(Base):
    """The audit log of every hand-made change: reports and hand-set charges."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(BigInteger, index=True)
    student_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))  # report | charge
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Transition(Base):
    """The status history of a session."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(BigInteger, index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(
        String(96)
    )  # "user:5", "service", "sweeper", "evidence:EV_…"
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Charge(Base):
    """A charge: at most one per (session, student), ever."""

    __tablename__ = "charges"
    __table_args__ = (UniqueConstraint("session_id", "student_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(BigInteger)
    student_id: Mapped[int] = mapped_column(BigInteger, index=True)
    subscription_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))  # charged | waived | unbilled
    reason: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str | None] = mapped_column(String(16))
    hand_set: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoomOperation(Base):
    """LiveKit RoomService work that must eventually succeed (retried with backoff)."""

    __tablename__ = "room_operations"
    __table_args__ = (Index(None, "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    op: Mapped[str] = mapped_column(String(24))  # create_room | delete_room | remove_participant
    room_name: Mapped[str] = mapped_column(String(64))
    identity: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Schedule(Base):
    """A recurring weekly pattern of a circle or course."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    student_ids: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"ids": [...]}
    weekdays: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"days": ["mon", ...]}
    start_time: Mapped[str] = mapped_column(String(5))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    monthly_session_limit: Mapped[int | None] = mapped_column(Integer)
    generate_days_ahead: Mapped[int] = mapped_column(Integer, default=14)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ScheduleSlot(Base):
    """One generated (or skipped) occurrence of a schedule: makes generation idempotent."""

    __tablename__ = "schedule_slots"
    __table_args__ = (UniqueConstraint("schedule_id", "slot_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(BigInteger)
    slot_start: Mapped[datetime]
    session_id: Mapped[int | None] = mapped_column(BigInteger)
    skipped_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


# The outgoing notifications' tables live beside this module (it would grow past a
# readable size); importing them here registers them on `Base.metadata`.
from store.schema_notify import DeliveryAttempt as DeliveryAttempt  # noqa: E402
from store.schema_notify import NotificationEndpoint as NotificationEndpoint  # noqa: E402
from store.schema_notify import OutboxMessage as OutboxMessage  # noqa: E402
