"""A session's attendance: intervals + teacher reports + frozen settings -> verdicts.

Computed on read from the stored evidence; once a session is finished its open
intervals have been closed at `ended_at`, so the same call gives the final answer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules import evidence as ev
from rules.attendance import (
    AttendanceStatus,
    MeetingAttendance,
    TeacherStatus,
    measure,
    reference_start,
)
from rules.lifecycle import FINISHED, Status
from rules.reconciliation import Verdict, VerdictSource, reconcile_student, teacher_verdict
from rules.settings import RuleSettings, resolve_settings
from store.schema import Charge, Interval, Session, StudentReport
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


async def settings_of(uow: UnitOfWork, session: Session) -> RuleSettings:
    """The settings frozen at scheduling, or those in force for an unscheduled one."""
    if session.settings:
        return RuleSettings.from_dict(session.settings)
    academy = await uow.academies.get(session.academy_id)
    return resolve_settings(academy.rules if academy else {}, session.type)


def window(session: Session) -> tuple[datetime, datetime] | None:
    if session.scheduled_at is None:
        return None
    return session.scheduled_at, session.scheduled_at + timedelta(minutes=session.duration_minutes)


def _as_rule_interval(row: Interval) -> ev.Interval:
    return ev.Interval(
        sid=row.participant_sid,
        identity=row.identity,
        user_id=row.user_id,
        room_sid=row.room_sid,
        joined_at=row.joined_at,
        left_at=row.left_at,
        decisive=row.decisive,
    )


def assess(
    session: Session,
    *,
    settings: RuleSettings,
    roster: list[int],
    intervals: list[Interval],
    reports: dict[int, StudentReport],
    charges: dict[int, Charge],
    now: datetime,
    finished: bool | None = None,
) -> SessionAttendance:
    """Pure assembly over loaded rows (the sweeper calls it in batches)."""
    if finished is None:
        finished = Status(session.status) in FINISHED
    by_user: dict[int, list[ev.Interval]] = defaultdict(list)
    for row in intervals:
        if row.decisive and row.user_id is not None:
            by_user[row.user_id].append(_as_rule_interval(row))

    span = window(session)
    until = session.ended_at if (finished and session.ended_at) else now

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
