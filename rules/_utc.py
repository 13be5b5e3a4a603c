"""The one guard for the rule that every datetime in ``rules/`` is aware UTC.

Naive datetimes compare happily with each other, so a naive one slipping into
evidence would give plausible but shifted intervals; failing at construction is
cheaper than finding that later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["require_utc"]

_ZERO = timedelta(0)


def require_utc(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() != _ZERO:
        raise ValueError(f"{name} must be a timezone-aware UTC datetime, got {value!r}")
