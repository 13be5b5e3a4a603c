"""Done when (issue 14): a day of lessons, delivered through the API and signed
LiveKit webhooks to a `hudur serve` process that is killed with SIGKILL mid-day and
started again, is announced completely and in order to a receiver that verifies
every message with `standardwebhooks` and fails the first attempt of every third."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from engine.simulate.plan import Lesson, plan_day
from engine.simulate.runner import STEP, Simulator, iso
from engine.simulate.timeline import lesson_webhooks
from rules.lifecycle import LifecycleEvent, Status
from rules.notify import message_type
from store.database import Database
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET, SERVICE_TOKEN
from tests.support.receiver import SECRET, Receiver, every_third_first_attempt
from tests.support.served import Served

ACADEMY = 4242
SERVE_ENV = {
    "HUDUR_ALLOW_AS_OF": "true",
    "HUDUR_SWEEPER_ENABLED": "false",  # the day is swept as of its own times
    "HUDUR_NOTIFY_RETRY_SCALE": "0.001",  # 5 s -> 5 ms ... 6 h -> 21.6 s
    "HUDUR_NOTIFY_LEASE_SECONDS": "11",  # a message the killed process held: 11 s
}


@pytest.fixture(name="receiver")
async def fixture_receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver.start(SECRET, fail=every_third_first_attempt)
    yield receiver
    await receiver.stop()


class Day:
    """The simulator's day, played step by step so the service can be killed between
    two steps; then the corrections a teacher and an admin make."""

    def __init__(self, http: aiohttp.ClientSession, served: Served) -> None:
        self.served = served
        self.lines = served.lines
        self.sim = Simulator(
            http,
            served.url,
            service_token=SERVICE_TOKEN,
            api_key=LIVEKIT_KEY,
            api_secret=LIVEKIT_SECRET,
        )
        self.sim.academy_id = ACADEMY
        self.plan = plan_day(seed=5, sessions=8, academy_id=ACADEMY)

    async def call(self, method: str, path: str, body: object = None) -> Any:
        return await self.sim._call(method, path, json=body)

    async def restart(self, database_url: str) -> None:
        await self.served.kill()
        self.served = await Served.start(database_url, env=SERVE_ENV, lines=self.lines)
        self.sim.url = self.served.url

    async def play(self, receiver: Receiver, database_url: str) -> list[int]:
        await self.sim.register(self.plan)
        await self.call(
            "PUT",
            "/v1/webhook-endpoints/1",
            {"academy_id": ACADEMY, "url": receiver.url, "secret": SECRET, "events": ["*"]},
        )
        sessions = [await self.sim.create(self.plan, lesson) for lesson in self.plan.lessons]
        pending = sorted(
            (
                event
                for lesson, s in zip(self.plan.lessons, sessions, strict=True)
                for event in lesson_webhooks(lesson, s["session_code"], run=ACADEMY)
            ),
            key=lambda e: e.at,
        )
        start = self.plan.starts_at - timedelta(minutes=20)
        end = self.plan.ends_at + timedelta(minutes=70)
        steps = int((end - start) / STEP) + 1
        for step in range(steps):
            if step == steps // 2:
                await self.restart(database_url)
            now = start + step * STEP
            due = [e for e in pending if e.at <= now]
            pending = [e for e in pending if e.at > now]
            await self.sim.deliver(due)
            await self.sim.sweep(now)
        ids = [s["id"] for s in sessions]
        await self.corrections(self.plan.lessons, ids)
        return ids + await self.moved_and_cancelled()

    async def corrections(self, lessons: tuple[Lesson, ...], ids: list[int]) -> None:
        """The planned teacher reports, a "mark all present" on every group lesson,
        and one charge waived by hand."""
        for lesson, session_id in zip(lessons, ids, strict=True):
            if lesson.teacher_report is not None:
                student, status = lesson.teacher_report
                await self.call(
                    "PUT",
                    f"/v1/sessions/{session_id}/reports/{student}",
                    {"attendance_status": status, "reason": "was there by phone"},
                )
        for lesson, session_id in zip(lessons, ids, strict=True):
            if not lesson.individual:
                reports = [
                    {"student_id": s, "attendance_status": "present"} for s in lesson.students
                ]
                await self.call(
                    "PUT",
                    f"/v1/sessions/{session_id}/reports",
                    {"reason": "mark all present", "reports": reports},
                )
        lesson, session_id = lessons[0], ids[0]
        await self.call(
            "PUT",
            f"/v1/sessions/{session_id}/charges/{lesson.students[0]}",
            {"counts": False, "reason": "goodwill"},
        )

    async def moved_and_cancelled(self) -> list[int]:
        """A lesson of the next week, rescheduled, then cancelled."""
        lesson = self.plan.lessons[0]
        created = await self.call(
            "POST",
            "/v1/sessions",
            {
                "academy_id": ACADEMY,
                "type": "quran_individual",
                "title": "Next week",
                "duration_minutes": 30,
                "teacher_id": lesson.teacher,
                "student_id": lesson.students[0],
            },
        )
        path = f"/v1/sessions/{created['id']}"
        week = self.plan.starts_at + timedelta(days=7)
        await self.call("POST", f"{path}/schedule", {"scheduled_at": iso(week)})
        later = week + timedelta(hours=2)
        await self.call("POST", f"{path}/reschedule", {"scheduled_at": iso(later), "reason": "x"})
        await self.call("POST", f"{path}/cancel", {"reason": "holiday"})
        return [created["id"]]


async def expectations(day: Day, database: Database, session_ids: list[int]) -> dict[str, Any]:
    """What the platform must have heard, read back: the transitions in the order they
    were recorded (`GET …/history` sorts by time, and the day's sweeps run as of 2031
    while reports are made now), the rest through the API."""
    moves: dict[int, list[tuple[str, str]]] = {}
    changes: dict[int, list[tuple[int, str, str]]] = {}
    charges: dict[tuple[int, int], tuple[str, str, int | None]] = {}
    finished = []
    for session_id in session_ids:
        async with database.uow() as uow:
            moves[session_id] = [
                (str(message_type(Status(t.to_status), LifecycleEvent(t.event))), t.to_status)
                for t in await uow.transitions.for_session(session_id)
            ]
        history = (await day.call("GET", f"/v1/sessions/{session_id}/history?limit=500"))["data"]
        changes[session_id] = [
            (h["student_id"], h["before"]["attendance_status"], h["after"]["attendance_status"])
            for h in history
            if h["kind"] == "report"
            and (h["before"]["attendance_status"], h["before"]["source"])
            != (h["after"]["attendance_status"], h["after"]["source"])
        ]
        attendance = await day.call("GET", f"/v1/sessions/{session_id}/attendance")
        if attendance["status"] in ("completed", "absent"):
            finished.append(session_id)
        for student in attendance["students"]:
            charge = student["charge"]
            if charge["status"] != "none":
                charges[(session_id, student["user_id"])] = (
                    charge["status"],
                    charge["reason"],
                    charge["subscription_id"],
                )
    return {"moves": moves, "changes": changes, "charges": charges, "finished": finished}


def heard(receiver: Receiver, session_ids: list[int]) -> dict[str, Any]:
    """The same, from the messages delivered (each webhook-id once, in delivery order)."""
    moves: dict[int, list[tuple[str, str]]] = {s: [] for s in session_ids}
    changes: dict[int, list[tuple[int, str, str]]] = {s: [] for s in session_ids}
    charges: dict[tuple[int, int], tuple[str, str, int | None]] = {}
    finalized: dict[int, int] = defaultdict(int)
    for payload in receiver.delivered.values():
        kind, data = payload["type"], payload["data"]
        if kind.startswith("session."):
            moves[data["id"]].append((kind, data["status"]))
        elif kind == "attendance.finalized":
            finalized[data["session_id"]] += 1
        elif kind == "attendance.changed":
            changes[data["session_id"]].append(
                (
                    data["user_id"],
                    data["before"]["attendance_status"],
                    data["after"]["attendance_status"],
                )
            )
        else:
            charges[(data["session_id"], data["student_id"])] = (
                data["status"],
                data["reason"],
                data["subscription_id"],
            )
    return {
        "moves": moves,
        "changes": changes,
        "charges": charges,
        "finished": sorted(s for s, n in finalized.items() if n == 1),
        "finalized_twice": sorted(s for s, n in finalized.items() if n > 1),
    }


async def outbox_size(database: Database) -> int:
    async with database.uow() as uow:
        return len(await uow.outbox.messages())


class TestADayKilledMidWay:
    async def test_every_change_is_announced_once_in_order_despite_a_kill(
        self, database: Database, receiver: Receiver
    ) -> None:
        served = await Served.start(database.url, env=SERVE_ENV)
        day = Day(aiohttp.ClientSession(), served)
        try:
            session_ids = await day.play(receiver, database.url)
            expected = await expectations(day, database, session_ids)
            written = await outbox_size(database)
            await receiver.wait_until(lambda r: len(r.delivered) >= written, within=120)
        finally:
            await day.served.stop()
            await day.sim.http.close()

        got = heard(receiver, session_ids)
        assert [] == got.pop("finalized_twice")
        for session_id, moves in expected["moves"].items():
            assert (session_id, moves) == (session_id, got["moves"][session_id])
        assert expected == got
        assert written == len(receiver.delivered)
        assert sum(len(m) for m in expected["moves"].values()) > 30
        assert expected["changes"] and expected["charges"] and len(expected["finished"]) == 8
        assert 0 == receiver.rejected
        failed_first = [a for a in receiver.arrivals if a.answered == 500]
        assert len(failed_first) == len(receiver.delivered) // 3
        assert {a.message_id for a in failed_first} <= set(receiver.delivered)
        assert 2 == sum(1 for e in day.served.entries() if e.get("event") == "serving")
        logs = "".join(day.lines)
        assert SECRET.removeprefix("whsec_") not in logs
        assert json.dumps(SECRET) not in logs
