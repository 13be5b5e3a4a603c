"""Two replicas on one PostgreSQL share the outbox (CONTRACT 6): every message is
delivered, and none is ever in flight twice at once (the receiver counts, per
`webhook-id`, how many POSTs of it it is answering at the same moment)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from engine.app import system_clock
from engine.notify.worker import Notifier
from engine.operations import lifecycle
from rules.actors import SERVICE
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent
from store.database import Database
from tests.support.databases import fresh_postgres
from tests.support.factories import seed_world
from tests.support.receiver import SECRET, Receiver

T0 = datetime(2025, 12, 1, 9, tzinfo=UTC)
SESSIONS = 60


async def plan_and_cancel(database: Database, receiver: Receiver) -> None:
    """An endpoint, then 60 sessions generated and cancelled: 120 messages, two per
    session, written in transactions of ten sessions."""
    async with database.uow() as uow:
        await seed_world(uow, T0)
        await uow.endpoints.put(
            1, now=T0, academy_id=1, url=receiver.url, secret=SECRET, events=["*"], enabled=True
        )
        await uow.commit()
    for batch in range(SESSIONS // 10):
        async with database.uow() as uow:
            for n in range(10):
                session = await lifecycle.create(
                    uow,
                    LifecycleEvent.GENERATE,
                    at=T0,
                    actor=SERVICE,
                    academy_id=1,
                    session_type=SessionType.QURAN_INDIVIDUAL,
                    title=f"Lesson {batch}-{n}",
                    duration_minutes=30,
                    teacher_id=5,
                    student_ids=[10],
                    scheduled_at=T0 + timedelta(days=1, hours=batch, minutes=3 * n),
                )
                await lifecycle.transition(
                    uow, session, LifecycleEvent.CANCEL, at=T0, actor=SERVICE
                )
            await uow.commit()


async def all_recorded(workers: list[Notifier], count: int) -> None:
    """Return once the workers together have written `count` outcomes back."""
    while sum(w.recorded for w in workers) < count:
        waits = [asyncio.ensure_future(w.wait_recorded(w.recorded + 1)) for w in workers]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()


class TestTwoReplicas:
    async def test_two_workers_deliver_every_message_and_none_twice_at_once(
        self, postgres_url: str
    ) -> None:
        writer = await fresh_postgres(postgres_url)
        replicas = [Database(postgres_url), Database(postgres_url)]
        receiver = await Receiver.start(SECRET, delay=0.01)
        workers = [
            Notifier(
                lambda d=d: d, clock=system_clock, name=f"replica-{i}", batch=4, max_in_flight=4
            )
            for i, d in enumerate(replicas)
        ]
        try:
            for worker in workers:
                worker.start()
                writer.outbox_listeners.add(worker.wake)  # both hear each commit, and race
            await plan_and_cancel(writer, receiver)
            await receiver.wait_until(lambda r: len(r.delivered) >= 2 * SESSIONS, within=60)
            await asyncio.wait_for(all_recorded(workers, 2 * SESSIONS), 30)
            async with writer.uow() as uow:
                states = Counter(m.state for m in await uow.outbox.messages())
        finally:
            for worker in workers:
                await worker.stop()
            await receiver.stop()
            for database in (writer, *replicas):
                await database.dispose()
        assert {"delivered": 2 * SESSIONS} == dict(states)
        assert {1} == set(receiver.most_at_once.values())
        assert 2 * SESSIONS == len(receiver.arrivals) == len(receiver.delivered)
        assert all(w.attempts > 0 for w in workers), [w.attempts for w in workers]
        by_session: dict[int, list[str]] = {}
        for payload in receiver.delivered.values():
            by_session.setdefault(payload["data"]["id"], []).append(payload["type"])
        assert {("session.scheduled", "session.cancelled")} == {
            tuple(t) for t in by_session.values()
        }
