"""Dialect-aware statements shared by the repositories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def on_postgres(session: AsyncSession) -> bool:
    """Whether `session` is bound to PostgreSQL (else SQLite, the other backend)."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def _insert(session: AsyncSession, model: Any) -> Any:
    if on_postgres(session):
        return postgresql.insert(model)
    return sqlite.insert(model)


def insert_ignore(session: AsyncSession, model: Any, keys: Sequence[str]) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING, on either backend."""
    return _insert(session, model).on_conflict_do_nothing(index_elements=list(keys))  # type: ignore[no-any-return]


def upsert(
    session: AsyncSession,
    model: Any,
    values: Mapping[str, Any],
    keys: Sequence[str],
    *,
    keep: Sequence[str] = ("created_at",),
) -> Insert:
    """INSERT … ON CONFLICT (keys) DO UPDATE every column except keys and `keep`."""
    stmt = _insert(session, model).values(**values)
    update = {k: stmt.excluded[k] for k in values if k not in keys and k not in keep}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=update)  # type: ignore[no-any-return]


def table_of(model: Any) -> Table:
    """The Core table of a mapped class: statements on it skip the ORM's per-row work
    (bulk inserts and updates of a sweep's batch)."""
    return model.__table__  # type: ignore[no-any-return]


def _arrays(table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> Any:
    """PostgreSQL: the rows as one array per column, unnested into a derived table."""
    arrays = [
        bindparam(
            f"a_{name}", [row[name] for row in rows], type_=postgresql.ARRAY(table.c[name].type)
        )
        for name in names
    ]
    return func.unnest(*arrays).table_valued(*names).render_derived()


async def insert_many(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` (each with the same keys) in one statement: on PostgreSQL an INSERT
    … SELECT FROM unnest(arrays), one execution however many rows (an executemany is
    one execution a row there: the projector's evidence and intervals were a third of
    its database's work at the ingest benchmark's peak); elsewhere an executemany of
    one INSERT, NULLs rendered so that rows with and without them share it."""
    if not rows:
        return
    if on_postgres(session):
        names = list(rows[0])
        given = _arrays(table, names, rows)
        await session.execute(insert(table).from_select(names, select(*given.c)))
        return
    await session.execute(insert(table).execution_options(render_nulls=True), rows)


async def update_by_id(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Set `columns` of many rows of `table`, each `rows` item giving its `id` and their
    values, in one statement: on PostgreSQL an UPDATE … FROM unnest(arrays) (one
    execution, however many rows); elsewhere an executemany of one cached UPDATE."""
    if not rows:
        return
    if on_postgres(session):
        given = _arrays(table, ["id", *columns], rows)
        await session.execute(
            update(table)
            .where(table.c.id == given.c.id)
            .values({name: given.c[name] for name in columns})
        )
        return
    stmt = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in columns})
    )
    await session.execute(
        stmt, [{f"b_{name}": row[name] for name in ("id", *columns)} for row in rows]
    )
