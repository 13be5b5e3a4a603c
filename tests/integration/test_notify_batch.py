"""Batch first (issue 14): a sweep's batch announces its transitions with a fixed
number of statements whatever its size: the endpoints, the sessions' shapes and the
outbox rows are each read or written once for the whole batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.operations.lifecycle import transition_all
from rules.actors import SWEEPER
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent
from store.database import Database
from tests.support.factories import scheduled_session, seed_world
from tests.support.receiver import SECRET
from tests.support.statements import counted

T0 = datetime(2025, 12, 1, 9, tzinfo=UTC)


async def commit_of_a_batch(database: Database, size: int, first_hour: int) -> list[str]:
    """The statements of the commit of a batch of `size` sessions made READY."""
    async with database.uow() as uow:
        ids = []
        for n in range(size):
            session = await scheduled_session(
                uow,
                now=T0,
                starts_at=T0 + timedelta(days=1, hours=first_hour, minutes=n),
                session_type=SessionType.QURAN_CIRCLE,
                students=(10, 11, 12),
            )
            ids.append(session.id)
        await uow.commit()
    async with database.uow() as uow:
        sessions = await uow.sessions.lock_many(ids, skip_locked=False)
        await transition_all(
            uow, [(s, LifecycleEvent.PREPARE) for s in sessions], at=T0, actor=SWEEPER
        )
        with counted(database) as statements:
            await uow.commit()
        ready = sum(
            1
            for m in await uow.outbox.messages()
            if m.session_id in ids and m.type == "session.ready"
        )
    assert size == ready
    return statements


class TestABatchIsAnnouncedAtOnce:
    async def test_thirty_sessions_cost_the_statements_of_one(self, database: Database) -> None:
        async with database.uow() as uow:
            await seed_world(uow, T0)
            await uow.endpoints.put(
                1,
                now=T0,
                academy_id=1,
                url="http://127.0.0.1:9/hooks",
                secret=SECRET,
                events=["*"],
                enabled=True,
            )
            await uow.commit()
        await commit_of_a_batch(database, 1, first_hour=0)  # warm the pool and caches
        one = await commit_of_a_batch(database, 1, first_hour=2)
        thirty = await commit_of_a_batch(database, 30, first_hour=4)
        assert len(one) == len(thirty), (one, thirty)
        assert 1 == sum(1 for s in thirty if s.lstrip().upper().startswith("INSERT INTO OUTBOX"))
