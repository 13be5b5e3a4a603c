"""The webhook inbox: every verified LiveKit event, raw bytes as received, in arrival order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import Table, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite import Insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.base import insert_ignore, on_postgres, update_by_id
from store.repositories.projection import is_spooled, spool_mark, spool_mark_name
from store.schema import ProjectionPosition, Session, WebhookEvent
from store.spool import SPOOLED

# Taken by every append on PostgreSQL for the rest of its transaction: appends from
# every replica commit one after another, so inbox ids become visible in id order and
# a projector reading `id > position` can never skip a row that commits late.
APPEND_LOCK_KEY = 0x4855_4455_5249_4E42  # "HUDURINB"; any constant unique to this use


_INBOX = cast(Table, WebhookEvent.__table__)
_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY))
_APPEND = {
    name: insert_into(_INBOX)
    .on_conflict_do_nothing(index_elements=["event_id"])
    .returning(_INBOX.c.event_id)
    for name, insert_into in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


@dataclass(slots=True)
class InboxRow:
    """One stored event as the projector reads it: a plain row, not an ORM object (a
    batch reads thousands). `session_id` and `state` are the projector's to set, and
    `InboxRepository.write_back` stores them."""

    id: int
    event_id: str
    event: str
    room_name: str | None
    room_sid: str | None
    occurred_at: datetime
    received_at: datetime
    body: bytes
    state: str
    session_id: int | None


_MOVED = ("event_id", "event", "room_name", "room_sid", "occurred_at", "received_at", "body")


def _move(mark: int, upto: int) -> Insert:
    """The spool's rows after `mark` up to `upto`, into the inbox in spool order (an
    id the inbox holds already is left: the intake checked, so none should be)."""
    rows = (
        select(*(SPOOLED.c[name] for name in _MOVED), literal("pending"))
        .where(SPOOLED.c.id > mark, SPOOLED.c.id <= upto)
        .order_by(SPOOLED.c.id)
    )
    return (
        sqlite.insert(_INBOX)
        .from_select([*_MOVED, "state"], rows)
        .on_conflict_do_nothing(index_elements=["event_id"])
    )


_PAGE_COLUMNS = [_INBOX.c[f.name] for f in fields(InboxRow)]


class StoredEvent(NamedTuple):
    id: int
    session_id: int | None


class NewEvent(NamedTuple):
    """One verified delivery, as the endpoint appends it (nothing derived yet)."""

    event_id: str
    event: str
    room_name: str | None
    room_sid: str | None
    occurred_at: datetime
    received_at: datetime
    body: bytes


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

    async def append(self, events: Sequence[NewEvent]) -> set[str]:
        """Store each event whose id is new, in one INSERT … ON CONFLICT DO NOTHING
        RETURNING of many rows; the event ids stored now (the others were stored
        before). Ids must be distinct within `events`: the caller decides repeats
        inside one batch. Core, not the ORM: one statement compiled once and cached,
        its rows sent as multi-row VALUES (SQLAlchemy's insertmanyvalues)."""
        if not events:
            return set()
        connection = await self.session.connection()
        dialect = connection.dialect.name
        if dialect == "postgresql":
            await connection.execute(_ADVISORY_LOCK)
        rows = [
            {
                "event_id": e.event_id,
                "event": e.event,
                "room_name": e.room_name,
                "room_sid": e.room_sid,
                "occurred_at": e.occurred_at,
                "received_at": e.received_at,
                "body": e.body,
                "state": "pending",
            }
            for e in events
        ]
        result = await connection.execute(_APPEND[dialect], rows)
        return set(result.scalars())

    async def move_spooled(self) -> int:
        """SQLite: move what the intake's spool holds beyond the mark into the inbox,
        and advance the mark, in this transaction (store/spool.py); the newest inbox
        id after it (0: nothing moved, or no spool). Under the database's write lock:
        two moves never copy the same rows."""
        if not is_spooled(self.session):
            return 0
        name, upto, mark = (
            await self.session.execute(
                select(
                    spool_mark_name(),
                    select(func.max(SPOOLED.c.id)).scalar_subquery(),
                    spool_mark(),
                )
            )
        ).one()
        if name is None or upto is None:
            return 0  # an empty spool
        if mark is not None and mark >= upto:
            return 0
        await self.session.execute(_move(mark or 0, upto))
        await self.session.execute(
            sqlite.insert(ProjectionPosition)
            .values(name=name, position=upto)
            .on_conflict_do_update(index_elements=["name"], set_={"position": upto})
        )
        return int(await self.session.scalar(select(func.max(WebhookEvent.id))) or 0)

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
    ) -> list[InboxRow]:
        """The next `limit` stored events after inbox id `after` (of one session), by id:
        keyset paging, so a rebuild reads the whole inbox in bounded pages. What the
        caller sets on them is stored by `write_back`."""
        stmt = select(*_PAGE_COLUMNS).where(_INBOX.c.id > after)
        if session_id is not None:
            stmt = stmt.where(_INBOX.c.session_id == session_id)
        result = await self.session.execute(stmt.order_by(_INBOX.c.id).limit(limit))
        return [InboxRow(*row) for row in result]

    async def write_back(self, rows: Sequence[InboxRow]) -> None:
        """Store the `session_id` and `state` of rows read by `page` (one statement; on
        PostgreSQL one execution for the batch, where one per row was the projection's
        costliest statement at the ingest benchmark's peak)."""
        await update_by_id(
            self.session,
            _INBOX,
            ("state", "session_id"),
            [{"id": r.id, "state": r.state, "session_id": r.session_id} for r in rows],
        )

    async def session_of_room(self, room_name: str) -> int | None:
        """The id of the session whose room is `room_name`, if there is one by now."""
        return await self.session.scalar(
            select(Session.id).where(Session.session_code == room_name)
        )

    async def hold_for_rebuild(self) -> None:
        """PostgreSQL: hold the inbox in SHARE mode until this transaction ends, so
        deliveries wait for a full rebuild (they lock the inbox before any session,
        so this cannot deadlock). SQLite's one writer needs nothing."""
        if on_postgres(self.session):
            await self.session.execute(text("LOCK TABLE webhook_events IN SHARE MODE"))
