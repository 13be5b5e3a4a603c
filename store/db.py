"""`Database`: the one long-lived handle on the store, owned by the app's cleanup_ctx."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from store.database import create_engine, migrate, ping, sessionmaker
from store.uow import UnitOfWork


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, **engine_kwargs)
        self._maker = sessionmaker(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._maker, self.dialect)

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def ping(self) -> None:
        await ping(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()
