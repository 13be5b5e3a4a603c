"""A sweep of one academy (`academy_id`): every step leaves the other academies alone."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from engine import cli
from rules.codes import SessionType
from rules.lifecycle import Status
from rules.rooms import RoomOperationKind, RoomOperationState
from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from store.database import Database
from store.uow import UnitOfWork
from tests.integration.test_schedules_generation import circle
from tests.support.auth import auth
from tests.support.databases import sqlite_url
from tests.support.factories import ACADEMY_ID, TEACHER_ID, seed_world
from tests.support.fake_livekit import FakeLiveKit, fixture_livekit, fixture_rooms  # noqa: F401
from tests.support.sessions import session_in

SEEDED = datetime(2025, 8, 1, tzinfo=UTC)
# A Monday morning: the circles' first slots (18:00 Cairo) are within their horizon.
AS_OF = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
OTHER = 2
OTHER_TEACHER = 6
OTHER_STUDENT = 20


@dataclass(frozen=True)
class Academy:
    """One academy's share of the world: a lesson READY and long over (a sweep would
    close it and charge its student), one about to start (a sweep would prepare it,
    queuing its room), a room operation pending, and a schedule with slots due."""

    over: int
    upcoming: int
    rooms: frozenset[str]
    pending_op: int
    schedule_id: int


async def _academy(
    uow: UnitOfWork, academy_id: int, teacher_id: int, student: int, schedule_id: int
) -> Academy:
    common = {"now": SEEDED, "academy_id": academy_id, "teacher_id": teacher_id}
    over = await session_in(
        uow, Status.READY, **common, students=[student], starts_at=AS_OF - timedelta(hours=3)
    )
    upcoming = await session_in(
        uow,
        Status.SCHEDULED,
        **common,
        students=[student],
        starts_at=AS_OF + timedelta(minutes=10),
    )
    op = uow.rooms.enqueue(
        RoomOperationKind.DELETE_ROOM.value,
        over.session_code,
        now=AS_OF - timedelta(hours=1),
        session_id=over.id,
    )
    await uow.schedules.upsert(
        schedule_id,
        now=SEEDED,
        **circle(
            academy_id=academy_id,
            teacher_id=teacher_id,
            student_ids={"ids": [student]},
            type=SessionType.QURAN_CIRCLE.value,
        ),
    )
    await uow.session.flush()  # the queued operation's id
    rooms = frozenset({over.session_code, upcoming.session_code})
    return Academy(over.id, upcoming.id, rooms, op.id, schedule_id)


async def _two_academies(database: Database) -> tuple[Academy, Academy]:
    async with database.uow() as uow:
        await seed_world(uow, SEEDED)
        await uow.academies.upsert(
            OTHER, now=SEEDED, name="Other", timezone="Africa/Cairo", locale="ar"
        )
        for user, role in ((OTHER_TEACHER, "teacher"), (OTHER_STUDENT, "student")):
            await uow.users.upsert(
                user, now=SEEDED, academy_id=OTHER, role=role, name=f"{role} {user}", email=None
            )
        mine = await _academy(uow, ACADEMY_ID, TEACHER_ID, 10, 70)
        other = await _academy(uow, OTHER, OTHER_TEACHER, OTHER_STUDENT, 71)
        await uow.commit()
    return mine, other


async def _state(database: Database, academy: Academy) -> dict[str, object]:
    """What a sweep could have changed of one academy."""
    async with database.uow() as uow:
        over = await uow.sessions.get(academy.over)
        upcoming = await uow.sessions.get(academy.upcoming)
        assert over is not None and upcoming is not None
        ops = await uow.rooms.for_session(academy.over)
        state: dict[str, object] = {
            "over": over.status,
            "upcoming": upcoming.status,
            "charges": len(await uow.charges.for_session(academy.over)),
            "pending_op": next(o.state for o in ops if o.id == academy.pending_op),
            "generated": len(await uow.schedules.sessions_of(academy.schedule_id)),
        }
        await uow.commit()
    return state


UNTOUCHED = {
    "over": Status.READY.value,
    "upcoming": Status.SCHEDULED.value,
    "charges": 0,
    "pending_op": RoomOperationState.PENDING.value,
    "generated": 0,
}


class TestASweepOfOneAcademy:
    async def test_every_step_of_an_academy_s_sweep_leaves_the_others_alone(
        self, database: Database, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """Swept as academy 2, hours after academy 1's READY lesson ended: academy 1's
        lesson is still READY and uncharged, its next lesson unprepared, its room
        operation pending, its schedule ungenerated, and LiveKit never asked about its
        rooms; academy 2 got every one of those steps."""
        mine, other = await _two_academies(database)

        reports = await tick(database, AS_OF, rooms=rooms, academy_id=OTHER)

        assert UNTOUCHED == await _state(database, mine)
        swept = await _state(database, other)
        assert (Status.READY.value, RoomOperationState.DONE.value) == (
            swept["upcoming"],
            swept["pending_op"],
        )
        assert swept["over"] in (Status.ABSENT.value, Status.COMPLETED.value)
        assert 0 < int(str(swept["generated"]))
        assert {other.over, other.upcoming} == {r.session_id for r in reports}
        listed = {c.room for c in livekit.calls_of("ListParticipants")}
        created = {c.name for c in livekit.calls_of("CreateRoom")}
        assert set() == mine.rooms & (listed | created)
        assert other.rooms == listed | created

    async def test_a_sweep_without_a_scope_still_sweeps_every_academy(
        self, database: Database, rooms: RoomGateway
    ) -> None:
        """No academy named: both academies' lessons move, as before."""
        mine, other = await _two_academies(database)
        await tick(database, AS_OF, rooms=rooms)
        assert [Status.READY.value] * 2 == [
            (await _state(database, a))["upcoming"] for a in (mine, other)
        ]


