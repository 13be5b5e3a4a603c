"""Attendance across sessions: one row per (session, user), and a summary per student.

Sessions are walked by keyset on `(scheduled_at, id)` in chunks; each chunk costs a
fixed number of queries (the sessions, their rosters, written verdicts, intervals,
reports and charges) and is assessed by `engine.operations.attendance.assess`, the same
decision every other read uses. Only the chunk is held, so a report over any number of
sessions streams in flat memory. The report covers sessions that take place: scheduled
and not cancelled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.operations.attendance import assess
from engine.operations.charges import charge_snapshot
from engine.operations.settings import settings_of
from rules.lifecycle import Status
from store.repositories.sessions import SessionFilter
from store.uow import UnitOfWork

__all__ = [
    "COLUMNS",
    "AttendanceRow",
    "ReportFilter",
    "RowKey",
    "StudentSummary",
    "report_rows",
    "summarise",
]

# The statuses of sessions that take place (a cancelled one has nobody to report on).
_REPORTED = tuple(s.value for s in Status if s not in (Status.UNSCHEDULED, Status.CANCELLED))
CHUNK = 200

COLUMNS = (
    "session_id",
    "session_code",
    "type",
    "scheduled_at",
    "user_id",
    "role",
    "attendance_status",
    "source",
    "attended_seconds",
    "attendance_percentage",
    "copresent_seconds",
    "engagement_score",
    "camera_seconds",
    "microphone_seconds",
    "screen_share_seconds",
    "first_join_at",
    "last_leave_at",
    "charge_status",
    "charge_reason",
)

# Where a row stands in the report: its session's (scheduled_at, id), then the teacher
# (0) before the students (1), each by user id.
RowKey = tuple[datetime, int, int, int]


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which rows: sessions of the academy, teacher, types and window; rows of the
    student (`student_id`) only when given, and of the verdict statuses asked for."""

    academy_id: int | None = None
    teacher_id: int | None = None
    student_id: int | None = None
    types: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset()
    starts_from: datetime | None = None
    starts_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    session_id: int
    session_code: str
    type: str
    scheduled_at: datetime
    user_id: int
    role: str
    attendance_status: str
    source: str | None
    attended_seconds: int
    attendance_percentage: float
    copresent_seconds: int | None
    engagement_score: int | None
    # Students' rows only (None on the teacher's), like co-presence.
    camera_seconds: int | None
    microphone_seconds: int | None
    screen_share_seconds: int | None
    first_join_at: datetime | None
    last_leave_at: datetime | None
    charge_status: str | None
    charge_reason: str | None

    @property
    def key(self) -> RowKey:
        return (
            self.scheduled_at,
            self.session_id,
            0 if self.role == "teacher" else 1,
            self.user_id,
        )

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


async def report_rows(
    open_uow: Callable[[], UnitOfWork],
    f: ReportFilter,
    *,
    now: datetime,
    after: RowKey | None = None,
    chunk: int = CHUNK,
) -> AsyncIterator[list[AttendanceRow]]:
    """The report's rows after `after`, in key order, one list per chunk of sessions.
    Each chunk is read in a unit of work of its own, so no transaction stays open
    while a caller streams, and nothing read is kept past its chunk."""
    # (s, id - 1) starts at the cursor's own session, whose later rows still follow.
    keyset = None if after is None else (after[0], after[1] - 1)
    while True:
        async with open_uow() as uow:
            sessions = await uow.sessions.listed(
                SessionFilter(
                    academy_id=f.academy_id,
                    status=_REPORTED,
                    teacher_id=f.teacher_id,
                    student_id=f.student_id,
                    types=f.types,
                    starts_from=f.starts_from,
                    starts_before=f.starts_before,
                    after=keyset,
                    limit=chunk - 1,  # `listed` reads one more: `chunk` in all
                )
            )
            if not sessions:
                return
            rows = await _chunk_rows(uow, sessions, f, now=now)
            last = sessions[-1]
            assert last.scheduled_at is not None
            keyset = (last.scheduled_at, last.id)
        if after is not None:
            rows = [r for r in rows if r.key > after]
        yield rows
        if len(sessions) < chunk:
            return


