"""What an accepted webhook writes: evidence, intervals, the start trigger, orphans,
removals (its durability: test_webhook_durability.py). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from livekit.protocol import models

from engine.operations import lifecycle
from engine.operations.attendance import session_attendance
from engine.operations.presence import adopt_orphan_evidence
from rules.actors import SERVICE
from rules.attendance import AttendanceStatus
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent, Status
from store.database import Database
from store.schema import Session
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import OBSERVER, aborted, joined, left, room_finished
from tests.support.signed_requests import post_webhook

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
ROOM = "QSE-1-000001"


def at(minutes: float) -> datetime:
    """START plus `minutes`."""
    return START + timedelta(minutes=minutes)


async def _session(database: Database, **kwargs: Any) -> Session:
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        session = await scheduled_session(uow, now=NOW, starts_at=START, **kwargs)
        await uow.commit()
    return session


async def _intervals(database: Database, session_id: int) -> list[tuple[Any, ...]]:
    async with database.uow() as uow:
        return [
            (
                i.sid,
                i.identity,
                i.user_id,
                i.room_sid,
                i.joined_at,
                i.left_at,
                i.decisive,
            )
            for i in await uow.intervals.for_session(session_id)
        ]


async def _reload(database: Database, session_id: int) -> Session:
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        uow.session.expunge(session)
        return session


async def _accept(client: TestClient, body: bytes) -> None:
    response = await post_webhook(client, body)
    assert (200, {"status": "accepted"}) == (response.status, await response.json())


class TestSamples:
    async def test_the_recorded_samples_give_the_expected_intervals(
        self, client: TestClient, database: Database
    ) -> None:
        """LiveKit's own bodies, odd spacing and all: the teacher from 10:00:30, the
        student twice (a reconnect with a new sid), the observer kept but not decisive."""
        session = await _session(database)
        assert ROOM == session.session_code
        for path in sorted(SAMPLES.glob("*.json")):
            await _accept(client, path.read_bytes())
        room_end = datetime(2025, 12, 1, 11, 1, 40, tzinfo=UTC)
        ms = timedelta(milliseconds=1)
        rm = "RM_hycBMAjmt6Ub"
        assert [
            ("PA_T5a1b2c3d4e5", "5", 5, rm, at(0.5) + 412 * ms, room_end, True),
            ("PA_S10aaaaaaaa1", "10_Mohamed", 10, rm, at(3) + 907 * ms, at(32), True),
            ("PA_OBSxxxxxxxx1", "77", 77, rm, at(5) + 50 * ms, room_end, False),
            (
                "PA_S10bbbbbbbb2",
                "10_Mohamed",
                10,
                rm,
                at(33) + 10_330 * ms,
                at(59) + 50_000 * ms,
                True,
            ),
        ] == await _intervals(database, session.id)

    async def test_the_samples_store_every_event_and_derive_presence_and_track_evidence(
        self, client: TestClient, database: Database
    ) -> None:
        """Ten events in the inbox; room_started and egress_started give no evidence,
        track_published gives track evidence (apart from presence); every inbox row
        of the room is attached to the session."""
        session = await _session(database)
        for path in sorted(SAMPLES.glob("*.json")):
            await _accept(client, path.read_bytes())
        async with database.uow() as uow:
            inbox = await uow.inbox.all()
            evidence = await uow.evidence.for_session(session.id)
            tracks = await uow.evidence.tracks_for_session(session.id)
            states = {row.event: row.state for row in inbox}
            attached = {row.session_id for row in inbox}
            kinds = sorted(row.kind for row in evidence)
        assert 10 == len(inbox)
        assert {session.id} == attached
        assert ("ignored", "processed") == (states["egress_started"], states["track_published"])
        assert ["joined", "joined", "joined", "joined", "left", "left", "room_finished"] == kinds
        assert [("TR_AMkz91Xc", "MICROPHONE")] == [(t.track_sid, t.source) for t in tracks]

    async def test_the_samples_start_the_session_at_the_teachers_join(
        self, client: TestClient, database: Database
    ) -> None:
        """The first roster join moves SCHEDULED to ONGOING with started_at = that join."""
        session = await _session(database)
        for path in sorted(SAMPLES.glob("*.json")):
            await _accept(client, path.read_bytes())
        reloaded = await _reload(database, session.id)
        assert Status.ONGOING == reloaded.status
        assert at(0.5) + timedelta(milliseconds=412) == reloaded.started_at

    async def test_the_samples_make_the_student_present(
        self, client: TestClient, database: Database, clock: Any
    ) -> None:
        """Two stretches 70 s apart merge: 56 of 60 minutes, on time, present."""
        session = await _session(database)
        for path in sorted(SAMPLES.glob("*.json")):
            await _accept(client, path.read_bytes())
        async with database.uow() as uow:
            reloaded = await uow.sessions.get(session.id)
            assert reloaded is not None
            attendance = await session_attendance(uow, reloaded, now=at(120), finished=True)
        assert AttendanceStatus.PRESENT == attendance.student(10).verdict.status
        assert 5 == attendance.teacher_id


class TestEvidence:
    async def test_a_join_happens_at_joined_at_ms_not_when_the_event_was_sent(
        self, client: TestClient, database: Database
    ) -> None:
        """joinedAtMs wins over the event's createdAt."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_1", "10", at(1.5), created_at=at(2)))
        (interval,) = await _intervals(database, session.id)
        assert at(1.5) == interval[4]

    async def test_a_leave_whose_join_was_lost_still_gives_an_interval(
        self, client: TestClient, database: Database
    ) -> None:
        """participant_left carries joinedAt: that is when the stretch began."""
        session = await _session(database)
        await _accept(client, left(ROOM, "PA_1", "10", at(40), joined_at=at(2)))
        assert [("PA_1", "10", 10, "RM_hycBMAjmt6Ub", at(2), at(40), True)] == await _intervals(
            database, session.id
        )

    async def test_an_aborted_connection_closes_its_interval(
        self, client: TestClient, database: Database
    ) -> None:
        """participant_connection_aborted ends that sid at the event's time."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_1", "10", at(1)))
        await _accept(client, aborted(ROOM, "PA_1", "10", at(1.5)))
        (interval,) = await _intervals(database, session.id)
        assert at(1.5) == interval[5]

    async def test_room_finished_closes_every_open_interval_of_that_room(
        self, client: TestClient, database: Database
    ) -> None:
        """The room's end is everyone's leave."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_1", "10", at(1)))
        await _accept(client, joined(ROOM, "PA_2", "5", at(0)))
        await _accept(client, room_finished(ROOM, at(61)))
        assert [at(61), at(61)] == [i[5] for i in await _intervals(database, session.id)]

    @pytest.mark.parametrize(
        ("kind", "metadata"),
        [
            (models.ParticipantInfo.Kind.AGENT, ""),
            (models.ParticipantInfo.Kind.EGRESS, ""),
            (models.ParticipantInfo.Kind.SIP, ""),
            (models.ParticipantInfo.Kind.STANDARD, OBSERVER),
        ],
        ids=["agent", "egress", "sip", "observer"],
    )
    async def test_non_standard_participants_and_observers_are_kept_but_not_decisive(
        self, client: TestClient, database: Database, kind: int, metadata: str
    ) -> None:
        """Recorded as an interval that decides nothing, and never starts the session."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_1", "10", at(0), kind=kind, metadata=metadata))
        (interval,) = await _intervals(database, session.id)
        assert interval[6] is False
        assert Status.SCHEDULED == (await _reload(database, session.id)).status

    async def test_an_identity_off_the_roster_is_kept_but_starts_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """User 11 is not on this session's roster: an interval, no start."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_1", "11", at(0)))
        assert 1 == len(await _intervals(database, session.id))
        assert Status.SCHEDULED == (await _reload(database, session.id)).status


