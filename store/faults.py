"""What the database failing looks like, for the edges that must answer "retry later".

Driver and connection errors (OperationalError and IntegrityError are DBAPIErrors),
an exhausted pool, and sockets that cannot connect: the webhook endpoint answers
these with 503, which LiveKit retries.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (DBAPIError, PoolTimeout, OSError)
