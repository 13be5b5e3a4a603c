"""Putting a session into its teacher's time: shared by scheduling by hand and make-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.wire import wire_time
from rules.errors import Conflict
from rules.settings import resolve_settings
from store.schema import Session
from store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Slot:
    """When a session takes place and the academy's rules frozen for it."""

    scheduled_at: datetime
    ends_at: datetime
    settings: dict[str, Any]

    def fields(self) -> dict[str, Any]:
        return {
            "scheduled_at": self.scheduled_at,
            "ends_at": self.ends_at,
            "settings": self.settings,
        }


async def claim(
    uow: UnitOfWork,
    *,
    academy_id: int,
    teacher_id: int,
    session_type: str,
    starts_at: datetime,
    duration_minutes: int,
    exclude_id: int | None,
    current_status: str,
) -> Slot:
    """The session's `scheduled_at`, `ends_at` and its academy's rules frozen as
    `settings`, once the teacher is free then; else 409 naming the session in the way."""
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    await uow.users.lock(teacher_id)
    other = await uow.sessions.teacher_overlap(
        teacher_id, starts_at, ends_at, exclude_id=exclude_id
    )
    if other is not None:
        raise Conflict(
            f"the teacher already has session {other.session_code} "
            f"from {wire_time(other.scheduled_at)} to {wire_time(other.ends_at)}",
            details={
                "current_status": current_status,
                "conflicting_session_id": other.id,
                "conflicting_session_code": other.session_code,
            },
        )
    academy = await uow.academies.get(academy_id)
    settings = resolve_settings(academy.rules if academy else {}, session_type)
    return Slot(scheduled_at=starts_at, ends_at=ends_at, settings=settings.to_dict())


async def claim_like(
    uow: UnitOfWork, session: Session, starts_at: datetime, *, exclude_id: int | None
) -> Slot:
    """`claim` for a session shaped like `session` (its academy, teacher, type and
    duration): the session itself when scheduled, its original for a make-up."""
    return await claim(
        uow,
        academy_id=session.academy_id,
        teacher_id=session.teacher_id,
        session_type=session.type,
        starts_at=starts_at,
        duration_minutes=session.duration_minutes,
        exclude_id=exclude_id,
        current_status=session.status,
    )
