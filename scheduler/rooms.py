"""LiveKit rooms: the RoomService gateway, and the pending room work run to completion.

Every RoomService call Hudur needs is first written as a `room_operations` row in
the same transaction as the change that needs it (a session made READY, finished,
cancelled; a join into a finished session). `run_room_operations` then performs
due rows (`engine.operations.rooms` keeps their books): done on success, else kept
pending with `attempts + 1`, the error and an exponential backoff. Nothing is lost
when LiveKit is down, and each call is idempotent on LiveKit's side (an existing
room is returned, a missing one counts as deleted), so a call repeated after a
crash does no harm.

With `HUDUR_LIVEKIT_URL` unset there is no LiveKit to call: rows are marked done
with `last_error = "skipped: no HUDUR_LIVEKIT_URL"` and a log line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiohttp
import structlog
from google.protobuf import json_format
from livekit import api

from engine.operations.rooms import SKIPPED, RoomCall, Settled, claim_due, settle
from rules.rooms import ClaimOutcome, RoomOperationKind
from scheduler.metrics import ROOM_CALLS
from store.database import Database

log = structlog.get_logger("hudur.rooms")

CALL_TIMEOUT_SECONDS = 10.0
NO_LINK = "no HUDUR_LIVEKIT_URL: sessions get no meeting_link"
# Said once per process, not once per session prepared.
_no_link_said = False
PROBE_TIMEOUT_SECONDS = 2.0  # /readyz must answer well within a probe's own timeout


class RoomGateway:
    """RoomService over livekit-api's `LiveKitAPI`, or nothing when no URL is set.

    The aiohttp session is opened on first use and closed by `close()` (the app's
    cleanup_ctx, the CLI, or a test)."""

    def __init__(
        self,
        url: str | None,
        api_key: str,
        api_secret: str,
        *,
        public_url: str | None = None,
        timeout: float = CALL_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self._key = api_key
        self._secret = api_secret
        self._public_url = public_url or url
        self._timeout = timeout
        self._http: aiohttp.ClientSession | None = None
        self._api: api.LiveKitAPI | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> RoomGateway:
        return cls(
            settings.livekit_url,
            settings.livekit_api_key,
            settings.livekit_api_secret,
            public_url=settings.public_url,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def meeting_link(self, room_name: str) -> str | None:
        """Where people meet: `<public or LiveKit URL>/rooms/<room>`; None without a
        LiveKit to meet on (a relative `/rooms/...` would lead nowhere)."""
        global _no_link_said
        if not self.enabled:
            if not _no_link_said:
                _no_link_said = True
                log.warning("meeting_link_unset", reason=NO_LINK)
            return None
        base = (self._public_url or "").rstrip("/")
        return f"{base}/rooms/{room_name}"

    def _room(self) -> Any:
        if self._api is None:
            assert self.url is not None, "RoomService called without HUDUR_LIVEKIT_URL"
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
            self._api = api.LiveKitAPI(self.url, self._key, self._secret, session=self._http)
        return self._api.room

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = None
        self._api = None

    async def create_room(
        self, name: str, *, empty_timeout: int, max_participants: int
    ) -> dict[str, Any]:
        """Open the room (or find it open); LiveKit's Room in protobuf's JSON mapping."""
        room = await self._room().create_room(
            api.CreateRoomRequest(
                name=name, empty_timeout=empty_timeout, max_participants=max_participants
            )
        )
        answer: dict[str, Any] = json_format.MessageToDict(room)
        return answer

    async def delete_room(self, name: str) -> None:
        """Delete a room; one that is already gone counts as deleted."""
        try:
            await self._room().delete_room(api.DeleteRoomRequest(room=name))
        except api.TwirpError as exc:
            if exc.code != api.TwirpErrorCode.NOT_FOUND:
                raise

    async def remove_participant(self, room: str, identity: str) -> None:
        """Remove a participant; one already gone (or a room already gone) counts as done."""
        try:
            await self._room().remove_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            )
        except api.TwirpError as exc:
            if exc.code != api.TwirpErrorCode.NOT_FOUND:
                raise

    async def list_participants(self, room: str) -> list[Any]:
        """The room's participants (`ParticipantInfo`); a room that does not exist is empty."""
        try:
            answer = await self._room().list_participants(api.ListParticipantsRequest(room=room))
        except api.TwirpError as exc:
            if exc.code == api.TwirpErrorCode.NOT_FOUND:
                return []
            raise
        return list(answer.participants)

    async def room_sid(self, room: str) -> str | None:
        """The sid of the room now open under this name, if any."""
        answer = await self._room().list_rooms(api.ListRoomsRequest(names=[room]))
        return next((r.sid for r in answer.rooms if r.name == room), None)

    async def probe(self) -> str | None:
        """Whether RoomService answers: None when it does, else why not. A ListRooms of
        one name no session has, so the answer stays small however many rooms are open."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                await self._room().list_rooms(api.ListRoomsRequest(names=["hudur-readyz"]))
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
        except Exception as exc:  # any failure means LiveKit does not answer as it should
            return f"{type(exc).__name__}: {exc}"[:500]
        return None

    async def perform(self, call: RoomCall) -> dict[str, Any] | None:
        """Carry out one claimed operation; raises when LiveKit did not do it. CreateRoom
        answers the room it made; the other calls nothing worth keeping."""
        if call.kind == RoomOperationKind.CREATE_ROOM:
            return await self.create_room(
                call.room_name,
                empty_timeout=int(call.payload.get("empty_timeout", 0)),
                max_participants=int(call.payload.get("max_participants", 0)),
            )
        elif call.kind == RoomOperationKind.DELETE_ROOM:
            await self.delete_room(call.room_name)
        elif call.kind == RoomOperationKind.REMOVE_PARTICIPANT:
            if not call.identity:
                raise ValueError("remove_participant needs an identity")
            await self.remove_participant(call.room_name, call.identity)
        else:
            raise ValueError(f"unknown room operation {call.kind!r}")
        return None


async def run_room_operations(
    database: Database,
    rooms: RoomGateway,
    now: datetime,
    *,
    batch_size: int = 100,
    academy_id: int | None = None,
) -> int:
    """Perform every room operation due at `now` (of `academy_id`'s sessions only, when
    given); the number of LiveKit calls tried.

    A batch is claimed in one short transaction (`engine.operations.rooms.claim_due`:
    replicas never take the same row); LiveKit is called outside any transaction; the
    outcomes are written in another. A failed row moves to a later `next_attempt_at`,
    so the loop ends."""
    called = 0
    while True:
        async with database.uow() as uow:
            claimed = await claim_due(
                uow, now, limit=batch_size, calls_enabled=rooms.enabled, academy_id=academy_id
            )
            await uow.commit()
        for done in claimed.settled:
            _count(done)
        outcomes = [(call, await _call(rooms, call)) for call in claimed.calls]
        if outcomes:
            async with database.uow() as uow:
                settled = [
                    await settle(uow, call, error, now, answer=answer)
                    for call, (error, answer) in outcomes
                ]
                await uow.commit()
            for done in settled:
                _count(done)
        called += len(claimed.calls)
        if claimed.read < batch_size:
            return called


async def _call(rooms: RoomGateway, call: RoomCall) -> tuple[str | None, dict[str, Any] | None]:
    """Call LiveKit; the error text (None when it was done) and LiveKit's answer."""
    try:
        answer = await rooms.perform(call)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure keeps the work pending; it is retried later
        return f"{type(exc).__name__}: {exc}"[:2000], None
    return None, answer


def _count(done: Settled) -> None:
    ROOM_CALLS.labels(done.kind, done.outcome).inc()
    if done.outcome == ClaimOutcome.SKIPPED:
        log.info("room_call_skipped", op=done.kind, room=done.room_name, reason=SKIPPED)
    elif done.outcome == "ok":
        log.info("room_call_done", op=done.kind, room=done.room_name, attempts=done.attempts)
    elif done.outcome == "failed":
        assert done.retry_at is not None
        log.warning(
            "room_call_failed",
            op=done.kind,
            room=done.room_name,
            attempts=done.attempts,
            retry_at=done.retry_at.isoformat(),
            error=done.error,
        )
