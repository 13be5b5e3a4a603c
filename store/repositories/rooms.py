"""Pending LiveKit RoomService work, retried until it succeeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.rooms import RoomOperationKind, RoomOperationState
from store.repositories.base import table_of, update_by_id
from store.schema import RoomOperation, Session


@dataclass(frozen=True, slots=True)
class Queued:
    """One operation to queue."""

    op: str
    room_name: str
    session_id: int | None = None
    identity: str | None = None
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A pending operation as read to be claimed: plain column values, no ORM object
    (a sweep claims hundreds at a time)."""

    id: int
    session_id: int | None
    op: str
    room_name: str
    identity: str | None
    payload: dict[str, Any] | None
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    """What claiming writes on one operation's row."""

    id: int
    state: str
    last_error: str | None
    attempts: int
    next_attempt_at: datetime


_PENDING_COLUMNS = (
    RoomOperation.id,
    RoomOperation.session_id,
    RoomOperation.op,
    RoomOperation.room_name,
    RoomOperation.identity,
    RoomOperation.payload,
    RoomOperation.attempts,
    RoomOperation.next_attempt_at,
    RoomOperation.last_error,
)


def _pending(q: Queued, now: datetime) -> dict[str, Any]:
    return {
        "session_id": q.session_id,
        "op": q.op,
        "room_name": q.room_name,
        "identity": q.identity,
        "payload": q.payload,
        "state": RoomOperationState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


# What a scrape reads (built once).
_PENDING_BACKLOG = select(func.count(), func.min(RoomOperation.created_at)).where(
    RoomOperation.state == RoomOperationState.PENDING.value
)


class RoomOperationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue_many(self, ops: Sequence[Queued], *, now: datetime) -> None:
        """Queue many operations, due at once, in one statement (a sweep's batch)."""
        if ops:
            await self.session.execute(
                insert(table_of(RoomOperation)).execution_options(render_nulls=True),
                [_pending(q, now) for q in ops],
            )

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
        row = RoomOperation(**_pending(Queued(op, room_name, session_id, identity, payload), now))
        self.session.add(row)
        return row

    async def backlog(self, now: datetime) -> tuple[int, float]:
        """The pending operations: how many, and the age in seconds of the oldest (0
        when none) -- what an operator alerts on when LiveKit stays unreachable."""
        count, oldest = (await self.session.execute(_PENDING_BACKLOG)).one()
        if oldest is None:
            return 0, 0.0
        if oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=now.tzinfo)
        return int(count), max(0.0, (now - oldest).total_seconds())

    async def due(
        self, now: datetime, *, limit: int, lock: bool = False, academy_id: int | None = None
    ) -> list[Pending]:
        """The pending operations due at `now`, oldest first (of `academy_id`'s sessions
        only, when given); with `lock` their rows locked `FOR UPDATE SKIP LOCKED`, so
        replicas never take the same one."""
        stmt = (
            select(*_PENDING_COLUMNS)
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
        return [Pending(*row) for row in await self.session.execute(stmt)]

    async def claim_many(self, claims: Sequence[Claim], *, now: datetime) -> None:
        """Write what claiming decided for each operation, in one executemany UPDATE."""
        if not claims:
            return
        await update_by_id(
            self.session,
            table_of(RoomOperation),
            ("state", "last_error", "attempts", "next_attempt_at", "updated_at"),
            [
                {
                    "id": c.id,
                    "state": c.state,
                    "last_error": c.last_error,
                    "attempts": c.attempts,
                    "next_attempt_at": c.next_attempt_at,
                    "updated_at": now,
                }
                for c in claims
            ],
        )

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

    async def deleted_after(self, ops: Sequence[Pending]) -> set[int]:
        """The ids of those of `ops` after which a DeleteRoom of the same room was
        queued (the session's rows by session_id, else the room's by name), in one
        query."""
        if not ops:
            return set()
        sessions = {op.session_id for op in ops if op.session_id is not None}
        names = {op.room_name for op in ops if op.session_id is None}
        last_by_session: dict[int, int] = {}
        last_by_name: dict[str, int] = {}
        rows = await self.session.execute(
            select(RoomOperation.session_id, RoomOperation.room_name, RoomOperation.id).where(
                RoomOperation.op == RoomOperationKind.DELETE_ROOM.value,
                or_(RoomOperation.session_id.in_(sessions), RoomOperation.room_name.in_(names)),
            )
        )
        for session_id, room_name, op_id in rows:
            if session_id is not None:
                last_by_session[session_id] = max(op_id, last_by_session.get(session_id, 0))
            last_by_name[room_name] = max(op_id, last_by_name.get(room_name, 0))
        return {
            op.id
            for op in ops
            if (
                last_by_session.get(op.session_id, 0)
                if op.session_id is not None
                else last_by_name.get(op.room_name, 0)
            )
            > op.id
        }

    async def pending_deletes_before(self, ops: Sequence[Pending]) -> dict[int, Pending]:
        """For those of `ops` with one: the latest DeleteRoom of the same session queued
        before it and not yet done, by the op's id (one query)."""
        sessions = {op.session_id for op in ops if op.session_id is not None}
        if not sessions:
            return {}
        pending = [
            Pending(*row)
            for row in await self.session.execute(
                select(*_PENDING_COLUMNS)
                .where(
                    RoomOperation.session_id.in_(sessions),
                    RoomOperation.op == RoomOperationKind.DELETE_ROOM.value,
                    RoomOperation.state == RoomOperationState.PENDING.value,
                )
                .order_by(RoomOperation.id)
            )
        ]
        found: dict[int, Pending] = {}
        for op in ops:
            earlier = [d for d in pending if d.session_id == op.session_id and d.id < op.id]
            if earlier:
                found[op.id] = earlier[-1]
        return found