async def _chunk_rows(
    uow: UnitOfWork, sessions: Sequence[Any], f: ReportFilter, *, now: datetime
) -> list[AttendanceRow]:
    ids = [s.id for s in sessions]
    rosters = await uow.sessions.rosters(ids)
    written = await uow.verdicts.for_sessions(ids)
    intervals = await uow.intervals.for_sessions(ids)
    tracks = await uow.evidence.tracks_for_sessions(ids)
    reports = await uow.reports.for_sessions(ids)
    charges = await uow.charges.for_sessions(ids)
    rows: list[AttendanceRow] = []
    for session in sessions:
        attendance = assess(
            session,
            settings=await settings_of(uow, session),  # frozen: no query
            roster=sorted(rosters[session.id]),
            intervals=intervals[session.id],
            reports=reports[session.id],
            charges=charges[session.id],
            now=now,
            written=written.get(session.id),
            tracks=tracks[session.id],
        )
        common = {
            "session_id": session.id,
            "session_code": session.session_code,
            "type": session.type,
            "scheduled_at": session.scheduled_at,
        }
        found: list[AttendanceRow] = []
        if f.student_id is None:
            m = attendance.teacher_meeting
            found.append(
                AttendanceRow(
                    **common,
                    user_id=attendance.teacher_id,
                    role="teacher",
                    attendance_status=attendance.teacher_status.value,
                    source=None,
                    attended_seconds=m.attended_seconds,
                    attendance_percentage=m.attendance_percentage,
                    copresent_seconds=None,
                    engagement_score=None,
                    camera_seconds=None,
                    microphone_seconds=None,
                    screen_share_seconds=None,
                    first_join_at=m.first_join_at,
                    last_leave_at=m.last_leave_at,
                    charge_status=None,
                    charge_reason=None,
                )
            )
        for student in attendance.students:
            if f.student_id is not None and student.user_id != f.student_id:
                continue
            m, charge = student.verdict.meeting, charge_snapshot(student.charge)
            e = student.engagement
            found.append(
                AttendanceRow(
                    **common,
                    user_id=student.user_id,
                    role="student",
                    attendance_status=student.verdict.status.value,
                    source=student.verdict.source.value,
                    attended_seconds=m.attended_seconds,
                    attendance_percentage=m.attendance_percentage,
                    copresent_seconds=student.copresent_seconds,
                    engagement_score=e.engagement_score,
                    camera_seconds=e.camera_seconds,
                    microphone_seconds=e.microphone_seconds,
                    screen_share_seconds=e.screen_share_seconds,
                    first_join_at=m.first_join_at,
                    last_leave_at=m.last_leave_at,
                    charge_status=charge["status"],
                    charge_reason=charge["reason"],
                )
            )
        rows.extend(r for r in found if not f.statuses or r.attendance_status in f.statuses)
    return rows


SUMMARY_COLUMNS = (
    "student_id",
    "sessions",
    "present",
    "late",
    "left_early",
    "partial",
    "absent",
    "pending",
    "attended_seconds",
    "attendance_rate",
)


@dataclass(slots=True)
class StudentSummary:
    student_id: int
    counts: dict[str, int] = field(default_factory=dict)
    sessions: int = 0
    attended_seconds: int = 0

    def add(self, row: AttendanceRow) -> None:
        self.sessions += 1
        self.counts[row.attendance_status] = self.counts.get(row.attendance_status, 0) + 1
        self.attended_seconds += row.attended_seconds

    def values(self) -> dict[str, Any]:
        pending = self.counts.get("pending", 0)
        decided = self.sessions - pending
        absent = self.counts.get("absent", 0)
        return {
            "student_id": self.student_id,
            "sessions": self.sessions,
            **{
                name: self.counts.get(name, 0)
                for name in ("present", "late", "left_early", "partial", "absent", "pending")
            },
            "attended_seconds": self.attended_seconds,
            # The share of decided sessions the student did not miss; a lesson still
            # pending is neither attended nor missed yet.
            "attendance_rate": round((decided - absent) / decided, 2) if decided else None,
        }


def summarise(rows: Iterable[AttendanceRow], into: dict[int, StudentSummary]) -> None:
    """Add the students' rows to their summaries (teachers' rows are no student's)."""
    for row in rows:
        if row.role != "student":
            continue
        into.setdefault(row.user_id, StudentSummary(row.user_id)).add(row)
