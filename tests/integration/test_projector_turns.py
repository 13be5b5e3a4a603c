"""The projector's batches: intervals updated only where new evidence bears equal a
build from all of it, whatever the batch size; and on SQLite, a batch derived before
its turn to write whose rows were projected meanwhile (a fresh read's `catch_up`) is
dropped and read again, so nothing is applied twice or skipped.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

import engine.projector
from engine.operations.projection import project
from engine.projector import Projector
from rules.evidence import build_intervals
from store.database import Database
from store.repositories.inbox import NewEvent
from tests.support.conditions import until
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import aborted, joined, left, room_finished
from webhooks.parse import parse_event

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def _lesson(room: str) -> list[bytes]:
    """A teacher, students reconnecting under new sids, a second device, an observer,
    a lost join, an aborted connection, and the room's end."""
    return [
        joined(room, "PA_t", "5", at(-2)),
        joined(room, "PA_a1", "10", at(0)),
        joined(room, "PA_b1", "11_Sara", at(1)),
        joined(room, "PA_a2", "10", at(12)),  # a reconnect ends PA_a1
        joined(room, "PA_b2", "11_phone", at(14)),
        left(room, "PA_b1", "11_Sara", at(20), joined_at=at(1)),
        left(room, "PA_c", "12", at(25), joined_at=at(3)),  # its join was lost
        joined(room, "PA_a3", "10", at(30)),
        aborted(room, "PA_a3", "10", at(31)),
        left(room, "PA_b2", "11_phone", at(40), joined_at=at(14)),
        joined(room, "PA_o", "obs", at(5)),
        room_finished(room, at(58)),
        joined(room, "PA_t2", "5", at(59)),
    ]


def _new(body: bytes) -> NewEvent:
    event = parse_event(body)
    return NewEvent(
        event.id,
        event.event,
        event.room_name,
        event.room_sid,
        event.created_at,
        event.created_at,
        body,
    )


async def _room(database: Database) -> tuple[int, str]:
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        session = await scheduled_session(uow, now=NOW, starts_at=START)
        await uow.commit()
    return session.id, session.session_code


async def _intervals_and_evidence(database: Database, session_id: int) -> tuple[Any, Any]:
    async with database.reading() as uow:
        stored = await uow.intervals.for_session(session_id)
        evidence = await uow.evidence.for_session(session_id)
    return stored, evidence


@pytest.mark.parametrize("batch", [1, 3, 1000])
async def test_intervals_updated_batch_by_batch_equal_a_build_from_all_evidence(
    database: Database, batch: int
) -> None:
    session_id, room = await _room(database)
    bodies = _lesson(room)
    random.Random(batch).shuffle(bodies)
    await database.append_inbox([_new(body) for body in bodies])
    projector = Projector(lambda: database, clock=lambda: NOW, allow_as_of=True, batch=batch)

    await projector.catch_up()

    stored, evidence = await _intervals_and_evidence(database, session_id)
    assert len(evidence) == len(bodies)
    assert list(build_intervals(evidence)) == stored
    assert {"PA_t", "PA_a1", "PA_a2", "PA_c", "PA_o"} <= {i.sid for i in stored}


async def test_a_batch_projected_meanwhile_by_a_fresh_read_is_dropped_and_read_again(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.dialect != "sqlite":
        pytest.skip("only SQLite's projector derives a batch before its turn to write")
    session_id, room = await _room(database)
    bodies = _lesson(room)
    first, later = bodies[:7], bodies[7:]
    await database.append_inbox([_new(body) for body in first])
    derive = engine.projector.read_rows
    calls = 0

    async def read_rows_raced(*args: Any, **kwargs: Any) -> Any:
        # Between this batch's read and its turn: another projection of the same rows
        # commits, and more events arrive.
        nonlocal calls
        calls += 1
        staged = await derive(*args, **kwargs)
        if calls == 1:
            async with database.uow() as uow:
                assert await project(uow, now=NOW, allow_as_of=True, limit=1000) is not None
                await uow.commit()
            await database.append_inbox([_new(body) for body in later])
        return staged

    monkeypatch.setattr(engine.projector, "read_rows", read_rows_raced)
    projector = Projector(lambda: database, clock=lambda: NOW, allow_as_of=True)

    await projector.catch_up()

    assert calls == 2
    stored, evidence = await _intervals_and_evidence(database, session_id)
    assert sorted(e.event_id for e in evidence) == sorted(parse_event(b).id for b in bodies)
    assert list(build_intervals(evidence)) == stored
    async with database.reading() as uow:
        assert (await uow.projection.positions())[0] == (await uow.projection.positions())[1]


async def test_a_turn_finding_the_file_locked_by_another_process_waits_off_the_loop(
    database: Database,
) -> None:
    """The projector's turn runs on the event loop and never waits there: when another
    connection holds SQLite's write lock, the turn waits for it in the driver's thread
    (the loop serving meanwhile) and projects the batch once the lock is let go."""
    path = database.sqlite_file
    if path is None:
        pytest.skip("SQLite's write lock")
    session_id, room = await _room(database)
    bodies = _lesson(room)
    await database.append_inbox([_new(body) for body in bodies])
    projector = Projector(lambda: database, clock=lambda: NOW, allow_as_of=True)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    before = _turns_waited()
    projecting = asyncio.create_task(projector.catch_up())
    await until(lambda: _turns_waited() > before)  # the loop runs on meanwhile: this test does
    assert not projecting.done()
    other.execute("COMMIT")
    other.close()
    await projecting
    assert 1 == _turns_waited() - before
    stored, evidence = await _intervals_and_evidence(database, session_id)
    assert len(bodies) == len(evidence)
    assert list(build_intervals(evidence)) == stored


def _turns_waited() -> float:
    """Turns that found the lock taken: the projector's, or its move of the spool's
    rows into the inbox (the first write of a catch-up, store/spool.py)."""
    return sum(
        REGISTRY.get_sample_value("hudur_sqlite_on_loop_fallbacks_total", {"work": work}) or 0.0
        for work in ("projector_turn", "spool_move")
    )
