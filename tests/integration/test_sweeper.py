"""The sweeper's tick on real databases: finding due sessions, paging, settings, failures,
and the background loop of `hudur serve`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from engine.app import create_app
from engine.keys import SWEEPER
from engine.settings import Settings
from rules.codes import SessionType
from rules.lifecycle import Status
from rules.settings import RuleSettings
from scheduler.loop import Sweeper
from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from store.database import Database
from store.repositories.due import due_statement
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.bulk import insert_sessions, query_plan, session_row
from tests.support.clock import ManualClock
from tests.support.factories import TEACHER_ID, scheduled_session, seed_world

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
OFFLINE = RoomGateway(None, LIVEKIT_KEY, LIVEKIT_SECRET)


async def _plan(database: Database, *starts: datetime, **fields: Any) -> list[int]:
    async with database.uow() as uow:
        if await uow.academies.get(1) is None:
            await seed_world(uow, NOW)
        ids = []
        for start in starts:
            session = await scheduled_session(uow, now=NOW, starts_at=start, **fields)
            ids.append(session.id)
        await uow.commit()
        return ids


async def _statuses(database: Database, ids: list[int]) -> list[str]:
    async with database.uow() as uow:
        return [(await uow.sessions.get(i)).status for i in ids]  # type: ignore[union-attr]


async def _plan_a_year_of_history(database: Database) -> None:
    """A year of finished lessons and a term of planned ones, with fresh statistics: the
    shape a sweeper's query plan is chosen for in production."""
    await _plan(database, START)
    finished = [Status.COMPLETED] * 8 + [Status.ABSENT, Status.CANCELLED]
    rows = [
        session_row(
            code=f"HIST-{n}",
            status=finished[n % 10],
            start=START - timedelta(hours=3 * (n + 1)),
            teacher_id=TEACHER_ID,
            created=NOW,
        )
        for n in range(3000)
    ] + [
        session_row(
            code=f"PLAN-{n}",
            status=Status.SCHEDULED,
            start=START + timedelta(hours=3 * (n + 1)),
            teacher_id=TEACHER_ID,
            created=NOW,
        )
        for n in range(200)
    ]
    await insert_sessions(database, rows)


class TestFindingDueSessions:
    @pytest.mark.parametrize(
        "stmt",
        [
            due_statement([Status.SCHEDULED], START),
            due_statement([Status.READY, Status.ONGOING], START, ended=True),
            due_statement([Status.READY, Status.ONGOING], None, after=(START, 7)),
            due_statement([Status.SCHEDULED], START, academy_id=1),
            due_statement([Status.READY, Status.ONGOING], START, ended=True, academy_id=1),
        ],
        ids=[
            "preparation",
            "finishing",
            "reconciliation-page",
            "preparation-of-one-academy",
            "finishing-of-one-academy",
        ],
    )
    async def test_the_due_queries_are_range_scans_of_the_status_index(
        self, database: Database, stmt: Any
    ) -> None:
        """With a year of finished lessons on record and fresh statistics, the planner
        takes candidates from ix_sessions_status_scheduled_at, so a tick's cost follows the
        sessions that are due (or running), not every session ever planned."""
        await _plan_a_year_of_history(database)
        plan = await query_plan(database, stmt)
        assert "ix_sessions_status_scheduled_at" in plan, plan

    async def test_every_due_session_is_swept_in_one_tick_whatever_the_batch_size(
        self, database: Database
    ) -> None:
        """25 due sessions read in pages of 4: all prepared in one tick, each once;
        a session that is not due yet is left alone."""
        due = await _plan(database, *[START + timedelta(minutes=m) for m in range(25)])
        (later,) = await _plan(database, START + timedelta(hours=3))
        reports = await tick(database, START + timedelta(minutes=15), rooms=OFFLINE, batch_size=4)
        assert sorted(due) == sorted(r.session_id for r in reports)
        assert {("scheduled", "ready")} == {(r.from_status, r.to_status) for r in reports}
        assert ["scheduled"] == await _statuses(database, [later])
        assert [] == await tick(database, START + timedelta(minutes=15), rooms=OFFLINE)

    async def test_a_long_preparation_in_an_academy_s_rules_is_honoured(
        self, database: Database
    ) -> None:
        """An academy preparing circles 60 min ahead: its circle is READY at S − 60,
        an individual session with the default 15 min is not."""
        circle_settings = RuleSettings(preparation_minutes=60).to_dict()
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            await uow.academies.upsert(
                1,
                now=NOW,
                name="Noor",
                timezone="UTC",
                locale="ar",
                rules={"quran_circle": {"preparation_minutes": 60}},
            )
            await uow.commit()
        (circle,) = await _plan(database, START, session_type=SessionType.QURAN_CIRCLE)
        (individual,) = await _plan(database, START)
        async with database.uow() as uow:
            row = await uow.sessions.get(circle, for_update=True)
            assert row is not None
            row.settings = circle_settings
            await uow.commit()
        reports = await tick(database, START - timedelta(minutes=60), rooms=OFFLINE)
        assert [circle] == [r.session_id for r in reports]
        assert ["ready", "scheduled"] == await _statuses(database, [circle, individual])


