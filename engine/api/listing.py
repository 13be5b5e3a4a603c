"""`GET /v1/sessions`: filters, scopes in the academy's time zone, keyset paging.

Sessions are listed by `(scheduled_at, id)`, unscheduled ones (no `scheduled_at`)
last; the cursor is that pair of the last row, base64url-encoded JSON, so a page
never skips or repeats a row when others are added meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.api.http import bad_field
from engine.api.types import MAX_ID
from store.repositories.sessions import SessionFilter
from store.schema import Session
from store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Cursor:
    scheduled_at: datetime | None
    id: int

    def encode(self) -> str:
        at = self.scheduled_at.isoformat() if self.scheduled_at else None
        raw = json.dumps([at, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def keyset(self) -> tuple[datetime | None, int]:
        """The `(scheduled_at, id)` the next page starts after."""
        return self.scheduled_at, self.id

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, row_id = json.loads(raw)
            moment = None if at is None else datetime.fromisoformat(at)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(at)
            if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 <= row_id <= MAX_ID:
                raise ValueError(row_id)
            if moment is not None:
                moment = moment.astimezone(UTC)
            return cls(moment, row_id)
        except (binascii.Error, ValueError, TypeError, OverflowError):
            raise bad_field("cursor", "not a cursor this service handed out") from None


def scope_window(
    scope: str, *, now: datetime, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """`(starts_from, starts_before, ended_by)` of a scope, days and weeks as the
    academy's clock has them (weeks start on Monday); `upcoming` is no window but
    `SessionFilter.upcoming_at`."""
    if scope == "upcoming":
        return None, None, None
    if scope == "past":
        return None, None, now
    today = now.astimezone(zone).date()
    if scope == "this_week":
        today -= timedelta(days=today.weekday())
    days = 7 if scope == "this_week" else 1
    start = datetime.combine(today, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=days), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC), None


async def find(uow: UnitOfWork, f: SessionFilter) -> tuple[list[Session], Cursor | None]:
    """One page of sessions, and the cursor of the next page if there is one."""
    rows = await uow.sessions.listed(f)
    page = rows[: f.limit]
    more = len(rows) > f.limit
    return page, Cursor(page[-1].scheduled_at, page[-1].id) if more else None
