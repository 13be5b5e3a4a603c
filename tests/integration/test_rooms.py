"""LiveKit rooms: the RoomService gateway against a fake LiveKit, and pending room work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from livekit import api
from structlog.testing import capture_logs

from engine.operations.rooms import SKIPPED, SUPERSEDED
from scheduler.rooms import RoomGateway, run_room_operations
from store.database import Database
from store.schema import RoomOperation
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.fake_livekit import (  # noqa: F401 (fixtures)
    PROTOBUF,
    FakeLiveKit,
    fixture_livekit,
    fixture_rooms,
)

NOW = datetime(2025, 12, 1, 9, 45, tzinfo=UTC)
ROOM = "QSE-1-000001"


async def _enqueue(database: Database, op: str, *, room: str = ROOM, **fields: object) -> int:
    async with database.uow() as uow:
        row = uow.rooms.enqueue(op, room, now=NOW, **fields)  # type: ignore[arg-type]
        await uow.session.flush()
        await uow.commit()
        return row.id


async def _op(database: Database, op_id: int) -> RoomOperation:
    async with database.uow() as uow:
        row = await uow.session.get(RoomOperation, op_id)
        assert row is not None
        uow.session.expunge(row)  # readable after the unit of work ends
        return row


class TestRoomGateway:
    async def test_create_room_reaches_livekit_as_protobuf_with_its_limits(
        self, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """CreateRoom goes through livekit-api's real client, protobuf-encoded."""
        await rooms.create_room(ROOM, empty_timeout=5100, max_participants=7)
        (call,) = livekit.calls
        assert ("CreateRoom", PROTOBUF) == (call.method, call.content_type)
        info = livekit.rooms[ROOM].info
        assert (5100, 7) == (info.empty_timeout, info.max_participants)

    async def test_deleting_a_room_that_is_gone_counts_as_done(
        self, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """LiveKit's not_found on DeleteRoom is success: the room is closed either way."""
        await rooms.delete_room(ROOM)
        assert ["DeleteRoom"] == [c.method for c in livekit.calls]

    async def test_participants_are_listed_and_removed(
        self, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """ListParticipants shows who is in; RemoveParticipant takes one out."""
        await rooms.create_room(ROOM, empty_timeout=300, max_participants=3)
        await livekit.join(ROOM, "10_Mohamed", notify=False)
        await livekit.join(ROOM, "5", notify=False)
        assert ["10_Mohamed", "5"] == sorted(
            p.identity for p in await rooms.list_participants(ROOM)
        )
        await rooms.remove_participant(ROOM, "10_Mohamed")
        assert ["5"] == livekit.present(ROOM)

    async def test_a_room_that_does_not_exist_has_nobody_in_it(self, rooms: RoomGateway) -> None:
        """ListParticipants of a missing room answers an empty list, not an error."""
        assert [] == await rooms.list_participants("QSE-1-999999")

    async def test_calls_are_signed_with_the_api_secret(self, livekit: FakeLiveKit) -> None:
        """A gateway with another secret is refused by LiveKit (the fake checks the JWT)."""
        wrong = RoomGateway(livekit.url, LIVEKIT_KEY, "another-secret-0123456789abcdef0123")
        try:
            with pytest.raises(api.TwirpError) as raised:
                await wrong.create_room(ROOM, empty_timeout=300, max_participants=3)
        finally:
            await wrong.close()
        assert "unauthenticated" == raised.value.code
        assert {} == livekit.rooms

    async def test_the_meeting_link_is_the_public_url_with_the_room(self) -> None:
        """meeting_link = <HUDUR_PUBLIC_URL or HUDUR_LIVEKIT_URL>/rooms/<session code>."""
        gateway = RoomGateway("wss://lk.example.org", "k", "s", public_url="https://meet.example")
        assert "https://meet.example/rooms/QSE-1-000001" == gateway.meeting_link(ROOM)
        assert "wss://lk.example.org/rooms/QSE-1-000001" == RoomGateway(
            "wss://lk.example.org", "k", "s"
        ).meeting_link(ROOM)


class TestPendingRoomWork:
    async def test_a_failed_call_stays_pending_and_a_later_run_completes_it(
        self, database: Database, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """LiveKit answering 503 leaves the operation pending with attempts, error and a
        backoff; it is not retried early, and succeeds once LiveKit is back."""
        op_id = await _enqueue(
            database, "create_room", payload={"empty_timeout": 600, "max_participants": 4}
        )
        livekit.fail(503)
        assert 1 == await run_room_operations(database, rooms, NOW)
        failed = await _op(database, op_id)
        assert ("pending", 1, NOW + timedelta(seconds=10)) == (
            failed.state,
            failed.attempts,
            failed.next_attempt_at,
        )
        assert failed.last_error is not None and "unavailable" in failed.last_error

        livekit.recover()
        assert 0 == await run_room_operations(database, rooms, NOW + timedelta(seconds=9))
        assert 1 == await run_room_operations(database, rooms, NOW + timedelta(seconds=10))
        done = await _op(database, op_id)
        assert ("done", 2, None) == (done.state, done.attempts, done.last_error)
        assert 600 == livekit.rooms[ROOM].info.empty_timeout

    async def test_backoff_doubles_and_stops_growing_at_ten_minutes(
        self, database: Database, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """Each failure waits twice as long as the one before, at most 10 minutes."""
        op_id = await _enqueue(database, "delete_room")
        livekit.fail(500)
        waits = []
        at = NOW
        for _ in range(8):
            await run_room_operations(database, rooms, at)
            next_at = (await _op(database, op_id)).next_attempt_at
            waits.append(int((next_at - at).total_seconds()))
            at = next_at
        assert [10, 20, 40, 80, 160, 320, 600, 600] == waits

    async def test_a_closed_livekit_leaves_work_pending_until_it_is_back(
        self, database: Database, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """A refused connection is a failure like any other; the room is deleted later."""
        await rooms.create_room(ROOM, empty_timeout=300, max_participants=3)
        op_id = await _enqueue(database, "delete_room")
        await livekit.stop()
        await run_room_operations(database, rooms, NOW)
        assert "pending" == (await _op(database, op_id)).state
        await livekit.start()
        await run_room_operations(database, rooms, NOW + timedelta(minutes=1))
        assert "done" == (await _op(database, op_id)).state
        assert ROOM not in livekit.rooms

    async def test_without_a_livekit_url_calls_are_skipped_and_logged(
        self, database: Database
    ) -> None:
        """No HUDUR_LIVEKIT_URL: the operation is marked done as skipped, with a log line."""
        op_id = await _enqueue(database, "delete_room")
        gateway = RoomGateway(None, LIVEKIT_KEY, LIVEKIT_SECRET)
        with capture_logs() as logs:
            assert 0 == await run_room_operations(database, gateway, NOW)
        row = await _op(database, op_id)
        assert ("done", SKIPPED) == (row.state, row.last_error)
        assert ["room_call_skipped"] == [e["event"] for e in logs if "room_call" in e["event"]]

    async def test_a_create_still_pending_after_the_delete_never_reopens_the_room(
        self, database: Database, rooms: RoomGateway, livekit: FakeLiveKit
    ) -> None:
        """A CreateRoom that failed until after the session ended is dropped, not replayed."""
        create_id = await _enqueue(database, "create_room", session_id=7, payload={})
        livekit.fail()
        await run_room_operations(database, rooms, NOW)
        await _enqueue(database, "delete_room", session_id=7)
        livekit.recover()
        await run_room_operations(database, rooms, NOW + timedelta(minutes=5))
        create = await _op(database, create_id)
        assert ("done", SUPERSEDED) == (create.state, create.last_error)
        assert {} == livekit.rooms
        assert ["DeleteRoom"] == [c.method for c in livekit.calls]

    async def test_two_replicas_call_livekit_once_per_operation(
        self, database: Database, livekit: FakeLiveKit
    ) -> None:
        """Two processes running the same queue at once make each call exactly once."""
        for n in range(60):
            await _enqueue(database, "delete_room", room=f"QSE-1-{n + 1:06d}")
        other = Database(database.url)
        gateways = [RoomGateway(livekit.url, LIVEKIT_KEY, LIVEKIT_SECRET) for _ in range(2)]
        try:
            done = await asyncio.gather(
                run_room_operations(database, gateways[0], NOW, batch_size=7),
                run_room_operations(other, gateways[1], NOW, batch_size=7),
            )
        finally:
            for gateway in gateways:
                await gateway.close()
            await other.dispose()
        assert 60 == sum(done)
        deleted = sorted(c.request.room for c in livekit.calls)
        assert [f"QSE-1-{n + 1:06d}" for n in range(60)] == deleted
