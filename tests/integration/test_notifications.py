"""Outgoing notifications delivered (CONTRACT 6): a real receiver on loopback verifies
every POST with `standardwebhooks`; the worker is stepped by hand on the test's
clock (`Notifier.deliver_due`), so retries need no waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from engine.notify.worker import Notifier
from engine.operations.lifecycle import transition
from rules.actors import SERVICE
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent
from store.database import Database
from tests.support.clock import ManualClock
from tests.support.databases import write_lock_held
from tests.support.factories import TEACHER_ID
from tests.support.fake_livekit import fixture_livekit  # noqa: F401 (fixture)
from tests.support.lessons import (  # noqa: F401 (fixtures)
    Lesson,
    at,
    fixture_lesson,
    fixture_settings,
)
from tests.support.receiver import SECRET, Receiver

TEACHER = str(TEACHER_ID)


@pytest.fixture(name="receiver")
async def fixture_receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver.start(SECRET)
    yield receiver
    await receiver.stop()


@pytest.fixture(name="notifier")
async def fixture_notifier(database: Database, clock: ManualClock) -> AsyncIterator[Notifier]:
    notifier = Notifier(lambda: database, clock=clock)
    yield notifier
    await notifier.stop()


async def register(lesson: Lesson, receiver: Receiver, endpoint_id: int = 1, **body: Any) -> None:
    await lesson.call(
        "PUT",
        f"/v1/webhook-endpoints/{endpoint_id}",
        {"academy_id": 1, "url": receiver.url, "secret": SECRET, "events": ["*"], **body},
    )


async def drain(notifier: Notifier) -> int:
    """Step the worker until nothing is due (each round sends a session's next one)."""
    sent = 0
    while n := await notifier.deliver_due():
        sent += n
    return sent


def types(receiver: Receiver) -> list[str]:
    return [p["type"] for p in receiver.delivered.values()]


class TestALesson:
    async def test_every_change_of_a_lesson_is_announced_once_in_order(
        self, lesson: Lesson, receiver: Receiver, notifier: Notifier
    ) -> None:
        """Scheduled, ready, started, completed with its final attendance and its
        charge; then the teacher's override: the session absent, the verdict changed,
        the charge changed. Each data as the API shapes it."""
        await register(lesson, receiver)
        session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        scheduled = await lesson.call("GET", f"/v1/sessions/{session_id}")
        await lesson.sweep(at(9, 45))
        await lesson.join(TEACHER, at(10, 0))
        await lesson.join("10_Mohamed", at(10, 0))
        await lesson.leave("10_Mohamed", at(11, 0))
        await lesson.leave(TEACHER, at(11, 0))
        await lesson.sweep(at(11, 10))
        await lesson.call(
            "PUT",
            f"/v1/sessions/{session_id}/reports/10",
            {"attendance_status": "absent", "reason": "left the camera off, not there"},
        )
        await drain(notifier)

        assert [
            "session.scheduled",
            "session.ready",
            "session.started",
            "session.completed",
            "attendance.finalized",
            "charge.recorded",
            "session.absent",
            "attendance.changed",
            "charge.recorded",
        ] == types(receiver)
        payloads = list(receiver.delivered.values())
        assert scheduled == payloads[0]["data"]
        assert [s["status"] for s in (p["data"] for p in payloads[:4])] == [
            "scheduled",
            "ready",
            "ongoing",
            "completed",
        ]
        finalized = payloads[4]["data"]
        assert (session_id, "completed", "present", "charged") == (
            finalized["session_id"],
            finalized["status"],
            finalized["students"][0]["attendance_status"],
            finalized["students"][0]["charge"]["status"],
        )
        # The academy reads Arabic: so does the final attendance it is sent.
        assert ("حاضر: 60 من 60 دقيقة، انضم عند البداية", "present") == (
            finalized["students"][0]["explanation"],
            finalized["students"][0]["explanation_code"]["code"],
        )
        assert {
            "session_id": session_id,
            "student_id": 10,
            "status": "charged",
            "reason": "present",
            "subscription_id": 110,
        } == payloads[5]["data"]
        changed = payloads[7]["data"]
        assert (session_id, 10, "present", "absent", "service") == (
            changed["session_id"],
            changed["user_id"],
            changed["before"]["attendance_status"],
            changed["after"]["attendance_status"],
            changed["by"],
        )
        assert "left the camera off, not there" == changed["reason"]
        assert "absent" == payloads[8]["data"]["reason"]
        assert all(p["timestamp"].endswith("Z") for p in payloads)
        assert 0 == receiver.rejected


class TestRetries:
    async def test_a_failed_attempt_is_retried_after_5_s_under_the_same_webhook_id(
        self, lesson: Lesson, notifier: Notifier, clock: ManualClock
    ) -> None:
        """500 first: nothing more until the clock has moved 5 s; then the same id is
        sent again, and `GET …/deliveries` lists both attempts, newest first."""
        receiver = await Receiver.start(SECRET, fail=lambda ordinal, attempt: attempt == 1)
        try:
            await register(lesson, receiver)
            await lesson.plan(SessionType.QURAN_INDIVIDUAL)
            assert 1 == await notifier.deliver_due()
            clock.advance(seconds=4)
            assert 0 == await notifier.deliver_due()
            clock.advance(seconds=1)
            assert 1 == await notifier.deliver_due()
        finally:
            await receiver.stop()
        first, second = receiver.arrivals
        assert (first.message_id, 1, 500) == (second.message_id, first.attempt, first.answered)
        assert (2, 200) == (second.attempt, second.answered)
        deliveries = (await lesson.call("GET", "/v1/webhook-endpoints/1/deliveries"))["data"]
        assert [(2, 200, "delivered"), (1, 500, "delivered")] == [
            (d["attempt"], d["status_code"], d["message_state"]) for d in deliveries
        ]
        assert [first.message_id] * 2 == [d["message_id"] for d in deliveries]

    async def test_a_session_s_next_message_waits_for_the_previous_one(
        self, lesson: Lesson, notifier: Notifier, clock: ManualClock
    ) -> None:
        """`session.cancelled` is not sent while `session.scheduled` waits for its
        retry; it follows once the first is delivered."""
        receiver = await Receiver.start(SECRET, fail=lambda ordinal, attempt: attempt == 1)
        try:
            await register(lesson, receiver)
            session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
            await lesson.call("POST", f"/v1/sessions/{session_id}/cancel", {"reason": "ill"})
            assert 1 == await notifier.deliver_due()
            assert 0 == await notifier.deliver_due()
            clock.advance(seconds=5)
            await drain(notifier)
            clock.advance(seconds=5)
            await drain(notifier)
        finally:
            await receiver.stop()
        assert ["session.scheduled", "session.cancelled"] == types(receiver)
        assert ["session.scheduled"] * 2 + ["session.cancelled"] * 2 == [
            a.payload["type"] for a in receiver.arrivals
        ]

    async def test_after_three_days_of_failures_a_message_is_failed_and_kept(
        self, lesson: Lesson, notifier: Notifier, clock: ManualClock, database: Database
    ) -> None:
        """5 s, 30 s, 2 min, 10 min, 1 h, 6 h, then every 6 h: 17 attempts in three
        days, then `failed`; the session's next message goes on."""
        receiver = await Receiver.start(SECRET, fail=lambda ordinal, attempt: ordinal == 1)
        try:
            await register(lesson, receiver)
            session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
            await lesson.call("POST", f"/v1/sessions/{session_id}/cancel", {"reason": "ill"})
            rounds = 0
            while await notifier.deliver_due():
                rounds += 1
                async with database.uow() as uow:
                    first = (await uow.outbox.messages())[0]
                    state, due = first.state, first.next_attempt_at
                if state != "pending":
                    break
                clock.set(due)
            await drain(notifier)
        finally:
            await receiver.stop()
        async with database.uow() as uow:
            messages = [(m.type, m.state, m.attempts) for m in await uow.outbox.messages()]
        assert [
            ("session.scheduled", "failed", 17),
            ("session.cancelled", "delivered", 1),
        ] == messages
        assert 17 == rounds
        assert ["session.cancelled"] == types(receiver)


class TestOnlyWhatCommitted:
    async def test_a_change_rolled_back_after_its_message_was_written_is_never_sent(
        self, lesson: Lesson, receiver: Receiver, notifier: Notifier, database: Database
    ) -> None:
        """The cancellation's message is written in its transaction; the transaction
        then fails before it commits: nothing is delivered, nothing is left."""
        await register(lesson, receiver)
        session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        await drain(notifier)
        written = []
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id, for_update=True)
            assert session is not None
            await transition(uow, session, LifecycleEvent.CANCEL, at=at(9, 30), actor=SERVICE)

            async def then_fail() -> None:
                written.extend(m.type for m in await uow.outbox.messages())
                raise RuntimeError("the commit never happens")

            uow.before_commit("then-fail", then_fail)
            with pytest.raises(RuntimeError):
                await uow.commit()
        assert ["session.scheduled", "session.cancelled"] == written
        assert 0 == await drain(notifier)
        assert ["session.scheduled"] == types(receiver)
        async with database.uow() as uow:
            assert ["session.scheduled"] == [m.type for m in await uow.outbox.messages()]


