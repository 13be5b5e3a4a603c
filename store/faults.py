"""What a database fault looks like, so the edges can answer 503 without SQLAlchemy.

`DATABASE_FAULTS` is what "the database cannot serve now" means to the HTTP error
middleware and the webhook endpoint (which answers 503, so LiveKit retries): driver
and DBAPI errors (OperationalError and IntegrityError are DBAPIErrors), an exhausted
pool, and a connection or socket that failed under them. Catch it as a whole
(`except DATABASE_FAULTS`); anything else a query raises is a bug, not an outage.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["DATABASE_FAULTS"]

DATABASE_FAULTS: tuple[type[BaseException], ...] = (DBAPIError, PoolTimeout, OSError)
