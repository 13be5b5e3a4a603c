"""The session lifecycle of CONTRACT 4.1, as data.

One table of allowed ``(status, event) -> status`` moves and one ``apply()``; any
other pair raises ``IllegalTransition`` and changes nothing. *When* an event is due
(sweeps, joins, reports) is decided by the callers; this module only says whether
the move is allowed and where it leads.

    UNSCHEDULED -> SCHEDULED -> READY -> ONGOING -> COMPLETED
                                  |         |          ^|
                                  +---------+--> ABSENT +  (reports flip them)
    UNSCHEDULED, SCHEDULED, READY, ONGOING -> CANCELLED
    SCHEDULED, READY -> SCHEDULED  (rescheduled before anyone on the roster joined)

A session is *born* by an event too (``born``): created by hand UNSCHEDULED, generated
by a recurring schedule SCHEDULED, a make-up either. Events that leave the status as
it is but belong in a session's history (a skipped slot, a make-up made for it) are
``NOTES``. Every other question about a status is one of the named predicates at the
end; nothing outside this module compares status values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from rules.errors import IllegalTransition

__all__ = [
    "BIRTHS",
    "COUNTS_TOWARD_SUBSCRIPTION",
    "FINISHED",
    "NOTES",
    "NOT_STARTED",
    "RUNNING",
    "TERMINAL",
    "TRANSITIONS",
    "LifecycleEvent",
    "Status",
    "accepts_reports",
    "apply",
    "awaits_start",
    "born",
    "can_cancel",
    "can_join",
    "can_start",
    "finishing_event",
    "following_verdict",
    "holds_teacher_time",
    "is_finished",
    "is_running",
    "is_terminal",
    "may_be_prepared",
    "rescheduled",
    "takes_makeup",
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
    RESCHEDULE = "reschedule"
    REPORT_ABSENT = "report_absent"
    REPORT_PRESENT = "report_present"
    # Births: the first status of a new session.
    CREATE = "create"
    GENERATE = "generated"
    MAKEUP_CREATED = "makeup_created"
    # Notes: recorded in a session's history, its status unchanged.
    SLOT_SKIPPED = "slot_skipped"


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
        # A new time before the lesson began; a READY session gives its room up and is
        # prepared again for the new time. Whether someone joined already is the
        # caller's to ask (`reschedule`), the table cannot see evidence.
        (_S.SCHEDULED, _E.RESCHEDULE): _S.SCHEDULED,
        (_S.READY, _E.RESCHEDULE): _S.SCHEDULED,
        # The only moves out of a terminal status: a teacher report flipping an
        # individual student's verdict. Charges stay single either way.
        (_S.COMPLETED, _E.REPORT_ABSENT): _S.ABSENT,
        (_S.ABSENT, _E.REPORT_PRESENT): _S.COMPLETED,
    }
)

TERMINAL: frozenset[Status] = frozenset({Status.COMPLETED, Status.ABSENT, Status.CANCELLED})
FINISHED: frozenset[Status] = frozenset({Status.COMPLETED, Status.ABSENT})
COUNTS_TOWARD_SUBSCRIPTION: frozenset[Status] = frozenset({Status.COMPLETED, Status.ABSENT})


# (event, scheduled at birth?) -> the status a new session starts in.
BIRTHS: Mapping[tuple[LifecycleEvent, bool], Status] = MappingProxyType(
    {
        (_E.CREATE, False): _S.UNSCHEDULED,
        (_E.GENERATE, True): _S.SCHEDULED,
        (_E.MAKEUP_CREATED, False): _S.UNSCHEDULED,
        (_E.MAKEUP_CREATED, True): _S.SCHEDULED,
    }
)
NOTES: frozenset[LifecycleEvent] = frozenset({_E.SLOT_SKIPPED, _E.MAKEUP_CREATED})

RUNNING: frozenset[Status] = frozenset({Status.READY, Status.ONGOING})
NOT_STARTED: frozenset[Status] = frozenset({Status.SCHEDULED, Status.READY})
_CANCELLABLE = frozenset({_S.UNSCHEDULED, _S.SCHEDULED, _S.READY, _S.ONGOING})
_STARTABLE = frozenset({_S.SCHEDULED, _S.READY})
_JOINABLE = frozenset({_S.READY, _S.ONGOING})
_MAKEUP_FOR = frozenset({_S.CANCELLED, _S.ABSENT})


def apply(status: Status, event: LifecycleEvent) -> Status:
    """The status after ``event``, or ``IllegalTransition`` naming both."""
    try:
        return TRANSITIONS[(Status(status), LifecycleEvent(event))]
    except (KeyError, ValueError):
        raise IllegalTransition(status, event) from None


def born(event: LifecycleEvent, *, scheduled: bool) -> Status:
    """The status a session created by ``event`` starts in (scheduled or not)."""
    try:
        return BIRTHS[(LifecycleEvent(event), scheduled)]
    except (KeyError, ValueError):
        raise IllegalTransition("new", event) from None


def note(status: Status, event: LifecycleEvent) -> Status:
    """``status`` itself, once ``event`` is known to be a note (else IllegalTransition)."""
    if LifecycleEvent(event) not in NOTES:
        raise IllegalTransition(status, event)
    return Status(status)


def rescheduled(status: Status | str, *, roster_joined: bool) -> Status:
    """The status after a RESCHEDULE: SCHEDULED, from SCHEDULED or READY while nobody on
    the roster (the teacher included) has joined; else IllegalTransition, so the caller
    refuses with the status the session still has."""
    after = apply(Status(status), LifecycleEvent.RESCHEDULE)
    if roster_joined:
        raise IllegalTransition(
            status, LifecycleEvent.RESCHEDULE, because="someone on the roster has joined"
        )
    return after


def finishing_event(*, individual: bool, all_absent: bool) -> LifecycleEvent:
    """How a running session finishes: ABSENT for an individual session whose student
    is absent (CONTRACT 4.1), COMPLETED otherwise."""
    return LifecycleEvent.MARK_ABSENT if individual and all_absent else LifecycleEvent.COMPLETE


def following_verdict(status: str, *, individual: bool, absent: bool) -> LifecycleEvent | None:
    """The move that keeps a finished individual session's status in step with its
    student's verdict when a report or a rebuild changes it: ABSENT exactly when the
    student is absent. None when nothing moves."""
    if not individual:
        return None
    if Status(status) is Status.COMPLETED and absent:
        return LifecycleEvent.REPORT_ABSENT
    if Status(status) is Status.ABSENT and not absent:
        return LifecycleEvent.REPORT_PRESENT
    return None


def is_terminal(status: str) -> bool:
    """COMPLETED, ABSENT or CANCELLED: nothing moves it but a report's flip."""
    return Status(status) in TERMINAL


