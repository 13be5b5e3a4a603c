"""A session's history: one row per transition, written by the lifecycle owner only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.base import table_of
from store.schema import Transition


class TransitionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        session_id: int,
        *,
        from_status: str | None,
        to_status: str,
        event: str,
        at: datetime,
        actor: str,
        details: dict[str, Any] | None = None,
    ) -> Transition:
        row = Transition(
            session_id=session_id,
            from_status=from_status,
            to_status=to_status,
            event=event,
            at=at,
            actor=actor,
            details=details,
        )
        self.session.add(row)
        return row

    async def record_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Many history rows (the columns of `record` each) in one statement."""
        if rows:
            await self.session.execute(
                insert(table_of(Transition)).execution_options(render_nulls=True), list(rows)
            )

    async def for_session(self, session_id: int) -> list[Transition]:
        rows = await self.session.scalars(
            select(Transition).where(Transition.session_id == session_id).order_by(Transition.id)
        )
        return list(rows)

    async def last_at(self, session_id: int) -> datetime | None:
        """When the session last moved (None: never)."""
        latest: datetime | None = await self.session.scalar(
            select(func.max(Transition.at)).where(Transition.session_id == session_id)
        )
        return latest
