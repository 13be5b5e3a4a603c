"""Column types shared by the schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL keeps `timestamptz`; SQLite has no zone, so values are stored as
    naive UTC in one fixed format, which also keeps them ordered as text.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"UTCDateTime needs an aware datetime, got {value!r}")
        moment = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return moment.replace(tzinfo=None)
        return moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = cast(datetime, value)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    # On SQLite the two steps (this type's, then SQLAlchemy's DATETIME formatting
    # through a dict and `%`) are one C call each way: a sweep binds a dozen datetimes
    # per session and a verdict read parses a hundred. The text is the one SQLAlchemy
    # stores (`YYYY-MM-DD HH:MM:SS.ffffff`), so old and new rows compare as before.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: Any) -> str | None:
            if value is None:
                return None
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(f"UTCDateTime needs an aware datetime, got {value!r}")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            if moment.tzinfo is None:
                return cast(datetime, moment.replace(tzinfo=UTC))
            return cast(datetime, moment.astimezone(UTC))

        return process
