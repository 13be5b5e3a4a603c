"""The projector's tracking position over the inbox (one row per projection name)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.base import insert_ignore
from store.schema import ProjectionPosition, WebhookEvent
from store.spool import MARK_PREFIX, SPOOL_IDENTITY, SPOOLED, SPOOLED_SESSION

PRESENCE = "presence"


class Backlog(NamedTuple):
    """What of the inbox a projection has not read yet."""

    position: int
    newest: int  # the highest inbox id committed (0: empty)
    rows: int
    oldest_received_at: datetime | None


def spool_mark_name() -> Any:
    """The name the database keeps the spool's mark under ("spool:<its identity>")."""
    return literal(MARK_PREFIX, String) + select(SPOOL_IDENTITY.c.name).scalar_subquery()


def spool_mark() -> Any:
    """The highest spool id moved into the inbox (NULL before the first move)."""
    return (
        select(ProjectionPosition.position)
        .where(ProjectionPosition.name == spool_mark_name())
        .scalar_subquery()
    )


def spool_waiting() -> Any:
    """Whether the spool holds rows not yet moved into the inbox."""
    newest = select(func.max(SPOOLED.c.id)).scalar_subquery()
    return func.coalesce(newest, 0) > func.coalesce(spool_mark(), 0)


def spool_unmoved() -> Any:
    """The condition on the spool's rows not yet moved into the inbox."""
    return SPOOLED.c.id > func.coalesce(spool_mark(), 0)


def position_columns(name: str = PRESENCE, *, spooled: bool = False) -> tuple[Any, Any]:
    """(position, newest inbox id) as two scalar subqueries: a read that puts them in
    its own first statement learns from the same snapshot whether it is fresh.
    `spooled` (the session's connections have SQLite's spool attached): rows waiting
    there count as one more inbox id, so the read is not fresh."""
    newest: Any = select(func.max(WebhookEvent.id)).scalar_subquery()
    if spooled:
        newest = case((spool_waiting(), func.coalesce(newest, 0) + 1), else_=newest)
    return (
        select(ProjectionPosition.position)
        .where(ProjectionPosition.name == name)
        .scalar_subquery(),
        newest,
    )


# Built once: the fresh-read check runs before every API read, and a scrape reads the
# backlog; building a statement costs more than SQLAlchemy's cached compile of it.
@cache
def _positions(name: str, spooled: bool) -> Any:
    return select(*position_columns(name, spooled=spooled))


_UNREAD = select(func.count(), func.min(WebhookEvent.received_at)).where(
    WebhookEvent.id > bindparam("position")
)

_SPOOL_UNREAD = select(func.count(), func.min(SPOOLED.c.received_at)).where(spool_unmoved())


def is_spooled(session: AsyncSession) -> bool:
    return bool(session.info.get(SPOOLED_SESSION))


def projected(position: int | None, newest: int | None) -> bool:
    """Whether every inbox row up to `newest` is reflected in what is derived."""
    return (position or 0) >= (newest or 0)


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hold(self, name: str = PRESENCE) -> int:
        """The position, its row locked until this transaction ends: replicas sharing a
        PostgreSQL database project one batch at a time, none twice (the next one
        reads the position the last one committed). SQLite's BEGIN IMMEDIATE already
        makes this transaction the only writer."""
        held = (
            select(ProjectionPosition.position)
            .where(ProjectionPosition.name == name)
            .with_for_update()
        )
        position = await self.session.scalar(held)
        if position is None:
            # The row is missing (a wiped database): made once, whoever comes first.
            await self.session.execute(
                insert_ignore(self.session, ProjectionPosition, ["name"]).values(
                    name=name, position=0
                )
            )
            position = await self.session.scalar(held)
        return int(position or 0)

    async def current(self, name: str = PRESENCE) -> int:
        """The position, read without a lock."""
        position = await self.session.scalar(
            select(ProjectionPosition.position).where(ProjectionPosition.name == name)
        )
        return int(position or 0)

    async def advance(self, position: int, name: str = PRESENCE) -> None:
        await self.session.execute(
            update(ProjectionPosition)
            .where(ProjectionPosition.name == name)
            .values(position=position)
        )

    async def positions(self, name: str = PRESENCE) -> tuple[int, int]:
        """(position, newest inbox id) in one read, without a lock: whether a reader
        must wait for the projection (rows waiting in the spool count as one more id:
        `position_columns`)."""
        row = (await self.session.execute(_positions(name, is_spooled(self.session)))).one()
        return int(row[0] or 0), int(row[1] or 0)

    async def backlog(self, name: str = PRESENCE) -> Backlog:
        """What the projection has not read yet, the spool's rows not yet moved
        included."""
        position, newest = await self.positions(name)
        rows, oldest = (await self.session.execute(_UNREAD, {"position": position})).one()
        rows = int(rows or 0)
        if is_spooled(self.session):
            waiting, spool_oldest = (await self.session.execute(_SPOOL_UNREAD)).one()
            rows += int(waiting or 0)
            if spool_oldest is not None:
                oldest = spool_oldest if oldest is None else min(oldest, spool_oldest)
        return Backlog(position, newest, rows, oldest)
