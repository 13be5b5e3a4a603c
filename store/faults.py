"""What a database fault looks like, so the edges can answer 503 without SQLAlchemy.

`DATABASE_FAULTS` is the tuple of exceptions that mean "the database cannot serve
now" to the HTTP error middleware: the driver's operational and DBAPI errors, and a
connection or socket that failed under it. Catch it as a whole (`except
DATABASE_FAULTS`); anything else a query raises is a bug, not an outage.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

__all__ = ["DATABASE_FAULTS"]

DATABASE_FAULTS: tuple[type[Exception], ...] = (
    OperationalError,
    DBAPIError,
    ConnectionError,
    OSError,
)
