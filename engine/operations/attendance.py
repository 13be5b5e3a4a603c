"""Attendance: assess a session (intervals + teacher reports + frozen settings ->
verdicts), and finalise it when it ends.

Computed from the stored evidence; once a session is finished its open intervals
have been closed at `ended_at`, so the same call gives the final answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.operations.settings import settings_of
from rules import evidence as ev
from rules.attendance import (
    AttendanceStatus,
    MeetingAttendance,
    TeacherStatus,
    measure,
    reference_start,
)
from rules.codes import SessionType
from rules.copresence import copresent_seconds_of
from rules.engagement import Engagement, TrackEvidence, engagement_of
from rules.lifecycle import is_finished
from rules.reconciliation import Verdict, VerdictSource, reconcile_student, teacher_verdict
from rules.settings import RuleSettings
from store.repositories.assessing import Inputs
from store.repositories.due import SessionLike
from store.repositories.verdicts import WrittenVerdict
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

# Before a session has a window there is nothing to measure tracks against.
NO_ENGAGEMENT = Engagement(0, 0, 0, None, {"code": "not_scheduled"})
NO_ENGAGEMENT_SCORED = Engagement(0, 0, 0, 0, {"code": "not_scheduled"})


@dataclass(frozen=True, slots=True)
class StudentAttendance:
    user_id: int
    verdict: Verdict
    report: StudentReport | None
    charge: Charge | None
    # Read from the intervals, never written: a finished session's are final.
    copresent_seconds: int
    engagement: Engagement


@dataclass(frozen=True, slots=True)
class SessionAttendance:
    session: SessionLike
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


def window(session: SessionLike) -> tuple[datetime, datetime] | None:
    if session.scheduled_at is None:
        return None
    return session.scheduled_at, session.scheduled_at + timedelta(minutes=session.duration_minutes)


def assess(
    session: SessionLike,
    *,
    settings: RuleSettings,
    roster: list[int],
    intervals: Sequence[ev.Interval],
    reports: dict[int, StudentReport],
    charges: dict[int, Charge],
    now: datetime,
    finished: bool | None = None,
    ended_at: datetime | None = None,
    written: Mapping[int, WrittenVerdict] | None = None,
    tracks: Sequence[TrackEvidence] = (),
) -> SessionAttendance:
    """Pure assembly over loaded rows (the sweeper calls it in batches); `ended_at`
    stands in for the session's own while it is being finished. A finished session's
    `written` verdicts are served as they were written; the meeting figures beside
    them come from its (closed, final) intervals."""
    if finished is None:
        finished = is_finished(session.status)
    by_user: dict[int, list[ev.Interval]] = defaultdict(list)
    for row in intervals:
        if row.decisive and row.user_id is not None:
            by_user[row.user_id].append(row)
    tracks_by_user: dict[int, list[TrackEvidence]] = defaultdict(list)
    for track in tracks:
        if (owner := ev.parse_identity(track.identity)) is not None:
            tracks_by_user[owner].append(track)

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

    scored = session.type == SessionType.INTERACTIVE_COURSE

    def engagement_in(user_id: int, meeting: MeetingAttendance) -> Engagement:
        if span is None:
            return NO_ENGAGEMENT_SCORED if scored else NO_ENGAGEMENT
        return engagement_of(
            tracks_by_user.get(user_id, ()),
            by_user.get(user_id, ()),
            meeting.intervals,
            starts_at=span[0],
            ends_at=span[1],
            until=until,
            scored=scored,
            settings=settings,
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
                explanation_code={"code": "not_scheduled"}
                if report_status is None
                else {"code": "teacher_report", "status": report_status.value},
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
        kept = (written or {}).get(student_id) if finished else None
        if kept is not None:
            kept_code = (kept.snapshot or {}).get("explanation_code") or (
                verdict.explanation_code
                if (kept.status, kept.source) == (verdict.status.value, verdict.source.value)
                else {}
            )
            verdict = Verdict(
                user_id=student_id,
                status=AttendanceStatus(kept.status),
                source=VerdictSource(kept.source or VerdictSource.NONE),
                explanation=kept.explanation or "",
                meeting=meeting,
                explanation_code=dict(kept_code),
            )
        students.append(
            StudentAttendance(
                user_id=student_id,
                verdict=verdict,
                report=report,
                charge=charges.get(student_id),
                copresent_seconds=copresent_seconds_of(
                    meeting.intervals, teacher_meeting.intervals
                ),
                engagement=engagement_in(student_id, meeting),
            )
        )
    teacher_status = teacher_verdict(teacher_meeting, finished=finished, settings=settings)
    kept_teacher = (written or {}).get(session.teacher_id) if finished else None
    if kept_teacher is not None:
        teacher_status = TeacherStatus(kept_teacher.status)
    return SessionAttendance(
        session=session,
        settings=settings,
        finished=finished,
        teacher_id=session.teacher_id,
        teacher_meeting=teacher_meeting,
        teacher_status=teacher_status,
        students=tuple(students),
    )


def written_of(attendance: SessionAttendance) -> list[WrittenVerdict]:
    """The verdicts of an assessed session as they are written down, each with the
    rest of its user's answer entry kept beside it (`Kept` serves them)."""
    teacher = WrittenVerdict(
        attendance.teacher_id,
        "teacher",
        attendance.teacher_status.value,
        None,
        None,
        _meeting_snapshot(attendance.teacher_meeting),
    )
    return [teacher] + [
        WrittenVerdict(
            s.user_id,
            "student",
            s.verdict.status.value,
            s.verdict.source.value,
            s.verdict.explanation,
            {
                **_meeting_snapshot(s.verdict.meeting),
                "copresent_seconds": s.copresent_seconds,
                "explanation_code": s.verdict.explanation_code,
                **engagement_snapshot(s.engagement),
                "manually_overridden": s.report is not None
                and s.report.attendance_status is not None,
                "overridden_by": _overridden_by(s.report),
            },
        )
        for s in attendance.students
    ]


