"""What a database fault looks like, so callers outside store/ need no SQLAlchemy.

`DATABASE_FAULTS` is what "the database cannot serve now" means to the HTTP error
middleware and the webhook endpoint (which answers 503, so LiveKit retries): driver
and DBAPI errors (OperationalError and IntegrityError are DBAPIErrors), an exhausted
pool, and a connection or socket that failed under them. Catch it as a whole
(`except DATABASE_FAULTS`); anything else a query raises is a bug, not an outage.
`connection_lost` tells the sweeper a fault that ends its tick from one that ends
only the session it was working on. `Displaced` is the SQLite file at the
configured path no longer being the one that was opened (store/sqlite_file.py): an
OSError, so it is one of the faults, and it ends a sweeper's tick. `Taken` is a
unique index refusing a row inside `UnitOfWork.savepoint()`: not a fault, an answer
(someone else wrote that row first).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = [
    "DATABASE_FAULTS",
    "Displaced",
    "DriverFault",
    "Taken",
    "connection_lost",
    "unique_violation",
]


class Displaced(OSError):
    """The database file was removed or replaced under the running service: what it
    would write now would not survive a restart."""


class DriverFault(OSError):
    """The database driver's own error, from a statement sent to it directly, past
    SQLAlchemy, which would otherwise have wrapped it (PostgreSQL's inbox appends:
    store/postgres_appender.py). asyncpg is not imported here: a SQLite service never
    loads it."""


class Taken(Exception):
    """A unique index refused the row: another transaction wrote it first."""


# sqlite3.Error, and asyncpg's as `DriverFault` (an OSError): the inbox's appenders
# (store/appender.py, store/postgres_appender.py) speak to SQLite and to asyncpg
# directly, not through SQLAlchemy, which wraps the others.
DATABASE_FAULTS: tuple[type[BaseException], ...] = (
    DBAPIError,
    PoolTimeout,
    OSError,
    sqlite3.Error,
)


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` is the driver reporting that the connection itself is gone (the
    database went away), rather than one statement failing."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def sqlite_busy(exc: BaseException) -> bool:
    """Whether `exc` is SQLite answering SQLITE_BUSY: another connection holds a lock
    this one needs (the write lock; for a reader, rarely, during WAL recovery), and
    this one was set not to wait for it (busy timeout 0)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlite_errorcode", None)
    return (
        isinstance(orig, sqlite3.OperationalError)
        and code is not None
        and (code & 0xFF == sqlite3.SQLITE_BUSY)
    )


def unique_violation(exc: BaseException) -> bool:
    """Whether `exc` is a unique index refusing a row (PostgreSQL's 23505, SQLite's
    SQLITE_CONSTRAINT_UNIQUE), rather than another integrity error."""
    if not isinstance(exc, IntegrityError):
        return False
    orig = exc.orig
    return (
        getattr(orig, "sqlstate", None) == "23505"
        or getattr(orig, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_UNIQUE"
    )
