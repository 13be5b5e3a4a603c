"""`hudur serve`'s migration, in a process of its own (`python -m engine.migrate_child`,
the database URL in `HUDUR_DATABASE_URL` as `serve` resolved it): Alembic, its
templates and the migration scripts (~11 MB) then never stay in the serving
process's memory, and this entry point loads nothing else of the engine."""

from __future__ import annotations

import asyncio
import os

from store.database import Database


async def migrate(url: str) -> None:
    database = Database(url)
    try:
        await database.migrate()
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(migrate(os.environ["HUDUR_DATABASE_URL"]))
