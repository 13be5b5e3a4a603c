"""The lesson's time axis on the teacher's page: instants to positions, and ticks.

Positions are percentages of the axis measured from its left edge, computed here so
that the page needs no script and no inline style (its stylesheet places them). In a
right-to-left page the axis runs right to left: the earliest instant is at the right
edge, so every position is mirrored. Times are read in the academy's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

# Tick steps, finest first: the first that gives at most MAX_TICKS ticks is used.
STEPS = (5, 10, 15, 30, 60, 120, 240)
MAX_TICKS = 9
MIN_WIDTH = 0.4  # percent


def _css(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", "_")


@dataclass(frozen=True)
class Bar:
    """A stretch of time (or an instant: width 0) placed on the axis."""

    left: float  # percent of the axis from its left edge
    width: float
    label: str  # "10:02–10:40", in the academy's zone

    # Positions are classes of the page's nonce'd stylesheet, not `style` attributes:
    # the CSP allows no inline style.
    @property
    def at(self) -> str:
        return f"l{_css(self.left)}"

    @property
    def span(self) -> str:
        return f"w{_css(self.width)}"


@dataclass(frozen=True)
class Tick:
    left: float
    label: str  # "11:00"

    @property
    def at(self) -> str:
        return f"l{_css(self.left)}"


class Axis:
    """Maps instants of [start, end] onto [0, 100] % of the axis, mirrored when
    `rtl`."""

    def __init__(self, start: datetime, end: datetime, zone: ZoneInfo, *, rtl: bool) -> None:
        self.start, self.end, self.zone, self.rtl = start, end, zone, rtl

    def _fraction(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        clamped = min(max(at, self.start), self.end)
        return (clamped - self.start).total_seconds() / span * 100

    def pct(self, at: datetime) -> float:
        """Where `at` sits, from the left edge."""
        share = self._fraction(at)
        return round(100 - share if self.rtl else share, 2)

    def clock(self, at: datetime) -> str:
        return at.astimezone(self.zone).strftime("%H:%M")

    def bar(self, start: datetime, end: datetime) -> Bar:
        """A stretch, at least MIN_WIDTH wide (a few seconds' stretch still shows),
        growing towards later times and kept inside the axis."""
        first = self._fraction(start)
        width = max(self._fraction(end) - first, MIN_WIDTH)
        first = min(first, 100 - width)
        left = 100 - first - width if self.rtl else first
        return Bar(round(left, 2), round(width, 2), f"{self.clock(start)}–{self.clock(end)}")

    def mark(self, at: datetime) -> Bar:
        return Bar(self.pct(at), 0, self.clock(at))

    def window(self, start: datetime, end: datetime) -> Bar:
        a, b = self.pct(start), self.pct(end)
        return Bar(min(a, b), round(abs(b - a), 2), f"{self.clock(start)}–{self.clock(end)}")

    def ticks(self) -> tuple[Tick, ...]:
        """Round local times (every 5 to 240 minutes) inside the axis, earliest first."""
        minutes = (self.end - self.start).total_seconds() / 60
        step = next((s for s in STEPS if minutes / s <= MAX_TICKS), STEPS[-1])
        local = self.start.astimezone(self.zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = (local - midnight).total_seconds() / 60
        first = midnight + timedelta(minutes=-(-elapsed // step) * step)
        ticks = []
        at = first
        while at <= self.end:
            ticks.append(Tick(self.pct(at), self.clock(at)))
            at += timedelta(minutes=step)
        return tuple(ticks)


def zone_name(zone: ZoneInfo, at: datetime) -> str:
    """ "Africa/Cairo, UTC+02:00": the zone and its offset at `at`."""
    offset = at.astimezone(zone).strftime("%z") or "+0000"
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"
