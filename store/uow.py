"""The unit of work: one AsyncSession per request or sweeper tick.

    async with db.uow() as uow:
        ...
        await uow.commit()

Leaving the block without `commit()` rolls everything back. Callbacks added with
`after_commit` run only once the commit succeeded (metrics, wake-ups).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
from store.repositories.reports import ReportRepository
from store.repositories.rooms import RoomOperationRepository
from store.repositories.schedules import ScheduleRepository
from store.repositories.sessions import SessionRepository, TransitionRepository
from store.repositories.verdicts import VerdictRepository


class UnitOfWork:
    def __init__(self, maker: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._maker = maker
        self.dialect = dialect
        self._after_commit: list[Callable[[], Any]] = []

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    async def __aenter__(self) -> Self:
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

    async def commit(self) -> None:
        await self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
