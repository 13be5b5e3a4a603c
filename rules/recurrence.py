"""Recurring weekly schedules: which slot instants to generate next (issue 7).

A schedule says "every Monday and Wednesday at 18:00, academy time, from
``starts_on`` to ``ends_on``, never more than N a month, ``generate_days_ahead``
days in advance". ``plan_slots`` turns that, the present moment and the slots
already recorded into the UTC instants to generate now. Pure: the caller passes
``now``; nothing here reads a clock or a database.

Wall time, not elapsed time
    Lessons keep their LOCAL start time across daylight-saving changes: an 18:00
    lesson is at 18:00 on both sides of the change, so its UTC instant moves.

Local times that do not exist or exist twice (resolved with ``fold=0``)
    * In a spring-forward gap (e.g. 02:30 on the night New York jumps from
      02:00 to 03:00) the wall time is read with the offset in force *before*
      the gap, which shifts the lesson forward by the gap's length: 02:30
      becomes 03:30 local (07:30 UTC).
    * In a fall-back overlap (01:30 happens twice) the first occurrence, the
      one still on daylight time, is taken.

Monthly limit
    A calendar month is the slot's local month in the academy's zone. A month
    never holds more than ``monthly_session_limit`` *counted* slots: those the
    caller already generated (``counted``) plus the ones planned now, which are
    the earliest free occurrences of that month. Skipped slots do not count,
    and make-up sessions are not slots at all, so both stay outside the limit.
    Slots already recorded (``known``: generated or skipped) are never planned
    again, which is what makes re-running the plan idempotent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules._utc import require_utc

__all__ = [
    "WEEKDAYS",
    "Recurrence",
    "SlotPlan",
    "WallTime",
    "local_instant",
    "month_of",
    "occurrences",
    "parse_start_time",
    "parse_weekdays",
    "parse_zone",
    "plan_slots",
]

# The span the rule works in: a couple of days clear of datetime's own ends, so no
# zone's offset can push a local day's slot out of range. Moments outside are
# clamped (a plan as of year 1 or 9999 is merely empty, never an error).
EARLIEST = datetime(1, 1, 3, tzinfo=UTC)
LATEST = datetime(9999, 12, 29, tzinfo=UTC)

# Index = date.weekday(): 0 is Monday.
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def parse_weekdays(values: Iterable[object]) -> frozenset[int]:
    """``["mon", "wed"]`` -> ``{0, 2}``; ``ValueError`` for an empty list or an unknown name."""
    days: set[int] = set()
    for value in values:
        if not isinstance(value, str) or value.lower() not in WEEKDAYS:
            raise ValueError(f"unknown weekday {value!r}; expected one of {', '.join(WEEKDAYS)}")
        days.add(WEEKDAYS.index(value.lower()))
    if not days:
        raise ValueError("at least one weekday is needed")
    return frozenset(days)


@dataclass(frozen=True, slots=True, order=True)
class WallTime:
    """A time of day on the academy's clocks, zone-free (``datetime.time`` without
    the tzinfo and seconds a schedule has no use for)."""

    hour: int
    minute: int

    def __post_init__(self) -> None:
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ValueError(f"no such time of day: {self.hour}:{self.minute}")

    def __str__(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def parse_start_time(text: str) -> WallTime:
    """``"18:00"`` -> ``WallTime(18, 0)``; exactly ``HH:MM`` on a 24-hour clock."""
    match = _HH_MM.fullmatch(text)
    if match is None:
        raise ValueError(f"start time must be HH:MM (00:00 to 23:59), got {text!r}")
    return WallTime(int(match.group(1)), int(match.group(2)))


def parse_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` if it is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A weekly pattern in one zone: the part of a schedule that decides its slots."""

    weekdays: frozenset[int]
    start_time: WallTime
    zone: str
    starts_on: date
    ends_on: date | None
    generate_days_ahead: int
    monthly_session_limit: int | None = None

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be a non-empty subset of 0..6, got {self.weekdays}")
        parse_zone(self.zone)
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        if self.generate_days_ahead < 0:
            raise ValueError("generate_days_ahead must not be negative")
        if self.monthly_session_limit is not None and self.monthly_session_limit < 0:
            raise ValueError("monthly_session_limit must not be negative")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


@dataclass(frozen=True, slots=True)
class SlotPlan:
    """What to generate now (``due``), and what the monthly limit held back."""

    due: tuple[datetime, ...]
    over_limit: tuple[datetime, ...]


def local_instant(day: date, at: WallTime, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``zone`` (``fold=0``: see module)."""
    local = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=zone, fold=0)
    return local.astimezone(UTC)


def month_of(instant: datetime, zone: ZoneInfo) -> tuple[int, int]:
    """``(year, month)`` of ``instant`` on the academy's calendar."""
    local = instant.astimezone(zone)
    return local.year, local.month


def occurrences(rule: Recurrence, *, after: datetime, until: datetime) -> Iterator[datetime]:
    """Every slot of ``rule`` with ``after < start <= until``, in order (no limit applied)."""
    require_utc("after", after)
    require_utc("until", until)
    after, until = _clamp(after), _clamp(until)
    zone = rule.tz
    # One day of slack each side: a slot's instant may fall on the neighbouring
    # UTC date, and a gap-shifted one a little later than its wall time.
    first = max(rule.starts_on, after.astimezone(zone).date() - timedelta(days=1))
    last = until.astimezone(zone).date() + timedelta(days=1)
    if rule.ends_on is not None:
        last = min(last, rule.ends_on)
    day = first
    while day <= last:
        if day.weekday() in rule.weekdays:
            start = local_instant(day, rule.start_time, zone)
            if after < start <= until:
                yield start
        day += timedelta(days=1)


def _clamp(moment: datetime) -> datetime:
    return min(max(moment, EARLIEST), LATEST)


def plan_slots(
    rule: Recurrence,
    *,
    now: datetime,
    known: Collection[datetime] = (),
    counted: Collection[datetime] = (),
) -> SlotPlan:
    """The slots to generate at ``now``: future ones up to ``now + generate_days_ahead``
    days, not in ``known`` (already generated or skipped), and within each local
    month's limit given the ``counted`` (already generated) slots."""
    require_utc("now", now)
    zone = rule.tz
    recorded = set(known) | set(counted)
    used = Counter(month_of(start, zone) for start in set(counted))
    due: list[datetime] = []
    held: list[datetime] = []
    ahead = timedelta(days=rule.generate_days_ahead)
    horizon = now + ahead if now < LATEST - ahead else LATEST
    for start in occurrences(rule, after=now, until=horizon):
        if start in recorded:
            continue
        month = month_of(start, zone)
        limit = rule.monthly_session_limit
        if limit is not None and used[month] >= limit:
            held.append(start)
            continue
        used[month] += 1
        due.append(start)
    return SlotPlan(due=tuple(due), over_limit=tuple(held))
