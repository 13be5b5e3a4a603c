"""Pending LiveKit RoomService work, retried until it succeeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.rooms import RoomOperationKind, RoomOperationState
from store.schema import RoomOperation, Session


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
        """Queue an operation, due at once."""
        row = RoomOperation(
            session_id=session_id,
            op=op,
            room_name=room_name,
            identity=identity,
            payload=payload,
            state=RoomOperationState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        return row

    async def backlog(self, now: datetime) -> tuple[int, float]:
        """The pending operations: how many, and the age in seconds of the oldest (0
        when none) -- what an operator alerts on when LiveKit stays unreachable."""
        count, oldest = (
            await self.session.execute(
                select(func.count(), func.min(RoomOperation.created_at)).where(
                    RoomOperation.state == RoomOperationState.PENDING.value
                )
            )
        ).one()
        if oldest is None:
            return 0, 0.0
        if oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=now.tzinfo)
        return int(count), max(0.0, (now - oldest).total_seconds())

    async def due(
        self, now: datetime, *, limit: int, lock: bool = False, academy_id: int | None = None
    ) -> list[RoomOperation]:
        """The pending operations due at `now`, oldest first (of `academy_id`'s sessions
        only, when given); with `lock` their rows locked `FOR UPDATE SKIP LOCKED`, so
        replicas never take the same one."""
        stmt = (
            select(RoomOperation)
            .where(
                RoomOperation.state == RoomOperationState.PENDING.value,
                RoomOperation.next_attempt_at <= now,
            )
            .order_by(RoomOperation.next_attempt_at, RoomOperation.id)
            .limit(limit)
        )
        if academy_id is not None:
            of_academy = select(Session.id).where(Session.academy_id == academy_id)
            stmt = stmt.where(RoomOperation.session_id.in_(of_academy))
        if lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list(await self.session.scalars(stmt))

    async def for_session(self, session_id: int) -> list[RoomOperation]:
        """Every operation queued for the session, in the order queued."""
        rows = await self.session.scalars(
            select(RoomOperation)
            .where(RoomOperation.session_id == session_id)
            .order_by(RoomOperation.id)
        )
        return list(rows)

    async def fresh(self, op_id: int) -> RoomOperation | None:
        """The operation as stored now, whatever this unit of work held of it (a row
        claimed in an earlier transaction, read back to write the call's outcome)."""
        return await self.session.get(RoomOperation, op_id, populate_existing=True)

    async def deleted_after(self, op: RoomOperation) -> bool:
        """Whether a DeleteRoom of the same room was queued after `op` (the session's
        rows by session_id, else the room's by name)."""
        same_room = (
            RoomOperation.session_id == op.session_id
            if op.session_id is not None
            else RoomOperation.room_name == op.room_name
        )
        later = await self.session.scalar(
            select(RoomOperation.id)
            .where(
                same_room,
                RoomOperation.op == RoomOperationKind.DELETE_ROOM.value,
                RoomOperation.id > op.id,
            )
            .limit(1)
        )
        return later is not None

    async def pending_delete_before(self, op: RoomOperation) -> RoomOperation | None:
        """A DeleteRoom of the same session queued before `op` and not yet done."""
        if op.session_id is None:
            return None
        row: RoomOperation | None = await self.session.scalar(
            select(RoomOperation)
            .where(
                RoomOperation.session_id == op.session_id,
                RoomOperation.op == RoomOperationKind.DELETE_ROOM.value,
                RoomOperation.state == RoomOperationState.PENDING.value,
                RoomOperation.id < op.id,
            )
            .order_by(RoomOperation.id.desc())
            .limit(1)
        )
        return row
