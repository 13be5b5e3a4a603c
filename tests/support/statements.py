"""Counting the SQL statements a piece of work sends, for "a fixed number of queries"
checks: honest, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from store.database import Database


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """Every statement the database's engines execute inside the block, in order
    (connection set-up included, so warm the pool first): the threaded one and, on a
    SQLite file, the one whose statements run on the loop."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    targets = [e.sync_engine for e in (database.engine, database.on_loop) if e is not None]
    for target in targets:
        event.listen(target, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", record)
