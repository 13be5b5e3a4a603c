"""`kill -9` of `hudur serve` under webhook load, then a restart (issue 11, durability).

A real `hudur serve` subprocess on SQLite and on PostgreSQL takes signed, distinct
events from one serial sender per room (as LiveKit delivers them), many rooms at
once, so group commits follow each other with requests waiting. It is killed with
SIGKILL while requests are in flight: some are being committed, some are waiting
for the next batch, none of them will be answered. A second `hudur serve` on the same
database then gets every event again (LiveKit retries what was not answered; the
rest is resent too):

* every event acknowledged before the kill answers `duplicate`: it was durable (on
  PostgreSQL the batch the kill caught in its INSERT is stored whole, unanswered, and
  its events answer `duplicate` too);
* every event is in the inbox once, and its evidence is derived once;
* the projection is whole: each connection is one closed interval, each session was
  started once, and the position is at the newest inbox row.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import insert, text

from store.database import Database
from store.schema import WebhookEvent
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET, SERVICE_TOKEN
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import joined, left
from tests.support.signed_requests import auth_headers

ROOMS = 16
CONNECTIONS_PER_ROOM = 24  # a student's join and leave each: 48 events per room, 2 more
KILL_AFTER = 250  # SQLite: answered events before the kill (of 800)
BOUND = 60.0  # seconds any awaited condition may take before the test fails


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + BOUND
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not after {BOUND} s"
        await asyncio.sleep(0.02)


async def _blocked_in_commit(database: Database) -> bool:
    """Whether a backend of this database waits on a lock inside an INSERT of the inbox."""
    async with database.engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO webhook_events%'"
            )
        )
    return bool(waiting)


async def _stored(database: Database, event_id: str) -> bool:
    async with database.uow() as uow:
        return event_id in {row.event_id for row in await uow.inbox.all()}


class Server:
    """One `hudur serve` subprocess on `url`, its output in `log`."""

    def __init__(self, url: str, directory: Path, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._url, self._directory, self._log = url, directory, log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, http: aiohttp.ClientSession) -> None:
        env = {
            **os.environ,
            "HUDUR_DATABASE_URL": self._url,
            "HUDUR_HOST": "127.0.0.1",
            "HUDUR_PORT": str(self.port),
            "HUDUR_LIVEKIT_API_KEY": LIVEKIT_KEY,
            "HUDUR_LIVEKIT_API_SECRET": LIVEKIT_SECRET,
            "HUDUR_SERVICE_TOKEN": SERVICE_TOKEN,
            "HUDUR_SWEEPER_ENABLED": "false",
            "HUDUR_LOG_FORMAT": "json",
        }
        env.pop("HUDUR_LIVEKIT_URL", None)
        with self._log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "engine.cli",
                "serve",
                cwd=self._directory,  # no .env of the repository
                env=env,
                stdout=out,
                stderr=out,
            )

        async def ready() -> bool:
            assert self.process is not None and self.process.returncode is None, (
                self._log.read_text()[-2000:]
            )
            try:
                async with http.get(self.base + "/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await _until(ready, "hudur serve ready")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert -signal.SIGKILL == await asyncio.wait_for(self.process.wait(), BOUND)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), BOUND)


def _lesson(room: str, now: datetime) -> list[bytes]:
    """The room's events in LiveKit's order: the teacher joins (it starts the session),
    student 10 connects and disconnects 24 times under new sids, the teacher leaves."""
    base = now - timedelta(minutes=3)
    events = [joined(room, f"PA_T_{room}", "5", base)]
    for n in range(CONNECTIONS_PER_ROOM):
        came = base + timedelta(seconds=5 * n + 1)
        sid = f"PA_{n}_{room}"
        events.append(joined(room, sid, "10_Ali", came))
        events.append(left(room, sid, "10_Ali", came + timedelta(seconds=3), joined_at=came))
    events.append(left(room, f"PA_T_{room}", "5", now, joined_at=base))
    return events


async def _send(http: aiohttp.ClientSession, base: str, body: bytes) -> str | None:
    """The answer's status (`accepted`/`duplicate`), or None when there was none."""
    try:
        async with http.post(
            base + "/webhooks/livekit", data=body, headers=auth_headers(body)
        ) as r:
            assert 200 == r.status, await r.text()
            return str((await r.json())["status"])
    except (TimeoutError, aiohttp.ClientError):
        return None