class TestWhoHearsWhat:
    async def test_an_endpoint_hears_only_its_academy_and_its_event_types(
        self, lesson: Lesson, receiver: Receiver, notifier: Notifier
    ) -> None:
        """One endpoint wants cancellations only, one another academy's everything,
        one is disabled: only the first hears, and only of the cancellation."""
        await register(lesson, receiver, 1, events=["session.cancelled"])
        await lesson.call(
            "PUT", "/v1/academies/2", {"name": "Other", "timezone": "UTC", "locale": "en"}
        )
        await register(lesson, receiver, 2, academy_id=2)
        await register(lesson, receiver, 3, enabled=False)
        session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        await lesson.call("POST", f"/v1/sessions/{session_id}/cancel", {"reason": "ill"})
        await drain(notifier)
        assert ["session.cancelled"] == types(receiver)


class TestDisabledEndpoints:
    async def test_a_disabled_endpoint_s_messages_wait_until_it_is_enabled_again(
        self, lesson: Lesson, receiver: Receiver, notifier: Notifier
    ) -> None:
        """Written while enabled, held while disabled, sent once enabled again; what
        happened while disabled is not written for it."""
        await register(lesson, receiver)
        session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        await register(lesson, receiver, enabled=False)
        await lesson.call("POST", f"/v1/sessions/{session_id}/cancel", {"reason": "ill"})
        assert 0 == await drain(notifier)
        await register(lesson, receiver, enabled=True)
        assert 1 == await drain(notifier)
        assert ["session.scheduled"] == types(receiver)


