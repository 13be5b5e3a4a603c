"""The session lifecycle of CONTRACT 4.1, as data.

One table of allowed ``(status, event) -> status`` moves and one ``apply()``; any
other pair raises ``IllegalTransition`` and changes nothing. *When* an event is due
(sweeps, joins, reports) is decided by the callers; this module only says whether
the move is allowed and where it leads.

    UNSCHEDULED -> SCHEDULED -> READY -> ONGOING -> COMPLETED
                                  |         |          ^|
                                  +---------+--> ABSENT +  (reports flip them)
    UNSCHEDULED, SCHEDULED, READY, ONGOING -> CANCELLED
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from rules.errors import IllegalTransition

__all__ = [
    "COUNTS_TOWARD_SUBSCRIPTION",
    "FINISHED",
    "STATUS_DISPLAY",
    "TERMINAL",
    "TRANSITIONS",
    "LifecycleEvent",
    "Status",
    "StatusDisplay",
    "apply",
    "display_for",
]


class Status(StrEnum):
    UNSCHEDULED = "unscheduled"
    SCHEDULED = "scheduled"
    READY = "ready"
    ONGOING = "ongoing"
    COMPLETED = "completed"
    ABSENT = "absent"
    CANCELLED = "cancelled"


class LifecycleEvent(StrEnum):
    SCHEDULE = "schedule"
    PREPARE = "prepare"
    START = "start"
    COMPLETE = "complete"
    MARK_ABSENT = "mark_absent"
    CANCEL = "cancel"
    REPORT_ABSENT = "report_absent"
    REPORT_PRESENT = "report_present"


_S, _E = Status, LifecycleEvent

TRANSITIONS: Mapping[tuple[Status, LifecycleEvent], Status] = MappingProxyType(
    {
        (_S.UNSCHEDULED, _E.SCHEDULE): _S.SCHEDULED,
        (_S.SCHEDULED, _E.PREPARE): _S.READY,
        (_S.SCHEDULED, _E.START): _S.ONGOING,
        (_S.READY, _E.START): _S.ONGOING,
        # READY -> COMPLETED is the group session nobody joined.
        (_S.READY, _E.COMPLETE): _S.COMPLETED,
        (_S.ONGOING, _E.COMPLETE): _S.COMPLETED,
        # ABSENT is for individual sessions only; the caller knows the type.
        (_S.READY, _E.MARK_ABSENT): _S.ABSENT,
        (_S.ONGOING, _E.MARK_ABSENT): _S.ABSENT,
        (_S.UNSCHEDULED, _E.CANCEL): _S.CANCELLED,
        (_S.SCHEDULED, _E.CANCEL): _S.CANCELLED,
        (_S.READY, _E.CANCEL): _S.CANCELLED,
        (_S.ONGOING, _E.CANCEL): _S.CANCELLED,
        # The only moves out of a terminal status: a teacher report flipping an
        # individual student's verdict. Charges stay single either way.
        (_S.COMPLETED, _E.REPORT_ABSENT): _S.ABSENT,
        (_S.ABSENT, _E.REPORT_PRESENT): _S.COMPLETED,
    }
)

TERMINAL: frozenset[Status] = frozenset({Status.COMPLETED, Status.ABSENT, Status.CANCELLED})
FINISHED: frozenset[Status] = frozenset({Status.COMPLETED, Status.ABSENT})
COUNTS_TOWARD_SUBSCRIPTION: frozenset[Status] = frozenset({Status.COMPLETED, Status.ABSENT})


def apply(status: Status, event: LifecycleEvent) -> Status:
    """The status after ``event``, or ``IllegalTransition`` naming both."""
    try:
        return TRANSITIONS[(Status(status), LifecycleEvent(event))]
    except (KeyError, ValueError):
        raise IllegalTransition(status, event) from None


@dataclass(frozen=True, slots=True)
class StatusDisplay:
    value: str
    label: str
    label_en: str
    color: str
    icon: str
    can_start: bool
    can_cancel: bool
    can_join: bool

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _display(
    status: Status, label: str, label_en: str, color: str, icon: str, flags: str
) -> tuple[Status, StatusDisplay]:
    # flags spells can_start/can_cancel/can_join as "y"/"n" so the table below
    # lines up with the contract's table row for row.
    start, cancel, join = (flag == "y" for flag in flags)
    return status, StatusDisplay(status.value, label, label_en, color, icon, start, cancel, join)


STATUS_DISPLAY: Mapping[Status, StatusDisplay] = MappingProxyType(
    dict(
        [
            _display(_S.UNSCHEDULED, "غير مجدولة", "Unscheduled", "gray", "ri-draft-line", "nyn"),
            _display(_S.SCHEDULED, "مجدولة", "Scheduled", "blue", "ri-calendar-line", "yyn"),
            _display(_S.READY, "جاهزة", "Ready", "violet", "ri-video-line", "yyy"),
            _display(_S.ONGOING, "جارية", "Ongoing", "cyan", "ri-live-line", "nyy"),
            _display(_S.COMPLETED, "مكتملة", "Completed", "green", "ri-check-circle-line", "nnn"),
            _display(_S.ABSENT, "غياب", "Absent", "amber", "ri-user-unfollow-line", "nnn"),
            _display(_S.CANCELLED, "ملغاة", "Cancelled", "red", "ri-close-circle-line", "nnn"),
        ]
    )
)


def display_for(
    status: Status, *, now: datetime, ends_at: datetime | None, buffer_minutes: float
) -> StatusDisplay:
    """The status's display, with ``can_join`` off from ``E + buffer`` on."""
    display = STATUS_DISPLAY[status]
    if ends_at is not None and now >= ends_at + timedelta(minutes=buffer_minutes):
        return dataclasses.replace(display, can_join=False)
    return display
