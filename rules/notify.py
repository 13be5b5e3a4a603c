"""Outgoing notifications (CONTRACT 6), the pure part: which message a change makes,
which endpoint wants which message, and when a failed delivery is tried again.

    transition (to_status, event) --message_type--> EventType | None
    endpoint (academy_id, events, enabled) x message (academy_id, type) --wants--> bool
    attempts made, last failure, first written --next_attempt--> datetime | None (failed)

Time is always an argument.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum

from rules.lifecycle import LifecycleEvent, Status

__all__ = [
    "ALL_EVENTS",
    "GIVE_UP_AFTER",
    "RETRY_DELAYS",
    "EventType",
    "message_type",
    "next_attempt",
    "retry_delay",
    "wants",
]

ALL_EVENTS = "*"


class EventType(StrEnum):
    SESSION_SCHEDULED = "session.scheduled"
    SESSION_RESCHEDULED = "session.rescheduled"
    SESSION_READY = "session.ready"
    SESSION_STARTED = "session.started"
    SESSION_COMPLETED = "session.completed"
    SESSION_ABSENT = "session.absent"
    SESSION_CANCELLED = "session.cancelled"
    ATTENDANCE_FINALIZED = "attendance.finalized"
    ATTENDANCE_CHANGED = "attendance.changed"
    CHARGE_RECORDED = "charge.recorded"


_BY_STATUS = {
    Status.SCHEDULED: EventType.SESSION_SCHEDULED,
    Status.READY: EventType.SESSION_READY,
    Status.ONGOING: EventType.SESSION_STARTED,
    Status.COMPLETED: EventType.SESSION_COMPLETED,
    Status.ABSENT: EventType.SESSION_ABSENT,
    Status.CANCELLED: EventType.SESSION_CANCELLED,
}


def message_type(to_status: Status, event: LifecycleEvent) -> EventType | None:
    """The message a move into `to_status` by `event` announces (None: nothing, a
    session born UNSCHEDULED)."""
    if event is LifecycleEvent.RESCHEDULE:
        return EventType.SESSION_RESCHEDULED
    return _BY_STATUS.get(to_status)


def wants(
    *,
    endpoint_academy_id: int | None,
    events: Collection[str],
    enabled: bool,
    academy_id: int,
    event_type: EventType,
) -> bool:
    """Whether an endpoint takes a message: enabled, of all academies (None) or the
    message's, and subscribed to its type or to everything."""
    if not enabled:
        return False
    if endpoint_academy_id is not None and endpoint_academy_id != academy_id:
        return False
    return ALL_EVENTS in events or event_type.value in events


RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
GIVE_UP_AFTER = timedelta(days=3)


def retry_delay(attempts: int, *, scale: float = 1.0) -> timedelta:
    """How long after its `attempts`-th failed attempt (1: the first) a message is
    tried again: 5 s, 30 s, 2 min, 10 min, 1 h, 6 h, then every 6 h. `scale` shrinks
    the schedule (a test knob; 1 in service)."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1] * scale


def next_attempt(
    *, attempts: int, failed_at: datetime, written_at: datetime, scale: float = 1.0
) -> datetime | None:
    """When to try a message again after its `attempts`-th attempt failed at
    `failed_at`; None once that would be more than three days after it was written
    (it is then `failed`, and kept)."""
    due = failed_at + retry_delay(attempts, scale=scale)
    if due > written_at + GIVE_UP_AFTER * scale:
        return None
    return due
