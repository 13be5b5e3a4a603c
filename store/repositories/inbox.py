"""The webhook inbox: every verified LiveKit event, raw bytes as received, in arrival order."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.base import insert_ignore
from store.schema import Session, WebhookEvent


class StoredEvent(NamedTuple):
    id: int
    session_id: int | None


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        event_id: str,
        event: str,
        room_name: str | None,
        room_sid: str | None,
        occurred_at: datetime,
        received_at: datetime,
        body: bytes,
        state: str,
    ) -> StoredEvent | None:
        """Store a raw event once, attached in the same statement to the session of its
        room if there is one (read without a lock); None when its id was stored before."""
        session_id = (
            select(Session.id).where(Session.session_code == room_name).scalar_subquery()
            if room_name is not None
            else None
        )
        result = await self.session.execute(
            insert_ignore(self.session, WebhookEvent, ["event_id"])
            .values(
                event_id=event_id,
                event=event,
                room_name=room_name,
                room_sid=room_sid,
                occurred_at=occurred_at,
                received_at=received_at,
                body=body,
                session_id=session_id,
                state=state,
            )
            .returning(WebhookEvent.id, WebhookEvent.session_id)
        )
        row = result.first()
        return None if row is None else StoredEvent(row[0], row[1])

    async def all(self, *, room_name: str | None = None) -> list[WebhookEvent]:
        """Every stored event (of one room), in arrival order."""
        stmt = select(WebhookEvent).order_by(WebhookEvent.id)
        if room_name is not None:
            stmt = stmt.where(WebhookEvent.room_name == room_name)
        return list(await self.session.scalars(stmt))

    async def attach(self, room_name: str, session_id: int) -> None:
        """Give a session the events of its room that arrived before it existed."""
        await self.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.room_name == room_name, WebhookEvent.session_id.is_(None))
            .values(session_id=session_id)
        )

    async def page(
        self, *, after: int, limit: int, session_id: int | None = None
    ) -> list[WebhookEvent]:
        """The next `limit` stored events after inbox id `after` (of one session), by id:
        keyset paging, so a rebuild reads the whole inbox in bounded pages. The rows are
        tracked: a `session_id` set on them is written with the next flush."""
        stmt = select(WebhookEvent).where(WebhookEvent.id > after)
        if session_id is not None:
            stmt = stmt.where(WebhookEvent.session_id == session_id)
        return list(await self.session.scalars(stmt.order_by(WebhookEvent.id).limit(limit)))

    async def session_of_room(self, room_name: str) -> int | None:
        """The id of the session whose room is `room_name`, if there is one by now."""
        return await self.session.scalar(
            select(Session.id).where(Session.session_code == room_name)
        )

    async def hold_for_rebuild(self) -> None:
        """PostgreSQL: hold the inbox in SHARE mode until this transaction ends, so
        deliveries wait for a full rebuild (they lock the inbox before any session,
        so this cannot deadlock). SQLite's one writer needs nothing."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("LOCK TABLE webhook_events IN SHARE MODE"))
