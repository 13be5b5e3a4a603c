"""Whole lessons driven by hand: a seeded academy, one session, a fake LiveKit
posting signed webhooks to the app under test, and sweeps through `POST /v1/sweeps`.

Test modules import the fixtures (`settings` pointing the app at the fake LiveKit,
`lesson`) next to `livekit` from tests.support.fake_livekit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from engine.operations.attendance import session_attendance
from engine.settings import Settings
from rules.codes import SessionType, is_individual, kind_of
from store.database import Database
from tests.support.auth import auth
from tests.support.clock import ManualClock
from tests.support.factories import TEACHER_ID, seed_world
from tests.support.fake_livekit import FakeLiveKit, to_hudur

DAY = datetime(2025, 12, 1, tzinfo=UTC)
START = DAY + timedelta(hours=10)  # S; E = 11:00, E + buffer = 11:10, E + 60 = 12:00
TYPES = list(SessionType)
KIND_BASE = {"quran": 100, "academic": 200, "interactive": 300}


def at(hours: int, minutes: int = 0, seconds: int = 0) -> datetime:
    return DAY + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def roster_of(session_type: SessionType) -> tuple[int, ...]:
    return (10,) if is_individual(session_type) else (10, 11, 12)


@pytest.fixture(name="settings")
def fixture_settings(settings: Settings, livekit: FakeLiveKit) -> Settings:
    """The app under test calls the fake LiveKit."""
    return settings.model_copy(update={"livekit_url": livekit.url})


@pytest.fixture(name="lesson")
async def fixture_lesson(
    client: TestClient[web.Request, web.Application],
    database: Database,
    livekit: FakeLiveKit,
    clock: ManualClock,
) -> AsyncIterator[Lesson]:
    livekit.deliver = to_hudur(client)
    async with database.uow() as uow:
        await seed_world(uow, at(9))
        for kind, base in KIND_BASE.items():
            if kind == "quran":
                continue  # seed_world gave every student a Quran subscription (100 + id)
            for student in (10, 11, 12):
                await uow.subscriptions.upsert(
                    base + student,
                    now=at(9),
                    student_id=student,
                    academy_id=1,
                    kind=kind,
                    total_sessions=8,
                    starts_at=at(9) - timedelta(days=30),
                    ends_at=at(9) + timedelta(days=30),
                )
        await uow.commit()
    yield Lesson(client, database, livekit, clock)


class Lesson:
    """One session's day, driven by hand."""

    def __init__(
        self,
        client: TestClient[web.Request, web.Application],
        database: Database,
        livekit: FakeLiveKit,
        clock: ManualClock,
    ) -> None:
        self.client, self.database, self.livekit, self.clock = client, database, livekit, clock
        self.people: dict[str, Any] = {}

    async def plan(self, session_type: SessionType) -> int:
        """POST /v1/sessions (UNSCHEDULED), then POST .../schedule for 10:00 (SCHEDULED)."""
        roster = roster_of(session_type)
        who = {"student_id": roster[0]} if is_individual(session_type) else {"student_ids": roster}
        created = await self.call(
            "POST",
            "/v1/sessions",
            {
                "academy_id": 1,
                "type": session_type.value,
                "title": "Lesson",
                "duration_minutes": 60,
                "teacher_id": TEACHER_ID,
                **who,
            },
            expect=201,
        )
        assert "unscheduled" == created["status"]
        self.session_id, self.code = int(created["id"]), str(created["session_code"])
        scheduled = await self.call(
            "POST", f"/v1/sessions/{self.session_id}/schedule", {"scheduled_at": iso(START)}
        )
        assert "scheduled" == scheduled["status"]
        return self.session_id

    async def call(self, method: str, path: str, body: object = None, *, expect: int = 200) -> Any:
        """One API call with the service token, at the clock's time; the JSON answer."""
        response = await self.client.request(method, path, json=body, headers=auth())
        assert expect == response.status, await response.text()
        return await response.json()

    async def sweep(self, moment: datetime) -> list[tuple[str, str]]:
        """POST /v1/sweeps as of `moment`; this session's (from, to) moves."""
        self.clock.set(moment)
        response = await self.client.post("/v1/sweeps", json={"as_of": iso(moment)}, headers=auth())
        assert 200 == response.status, await response.text()
        moves = (await response.json())["transitions"]
        for move in moves:
            assert {"session_id", "session_code", "from", "to", "at"} == set(move)
        return [(m["from"], m["to"]) for m in moves if m["session_id"] == self.session_id]

    async def join(self, identity: str, moment: datetime, *, notify: bool = True, **kw: Any) -> Any:
        """`identity` connects at `moment` (its webhook lost when `notify` is false)."""
        self.clock.set(moment)
        self.people[identity] = participant = await self.livekit.join(
            self.code, identity, at=moment, notify=notify, **kw
        )
        return participant

    async def leave(self, identity: str, moment: datetime, *, notify: bool = True) -> Any:
        self.clock.set(moment)
        participant = self.people.pop(identity)
        await self.livekit.leave(self.code, participant, at=moment, notify=notify)
        return participant

    async def state(self) -> dict[str, Any]:
        async with self.database.uow() as uow:
            session = await uow.sessions.get(self.session_id)
            assert session is not None
            attendance = await session_attendance(uow, session, now=self.clock())
            ledger = await uow.charges.for_session(self.session_id)
            history = await uow.transitions.for_session(self.session_id)
            uow.session.expunge_all()  # readable after the unit of work ends
            return {
                "session": session,
                "verdicts": {s.user_id: s.verdict.status.value for s in attendance.students},
                "teacher": attendance.teacher_status.value,
                "charges": {
                    sid: (row.status, row.reason, row.subscription_id)
                    for sid, row in ledger.items()
                },
                "history": [(h.from_status, h.to_status, h.actor.split(":")[0]) for h in history],
            }


def charged(session_type: SessionType, student: int, reason: str) -> tuple[str, str, int]:
    return ("charged", reason, KIND_BASE[kind_of(session_type).value] + student)
