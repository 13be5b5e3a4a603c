"""Outgoing notifications: the platform's endpoints, the outbox and its delivery
attempts (CONTRACT 6). Every query the notify worker and the endpoints API run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from store.repositories.base import upsert
from store.schema import DeliveryAttempt, NotificationEndpoint, OutboxMessage

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, endpoint_id: int, *, for_update: bool = False
    ) -> NotificationEndpoint | None:
        stmt = select(NotificationEndpoint).where(NotificationEndpoint.id == endpoint_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def put(
        self,
        endpoint_id: int,
        *,
        now: datetime,
        academy_id: int | None,
        url: str,
        secret: str,
        events: Sequence[str],
        enabled: bool,
    ) -> NotificationEndpoint:
        """Create or replace an endpoint (its creation time kept)."""
        values = {
            "id": endpoint_id,
            "academy_id": academy_id,
            "url": url,
            "secret": secret,
            "events": {"types": list(events)},
            "enabled": enabled,
            "created_at": now,
            "updated_at": now,
        }
        await self.session.execute(upsert(self.session, NotificationEndpoint, values, ["id"]))
        stmt = (
            select(NotificationEndpoint)
            .where(NotificationEndpoint.id == endpoint_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one()

    async def delete(self, endpoint_id: int) -> None:
        """The endpoint, its outbox and its attempts (the foreign keys cascade)."""
        await self.session.execute(
            delete(NotificationEndpoint).where(NotificationEndpoint.id == endpoint_id)
        )

    async def enabled(self) -> list[NotificationEndpoint]:
        """Every enabled endpoint: what a transaction's messages are fanned out to."""
        rows = await self.session.scalars(
            select(NotificationEndpoint)
            .where(NotificationEndpoint.enabled.is_(True))
            .order_by(NotificationEndpoint.id)
        )
        return list(rows)

    async def get_many(self, endpoint_ids: Sequence[int]) -> dict[int, NotificationEndpoint]:
        if not endpoint_ids:
            return {}
        rows = await self.session.scalars(
            select(NotificationEndpoint).where(NotificationEndpoint.id.in_(endpoint_ids))
        )
        return {r.id: r for r in rows}


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row a replica has leased to send."""

    id: int
    message_id: str
    endpoint_id: int
    session_id: int
    type: str
    payload: dict[str, Any]
    attempts: int
    first_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    id: int
    message_id: str
    type: str
    session_id: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    state: str


def _due(now: datetime) -> Select[int]:
    """The ids of rows `claim` may lease at `now`, in outbox order."""
    earlier = aliased(OutboxMessage)
    return (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.state == PENDING,
            OutboxMessage.endpoint_id.in_(
                select(NotificationEndpoint.id).where(NotificationEndpoint.enabled.is_(True))
            ),
            (OutboxMessage.attempts == 0) | (OutboxMessage.next_attempt_at <= now),
            OutboxMessage.leased_until.is_(None) | (OutboxMessage.leased_until <= now),
            ~exists().where(
                and_(
                    earlier.endpoint_id == OutboxMessage.endpoint_id,
                    earlier.session_id == OutboxMessage.session_id,
                    earlier.state == PENDING,
                    earlier.id < OutboxMessage.id,
                )
            ),
        )
        .order_by(OutboxMessage.id)
    )


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """A transaction's messages, all endpoints' rows, in one statement."""
        if rows:
            await self.session.execute(
                insert(OutboxMessage).execution_options(render_nulls=True), list(rows)
            )

    async def any_due(self, *, now: datetime) -> bool:
        """Whether `claim` would find a row now: one read, no lock (the worker polls
        twice a second, and a claim on SQLite takes the write lock at BEGIN)."""
        return await self.session.scalar(_due(now).limit(1)) is not None

    async def claim(
        self, *, now: datetime, lease_until: datetime, owner: str, limit: int
    ) -> list[Claimed]:
        """Lease up to `limit` rows of enabled endpoints that are due (never attempted,
        or their retry time come) and first in line for their (endpoint, session): a
        session's next message waits while an earlier one is pending, leased or not.
        Rows another replica is claiming at the same moment are skipped (PostgreSQL:
        FOR UPDATE SKIP LOCKED; SQLite takes the write lock at BEGIN, so claims follow
        one another)."""
        due = _due(now).limit(limit).with_for_update(skip_locked=True, of=OutboxMessage)
        ids = list(await self.session.scalars(due))
        if not ids:
            return []
        rows = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(leased_until=lease_until, lease_owner=owner, updated_at=now)
            .returning(
                OutboxMessage.id,
                OutboxMessage.message_id,
                OutboxMessage.endpoint_id,
                OutboxMessage.session_id,
                OutboxMessage.type,
                OutboxMessage.payload,
                OutboxMessage.attempts,
                OutboxMessage.first_attempt_at,
            )
        )
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    async def settle(
        self,
        outbox_id: int,
        *,
        owner: str,
        state: str,
        attempts: int,
        first_attempt_at: datetime,
        next_attempt_at: datetime,
        status_code: int | None,
        now: datetime,
    ) -> bool:
        """Record an attempt's outcome on the row, if this replica still holds its
        lease; whether it did."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.lease_owner == owner)
            .values(
                state=state,
                attempts=attempts,
                first_attempt_at=first_attempt_at,
                next_attempt_at=next_attempt_at,
                last_status=status_code,
                leased_until=None,
                lease_owner=None,
                updated_at=now,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record_attempt(
        self,
        claimed: Claimed,
        *,
        attempt: int,
        at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
    ) -> None:
        await self.session.execute(
            insert(DeliveryAttempt).values(
                outbox_id=claimed.id,
                endpoint_id=claimed.endpoint_id,
                attempt=attempt,
                at=at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )
        )

    async def prune_delivered(self, *, before: datetime) -> int:
        """Forget messages delivered before `before`, with their attempts (failed ones
        are kept); how many went."""
        result = await self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.state == DELIVERED, OutboxMessage.updated_at < before
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def backlog(self) -> int:
        """Messages not yet delivered nor given up."""
        count = await self.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == PENDING)
        )
        return int(count or 0)

    async def attempts(
        self, endpoint_id: int, *, before: int | None, limit: int
    ) -> list[AttemptRow]:
        """An endpoint's delivery attempts, newest first, with their message."""
        stmt = (
            select(
                DeliveryAttempt.id,
                OutboxMessage.message_id,
                OutboxMessage.type,
                OutboxMessage.session_id,
                DeliveryAttempt.attempt,
                DeliveryAttempt.at,
                DeliveryAttempt.status_code,
                DeliveryAttempt.error,
                DeliveryAttempt.duration_ms,
                OutboxMessage.state,
            )
            .join(OutboxMessage, OutboxMessage.id == DeliveryAttempt.outbox_id)
            .where(DeliveryAttempt.endpoint_id == endpoint_id)
            .order_by(DeliveryAttempt.id.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(DeliveryAttempt.id < before)
        return [AttemptRow(*tuple(row)) for row in await self.session.execute(stmt)]

    async def messages(self, endpoint_id: int | None = None) -> list[OutboxMessage]:
        """Every outbox row (of one endpoint), oldest first: for operators and tests."""
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if endpoint_id is not None:
            stmt = stmt.where(OutboxMessage.endpoint_id == endpoint_id)
        return list(await self.session.scalars(stmt))
