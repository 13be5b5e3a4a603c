"""The due statement: one keyset page of sessions by status and time, a range scan of
ix_sessions_status_scheduled_at (`SessionRepository.due_page` runs it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from rules.lifecycle import Status
from store.schema import Session

__all__ = ["DEFAULT_BATCH_SIZE", "Candidate", "due_statement"]

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
    settings: dict[str, Any] | None
    meeting_room_name: str | None


CANDIDATE_COLUMNS = (
    Session.id,
    Session.session_code,
    Session.teacher_id,
    Session.scheduled_at,
    Session.ends_at,
    Session.settings,
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