def is_finished(status: str) -> bool:
    """COMPLETED or ABSENT: verdicts are final and charges written."""
    return Status(status) in FINISHED


def is_running(status: str) -> bool:
    """READY or ONGOING: the room is open, the session waits to be finished."""
    return Status(status) in RUNNING


def awaits_start(status: str) -> bool:
    """SCHEDULED or READY: the first roster join starts it."""
    return Status(status) in _STARTABLE


def may_be_prepared(status: str) -> bool:
    """SCHEDULED: the sweep may make it READY."""
    return Status(status) is Status.SCHEDULED


def accepts_reports(status: str) -> bool:
    """Every status but CANCELLED takes a teacher's report (and a hand-set charge)."""
    return Status(status) is not Status.CANCELLED


def holds_teacher_time(status: str) -> bool:
    """Whether the session keeps its teacher busy for its window (not cancelled)."""
    return Status(status) is not Status.CANCELLED


def takes_makeup(status: str) -> bool:
    """CANCELLED or ABSENT sessions may get a make-up."""
    return Status(status) in _MAKEUP_FOR


def can_start(status: str) -> bool:
    return Status(status) in _STARTABLE


def can_cancel(status: str) -> bool:
    return Status(status) in _CANCELLABLE


def can_join(
    status: str, *, now: datetime, ends_at: datetime | None, buffer_minutes: float
) -> bool:
    """READY or ONGOING, and not from ``E + buffer`` on."""
    if Status(status) not in _JOINABLE:
        return False
    return ends_at is None or now < ends_at + timedelta(minutes=buffer_minutes)


# --- presence


def is_ongoing(status: str) -> bool:
    """ONGOING: started, so a roster join earlier than its start moves `started_at` back."""
    return Status(status) is Status.ONGOING


# --- sessions
# Every status but CANCELLED, for queries: a session that stands holds its teacher's
# time (`holds_teacher_time`), and a make-up that stands is its original's one make-up.
STANDING: frozenset[Status] = frozenset(s for s in Status if holds_teacher_time(s))


# Not yet begun: what the `upcoming` scope lists (CONTRACT 5), never a cancelled,
# running or finished session.
NOT_BEGUN: frozenset[Status] = NOT_STARTED


def is_cancelled(status: str) -> bool:
    """CANCELLED: the session will not take place (a calendar marks it so)."""
    return Status(status) is Status.CANCELLED


# --- the sweep
# The statuses the sweep prepares (`may_be_prepared`), as a set for its query.
PREPARABLE: frozenset[Status] = frozenset({Status.SCHEDULED})
