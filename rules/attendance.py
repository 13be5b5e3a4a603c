"""Meeting attendance of one user in one session (CONTRACT 4.2).

``measure`` adds one user's raw intervals up; ``student_status`` and
``teacher_status`` turn that into a status with the contract's first-match-wins
tables; ``explain`` says why in one short line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rules.evidence import Interval
from rules.settings import RuleSettings

__all__ = [
    "AttendanceStatus",
    "MeetingAttendance",
    "TeacherStatus",
    "explain",
    "explanation_code",
    "measure",
    "merged_stretches",
    "reference_start",
    "seconds_of",
    "student_status",
    "teacher_status",
    "united",
]

_SECOND = timedelta(seconds=1)


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    PARTIAL = "partial"
    ABSENT = "absent"
    PENDING = "pending"


class TeacherStatus(StrEnum):
    ATTENDED = "attended"
    PARTIAL = "partial"
    ABSENT = "absent"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class MeetingAttendance:
    attended_seconds: int
    attendance_percentage: float
    first_join_at: datetime | None
    last_leave_at: datetime | None
    join_count: int
    # The merged, clipped intervals the figures were computed from.
    intervals: tuple[tuple[datetime, datetime], ...]


def measure(
    intervals: Sequence[Interval],
    *,
    starts_at: datetime,
    ends_at: datetime,
    until: datetime,
    reconnect_gap_seconds: int,
) -> MeetingAttendance:
    """What one user's raw intervals add up to within ``[starts_at, ends_at]``.

    ``until`` is how far the evidence reaches: ``now`` for a live session,
    ``ended_at`` for a finished one. Open intervals count up to it, and nothing
    after it counts, so a live figure never includes the future.
    """
    if ends_at <= starts_at:
        raise ValueError(f"ends_at {ends_at} must be after starts_at {starts_at}")
    intervals = _of_this_session(intervals, until)
    merged = merged_stretches(
        intervals,
        starts_at=starts_at,
        ends_at=ends_at,
        until=until,
        reconnect_gap_seconds=reconnect_gap_seconds,
    )
    attended = seconds_of(merged)
    percentage = min(100.0, round(attended / ((ends_at - starts_at) / _SECOND) * 100, 2))
    left = [interval.left_at for interval in intervals]
    return MeetingAttendance(
        attended_seconds=attended,
        attendance_percentage=percentage,
        first_join_at=min((interval.joined_at for interval in intervals), default=None),
        last_leave_at=_last_leave(left),
        join_count=len(intervals),
        intervals=merged,
    )


def _of_this_session(intervals: Sequence[Interval], until: datetime) -> list[Interval]:
    # A join after `until` (into a finished session: its figures are final) is
    # evidence kept apart, not a connection of this session's.
    return [interval for interval in intervals if interval.joined_at <= until]


def merged_stretches(
    intervals: Sequence[Interval],
    *,
    starts_at: datetime,
    ends_at: datetime,
    until: datetime,
    reconnect_gap_seconds: int,
) -> tuple[tuple[datetime, datetime], ...]:
    """One user's intervals clipped to ``[starts_at, ends_at]`` and to ``until``,
    with reconnects merged: sorted, disjoint stretches, what ``measure`` counts."""
    clipped: list[tuple[datetime, datetime]] = []
    for interval in _of_this_session(intervals, until):
        end = until if interval.left_at is None else min(interval.left_at, until)
        start, end = max(interval.joined_at, starts_at), min(end, ends_at)
        # Preparation time and overtime fall away here, as do empty stretches.
        if start < end:
            clipped.append((start, end))
    # A short drop-out is a reconnect, not an absence: the gap counts.
    return united(clipped, gap=timedelta(seconds=reconnect_gap_seconds))


def united(
    stretches: Iterable[tuple[datetime, datetime]], *, gap: timedelta = timedelta()
) -> tuple[tuple[datetime, datetime], ...]:
    """Sorted, disjoint stretches covering ``stretches``; two apart by at most ``gap``
    become one, the gap included."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(stretches):
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def seconds_of(stretches: Sequence[tuple[datetime, datetime]]) -> int:
    """Whole seconds covered by disjoint stretches."""
    if not stretches:
        return 0
    # Integer division keeps this exact; float seconds could round 1799.999.. up.
    return sum((end - start for start, end in stretches), timedelta()) // _SECOND


def _last_leave(left: list[datetime | None]) -> datetime | None:
    # Someone still in the room has not left, whatever earlier connections did.
    closed = [moment for moment in left if moment is not None]
    if not closed or len(closed) != len(left):
        return None
    return max(closed)


def reference_start(starts_at: datetime, teacher_first_join: datetime | None) -> datetime:
    """``R``: the start, or the teacher's first join if later.

    A student is not late because the teacher was.
    """
    if teacher_first_join is None:
        return starts_at
    return max(starts_at, teacher_first_join)


