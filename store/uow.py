"""The unit of work: one AsyncSession per request or sweeper tick.

    async with db.uow() as uow:
        ...
        await uow.commit()

Leaving the block without `commit()` rolls everything back. Callbacks added with
`after_commit` run only once the commit succeeded (metrics, wake-ups); those added
with `before_commit` run inside the transaction just before it commits, once per key
(the outbox: a transaction's messages written in one statement, in that transaction). Nothing may
be acknowledged unless it is durable: `commit()` asks `ensure_durable()` before and
after (SQLite: is the file at the path still the one written to?), and a caller
that answers without committing (a duplicate) asks it itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.faults import Taken, unique_violation
from store.repositories.assessing import AssessingRepository
from store.repositories.audit import AuditRepository
from store.repositories.charges import ChargeRepository
from store.repositories.directory import (
    AcademyRepository,
    SubscriptionRepository,
    UserRepository,
)
from store.repositories.evidence import EvidenceRepository
from store.repositories.inbox import InboxRepository
from store.repositories.intervals import IntervalRepository
from store.repositories.notifications import EndpointRepository, OutboxRepository
from store.repositories.projection import ProjectionRepository
from store.repositories.reports import ReportRepository
from store.repositories.rooms import RoomOperationRepository
from store.repositories.schedules import ScheduleRepository
from store.repositories.sessions import SessionRepository
from store.repositories.transitions import TransitionRepository
from store.repositories.verdicts import VerdictRepository


class UnitOfWork:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        dialect: str,
        *,
        admit: Callable[[], Awaitable[int]] | None = None,
        confirm: Callable[[int], None] | None = None,
        outbox_written: Callable[[], None] | None = None,
    ) -> None:
        self._maker = maker
        self.dialect = dialect
        self._after_commit: list[Callable[[], Any]] = []
        self._before_commit: dict[str, Callable[[], Awaitable[None]]] = {}
        # What callers keep for this transaction under their own key (the outbox's
        # messages waiting for the commit).
        self.kept: dict[str, Any] = {}
        self._outbox_written = outbox_written
        # The database's generation check (store/sqlite_file.py), when it has one.
        self._admit, self._confirm = admit, confirm
        self._generation = 0

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    async def __aenter__(self) -> Self:
        if self._admit is not None:
            self._generation = await self._admit()
        self.session = session = self._maker()
        self.academies = AcademyRepository(session)
        self.users = UserRepository(session)
        self.subscriptions = SubscriptionRepository(session)
        self.sessions = SessionRepository(session)
        self.transitions = TransitionRepository(session)
        self.inbox = InboxRepository(session)
        self.evidence = EvidenceRepository(session)
        self.intervals = IntervalRepository(session)
        self.reports = ReportRepository(session)
        self.audit = AuditRepository(session)
        self.charges = ChargeRepository(session)
        self.rooms = RoomOperationRepository(session)
        self.schedules = ScheduleRepository(session)
        self.verdicts = VerdictRepository(session)
        self.assessing = AssessingRepository(session)
        self.projection = ProjectionRepository(session)
        self.endpoints = EndpointRepository(session)
        self.outbox = OutboxRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    def after_commit(self, callback: Callable[[], Any]) -> None:
        self._after_commit.append(callback)

    def before_commit(self, key: str, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` in the transaction just before it commits; once, however
        often it is registered under `key`."""
        self._before_commit.setdefault(key, callback)

    def outbox_written(self) -> None:
        """Messages were written to the outbox: wake this process's notify workers
        once the commit succeeds."""
        if self._outbox_written is not None:
            self.after_commit(self._outbox_written)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Run the block in a savepoint: when a unique index refuses one of its rows,
        only the block is undone and `Taken` raised, so the transaction goes on (and
        can read the row that won)."""
        try:
            async with self.session.begin_nested():
                yield
        except IntegrityError as exc:
            if not unique_violation(exc):
                raise
            raise Taken(str(exc.orig)) from exc

    def ensure_durable(self) -> None:
        """Raise a database fault (store.faults.Displaced) if what this unit of work
        reads and writes would not survive a restart."""
        if self._confirm is not None:
            self._confirm(self._generation)

    async def commit(self) -> None:
        while self._before_commit:  # a callback may register another
            key = next(iter(self._before_commit))
            await self._before_commit.pop(key)()
        self.ensure_durable()
        await self.session.commit()
        self.ensure_durable()  # displaced while committing: that commit will not last
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
