"""Pending LiveKit RoomService work, retried until it succeeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.schema import RoomOperation


class RoomOperationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def enqueue(
        self,
        op: str,
        room_name: str,
        *,
        now: datetime,
        session_id: int | None = None,
        identity: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> RoomOperation:
        row = RoomOperation(
            session_id=session_id,
            op=op,
            room_name=room_name,
            identity=identity,
            payload=payload,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        return row

    async def due(self, now: datetime, *, limit: int, lock: bool = False) -> list[RoomOperation]:
        stmt = (
            select(RoomOperation)
            .where(RoomOperation.state == "pending", RoomOperation.next_attempt_at <= now)
            .order_by(RoomOperation.next_attempt_at, RoomOperation.id)
            .limit(limit)
        )
        if lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list(await self.session.scalars(stmt))

    async def for_session(self, session_id: int) -> list[RoomOperation]:
        rows = await self.session.scalars(
            select(RoomOperation)
            .where(RoomOperation.session_id == session_id)
            .order_by(RoomOperation.id)
        )
        return list(rows)
