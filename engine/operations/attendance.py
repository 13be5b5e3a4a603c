"""Attendance: assess a session (intervals + teacher reports + frozen settings ->
verdicts), and finalise it when it ends.

Computed from the stored evidence; once a session is finished its open intervals
have been closed at `ended_at`, so the same call gives the final answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.operations.charges import settle_charges
from engine.operations.lifecycle import transition
from engine.operations.settings import settings_of
from rules import evidence as ev
from rules.actors import Actor
from rules.attendance import (
    AttendanceStatus,
    MeetingAttendance,
    TeacherStatus,
    measure,
    reference_start,
)
from rules.charging import counts_for_teacher
from rules.codes import SessionType, is_individual
from rules.lifecycle import finishing_event, is_finished
from rules.reconciliation import Verdict, VerdictSource, reconcile_student, teacher_verdict
from rules.rooms import RoomOperationKind
from rules.settings import RuleSettings
from store.schema import Charge, Session, StudentReport
from store.uow import UnitOfWork

EMPTY = MeetingAttendance(
    attended_seconds=0,
    attendance_percentage=0.0,
    first_join_at=None,
    last_leave_at=None,
    join_count=0,
    intervals=(),
)


@dataclass(frozen=True, slots=True)
class StudentAttendance:
    user_id: int
    verdict: Verdict
    report: StudentReport | None
    charge: Charge | None


@dataclass(frozen=True, slots=True)
class SessionAttendance:
    session: Session
    settings: RuleSettings
    finished: bool
    teacher_id: int
    teacher_meeting: MeetingAttendance
    teacher_status: TeacherStatus
    students: tuple[StudentAttendance, ...]

    def student(self, user_id: int) -> StudentAttendance:
        return next(s for s in self.students if s.user_id == user_id)


def closing_event_id(session_id: int) -> str:
    """The id of the synthetic evidence that closes a session (one per session)."""
    return f"closed:{session_id}"


def window(session: Session) -> tuple[datetime, datetime] | None:
    if session.scheduled_at is None:
        return None
    return session.scheduled_at, session.scheduled_at + timedelta(minutes=session.duration_minutes)


def assess(
    session: Session,
    *,
    settings: RuleSettings,
    roster: list[int],
    intervals: Sequence[ev.Interval],
    reports: dict[int, StudentReport],
    charges: dict[int, Charge],
    now: datetime,
    finished: bool | None = None,
    ended_at: datetime | None = None,
) -> SessionAttendance:
    """Pure assembly over loaded rows (the sweeper calls it in batches); `ended_at`
    stands in for the session's own while it is being finished."""
    if finished is None:
        finished = is_finished(session.status)
    by_user: dict[int, list[ev.Interval]] = defaultdict(list)
    for row in intervals:
        if row.decisive and row.user_id is not None:
            by_user[row.user_id].append(row)

    span = window(session)
    ended = ended_at or session.ended_at
    until = ended if (finished and ended) else now

    def meeting_of(user_id: int) -> MeetingAttendance:
        if span is None or not by_user.get(user_id):
            return EMPTY
        return measure(
            by_user[user_id],
            starts_at=span[0],
            ends_at=span[1],
            until=until,
            reconnect_gap_seconds=settings.reconnect_gap_seconds,
        )

    teacher_meeting = meeting_of(session.teacher_id)
    students = []
    for student_id in roster:
        report = reports.get(student_id)
        report_status = (
            AttendanceStatus(report.attendance_status)
            if report is not None and report.attendance_status
            else None
        )
        meeting = meeting_of(student_id)
        if span is None:
            verdict = Verdict(
                user_id=student_id,
                status=report_status or AttendanceStatus.PENDING,
                source=_source(report_status),
                explanation="pending: the session is not scheduled yet"
                if report_status is None
                else f"teacher report: {report_status.value}",
                meeting=meeting,
            )
        else:
            verdict = reconcile_student(
                student_id,
                report_status=report_status,
                meeting=meeting,
                reference_start=reference_start(span[0], teacher_meeting.first_join_at),
                starts_at=span[0],
                ends_at=span[1],
                finished=finished,
                settings=settings,
            )
        students.append(
            StudentAttendance(
                user_id=student_id, verdict=verdict, report=report, charge=charges.get(student_id)
            )
        )
    return SessionAttendance(
        session=session,
        settings=settings,
        finished=finished,
        teacher_id=session.teacher_id,
        teacher_meeting=teacher_meeting,
        teacher_status=teacher_verdict(teacher_meeting, finished=finished, settings=settings),
        students=tuple(students),
    )


def _source(report_status: AttendanceStatus | None) -> VerdictSource:
    return VerdictSource.TEACHER_REPORT if report_status is not None else VerdictSource.NONE


async def session_attendance(
    uow: UnitOfWork,
    session: Session,
    *,
    now: datetime,
    finished: bool | None = None,
    roster: list[int] | None = None,
) -> SessionAttendance:
    return assess(
        session,
        settings=await settings_of(uow, session),
        roster=await uow.sessions.roster(session.id) if roster is None else roster,
        intervals=await uow.intervals.for_session(session.id),
        reports=await uow.reports.for_session(session.id),
        charges=await uow.charges.for_session(session.id),
        now=now,
        finished=finished,
    )


async def finalise(
    uow: UnitOfWork,
    session: Session,
    *,
    at: datetime,
    actor: Actor,
    roster: list[int] | None = None,
) -> SessionAttendance:
    """READY/ONGOING -> COMPLETED or ABSENT at `at`: close presence, make the verdicts
    final, settle charges, close the room. The verdicts are decided first, on the
    intervals the close will leave, so an illegal move raises before anything is
    written. `roster`, when the caller has read it in this transaction, is not read again.
    """
    closed = ev.SessionClosed(event_id=closing_event_id(session.id), at=at)
    intervals = ev.build_intervals([*await uow.evidence.for_session(session.id), closed])
    attendance = assess(
        session,
        settings=await settings_of(uow, session),
        roster=await uow.sessions.roster(session.id) if roster is None else roster,
        intervals=intervals,
        reports=await uow.reports.for_session(session.id),
        charges=await uow.charges.for_session(session.id),
        now=at,
        finished=True,
        ended_at=at,
    )
    event = finishing_event(
        individual=is_individual(SessionType(session.type)),
        all_absent=all(s.verdict.status is AttendanceStatus.ABSENT for s in attendance.students),
    )
    await transition(uow, session, event, at=at, actor=actor)
    session.ended_at = at
    await uow.evidence.add_closed(session.id, session.session_code, at=at, event_id=closed.event_id)
    await uow.intervals.replace(session.id, intervals)
    session.counts_for_teacher = counts_for_teacher(
        attendance.teacher_meeting.attendance_percentage, attendance.settings
    )
    session.subscription_counted = True
    await settle_charges(uow, session, attendance, at=at)
    close_room(uow, session, at=at)
    return attendance


def close_room(uow: UnitOfWork, session: Session, *, at: datetime) -> None:
    """Queue DeleteRoom for a session that had a room."""
    if session.meeting_room_name:
        uow.rooms.enqueue(
            RoomOperationKind.DELETE_ROOM, session.meeting_room_name, now=at, session_id=session.id
        )
