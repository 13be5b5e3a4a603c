"""Written verdicts: what a finished session decided for each of its users."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.base import table_of
from store.schema import StoredVerdict


@dataclass(frozen=True, slots=True)
class WrittenVerdict:
    """One user's verdict as written; `source` is None for the teacher."""

    user_id: int
    role: str
    status: str
    source: str | None
    explanation: str | None


class VerdictRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_session(self, session_id: int) -> dict[int, WrittenVerdict]:
        """The written verdicts of a session, by user id (empty until it finished)."""
        rows = await self.session.scalars(
            select(StoredVerdict).where(StoredVerdict.session_id == session_id)
        )
        return {
            row.user_id: WrittenVerdict(
                row.user_id, row.role, row.status, row.source, row.explanation
            )
            for row in rows
        }

    async def for_sessions(
        self, session_ids: Sequence[int]
    ) -> dict[int, dict[int, WrittenVerdict]]:
        """The written verdicts of each of `session_ids` (one query), by user id."""
        result: dict[int, dict[int, WrittenVerdict]] = {sid: {} for sid in session_ids}
        if not session_ids:
            return result
        for row in await self.session.scalars(
            select(StoredVerdict).where(StoredVerdict.session_id.in_(session_ids))
        ):
            result[row.session_id][row.user_id] = WrittenVerdict(
                row.user_id, row.role, row.status, row.source, row.explanation
            )
        return result

    async def write(
        self,
        session_id: int,
        verdicts: Iterable[WrittenVerdict],
        *,
        at: datetime,
    ) -> None:
        """Make the written verdicts of a session exactly `verdicts`."""
        await self.write_many({session_id: verdicts}, at=at)

    async def write_many(
        self, by_session: Mapping[int, Iterable[WrittenVerdict]], *, at: datetime
    ) -> None:
        """Make the written verdicts of each session exactly its `verdicts` (one
        statement to clear, one to insert, however many sessions)."""
        if not by_session:
            return
        await self.session.execute(
            delete(StoredVerdict).where(StoredVerdict.session_id.in_(list(by_session)))
        )
        rows = [
            {
                "session_id": session_id,
                "user_id": v.user_id,
                "role": v.role,
                "status": v.status,
                "source": v.source,
                "explanation": v.explanation,
                "updated_at": at,
            }
            for session_id, verdicts in by_session.items()
            for v in verdicts
        ]
        if rows:
            await self.session.execute(
                insert(table_of(StoredVerdict)).execution_options(render_nulls=True), rows
            )
