"""The due statement: one keyset page of sessions by status and time, a range scan of
ix_sessions_status_scheduled_at (`SessionRepository.due_page` runs it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, and_, cast, or_, select

from rules.lifecycle import Status
from store.schema import Session

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Candidate",
    "LockedSession",
    "SessionLike",
    "due_statement",
    "lock_statement",
]

DEFAULT_BATCH_SIZE = 400


@dataclass(frozen=True, slots=True)
class Candidate:
    """A session that may be due, as read without a lock: the columns a sweep looks at
    before it locks the row (plain values, no ORM object to track)."""

    id: int
    session_code: str
    teacher_id: int
    scheduled_at: datetime | None
    ends_at: datetime | None
    frozen: str | None  # the frozen settings as stored (JSON text), see `FROZEN`
    meeting_room_name: str | None


# The frozen settings as their stored JSON text, not decoded: a sweep's sessions
# freeze the same few, so the text is the key under which each is parsed once.
FROZEN = cast(Session.settings, Text)

CANDIDATE_COLUMNS: tuple[Any, ...] = (
    Session.id,
    Session.session_code,
    Session.teacher_id,
    Session.scheduled_at,
    Session.ends_at,
    FROZEN,
    Session.meeting_room_name,
)


def due_statement(
    statuses: Sequence[Status],
    until: datetime | None,
    *,
    after: tuple[datetime, int] | None = None,
    ended: bool = False,
    limit: int = DEFAULT_BATCH_SIZE,
    academy_id: int | None = None,
) -> Select[Any]:
    """One page of candidates: sessions in `statuses` with `scheduled_at <= until` (any
    scheduled time when `until` is None; and `ends_at <= until` when `ended`), after the
    `(scheduled_at, id)` key `after`, in that order; of one academy when `academy_id` is
    given (a filter on the rows the status index yields: the range scan stays the same)."""
    stmt = select(*CANDIDATE_COLUMNS).where(
        Session.status.in_([s.value for s in statuses]),
        Session.scheduled_at.is_not(None) if until is None else Session.scheduled_at <= until,
    )
    if academy_id is not None:
        # `+ 0` keeps the planners off ix_sessions_academy_id_scheduled_at, which would
        # walk the academy's whole history; the status index finds what is due.
        stmt = stmt.where(Session.academy_id + 0 == academy_id)
    if ended and until is not None:
        stmt = stmt.where(Session.ends_at <= until)
    if after is not None:
        stmt = stmt.where(
            or_(
                Session.scheduled_at > after[0],
                and_(Session.scheduled_at == after[0], Session.id > after[1]),
            )
        )
    return stmt.order_by(Session.scheduled_at, Session.id).limit(limit)


@dataclass(slots=True)
class LockedSession:
    """A session of a sweep's batch, its row locked, as plain values: the columns the
    sweep's steps read and change. Building hundreds of ORM objects per batch (and
    tracking them in the identity map) cost more than the batch's decisions; the
    steps write these back with Core statements, so nothing here is flushed."""

    id: int
    session_code: str
    academy_id: int
    type: str
    status: str
    duration_minutes: int
    teacher_id: int
    scheduled_at: datetime | None
    ends_at: datetime | None
    ended_at: datetime | None
    frozen: str | None  # the frozen settings as stored (JSON text), see `FROZEN`
    meeting_room_name: str | None
    meeting_link: str | None
    meeting_expires_at: datetime | None
    counts_for_teacher: bool | None
    subscription_counted: bool
    revision: int
    updated_at: datetime

    @property
    def settings(self) -> dict[str, Any] | None:
        """The frozen settings, decoded (the sweep parses them by their text instead)."""
        return json.loads(self.frozen) if self.frozen else None


# A session as the sweep's steps take it: locked plain values (a sweep's batch), or the
# ORM object an API call holds (the same steps, a batch of one).
SessionLike = Session | LockedSession

_LOCKED_COLUMNS = tuple(
    FROZEN if f.name == "frozen" else getattr(Session, f.name) for f in fields(LockedSession)
)


def lock_statement(session_ids: Sequence[int], *, skip_locked: bool) -> Select[Any]:
    """The `LockedSession` columns of `session_ids`, their rows locked, in id order (so
    two lockers of overlapping batches cannot deadlock)."""
    return (
        select(*_LOCKED_COLUMNS)
        .where(Session.id.in_(session_ids))
        .order_by(Session.id)
        .with_for_update(skip_locked=skip_locked)
    )
