"""`hudur rebuild`: the derived evidence and intervals made again from the inbox
equal what live intake made (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select

from engine import cli
from engine.operations.rebuild import RebuildReport, rebuild
from engine.operations.verdicts import finalise as finish_session
from store.database import Database
from store.schema import Evidence, Interval, WebhookEvent
from tests.integration.api_world import call
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import joined, left, room_finished
from tests.support.signed_requests import post_webhook

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
ROOM = "QSE-1-000001"
SECOND_ROOM = "QSE-1-000002"
UNKNOWN_ROOM = "QSE-9-000001"


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


async def _lessons(client: TestClient, database: Database) -> tuple[int, int]:
    """Two sessions with webhooks (the first finished, so it has a system
    `session_closed` row too), and an orphan room."""
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        first = await scheduled_session(uow, now=NOW, starts_at=START)
        second = await scheduled_session(uow, now=NOW, starts_at=START, students=(11,))
        await uow.commit()
    assert (ROOM, SECOND_ROOM) == (first.session_code, second.session_code)
    for path in sorted(SAMPLES.glob("*.json")):
        await _accept(client, path.read_bytes())
    await _accept(client, joined(SECOND_ROOM, "PA_x1", "11", at(2)))
    await _accept(client, left(SECOND_ROOM, "PA_x1", "11", at(20), joined_at=at(2)))
    await _accept(client, joined(SECOND_ROOM, "PA_x2", "11_tab", at(21)))
    await _accept(client, room_finished(SECOND_ROOM, at(65)))
    await _accept(client, joined(UNKNOWN_ROOM, "PA_o1", "12", at(3)))
    async with database.uow() as uow:
        session = await uow.sessions.get(first.id, for_update=True)
        assert session is not None
        await finish_session(uow, session, at=at(75), actor="test")
        await uow.commit()
    return first.id, second.id


async def _rebuild(database: Database, session_id: int | None = None) -> RebuildReport:
    """Run the rebuild in a unit of work of its own, and commit it (as the CLI does)."""
    async with database.uow() as uow:
        report = await rebuild(uow, now=NOW, allow_as_of=True, session_id=session_id)
        await uow.commit()
    return report


async def _accept(client: TestClient, body: bytes) -> None:
    response = await post_webhook(client, body)
    assert {"status": "accepted"} == await response.json()


async def _derived(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row, without surrogate ids, in a stable order."""
    async with database.uow() as uow:
        evidence = [
            _values(e, Evidence)
            for e in await uow.session.scalars(select(Evidence).order_by(Evidence.event_id))
        ]
        intervals = [
            _values(i, Interval)
            for i in await uow.session.scalars(
                select(Interval).order_by(Interval.session_id, Interval.participant_sid)
            )
        ]
        inbox = [
            (w.event_id, w.session_id)
            for w in await uow.session.scalars(select(WebhookEvent).order_by(WebhookEvent.event_id))
        ]
    return {"evidence": evidence, "intervals": intervals, "inbox": inbox}


def _values(row: Any, model: Any) -> tuple[Any, ...]:
    """Every column but the surrogate id."""
    return tuple(getattr(row, c.key) for c in model.__table__.columns if c.key != "id")


async def _wipe(database: Database, session_id: int | None = None) -> None:
    """Throw away the webhook evidence and the intervals (of one session, or all)."""
    async with database.uow() as uow:
        evidence = delete(Evidence).where(Evidence.source == "webhook")
        intervals = delete(Interval)
        if session_id is not None:
            evidence = evidence.where(Evidence.session_id == session_id)
            intervals = intervals.where(Interval.session_id == session_id)
        await uow.session.execute(evidence)
        await uow.session.execute(intervals)
        await uow.commit()


class TestRebuild:
    async def test_a_full_rebuild_after_wiping_reproduces_live_intake_exactly(
        self, client: TestClient, database: Database
    ) -> None:
        """Evidence (webhook and system rows), intervals and inbox attachments are
        the same row for row."""
        await _lessons(client, database)
        live = await _derived(database)
        await _wipe(database)
        assert [] == (await _derived(database))["intervals"]
        report = await _rebuild(database)
        assert live == await _derived(database)
        assert (15, 13, 1, 2) == (
            report.events,
            report.evidence,
            report.orphans,
            len(report.sessions),
        )
        assert len(live["intervals"]) == report.intervals

    async def test_a_rebuild_without_wiping_changes_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """Rebuilding is idempotent."""
        await _lessons(client, database)
        live = await _derived(database)
        await _rebuild(database)
        await _rebuild(database)
        assert live == await _derived(database)

    async def test_rebuilding_one_session_touches_only_that_session(
        self, client: TestClient, database: Database
    ) -> None:
        """`--session ID`: that session is made again; the others are left alone."""
        first, second = await _lessons(client, database)
        live = await _derived(database)
        await _wipe(database, first)
        await _wipe(database, second)
        report = await _rebuild(database, session_id=first)
        after = await _derived(database)
        assert [first] == report.sessions
        assert [i for i in live["intervals"] if i[0] == first] == after["intervals"]
        assert [e for e in live["evidence"] if e[5] != second] == after["evidence"]

    async def test_a_rebuild_attaches_events_of_a_room_whose_session_appeared_since(
        self, client: TestClient, database: Database
    ) -> None:
        """An orphan's session exists by now, though nobody adopted its events:
        the rebuild attaches them as adoption would have."""
        await _accept(client, joined(ROOM, "PA_1", "10", at(1)))
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await scheduled_session(uow, now=NOW, starts_at=START)
            await uow.commit()
        report = await _rebuild(database)
        derived = await _derived(database)
        assert [session.id] == [attached for _, attached in derived["inbox"]]
        assert [session.id] == [i[0] for i in derived["intervals"]]
        assert 0 == report.orphans


