"""Co-presence of a student and the teacher in one session (CONTRACT 4.2a).

Both parties' intervals go through the very clipping and reconnect merge that
``rules.attendance.measure`` applies, so co-presence can never exceed what either
party is credited with, and a student who waited alone reads 0 beside a positive
``attended_seconds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rules.attendance import merged_stretches, seconds_of
from rules.evidence import Interval

__all__ = ["copresent_seconds", "copresent_seconds_of", "overlap"]

Stretch = tuple[datetime, datetime]


def copresent_seconds(
    student: Sequence[Interval],
    teacher: Sequence[Interval],
    *,
    starts_at: datetime,
    ends_at: datetime,
    until: datetime,
    reconnect_gap_seconds: int,
) -> int:
    """Seconds inside ``[starts_at, ends_at]`` (and up to ``until``) during which
    both the student and the teacher were in, each after the reconnect merge."""
    if ends_at <= starts_at:
        raise ValueError(f"ends_at {ends_at} must be after starts_at {starts_at}")

    def merged(intervals: Sequence[Interval]) -> tuple[Stretch, ...]:
        return merged_stretches(
            intervals,
            starts_at=starts_at,
            ends_at=ends_at,
            until=until,
            reconnect_gap_seconds=reconnect_gap_seconds,
        )

    return copresent_seconds_of(merged(student), merged(teacher))


def copresent_seconds_of(student: Sequence[Stretch], teacher: Sequence[Stretch]) -> int:
    """``copresent_seconds`` of the two parties' measured stretches (each one's
    ``MeetingAttendance.intervals``): a session's assessment has merged them already,
    and merging the teacher's again for every student cost most of a large roster's
    read."""
    return seconds_of(overlap(student, teacher))


def overlap(a: Sequence[Stretch], b: Sequence[Stretch]) -> tuple[Stretch, ...]:
    """The stretches common to two sorted, disjoint lists of stretches."""
    common: list[Stretch] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            common.append((start, end))
        # Whichever ends first can overlap nothing further along the other list.
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(common)
