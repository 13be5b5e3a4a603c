"""The operations tier's world: built through the engine's operations, on a real
unit of work, with no HTTP in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.operations import lifecycle
from engine.operations.projection import project
from engine.operations.sessions import cancel
from rules.actors import SERVICE, Actor
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent
from rules.settings import RuleSettings
from store.database import Database
from store.schema import Session
from store.uow import UnitOfWork
from tests.support.factories import seed_world
from webhooks.envelope import read_envelope

START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
TEACHER = 5
STUDENT = 10


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


async def world(database: Database) -> None:
    """The academy of tests.support.factories: a teacher (5) and students 10-12."""
    async with database.uow() as uow:
        await seed_world(uow, START - timedelta(days=1))
        await uow.commit()


async def scheduled(
    uow: UnitOfWork,
    *,
    session_type: SessionType = SessionType.QURAN_INDIVIDUAL,
    students: tuple[int, ...] = (STUDENT,),
) -> Session:
    """A lesson 10:00-11:00 made as a recurring schedule makes it: born SCHEDULED."""
    return await lifecycle.create(
        uow,
        LifecycleEvent.GENERATE,
        at=START - timedelta(days=1),
        actor=Actor.schedule(1),
        academy_id=1,
        session_type=session_type,
        title="Hifz",
        duration_minutes=60,
        teacher_id=TEACHER,
        student_ids=students,
        scheduled_at=START,
        ends_at=END,
        settings=RuleSettings().to_dict(),
    )


async def hear(database: Database, *bodies: bytes, now: datetime = END) -> None:
    """LiveKit webhooks stored, each in its own transaction as the endpoint does, then
    projected (as where `as_of` is allowed: the events are dated in the tests' own
    time)."""
    for body in bodies:
        async with database.uow() as uow:
            await uow.inbox.append([read_envelope(body).stored(body, now=now)])
            await uow.commit()
    async with database.uow() as uow:
        while await project(uow, now=now, allow_as_of=True) is not None:
            pass
        await uow.commit()


__all__ = ["SERVICE", "at", "cancel", "hear", "scheduled", "world"]