class TestRebuildRedecides:
    async def test_a_verdict_the_raw_events_change_is_redecided_in_agreement(
        self, client: TestClient, database: Database
    ) -> None:
        """The student's leave at minute 5 was lost, so the lesson finished with them
        present; the leave arrives afterwards (recorded, not counted). A rebuild
        re-decides: verdict absent, the individual session ABSENT, its one charge row
        charged for `absent`, and the change audited as `rebuild`."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            lesson = await scheduled_session(uow, now=NOW, starts_at=START)
            session_id, room = lesson.id, lesson.session_code
            await uow.commit()
        await _accept(client, joined(room, "PA_t", "5", at(0)))
        await _accept(client, joined(room, "PA_s", "10", at(0)))
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id, for_update=True)
            assert session is not None
            await finish_session(uow, session, at=at(75), actor="test")
            await uow.commit()
        await _accept(client, left(room, "PA_s", "10", at(5), joined_at=at(0)))
        before = await _verdict_state(client, session_id)

        report = await _rebuild(database)

        assert ("completed", "present", "present") == before
        assert ("absent", "absent", "absent") == await _verdict_state(client, session_id)
        assert ([session_id], [session_id]) == (report.redecided, report.moved)
        _, history = await call(client, "GET", f"/v1/sessions/{session_id}/history")
        rebuilt = [e for e in history["data"] if e["actor"] == "rebuild"]
        assert [
            ("rebuild", None, "present", "absent"),
            ("transition", "report_absent", "completed", "absent"),
        ] == [
            (
                e["kind"],
                e["event"],
                e["before"].get("attendance_status", e["before"].get("status")),
                e["after"].get("attendance_status", e["after"].get("status")),
            )
            for e in rebuilt
        ]
        assert ("present", "absent") == (
            rebuilt[0]["before"]["charge"]["reason"],
            rebuilt[0]["after"]["charge"]["reason"],
        )
        async with database.uow() as uow:
            charges = await uow.charges.for_session(session_id)
            assert [("charged", "absent")] == [(c.status, c.verdict) for c in charges.values()]

    async def test_a_rebuild_that_changes_no_verdict_moves_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """Rebuilding finished lessons whose evidence is unchanged re-decides nothing:
        no audit, no transition."""
        first, _ = await _lessons(client, database)
        _, before = await call(client, "GET", f"/v1/sessions/{first}/history")
        report = await _rebuild(database)
        _, after = await call(client, "GET", f"/v1/sessions/{first}/history")
        assert ([], before) == (report.redecided, after)


async def _verdict_state(client: TestClient, session_id: int) -> tuple[str, str, str]:
    """(the session's status, the student's verdict, the verdict its charge was for),
    as the API answers them."""
    _, session = await call(client, "GET", f"/v1/sessions/{session_id}")
    _, attendance = await call(client, "GET", f"/v1/sessions/{session_id}/attendance")
    (student,) = attendance["students"]
    return session["status"], student["attendance_status"], student["charge"]["reason"]


class TestRebuildCommand:
    async def test_hudur_rebuild_reproduces_the_derived_tables_and_says_what_it_did(
        self,
        client: TestClient,
        database: Database,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The console entry rebuilds from the configured database and prints counts."""
        await _lessons(client, database)
        live = await _derived(database)
        await _wipe(database)
        _configure(monkeypatch, tmp_path, database)
        assert 0 == await asyncio.to_thread(cli.main, ["rebuild"])
        assert live == await _derived(database)
        out = capsys.readouterr().out
        assert "rebuilt 13 evidence rows from 15 stored webhooks" in out
        assert "recomputed the intervals of 2 sessions" in out

    async def test_hudur_rebuild_of_one_session(
        self,
        client: TestClient,
        database: Database,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """`--session ID` rebuilds that one; an unknown id is an error (exit 1)."""
        first, _ = await _lessons(client, database)
        live = await _derived(database)
        await _wipe(database, first)
        _configure(monkeypatch, tmp_path, database)
        assert 0 == await asyncio.to_thread(cli.main, ["rebuild", "--session", str(first)])
        assert live == await _derived(database)
        assert "recomputed the intervals of 1 sessions" in capsys.readouterr().out
        assert 1 == await asyncio.to_thread(cli.main, ["rebuild", "--session", "999999"])
        assert "no session 999999" in capsys.readouterr().err


def _configure(monkeypatch: pytest.MonkeyPatch, directory: Path, database: Database) -> None:
    """Point the CLI at the test database, away from any .env, with the settings the
    app under test took the events in with (`as_of` allowed: the events are dated in
    the tests' time, not when they were received), and leave the test run's logging
    configuration alone."""
    monkeypatch.chdir(directory)
    monkeypatch.setenv("HUDUR_DATABASE_URL", database.url)
    monkeypatch.setenv("HUDUR_ALLOW_AS_OF", "true")
    monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
