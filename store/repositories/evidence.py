"""The webhook inbox, the evidence derived from it, and the intervals built from that."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rules import evidence as ev
from store.repositories.base import insert_ignore
from store.schema import Evidence, Interval, Session, WebhookEvent


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
        stmt = select(WebhookEvent).order_by(WebhookEvent.id)
        if room_name is not None:
            stmt = stmt.where(WebhookEvent.room_name == room_name)
        return list(await self.session.scalars(stmt))

    async def attach(self, room_name: str, session_id: int) -> None:
        await self.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.room_name == room_name, WebhookEvent.session_id.is_(None))
            .values(session_id=session_id)
        )


class EvidenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Evidence) -> None:
        """Store one evidence row once (keyed by its event id)."""
        values = {
            c.key: getattr(row, c.key)
            for c in Evidence.__table__.columns
            if c.key != "id" and getattr(row, c.key) is not None
        }
        await self.session.execute(
            insert_ignore(self.session, Evidence, ["event_id"]).values(**values)
        )

    async def attach(self, room_name: str, session_id: int) -> int:
        """Give a session the evidence that arrived before it existed; how many rows."""
        result = await self.session.execute(
            update(Evidence)
            .where(Evidence.room_name == room_name, Evidence.session_id.is_(None))
            .values(session_id=session_id)
        )
        attached: int = cast(CursorResult[Any], result).rowcount
        return attached

    async def for_session(self, session_id: int) -> list[ev.Evidence]:
        """The evidence of a session, in the rules' form."""
        rows = await self.session.scalars(
            select(Evidence).where(Evidence.session_id == session_id).order_by(Evidence.id)
        )
        return [to_rule_evidence(row) for row in rows]

    async def add_closed(
        self, session_id: int, room_name: str, *, at: datetime, event_id: str
    ) -> None:
        """The synthetic evidence that a session ended at `at` (once per session)."""
        await self.add(
            Evidence(
                event_id=event_id,
                source=ev.EvidenceSource.SYSTEM.value,
                kind=ev.EvidenceKind.SESSION_CLOSED.value,
                room_name=room_name,
                session_id=session_id,
                at=at,
                decisive=True,
            )
        )


class IntervalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_session(self, session_id: int) -> list[ev.Interval]:
        """A session's intervals in the rules' form, by (joined_at, sid)."""
        rows = await self.session.scalars(
            select(Interval)
            .where(Interval.session_id == session_id)
            .order_by(Interval.joined_at, Interval.participant_sid)
        )
        return [
            ev.Interval(
                sid=row.participant_sid,
                identity=row.identity,
                user_id=row.user_id,
                room_sid=row.room_sid,
                joined_at=row.joined_at,
                left_at=row.left_at,
                decisive=row.decisive,
            )
            for row in rows
        ]

    async def replace(self, session_id: int, intervals: Iterable[ev.Interval]) -> None:
        """Make the stored intervals of a session exactly `intervals`."""
        await self.session.execute(delete(Interval).where(Interval.session_id == session_id))
        rows = [
            {
                "session_id": session_id,
                "participant_sid": i.sid,
                "identity": i.identity,
                "user_id": i.user_id,
                "room_sid": i.room_sid,
                "joined_at": i.joined_at,
                "left_at": i.left_at,
                "decisive": i.decisive,
            }
            for i in intervals
        ]
        if rows:
            # One executemany instead of an ORM flush of one INSERT per row: this runs
            # on every webhook. render_nulls keeps rows with and without a NULL
            # (left_at, user_id) in the same batch.
            await self.session.execute(insert(Interval).execution_options(render_nulls=True), rows)


def to_rule_evidence(row: Evidence) -> ev.Evidence:
    """The pure-rules form of a stored evidence row."""
    room_sid = row.room_sid or ""
    sid, identity = row.participant_sid or "", row.identity or ""
    match ev.EvidenceKind(row.kind):
        case ev.EvidenceKind.SESSION_CLOSED:
            return ev.SessionClosed(event_id=row.event_id, at=row.at)
        case ev.EvidenceKind.ROOM_FINISHED:
            return ev.RoomFinished(event_id=row.event_id, room_sid=room_sid, at=row.at)
        case ev.EvidenceKind.JOINED:
            return ev.ParticipantJoined(
                row.event_id, room_sid, row.at, sid, identity, decisive=row.decisive
            )
        case ev.EvidenceKind.LEFT:
            return ev.ParticipantLeft(
                row.event_id, room_sid, row.at, sid, identity, row.decisive, row.joined_at
            )
        case ev.EvidenceKind.ABORTED:
            return ev.ConnectionAborted(
                row.event_id, room_sid, row.at, sid, identity, decisive=row.decisive
            )
    raise ValueError(f"unknown evidence kind {row.kind!r}")