class TestTrigger:
    async def test_the_first_roster_join_starts_the_session(
        self, client: TestClient, database: Database
    ) -> None:
        """A student's join at S - 5 min moves SCHEDULED to ONGOING, started then."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_1", "10_Ali", at(-5)))
        reloaded = await _reload(database, session.id)
        assert (Status.ONGOING, at(-5)) == (reloaded.status, reloaded.started_at)
        async with database.uow() as uow:
            actor = (await uow.transitions.for_session(session.id))[-1].actor
        assert actor.startswith("evidence:EV_")

    async def test_a_join_before_the_preparation_window_starts_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """At S - 20 min the session is not open yet; the join is still recorded."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_1", "5", at(-20)))
        assert Status.SCHEDULED == (await _reload(database, session.id)).status
        assert 1 == len(await _intervals(database, session.id))

    async def test_a_ready_session_starts_too(self, client: TestClient, database: Database) -> None:
        """READY -> ONGOING on the teacher's join."""
        session = await _session(database, status=Status.READY)
        await _accept(client, joined(ROOM, "PA_1", "5", at(1)))
        assert Status.ONGOING == (await _reload(database, session.id)).status

    async def test_an_earlier_join_arriving_later_moves_started_at_back(
        self, client: TestClient, database: Database
    ) -> None:
        """started_at is the first join by event time, not by arrival."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_2", "10", at(4)))
        await _accept(client, joined(ROOM, "PA_1", "5", at(-2)))
        reloaded = await _reload(database, session.id)
        assert (Status.ONGOING, at(-2)) == (reloaded.status, reloaded.started_at)

    @pytest.mark.parametrize("status", [Status.COMPLETED, Status.ABSENT, Status.CANCELLED])
    async def test_a_join_into_a_finished_session_is_recorded_and_flagged_for_removal(
        self, client: TestClient, database: Database, status: Status
    ) -> None:
        """Nothing moves; the participant is queued for removal from the room."""
        session = await _session(database, status=status)
        async with database.uow() as uow:
            moves = [t.event for t in await uow.transitions.for_session(session.id)]
        await _accept(client, joined(ROOM, "PA_1", "10_Ali", at(70)))
        assert status == (await _reload(database, session.id)).status
        async with database.uow() as uow:
            operations = [
                (op.op, op.room_name, op.identity, op.state)
                for op in await uow.rooms.for_session(session.id)
            ]
            history = [t.event for t in await uow.transitions.for_session(session.id)]
        assert [("remove_participant", ROOM, "10_Ali", "pending")] == operations
        assert moves == history
        assert 1 == len(await _intervals(database, session.id))


class TestOrphans:
    async def test_events_for_an_unknown_room_are_kept_and_adopted_by_its_session(
        self, client: TestClient, database: Database
    ) -> None:
        """Posted before the session exists: stored with no session; once the API
        creates the session and adopts them, its intervals are there."""
        await _accept(client, joined(ROOM, "PA_1", "10", at(1)))
        await _accept(client, left(ROOM, "PA_1", "10", at(30), joined_at=at(1)))
        async with database.uow() as uow:
            inbox_sessions = {row.session_id for row in await uow.inbox.all()}
        assert {None} == inbox_sessions
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await lifecycle.create(
                uow,
                LifecycleEvent.CREATE,
                at=NOW,
                actor=SERVICE,
                academy_id=1,
                session_type=SessionType.QURAN_INDIVIDUAL,
                title="Hifz",
                duration_minutes=60,
                teacher_id=5,
                student_ids=[10],
            )
            assert ROOM == session.session_code
            await adopt_orphan_evidence(uow, session, now=NOW)
            await uow.commit()
        assert [("PA_1", "10", 10, "RM_hycBMAjmt6Ub", at(1), at(30), True)] == await _intervals(
            database, session.id
        )
        async with database.uow() as uow:
            inbox_sessions = {row.session_id for row in await uow.inbox.all()}
        assert {session.id} == inbox_sessions
