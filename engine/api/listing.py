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

from sqlalchemy import Select, and_, or_, select

from engine.api.http import bad_field
from engine.api.types import MAX_ID
from store.schema import Session, SessionStudent
from store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Cursor:
    scheduled_at: datetime | None
    id: int

    def encode(self) -> str:
        at = self.scheduled_at.isoformat() if self.scheduled_at else None
        raw = json.dumps([at, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

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


@dataclass(frozen=True, slots=True)
class SessionFilter:
    academy_id: int | None = None
    status: str | None = None
    teacher_id: int | None = None
    student_id: int | None = None
    type: str | None = None
    starts_from: datetime | None = None  # scheduled_at >= starts_from
    starts_before: datetime | None = None  # scheduled_at < starts_before
    ended_by: datetime | None = None  # ends_at <= ended_by
    after: Cursor | None = None
    limit: int = 50


def scope_window(
    scope: str, *, now: datetime, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """`(starts_from, starts_before, ended_by)` of a scope, days and weeks as the
    academy's clock has them (weeks start on Monday)."""
    if scope == "upcoming":
        return now, None, None
    if scope == "past":
        return None, None, now
    today = now.astimezone(zone).date()
    if scope == "this_week":
        today -= timedelta(days=today.weekday())
    days = 7 if scope == "this_week" else 1
    start = datetime.combine(today, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=days), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC), None


def _statement(f: SessionFilter) -> Select[Session]:
    stmt = select(Session)
    if f.academy_id is not None:
        stmt = stmt.where(Session.academy_id == f.academy_id)
    if f.status is not None:
        stmt = stmt.where(Session.status == f.status)
    if f.teacher_id is not None:
        stmt = stmt.where(Session.teacher_id == f.teacher_id)
    if f.type is not None:
        stmt = stmt.where(Session.type == f.type)
    if f.student_id is not None:
        on_roster = select(SessionStudent.session_id).where(
            SessionStudent.student_id == f.student_id
        )
        stmt = stmt.where(Session.id.in_(on_roster))
    if f.starts_from is not None:
        stmt = stmt.where(Session.scheduled_at >= f.starts_from)
    if f.starts_before is not None:
        stmt = stmt.where(Session.scheduled_at < f.starts_before)
    if f.ended_by is not None:
        stmt = stmt.where(Session.ends_at <= f.ended_by)
    if f.after is not None:
        if f.after.scheduled_at is None:
            stmt = stmt.where(Session.scheduled_at.is_(None), Session.id > f.after.id)
        else:
            stmt = stmt.where(
                or_(
                    Session.scheduled_at.is_(None),
                    Session.scheduled_at > f.after.scheduled_at,
                    and_(Session.scheduled_at == f.after.scheduled_at, Session.id > f.after.id),
                )
            )
    return stmt.order_by(Session.scheduled_at.is_(None), Session.scheduled_at, Session.id)


async def find(uow: UnitOfWork, f: SessionFilter) -> tuple[list[Session], Cursor | None]:
    """One page of sessions, and the cursor of the next page if there is one."""
    rows = list(await uow.session.scalars(_statement(f).limit(f.limit + 1)))
    page = rows[: f.limit]
    more = len(rows) > f.limit
    return page, Cursor(page[-1].scheduled_at, page[-1].id) if more else None