class TestKillNineUnderLoad:
    async def test_no_acknowledged_event_is_lost_and_none_is_applied_twice(
        self, database: Database, tmp_path: Path
    ) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        async with database.uow() as uow:
            await seed_world(uow, now - timedelta(hours=1))
            codes = [
                (await scheduled_session(uow, now=now, starts_at=now + timedelta(minutes=2)))
                for _ in range(ROOMS)
            ]
            rooms = {session.session_code: session.id for session in codes}
            await uow.commit()
        lessons = {room: _lesson(room, now) for room in rooms}
        event_ids = {
            body: body.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
            for bodies in lessons.values()
            for body in bodies
        }

        log = tmp_path / "serve.log"
        acknowledged: set[bytes] = set()
        timeout = aiohttp.ClientTimeout(total=BOUND)
        postgres = database.dialect == "postgresql"
        # PostgreSQL: the kill lands inside a group commit, deterministically. An
        # uncommitted row of this test holds the key of one event (the 10th of the first
        # room): the batch that carries it waits inside its multi-row INSERT, the rows
        # before it written in its transaction, the rest of the rooms queued behind it.
        pinned_body = next(iter(lessons.values()))[9]
        pin = await database.engine.connect() if postgres else None
        if pin is not None:
            await pin.begin()
            await pin.execute(
                insert(WebhookEvent).values(
                    event_id=event_ids[pinned_body],
                    event="pin",
                    occurred_at=now,
                    received_at=now,
                    body=b"{}",
                    state="pending",
                )
            )
        first = Server(database.url, tmp_path, log)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                await first.start(http)
                killed = asyncio.Event()

                async def sender(bodies: list[bytes]) -> None:
                    for body in bodies:  # one at a time, as LiveKit's sender of one room
                        if await _send(http, first.base, body) is None:
                            return  # the server is gone: LiveKit would retry later
                        acknowledged.add(body)
                        if not postgres and len(acknowledged) >= KILL_AFTER and not killed.is_set():
                            killed.set()
                            await first.kill()  # the other rooms' requests are in flight

                async def killer() -> None:
                    await _until(lambda: _blocked_in_commit(database), "a group commit waits")
                    killed.set()
                    await first.kill()

                await asyncio.gather(
                    *(sender(bodies) for bodies in lessons.values()),
                    *([killer()] if postgres else []),
                )
                assert killed.is_set()
                assert not postgres or pinned_body not in acknowledged
                if pin is not None:
                    await pin.rollback()
                    await pin.close()
                    pin = None
                assert len(acknowledged) < len(event_ids)
                async with database.uow() as uow:
                    # SQLite: what the intake acknowledged may still wait in its spool
                    # (store/spool.py); moved into the inbox here as the next
                    # projector would move it.
                    await uow.inbox.move_spooled()
                    after_kill = {row.event_id for row in await uow.inbox.all()}
                    await uow.commit()
                assert {event_ids[body] for body in acknowledged} <= after_kill
                if postgres:
                    # The batch in flight is one statement, its own transaction: freed
                    # by the pin's rollback it is stored whole, and none of it was
                    # answered. LiveKit resends those; they answer `duplicate` below.
                    await _until(
                        lambda: _stored(database, event_ids[pinned_body]), "the batch commits"
                    )

                second = Server(database.url, tmp_path, log)
                await second.start(http)
                try:
                    answers: dict[bytes, str | None] = {}

                    async def resender(bodies: list[bytes]) -> None:
                        for body in bodies:
                            answers[body] = await _send(http, second.base, body)

                    await asyncio.gather(*(resender(bodies) for bodies in lessons.values()))
                    # Any read brings the projection up to every acknowledged event.
                    session_id = next(iter(rooms.values()))
                    async with http.get(
                        f"{second.base}/v1/sessions/{session_id}",
                        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
                    ) as response:
                        assert 200 == response.status
                        assert "ongoing" == (await response.json())["status"]
                finally:
                    await second.stop()
        finally:
            await first.stop()
            if pin is not None:
                await pin.rollback()
                await pin.close()

        assert {"duplicate"} == {answers[body] for body in acknowledged}
        if postgres:
            assert "duplicate" == answers[pinned_body]
        assert set(answers.values()) <= {"accepted", "duplicate"}

        async with database.uow() as uow:
            inbox = await uow.inbox.all()
            stored_ids = Counter(row.event_id for row in inbox)
            evidence_ids: Counter[str] = Counter()
            intervals: dict[int, list[tuple[object, object]]] = {}
            starts: dict[int, int] = {}
            for session_id in rooms.values():
                evidence_ids.update(e.event_id for e in await uow.evidence.for_session(session_id))
                intervals[session_id] = [
                    (i.joined_at, i.left_at) for i in await uow.intervals.for_session(session_id)
                ]
                starts[session_id] = sum(
                    1
                    for t in await uow.transitions.for_session(session_id)
                    if t.to_status == "ongoing"
                )
            position, newest = await uow.projection.positions()
        assert set(event_ids.values()) == set(stored_ids)
        assert {1} == set(stored_ids.values())
        assert Counter(event_ids.values()) == evidence_ids  # each derived exactly once
        assert {1 + CONNECTIONS_PER_ROOM} == {len(spans) for spans in intervals.values()}
        assert all(left_at is not None for spans in intervals.values() for _, left_at in spans)
        assert {1} == set(starts.values())
        assert (newest, len(inbox)) == (position, len(event_ids))