def engagement_snapshot(e: Engagement) -> dict[str, Any]:
    """The engagement fields of an answer entry, its explanation as a code only."""
    return {
        "camera_seconds": e.camera_seconds,
        "microphone_seconds": e.microphone_seconds,
        "screen_share_seconds": e.screen_share_seconds,
        "engagement_score": e.engagement_score,
        "engagement_explanation_code": e.explanation_code,
    }


def _overridden_by(report: StudentReport | None) -> int | None:
    """Who set the student's verdict by hand (None: nobody did)."""
    if report is None or report.attendance_status is None:
        return None
    return report.reported_by


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _meeting_snapshot(m: MeetingAttendance) -> dict[str, Any]:
    return {
        "attended_seconds": m.attended_seconds,
        "attendance_percentage": m.attendance_percentage,
        "first_join_at": _iso(m.first_join_at),
        "last_leave_at": _iso(m.last_leave_at),
        "join_count": m.join_count,
        "intervals": [[_iso(start), _iso(end)] for start, end in m.intervals],
    }


def _source(report_status: AttendanceStatus | None) -> VerdictSource:
    return VerdictSource.TEACHER_REPORT if report_status is not None else VerdictSource.NONE


async def session_attendance(
    uow: UnitOfWork,
    session: Session,
    *,
    now: datetime,
    finished: bool | None = None,
    roster: list[int] | None = None,
    fresh: bool = False,
) -> SessionAttendance:
    """A session's attendance as of `now`; a finished session's written verdicts are
    served unless `fresh` asks for them decided anew from the evidence and reports."""
    written = None
    if not fresh and is_finished(session.status):
        written = await uow.verdicts.for_session(session.id)
    return assess(
        session,
        settings=await settings_of(uow, session),
        roster=await uow.sessions.roster(session.id) if roster is None else roster,
        intervals=await uow.intervals.for_session(session.id),
        reports=await uow.reports.for_session(session.id),
        charges=await uow.charges.for_session(session.id),
        now=now,
        finished=finished,
        written=written,
        tracks=await uow.evidence.tracks_for_session(session.id),
    )


async def attendance_of(uow: UnitOfWork, inputs: Inputs, *, now: datetime) -> SessionAttendance:
    """`session_attendance` over rows already read (`uow.assessing.inputs`): only the
    academy of a session without frozen settings, and the written verdicts of a
    finished one whose kept answer is gone, are read besides."""
    session = inputs.session
    written = None
    if is_finished(session.status):
        written = await uow.verdicts.for_session(session.id)
    return assess(
        session,
        settings=await settings_of(uow, session),
        roster=inputs.roster,
        intervals=inputs.intervals,
        reports=inputs.reports,
        charges=inputs.charges,
        now=now,
        written=written,
        tracks=inputs.tracks,
    )


async def current_verdicts(
    uow: UnitOfWork,
    sessions: Sequence[Session],
    *,
    rosters: Mapping[int, list[int]],
    settings: Mapping[int, RuleSettings],
    now: datetime,
) -> dict[int, tuple[Verdict, ...]]:
    """Each session's student verdicts as `session_attendance` would answer them, for
    a whole page of sessions in three queries (the written verdicts of the finished
    ones, the intervals and the reports of all)."""
    ids = [s.id for s in sessions]
    finished = [s.id for s in sessions if is_finished(s.status)]
    written = await uow.verdicts.for_sessions(finished)
    intervals = await uow.intervals.for_sessions(ids)
    reports = await uow.reports.for_sessions(ids)
    return {
        s.id: tuple(
            student.verdict
            for student in assess(
                s,
                settings=settings[s.id],
                roster=rosters[s.id],
                intervals=intervals[s.id],
                reports=reports[s.id],
                charges={},
                now=now,
                written=written.get(s.id),
            ).students
        )
        for s in sessions
    }
