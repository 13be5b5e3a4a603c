"""The migrations build exactly the schema the code declares, and unbuild it."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from store.database import Database, alembic_config
from store.schema import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


class TestMigrations:
    async def test_head_is_the_declared_schema(self, database: Database) -> None:
        """`hudur migrate` to head leaves nothing for autogenerate to add or drop."""
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
        assert [] == differences

    async def test_every_revision_goes_down_and_up_again(self, database: Database) -> None:
        """Downgrading to nothing and upgrading to head again gives the same schema."""

        def down_and_up(connection: Connection) -> list[Any]:
            config = alembic_config(str(database.engine.url))
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            command.upgrade(config, "head")
            return _differences(connection)

        async with database.engine.begin() as connection:
            differences = await connection.run_sync(down_and_up)
        assert [] == differences
