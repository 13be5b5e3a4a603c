"""Recurring schedules and the slots generated (or skipped) from them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.lifecycle import NOT_STARTED
from store.repositories.base import insert_ignore, upsert
from store.schema import Schedule, ScheduleSlot, Session


class ScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, schedule_id: int, *, for_update: bool = False, skip_locked: bool = False
    ) -> Schedule | None:
        stmt = select(Schedule).where(Schedule.id == schedule_id)
        if for_update:
            stmt = stmt.with_for_update(skip_locked=skip_locked)
        return await self.session.scalar(stmt.execution_options(populate_existing=True))

    async def upsert(self, schedule_id: int, *, now: datetime, **values: Any) -> Schedule:
        """Create or replace a schedule; a PUT brings a deleted one back to life."""
        row = {
            "id": schedule_id,
            **values,
            "active": True,
            "deleted_at": None,
            "created_at": now,
            "updated_at": now,
        }
        await self.session.execute(upsert(self.session, Schedule, row, ["id"]))
        schedule = await self.get(schedule_id)
        assert schedule is not None
        return schedule

    async def active(self, academy_id: int | None = None) -> list[Schedule]:
        """The active schedules, of one academy when `academy_id` is given."""
        stmt = select(Schedule).where(Schedule.active.is_(True))
        if academy_id is not None:
            stmt = stmt.where(Schedule.academy_id == academy_id)
        return list(await self.session.scalars(stmt.order_by(Schedule.id)))

    async def slot_starts_since(
        self, schedule_ids: Sequence[int], since: datetime
    ) -> dict[int, list[tuple[datetime, bool]]]:
        """Per schedule, its slots from `since` on as (slot_start, generated)."""
        result: dict[int, list[tuple[datetime, bool]]] = {sid: [] for sid in schedule_ids}
        if not schedule_ids:
            return result
        rows = await self.session.execute(
            select(ScheduleSlot.schedule_id, ScheduleSlot.slot_start, ScheduleSlot.session_id)
            .where(
                ScheduleSlot.schedule_id.in_(list(schedule_ids)),
                ScheduleSlot.slot_start >= since,
            )
            .order_by(ScheduleSlot.schedule_id, ScheduleSlot.slot_start)
        )
        for schedule_id, slot_start, session_id in rows:
            result[schedule_id].append((slot_start, session_id is not None))
        return result

    async def slot_at(self, schedule_id: int, slot_start: datetime) -> ScheduleSlot | None:
        """The schedule's slot starting at `slot_start`, if it was recorded."""
        return await self.session.scalar(
            select(ScheduleSlot).where(
                ScheduleSlot.schedule_id == schedule_id, ScheduleSlot.slot_start == slot_start
            )
        )

    async def sessions_of(self, schedule_id: int) -> list[Session]:
        """Every session generated from the schedule, whatever its status, by start."""
        rows = await self.session.scalars(
            select(Session).where(Session.schedule_id == schedule_id).order_by(Session.scheduled_at)
        )
        return list(rows)

    async def claim_slot(
        self, schedule_id: int, slot_start: datetime, *, now: datetime
    ) -> int | None:
        """Record the slot; its id, or None if it was recorded before (by anyone)."""
        slot_id = await self.session.scalar(
            insert_ignore(self.session, ScheduleSlot, ["schedule_id", "slot_start"])
            .values(schedule_id=schedule_id, slot_start=slot_start, created_at=now)
            .returning(ScheduleSlot.id)
        )
        return None if slot_id is None else int(slot_id)

    async def resolve_slot(
        self, slot_id: int, *, session_id: int | None = None, skipped_reason: str | None = None
    ) -> None:
        slot = await self.session.get(ScheduleSlot, slot_id)
        assert slot is not None
        slot.session_id = session_id
        slot.skipped_reason = skipped_reason

    async def upcoming_sessions(
        self, schedule_id: int, after: datetime, *, for_update: bool = False
    ) -> list[Session]:
        """Generated sessions of the schedule that start after `after` and have not started."""
        stmt = (
            select(Session)
            .where(
                Session.schedule_id == schedule_id,
                Session.is_makeup_session.is_(False),
                # Not started yet: what deleting or reshaping a schedule may still withdraw.
                Session.status.in_(sorted(status.value for status in NOT_STARTED)),
                Session.scheduled_at > after,
            )
            .order_by(Session.scheduled_at, Session.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return list(await self.session.scalars(stmt.execution_options(populate_existing=True)))

    async def forget_slots(
        self, schedule_id: int, *, after: datetime, session_ids: Sequence[int]
    ) -> None:
        """Drop future slots that were skipped or whose sessions were withdrawn, so a
        new pattern may generate them afresh (and they no longer count for the month)."""
        await self.session.execute(
            delete(ScheduleSlot).where(
                ScheduleSlot.schedule_id == schedule_id,
                ScheduleSlot.slot_start > after,
                ScheduleSlot.session_id.is_(None) | ScheduleSlot.session_id.in_(list(session_ids)),
            )
        )