class TestFrozenSettings:
    async def test_a_session_closes_on_its_own_buffer(self, database: Database) -> None:
        """Settings frozen at scheduling with a 30 min buffer: not finished at E + 10,
        finished at E + 30."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await scheduled_session(uow, now=NOW, starts_at=START, status=Status.READY)
            session.settings = RuleSettings(buffer_minutes=30).to_dict()
            await uow.commit()
        end = START + timedelta(hours=1)
        assert [] == await tick(database, end + timedelta(minutes=10), rooms=OFFLINE)
        reports = await tick(database, end + timedelta(minutes=30), rooms=OFFLINE)
        assert [("ready", "absent")] == [(r.from_status, r.to_status) for r in reports]


class TestFailures:
    async def test_a_session_that_cannot_be_swept_is_logged_and_the_others_go_on(
        self, database: Database
    ) -> None:
        """A session with unreadable frozen settings fails alone; the tick goes on."""
        bad, good = await _plan(database, START, START)
        async with database.uow() as uow:
            row = await uow.sessions.get(bad, for_update=True)
            assert row is not None
            row.settings = {"no_such_setting": 1}
            await uow.commit()
        with capture_logs() as logs:
            reports = await tick(database, START, rooms=OFFLINE)
        assert [good] == [r.session_id for r in reports]
        failed = [e for e in logs if e["event"] == "sweep_session_failed"]
        assert [bad] == [e["session_id"] for e in failed]
        assert ["scheduled", "ready"] == await _statuses(database, [bad, good])

    async def test_a_session_locked_elsewhere_is_skipped_and_taken_next_time(
        self, database: Database
    ) -> None:
        """On PostgreSQL a row another transaction holds is skipped, not waited for
        (SKIP LOCKED); the next tick takes it."""
        if database.dialect != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite serialises whole transactions")
        (session_id,) = await _plan(database, START)
        async with database.uow() as holder:
            await holder.sessions.get(session_id, for_update=True)
            assert [] == await tick(database, START, rooms=OFFLINE)
        assert [session_id] == [r.session_id for r in await tick(database, START, rooms=OFFLINE)]


class TestTheBackgroundSweeper:
    async def test_serve_sweeps_on_its_own_and_stops_cleanly(
        self, aiohttp_client: Any, settings: Settings, database: Database
    ) -> None:
        """With the sweeper enabled the app sweeps at start-up and when woken, with its
        clock's time; on shutdown the task ends and says so."""
        (session_id,) = await _plan(database, START)
        clock = ManualClock(START - timedelta(minutes=20))
        enabled = settings.model_copy(update={"sweeper_enabled": True})
        with capture_logs() as logs:
            client = await aiohttp_client(create_app(enabled, clock=clock, database=database))
            sweeper = client.app[SWEEPER]
            await sweeper.wait_for_ticks(1)
            assert ["scheduled"] == await _statuses(database, [session_id])
            clock.set(START - timedelta(minutes=15))
            sweeper.wake()
            await sweeper.wait_for_ticks(2)
            assert ["ready"] == await _statuses(database, [session_id])
            await client.close()
        assert ["sweeper_started", "sweeper_stopped"] == [
            e["event"] for e in logs if e["event"].startswith("sweeper_")
        ]

    async def test_a_failed_tick_is_logged_and_the_loop_goes_on(self, database: Database) -> None:
        """The first tick raises; it is logged, counted, and the next tick runs."""
        calls: list[datetime] = []

        async def flaky(db: Database, now: datetime, *, rooms: RoomGateway) -> list[object]:
            calls.append(now)
            if len(calls) == 1:
                raise RuntimeError("database hiccup")
            return []

        sweeper = Sweeper(database, OFFLINE, clock=ManualClock(), interval=3600, run_tick=flaky)
        with capture_logs() as logs:
            sweeper.start()
            await sweeper.wait_for_ticks(1)
            sweeper.wake()
            await sweeper.wait_for_ticks(2)
            await sweeper.stop()
        assert (2, 1) == (len(calls), sweeper.failures)
        assert 1 == len([e for e in logs if e["event"] == "sweep_failed"])

    async def test_a_tick_that_outlives_the_grace_period_is_cancelled(
        self, database: Database
    ) -> None:
        """Shutdown waits for a running tick only so long, then cancels it."""
        entered = asyncio.Event()
        cancelled = asyncio.Event()

        async def stuck(db: Database, now: datetime, *, rooms: RoomGateway) -> list[object]:
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return []

        sweeper = Sweeper(database, OFFLINE, clock=ManualClock(), interval=3600, run_tick=stuck)
        sweeper.start()
        await entered.wait()
        await sweeper.stop(grace=0.05)
        assert cancelled.is_set()
