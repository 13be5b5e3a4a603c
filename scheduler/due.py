"""Finding sessions by status and time: keyset pages over ix_sessions_status_scheduled_at."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from rules.lifecycle import Status
from store.database import Database
from store.schema import Session

DEFAULT_BATCH_SIZE = 200


async def candidates(
    database: Database,
    statuses: Sequence[Status],
    until: datetime | None,
    *,
    batch_size: int,
    ended: bool = False,
) -> AsyncIterator[list[Session]]:
    """Sessions in `statuses` with `scheduled_at <= until` (any scheduled time when
    `until` is None; and `ends_at <= until` when `ended`), page by page on the
    (status, scheduled_at) index. Keyset paging, so a session left as it was is
    not read twice in one tick. The rows are detached: plain values to read."""
    after: tuple[datetime, int] | None = None
    while True:
        stmt = due_statement(statuses, until, after=after, ended=ended, limit=batch_size)
        async with database.uow() as uow:
            batch: list[Session] = list(await uow.session.scalars(stmt))
            uow.session.expunge_all()  # plain, detached rows: read after the rollback
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        last = batch[-1]
        assert last.scheduled_at is not None
        after = (last.scheduled_at, last.id)


def due_statement(
    statuses: Sequence[Status],
    until: datetime | None,
    *,
    after: tuple[datetime, int] | None = None,
    ended: bool = False,
    limit: int = DEFAULT_BATCH_SIZE,
) -> Select[Any]:
    """One page of candidates: a range scan of ix_sessions_status_scheduled_at."""
    stmt = select(Session).where(
        Session.status.in_([s.value for s in statuses]),
        Session.scheduled_at.is_not(None) if until is None else Session.scheduled_at <= until,
    )
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
