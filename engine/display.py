"""How a status looks to people (CONTRACT 4.1's `status_display`): labels, colours, icons.

Presentation, so it lives at the edge; whether a session can start, be cancelled or
be joined is the lifecycle's decision (`rules.lifecycle`), shown here beside it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from rules.lifecycle import Status, can_cancel, can_join, can_start

__all__ = ["LOOKS", "StatusDisplay", "display_for"]


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


@dataclass(frozen=True, slots=True)
class Look:
    label: str
    label_en: str
    color: str
    icon: str

    def in_language(self, lang: str) -> str:
        """The label a page in ``lang`` shows: Arabic for ``ar``, else English."""
        return self.label if lang == "ar" else self.label_en


_S = Status
LOOKS: Mapping[Status, Look] = MappingProxyType(
    {
        _S.UNSCHEDULED: Look("غير مجدولة", "Unscheduled", "gray", "ri-draft-line"),
        _S.SCHEDULED: Look("مجدولة", "Scheduled", "blue", "ri-calendar-line"),
        _S.READY: Look("جاهزة", "Ready", "violet", "ri-video-line"),
        _S.ONGOING: Look("جارية", "Ongoing", "cyan", "ri-live-line"),
        _S.COMPLETED: Look("مكتملة", "Completed", "green", "ri-check-circle-line"),
        _S.ABSENT: Look("غياب", "Absent", "amber", "ri-user-unfollow-line"),
        _S.CANCELLED: Look("ملغاة", "Cancelled", "red", "ri-close-circle-line"),
    }
)


def display_for(
    status: Status, *, now: datetime, ends_at: datetime | None, buffer_minutes: float
) -> StatusDisplay:
    """The status's display, with ``can_join`` off from ``E + buffer`` on."""
    look = LOOKS[Status(status)]
    return StatusDisplay(
        value=Status(status).value,
        label=look.label,
        label_en=look.label_en,
        color=look.color,
        icon=look.icon,
        can_start=can_start(status),
        can_cancel=can_cancel(status),
        can_join=can_join(status, now=now, ends_at=ends_at, buffer_minutes=buffer_minutes),
    )
