"""Several replicas on one PostgreSQL: concurrent sweeps, concurrent `complete` calls and
repeated ticks charge every (session, student) pair exactly once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.operations.verdicts import finalise as finish_session
from rules.actors import SERVICE
from rules.errors import IllegalTransition
from rules.lifecycle import Status
from rules.rooms import RoomOperationKind
from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from store.database import Database
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.bulk import (
    attended_rows,
    charge_rows_and_pairs,
    charged_per_subscription,
    finishes_per_session,
    insert_world,
    queued_room_operations,
    session_row,
    sessions_per_student,
)
from tests.support.databases import fresh_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SESSIONS = 2000
STUDENTS = 400
TEACHER = 1
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
SWEEP_AT = END + timedelta(minutes=10)
OFFLINE = RoomGateway(None, LIVEKIT_KEY, LIVEKIT_SECRET)


@pytest.fixture(name="pg")
async def fixture_pg(postgres_url: str) -> AsyncIterator[Database]:
    database = await fresh_postgres(postgres_url)
    yield database
    await database.dispose()


def _roster(n: int) -> list[int]:
    """Every other session is an individual one; the others are circles of three."""
    first = 1000 + (n * 3) % STUDENTS
    size = 1 if n % 2 == 0 else 3
    return [1000 + (first - 1000 + k) % STUDENTS for k in range(size)]


async def _bulk_day(database: Database) -> int:
    """2 000 sessions due at E + 10, bulk-inserted; a third of them held (teacher and
    first student joined and left), the rest READY with nobody in. Returns the pairs."""
    sessions, roster, evidence = [], [], []
    for n in range(1, SESSIONS + 1):
        held = n % 3 == 0
        code = f"QSE-1-{n:06d}"
        sessions.append(
            session_row(
                code=code,
                status=Status.ONGOING if held else Status.READY,
                start=START,
                teacher_id=TEACHER,
                created=START - timedelta(days=1),
                session_type="quran_individual" if n % 2 == 0 else "quran_circle",
                session_id=n,
            )
        )
        students = _roster(n)
        roster += [{"session_id": n, "student_id": s} for s in students]
        if held:
            evidence += attended_rows(n, code, (TEACHER, students[0]), START, END)
    await insert_world(
        database,
        created=START - timedelta(days=1),
        teachers=[TEACHER],
        students=range(1000, 1000 + STUDENTS),
        subscription_id_offset=100_000,
        sessions=sessions,
        roster=roster,
        evidence=evidence,
    )
    return len(roster)


async def _sweeps(database: Database, times: int) -> list[Any]:
    reports = []
    for _ in range(times):
        reports += await tick(database, SWEEP_AT, rooms=OFFLINE, batch_size=150)
    return reports


async def _complete_calls(database: Database, ids: list[int]) -> int:
    """`POST /sessions/{id}/complete` as the API does it: lock, finish, or 409."""
    finished = 0
    for session_id in ids:
        try:
            async with database.uow() as uow:
                session = await uow.sessions.get(session_id, for_update=True)
                assert session is not None
                await finish_session(uow, session, at=SWEEP_AT, actor=SERVICE)
                await uow.commit()
                finished += 1
        except IllegalTransition:
            pass
    return finished


class TestReplicas:
    async def test_two_sweeping_replicas_and_complete_calls_charge_every_pair_once(
        self, pg: Database, postgres_url: str
    ) -> None:
        """Two app instances sweep the same 2 000 due sessions at once, three ticks each,
        while `complete` calls race them: every session finishes once, every
        (session, student) pair has one ledger row, every subscription's usage equals
        its student's sessions, and a further tick changes nothing."""
        pairs = await _bulk_day(pg)
        replicas = [Database(postgres_url) for _ in range(2)]
        api = Database(postgres_url)
        picked = random.Random(7).sample(range(1, SESSIONS + 1), 300)
        try:
            first, second, completed = await asyncio.gather(
                _sweeps(replicas[0], 3),
                _sweeps(replicas[1], 3),
                _complete_calls(api, picked),
            )
            assert [] == await tick(pg, SWEEP_AT + timedelta(minutes=5), rooms=OFFLINE)
        finally:
            for database in (*replicas, api):
                await database.dispose()

        assert SESSIONS == len(first) + len(second) + completed
        # The replicas split the backlog (SKIP LOCKED), and never took a session twice.
        assert first and second
        assert not {r.session_id for r in first} & {r.session_id for r in second}
        finishes = await finishes_per_session(pg)
        assert {1} == set(finishes.values())
        assert SESSIONS == len(finishes)
        assert (pairs, pairs) == await charge_rows_and_pairs(pg)
        on_roster = await sessions_per_student(pg)
        assert {100_000 + s: n for s, n in on_roster.items()} == await charged_per_subscription(pg)
        assert SESSIONS == await queued_room_operations(pg, RoomOperationKind.DELETE_ROOM)