class TestPostSweepsOfOneAcademy:
    async def test_post_sweeps_with_an_academy_sweeps_that_academy_only(
        self, client: TestClient, database: Database
    ) -> None:
        """`{as_of, academy_id: 2}`: only academy 2's lessons are in the answer, and
        academy 1's are as they were."""
        mine, other = await _two_academies(database)
        response = await client.post(
            "/v1/sweeps",
            json={"as_of": AS_OF.isoformat(), "academy_id": OTHER},
            headers=auth(),
        )
        assert 200 == response.status
        moved = {t["session_id"] for t in (await response.json())["transitions"]}
        assert {other.over, other.upcoming} == moved
        assert UNTOUCHED == await _state(database, mine)

    async def test_a_bad_academy_id_is_named_in_a_422_and_sweeps_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """Not a positive JSON integer: 422 naming `academy_id`, and nothing moves."""
        mine, other = await _two_academies(database)
        for bad in ("2", True, 0, -1, 2.5, 2**63):
            response = await client.post(
                "/v1/sweeps",
                json={"as_of": AS_OF.isoformat(), "academy_id": bad},
                headers=auth(),
            )
            body = await response.json()
            assert (422, "validation_failed") == (response.status, body["error"]["code"]), bad
            assert ["academy_id"] == list(body["error"]["details"])
        assert UNTOUCHED == await _state(database, mine)
        assert UNTOUCHED == await _state(database, other)


class TestTheSweepCommandOfOneAcademy:
    def test_hudur_sweep_academy_sweeps_that_academy_only(
        self,
        sqlite_template: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """`hudur sweep --academy 2` moves academy 2's lessons and says whose sweep it
        was; academy 1's are as they were. `--academy 0` is refused by argparse."""
        target = tmp_path / "hudur.db"
        shutil.copyfile(sqlite_template, target)
        url = sqlite_url(target)

        async def world() -> tuple[Academy, Academy]:
            database = Database(url)
            try:
                return await _two_academies(database)
            finally:
                await database.dispose()

        async def state(academy: Academy) -> dict[str, object]:
            database = Database(url)
            try:
                return await _state(database, academy)
            finally:
                await database.dispose()

        mine, _ = asyncio.run(world())
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("HUDUR_DATABASE_URL", url)
        monkeypatch.delenv("HUDUR_LIVEKIT_URL", raising=False)
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)

        assert 0 == cli.main(["sweep", "--academy", str(OTHER), "--as-of", AS_OF.isoformat()])
        last = capsys.readouterr().out.splitlines()[-1]
        assert "hudur: sweep of academy 2 as of 2025-09-01T09:00:00Z made 2 transition(s)" == last
        assert UNTOUCHED == asyncio.run(state(mine))
        with pytest.raises(SystemExit) as refused:
            cli.main(["sweep", "--academy", "0"])
        assert 2 == refused.value.code
        assert "--academy" in capsys.readouterr().err