def student_status(
    m: MeetingAttendance,
    *,
    reference_start: datetime,
    ends_at: datetime,
    settings: RuleSettings,
) -> AttendanceStatus:
    """The contract's table, first match wins; "after"/"before" are strict."""
    if m.join_count == 0 or m.attendance_percentage < settings.partial_percent:
        return AttendanceStatus.ABSENT
    late_after = reference_start + timedelta(minutes=settings.late_grace_minutes)
    if m.first_join_at is not None and m.first_join_at > late_after:
        return AttendanceStatus.LATE
    early_before = ends_at - timedelta(minutes=settings.early_leave_grace_minutes)
    if m.last_leave_at is not None and m.last_leave_at < early_before:
        return AttendanceStatus.LEFT_EARLY
    if m.attendance_percentage >= settings.full_percent:
        return AttendanceStatus.PRESENT
    return AttendanceStatus.PARTIAL


def teacher_status(m: MeetingAttendance, settings: RuleSettings) -> TeacherStatus:
    """``attended`` (>= 90 %), ``partial`` (>= 50 %), else ``absent``."""
    # A teacher who never joined is absent even if an academy set a 0 % bar.
    if m.join_count == 0:
        return TeacherStatus.ABSENT
    if m.attendance_percentage >= settings.teacher_full_percent:
        return TeacherStatus.ATTENDED
    if m.attendance_percentage >= settings.teacher_partial_percent:
        return TeacherStatus.PARTIAL
    return TeacherStatus.ABSENT


def explain(
    status: AttendanceStatus,
    m: MeetingAttendance,
    *,
    reference_start: datetime,
    starts_at: datetime,
    ends_at: datetime,
) -> str:
    """One line for people, always ``"<status>: ..."``."""
    status = AttendanceStatus(status)
    if m.join_count == 0 or m.first_join_at is None:
        return f"{status}: never joined" if status != "pending" else f"{status}: not joined yet"
    amount = f"{_attended(m.attended_seconds)} of {_span((ends_at - starts_at) // _SECOND)}"
    joined = _joined(m.first_join_at, reference_start=reference_start, starts_at=starts_at)
    if status is AttendanceStatus.ABSENT:
        return f"{status}: {amount} ({m.attendance_percentage:g} %)"
    if status is AttendanceStatus.LATE:
        return f"{status}: {joined}, {amount}"
    if status is AttendanceStatus.LEFT_EARLY and m.last_leave_at is not None:
        early = (ends_at - m.last_leave_at) // _SECOND
        return f"{status}: left {_span(early)} before end, {amount}"
    return f"{status}: {amount}, {joined}"


def explanation_code(
    status: AttendanceStatus,
    m: MeetingAttendance,
    *,
    reference_start: datetime,
    starts_at: datetime,
    ends_at: datetime,
) -> dict[str, str | int | float]:
    """What ``explain`` says, as a stable code and its numbers (no words): the
    text for people is rendered from it in the academy's locale, outside rules."""
    status = AttendanceStatus(status)
    if m.join_count == 0 or m.first_join_at is None:
        return {"code": "never_joined", "status": status.value}
    of_seconds = (ends_at - starts_at) // _SECOND
    offset = (m.first_join_at - reference_start) // _SECOND
    code: dict[str, str | int | float] = {
        "code": status.value,
        "attended_seconds": m.attended_seconds,
        "attended_minutes": (m.attended_seconds + 30) // 60,
        "of_seconds": of_seconds,
        "of_minutes": of_seconds // 60,
        "attendance_percentage": m.attendance_percentage,
        "joined_offset_seconds": offset,
        "anchor": "start" if reference_start == starts_at else "teacher",
    }
    if status is AttendanceStatus.LATE:
        code["late_minutes"] = max(offset, 0) // 60
    if status is AttendanceStatus.LEFT_EARLY and m.last_leave_at is not None:
        early = (ends_at - m.last_leave_at) // _SECOND
        code["left_early_seconds"] = early
        code["left_early_minutes"] = early // 60
    return code


def _joined(first_join: datetime, *, reference_start: datetime, starts_at: datetime) -> str:
    # Lateness is measured from R, so say so when R is the teacher's arrival.
    anchor = "start" if reference_start == starts_at else "the teacher arrived"
    offset = (first_join - reference_start) // _SECOND
    if offset == 0:
        return "joined at start" if anchor == "start" else "joined with the teacher"
    side = "after" if offset > 0 else "before"
    return f"joined {_span(abs(offset))} {side} {anchor}"


def _attended(seconds: int) -> str:
    """Whole minutes to the nearest (half up), or seconds under two minutes: cutting
    97 s down to "1" of 2 min would read as half the lesson."""
    if seconds < 120:
        return f"{seconds} s"
    return str((seconds + 30) // 60)


def _span(seconds: int) -> str:
    """``"12 min"``, ``"10 min 1 s"``, ``"45 s"``: exact, without padding."""
    minutes, rest = divmod(seconds, 60)
    if minutes and rest:
        return f"{minutes} min {rest} s"
    return f"{minutes} min" if minutes else f"{rest} s"
