"""Finding sessions by status and time: keyset pages over ix_sessions_status_scheduled_at."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from rules.lifecycle import Status
from store.database import Database
from store.repositories.due import DEFAULT_BATCH_SIZE, Candidate

__all__ = ["DEFAULT_BATCH_SIZE", "candidates"]


async def candidates(
    database: Database,
    statuses: Sequence[Status],
    until: datetime | None,
    *,
    batch_size: int,
    ended: bool = False,
    academy_id: int | None = None,
) -> AsyncIterator[list[Candidate]]:
    """Sessions in `statuses` with `scheduled_at <= until` (any scheduled time when
    `until` is None; and `ends_at <= until` when `ended`), page by page on the
    (status, scheduled_at) index, each page in a short unit of work of its own. Keyset
    paging, so a session left as it was is not read twice in one tick. Only
    `academy_id`'s sessions when it is given."""
    after: tuple[datetime, int] | None = None
    while True:
        async with database.uow() as uow:
            batch = await uow.sessions.due_page(
                statuses, until, after=after, ended=ended, limit=batch_size, academy_id=academy_id
            )
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        last = batch[-1]
        assert last.scheduled_at is not None
        after = (last.scheduled_at, last.id)
