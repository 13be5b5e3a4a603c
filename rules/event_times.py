"""Which of a LiveKit event's own times are believed (CONTRACT 3).

A join's time is the participant's `joinedAt(Ms)`, but LiveKit sends the join
within seconds of it: one more than `JOIN_TRUST` away from the event's `createdAt`
is a broken clock, not a time, and `createdAt` stands in for it. An event dated
more than `RECEIPT_LEAD` after it was received cannot have happened yet: where
`as_of` is not allowed (production), it is stored and decides nothing. Where it is
allowed (tests, replays), events are dated in a simulated time and every one counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rules._utc import require_utc

__all__ = ["JOIN_TRUST", "RECEIPT_LEAD", "believed_join", "decides"]

JOIN_TRUST = timedelta(minutes=10)
RECEIPT_LEAD = timedelta(minutes=5)


def believed_join(joined_at: datetime | None, created_at: datetime) -> datetime:
    """The time a join is taken to have happened: `joined_at` within `JOIN_TRUST` of
    the event's `created_at` (either side, bounds included), else `created_at`."""
    require_utc("joined_at", joined_at)
    require_utc("created_at", created_at)
    if joined_at is None or abs(joined_at - created_at) > JOIN_TRUST:
        return created_at
    return joined_at


def decides(created_at: datetime, received_at: datetime | None) -> bool:
    """Whether an event created at `created_at` may decide anything, given when it was
    received; `received_at` None means no receipt rule applies (`as_of` is allowed)."""
    require_utc("created_at", created_at)
    require_utc("received_at", received_at)
    return received_at is None or created_at - received_at <= RECEIPT_LEAD
