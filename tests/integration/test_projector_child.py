"""`hudur serve`'s live projector in a child process (engine/projector_child.py).

A real `hudur serve` on SQLite and on PostgreSQL: with no read to catch up for them,
acknowledged events are projected by the child alone; a child killed with SIGKILL is
replaced and its successor projects what came meanwhile, once; stopping the service
stops the child. And the turn to write shared by two processes (engine/writer_turn.py):
one holder at a time, a waiter served once the holder lets go, a cancelled waiter
leaving nothing held.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import aiohttp
import pytest

from engine.settings import Settings
from engine.writer_turn import WriterTurn
from store.database import Database
from tests.integration.test_webhook_crash import BOUND, Server, _send, _until
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import joined, left


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry))
    return found


async def _projected(database: Database) -> tuple[int, int]:
    async with database.reading() as uow:
        return await uow.projection.positions()


async def _caught_up(database: Database, newest: int) -> bool:
    position, stored = await _projected(database)
    return stored >= newest and position >= stored


@pytest.mark.parametrize(
    ("url", "configured", "child"),
    [
        ("sqlite+aiosqlite:///./hudur.db", None, True),
        ("postgresql+asyncpg://h:h@127.0.0.1/h", None, True),
        ("sqlite+aiosqlite:///./hudur.db", False, False),
        ("postgresql+asyncpg://h:h@127.0.0.1/h", False, False),
    ],
)
def test_where_serve_runs_its_projector(url: str, configured: bool | None, child: bool) -> None:
    """A child process on either database unless configured otherwise."""
    given = {} if configured is None else {"projector_process": configured}
    settings = Settings(database_url=url, **given)
    assert child == settings.projector_process


class TestTheChildProjector:
    async def test_it_projects_is_replaced_when_killed_and_stops_with_the_service(
        self, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HUDUR_PROJECTOR_PROCESS", "true")  # SQLite's default is the loop
        now = datetime.now(UTC).replace(microsecond=0)
        async with database.uow() as uow:
            await seed_world(uow, now - timedelta(hours=1))
            session = await scheduled_session(uow, now=now, starts_at=now + timedelta(minutes=2))
            await uow.commit()
        room, came = session.session_code, now - timedelta(minutes=1)
        async with _served(database, tmp_path) as (server, http, child):
            first = [joined(room, "PA_t", "5", came), joined(room, "PA_a", "10", came)]
            for body in first:
                assert "accepted" == await _send(http, server.base, body)
            await _until(lambda: _caught_up(database, 2), "the child's projection")

            os.kill(child, signal.SIGKILL)
            serve = server.pid
            await _until(
                lambda: _some(_children(serve) - {child}), "a child in place of the killed"
            )
            (successor,) = _children(serve) - {child}
            later = left(room, "PA_a", "10", now, joined_at=came)
            assert "accepted" == await _send(http, server.base, later)
            await _until(lambda: _caught_up(database, 3), "the new child's projection")
        async with database.reading() as uow:
            intervals = await uow.intervals.for_session(session.id)
            evidence = await uow.evidence.for_session(session.id)
        assert 3 == len(evidence)
        assert {("PA_t", None), ("PA_a", now)} == {(i.sid, i.left_at) for i in intervals}
        # `hudur serve` waited for its child before it exited.
        with pytest.raises(ProcessLookupError):
            os.kill(successor, 0)

    async def test_it_ends_when_the_service_is_killed(
        self, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HUDUR_PROJECTOR_PROCESS", "true")  # SQLite's default is the loop
        async with _served(database, tmp_path) as (server, _, child):
            await server.kill()
            await _until(lambda: _gone(child), "the child's end after its parent's")

    async def test_it_yields_the_cpu_to_the_intake(
        self, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The child runs `HUDUR_PROJECTOR_NICE` steps nicer than `serve`: when both want
        a core, the acknowledgement LiveKit waits for goes first, the projection (which
        reads bring up to date themselves) after."""
        monkeypatch.setenv("HUDUR_PROJECTOR_PROCESS", "true")
        monkeypatch.setenv("HUDUR_PROJECTOR_NICE", "7")
        async with _served(database, tmp_path) as (server, _, child):
            await _until(lambda: _niced(child, server.pid), "the child's niceness set")
            nicer = os.getpriority(os.PRIO_PROCESS, child) - os.getpriority(
                os.PRIO_PROCESS, server.pid
            )
        assert 7 == nicer


@contextlib.asynccontextmanager
async def _served(
    database: Database, directory: Path
) -> AsyncIterator[tuple[Server, aiohttp.ClientSession, int]]:
    """`hudur serve` on `database` once its child projector runs: the server, a
    client, the child's pid. Stopped on the way out (if it still runs)."""
    server = Server(database.url, directory, directory / "serve.log")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND)) as http:
        await server.start(http)
        try:
            await _until(lambda: _some(_children(server.pid)), "the child projector running")
            (child,) = _children(server.pid)
            yield server, http, child
        finally:
            await server.stop()


async def _some(pids: set[int]) -> bool:
    return bool(pids)


async def _niced(pid: int, parent: int) -> bool:
    return os.getpriority(os.PRIO_PROCESS, pid) != os.getpriority(os.PRIO_PROCESS, parent)


async def _gone(pid: int) -> bool:
    return _exited(pid)


def _exited(pid: int) -> bool:
    """Whether `pid` has exited (a zombie nobody reaped has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


class Turns(NamedTuple):
    one: WriterTurn
    other: WriterTurn
    probe: int  # a third open description of the lock file, to test it with


@pytest.fixture(name="turns")
def fixture_turns(tmp_path: Path) -> Iterator[Turns]:
    """Two turns on one file hold two descriptions of it, as two processes do."""
    lock_file = tmp_path / "db.writer"
    one, other = WriterTurn(lock_file), WriterTurn(lock_file)
    probe = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    try:
        yield Turns(one, other, probe)
    finally:
        os.close(probe)
        one.close()
        other.close()


class TestTheSharedTurn:
    async def test_one_holder_at_a_time_and_a_waiter_served_when_it_lets_go(
        self, turns: Turns
    ) -> None:
        one, other, probe = turns
        async with one:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            waiter = asyncio.ensure_future(other.__aenter__())
            await asyncio.sleep(0)
            assert not waiter.done()
        await waiter
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        await other.__aexit__(None, None, None)
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(probe, fcntl.LOCK_UN)

    async def test_a_cancelled_waiter_holds_nothing_once_its_thread_returns(
        self, turns: Turns
    ) -> None:
        one, other, probe = turns
        async with one:
            waiter = asyncio.ensure_future(other.__aenter__())
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        # Blocks until the cancelled waiter's thread has taken the lock and given
        # it back: then it is free.
        await asyncio.to_thread(fcntl.flock, probe, fcntl.LOCK_EX)
        fcntl.flock(probe, fcntl.LOCK_UN)
        async with other:
            pass


def test_the_child_loads_none_of_the_web_app() -> None:
    """The child's entry point, and the outbox it writes to once a join starts a
    session (imported then), load no aiohttp, no LiveKit client, no API route and no
    Alembic: a second process's memory counts against the service's (issue 11: RSS
    <= 200 MB)."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, engine.projector_child, engine.notify.outbox;"
            " print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    heavy = {"aiohttp", "alembic", "livekit", "engine.app", "engine.api.mount", "engine.api.http"}
    assert {"engine.projector", "engine.notify.outbox"} <= set(loaded)
    assert heavy.isdisjoint(loaded)
