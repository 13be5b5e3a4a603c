"""What a database fault looks like, so callers outside store/ need no SQLAlchemy."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

__all__ = ["connection_lost"]


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` is the driver reporting that the connection itself is gone (the
    database went away), rather than one statement failing."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
