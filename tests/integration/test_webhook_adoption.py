"""A projector batch racing a session's create (issue 11): a batch that looked its
rooms up just before the create committed stores that room's evidence as orphans;
the create's adoption must still get it. PostgreSQL (SQLite has one writer at a
time, so the two never overlap there)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from engine.operations import sessions as session_operations
from engine.operations.projection import project
from rules.actors import SERVICE
from rules.codes import SessionType
from store.database import Database
from tests.support.factories import seed_world
from tests.support.livekit import encode, participant_info, room_info, webhook_event
from webhooks.envelope import read_envelope

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
ROOM = "QSE-1-000001"


def _join_body() -> bytes:
    """The teacher's join at S - 5 min in the room the session will have."""
    joined_at = START - timedelta(minutes=5)
    return encode(
        webhook_event(
            "participant_joined",
            created_at=joined_at + timedelta(seconds=1),
            room=room_info(ROOM),
            participant=participant_info("PA_1", "5", joined_at=joined_at),
        )
    )


class TestAdoptionRace:
    @pytest.mark.parametrize("backend", ["postgres"], indirect=True)
    async def test_evidence_a_batch_stored_as_orphans_while_the_session_was_created_is_adopted(
        self, database: Database, backend: str
    ) -> None:
        """A projector batch looks its rooms up (no session yet) and is held there;
        meanwhile the session is created. Whichever commits first, the join ends up
        in the session's evidence and intervals."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            await uow.commit()
        body = _join_body()
        async with database.uow() as uow:
            await uow.inbox.append([read_envelope(body).stored(body, now=NOW)])
            await uow.commit()

        looked_up, go = asyncio.Event(), asyncio.Event()

        async def batch() -> None:
            async with database.uow() as uow:
                real = uow.sessions.ids_by_code

                async def held(codes: list[str]) -> dict[str, int]:
                    found = await real(codes)
                    looked_up.set()
                    await go.wait()
                    return found

                uow.sessions.ids_by_code = held  # type: ignore[method-assign]
                report = await project(uow, now=NOW, allow_as_of=True)
                assert report is not None and 1 == report.orphans
                await uow.commit()

        async def create() -> int:
            async with database.uow() as uow:
                created = await session_operations.create(
                    uow,
                    session_operations.CreateSession(
                        actor=SERVICE,
                        academy_id=1,
                        session_type=SessionType.QURAN_INDIVIDUAL,
                        title="Hifz",
                        duration_minutes=60,
                        teacher_id=5,
                        student_ids=(10,),
                    ),
                    at=NOW,
                )
                await uow.commit()
                return created.session.id

        projecting = asyncio.create_task(batch())
        await asyncio.wait_for(looked_up.wait(), 10)
        creating = asyncio.create_task(create())
        # Let the create go as far as it can while the batch is held: to its end, or
        # until it waits on a lock the batch holds.
        await _until(lambda: _done_or_waiting(database, creating), bound=10)
        go.set()
        await asyncio.wait_for(projecting, 10)
        session_id = await asyncio.wait_for(creating, 10)

        async with database.uow() as uow:
            evidence = await uow.evidence.for_session(session_id)
            intervals = await uow.intervals.for_session(session_id)
            session = await uow.sessions.get(session_id)
            assert session is not None and ROOM == session.session_code
        assert (1, 1) == (len(evidence), len(intervals))


async def _done_or_waiting(database: Database, task: asyncio.Task[int]) -> bool:
    if task.done():
        return True
    async with database.engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def _until(condition: Callable[[], Awaitable[bool]], *, bound: float) -> None:
    deadline = asyncio.get_running_loop().time() + bound
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)