class TestLeases:
    async def test_a_claimed_message_is_nobody_else_s_until_its_lease_runs_out(
        self, lesson: Lesson, receiver: Receiver, database: Database, clock: ManualClock
    ) -> None:
        """A replica that claimed a message and died: another may not take it for the
        lease's 60 s, then sends it; the dead one's late outcome is not written."""
        await register(lesson, receiver)
        await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        dead = Notifier(lambda: database, clock=clock, name="dead")
        alive = Notifier(lambda: database, clock=clock, name="alive")
        try:
            now = clock()
            async with database.uow() as uow:
                (claimed,) = await uow.outbox.claim(
                    now=now, lease_until=now + timedelta(seconds=60), owner="dead", limit=10
                )
                await uow.commit()
            clock.advance(seconds=59)
            assert 0 == await alive.deliver_due()
            clock.advance(seconds=1)
            assert 1 == await alive.deliver_due()
            async with database.uow() as uow:
                kept = await uow.outbox.settle(
                    claimed.id,
                    owner="dead",
                    state="failed",
                    attempts=1,
                    first_attempt_at=now,
                    next_attempt_at=now,
                    status_code=None,
                    now=clock(),
                )
                await uow.commit()
                state = (await uow.outbox.messages())[0].state
        finally:
            await dead.stop()
            await alive.stop()
        assert (False, "delivered") == (kept, state)
        assert ["session.scheduled"] == types(receiver)


class TestTheBackgroundWorker:
    async def test_a_commit_wakes_the_worker_whatever_its_poll(
        self, lesson: Lesson, receiver: Receiver, database: Database, clock: ManualClock
    ) -> None:
        """The worker polls once an hour here, so only the commit's wake-up can make it
        send: the message arrives (the test would otherwise time out)."""
        notifier = Notifier(lambda: database, clock=clock, poll=3600)
        notifier.start()
        try:
            await register(lesson, receiver)
            session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
            await receiver.wait_until(lambda r: len(r.delivered) == 1, within=30)
            await lesson.call("POST", f"/v1/sessions/{session_id}/cancel", {"reason": "ill"})
            await receiver.wait_until(lambda r: len(r.delivered) == 2, within=30)
        finally:
            await notifier.stop()
        assert ["session.scheduled", "session.cancelled"] == types(receiver)


class TestRetention:
    async def test_delivered_messages_are_forgotten_after_30_days_failed_ones_kept(
        self, lesson: Lesson, notifier: Notifier, clock: ManualClock, database: Database
    ) -> None:
        """`session.scheduled` delivered, `session.cancelled` given up after three days
        of 500s: 30 days after its delivery the first goes with its attempt, the
        failed one stays, and so do its attempts in `GET …/deliveries`."""
        receiver = await Receiver.start(SECRET, fail=lambda ordinal, attempt: ordinal == 2)
        try:
            await register(lesson, receiver)
            session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
            await drain(notifier)
            await lesson.call("POST", f"/v1/sessions/{session_id}/cancel", {"reason": "ill"})
            await drain(notifier)
            for _ in range(20):  # until the cancellation's message is given up
                clock.advance(hours=6)
                await drain(notifier)
            clock.advance(days=25)
            assert 0 == await notifier.prune()
            clock.advance(days=2)
            assert 1 == await notifier.prune()
        finally:
            await receiver.stop()
        async with database.uow() as uow:
            left = [(m.type, m.state) for m in await uow.outbox.messages()]
        assert [("session.cancelled", "failed")] == left
        deliveries = (await lesson.call("GET", "/v1/webhook-endpoints/1/deliveries"))["data"]
        assert {"session.cancelled"} == {d["type"] for d in deliveries}
        assert 13 == len(deliveries)  # the clock moved 6 h a step: one attempt per step


class TestPolling:
    async def test_a_poll_with_nothing_due_takes_no_write_lock(
        self, notifier: Notifier, database: Database, backend: str
    ) -> None:
        """Every `serve` polls the outbox twice a second, the top of the hour's
        projector writing all the while: with nothing due a poll only reads. While
        another connection holds SQLite's write lock, it still finds that nothing is
        due (a poll that began a write waited for the lock, then failed)."""
        if backend != "sqlite":
            pytest.skip("SQLite's file-wide write lock")
        file = database.sqlite_file
        assert file is not None
        with write_lock_held(file):
            assert 0 == await notifier.deliver_due()
