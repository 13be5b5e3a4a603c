"""The contract's wire forms that every edge shares (CONTRACT 1: times in UTC with a `Z`)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_z", "wire_time"]


def iso_z(moment: datetime) -> str:
    """`2025-12-01T10:00:00Z`: the contract's wire form of a time."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wire_time(moment: datetime | None) -> str | None:
    """`iso_z` of a time, or None."""
    return iso_z(moment) if moment else None
