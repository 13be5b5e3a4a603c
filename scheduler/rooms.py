"""LiveKit rooms: the RoomService gateway, and the pending room work run to completion.

Every RoomService call Hudur needs is first written as a `room_operations` row in
the same transaction as the change that needs it (a session made READY, finished,
cancelled; a join into a finished session). `run_room_operations` then performs
due rows: done on success, else kept pending with `attempts + 1`, the error and an
exponential backoff. Nothing is lost when LiveKit is down, and each call is
idempotent on LiveKit's side (an existing room is returned, a missing one counts
as deleted), so a call repeated after a crash does no harm.

With `HUDUR_LIVEKIT_URL` unset there is no LiveKit to call: rows are marked done
with `last_error = "skipped: no HUDUR_LIVEKIT_URL"` and a log line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog
from livekit import api
from sqlalchemy import select

from scheduler.metrics import ROOM_CALLS
from scheduler.plan import backoff
from store.database import Database
from store.schema import RoomOperation

log = structlog.get_logger("hudur.rooms")

SKIPPED = "skipped: no HUDUR_LIVEKIT_URL"
SUPERSEDED = "superseded: the room was deleted later"
CALL_TIMEOUT_SECONDS = 10.0
# A claimed row is left alone by other replicas this long (calls time out sooner).
CLAIM_LEASE = timedelta(seconds=60)


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

    def meeting_link(self, room_name: str) -> str:
        """Where people meet: `<public or LiveKit URL>/rooms/<room>`; a bare path without one."""
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

    async def create_room(self, name: str, *, empty_timeout: int, max_participants: int) -> None:
        await self._room().create_room(
            api.CreateRoomRequest(
                name=name, empty_timeout=empty_timeout, max_participants=max_participants
            )
        )

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

    async def perform(self, op: RoomOperation) -> None:
        """Carry out one pending operation; raises when LiveKit did not do it."""
        if op.op == "create_room":
            payload = op.payload or {}
            await self.create_room(
                op.room_name,
                empty_timeout=int(payload.get("empty_timeout", 0)),
                max_participants=int(payload.get("max_participants", 0)),
            )
        elif op.op == "delete_room":
            await self.delete_room(op.room_name)
        elif op.op == "remove_participant":
            if not op.identity:
                raise ValueError("remove_participant needs an identity")
            await self.remove_participant(op.room_name, op.identity)
        else:
            raise ValueError(f"unknown room operation {op.op!r}")


async def run_room_operations(
    database: Database, rooms: RoomGateway, now: datetime, *, batch_size: int = 100
) -> int:
    """Perform every room operation due at `now`; the number of LiveKit calls tried.

    A batch is claimed in one short transaction (`FOR UPDATE SKIP LOCKED` on
    PostgreSQL, so replicas never take the same row) by moving its
    `next_attempt_at` a lease ahead; LiveKit is called outside any transaction;
    the outcome is written in another. A replica that dies mid-call leaves its
    rows to be retried once the lease runs out. A failed row moves to a later
    `next_attempt_at`, so the loop ends."""
    called = 0
    while True:
        async with database.uow() as uow:
            ops = await uow.rooms.due(now, limit=batch_size, lock=True)
            claimed = [op for op in ops if await _claim(uow, rooms, op, now)]
            await uow.commit()
        outcomes = [(op, await _call(rooms, op)) for op in claimed]
        if outcomes:
            async with database.uow() as uow:
                for op, error in outcomes:
                    await _settle(uow, op, error, now)
                await uow.commit()
        called += len(claimed)
        if len(ops) < batch_size:
            return called


async def _claim(uow: Any, rooms: RoomGateway, op: RoomOperation, now: datetime) -> bool:
    """Take a row for a call (True), or finish it here without one."""
    op.updated_at = now
    if op.op == "create_room" and await _deleted_later(uow, op):
        op.state, op.last_error = "done", SUPERSEDED
        ROOM_CALLS.labels(op.op, "superseded").inc()
        return False
    if not rooms.enabled:
        op.state, op.last_error = "done", SKIPPED
        ROOM_CALLS.labels(op.op, "skipped").inc()
        log.info("room_call_skipped", op=op.op, room=op.room_name, reason=SKIPPED)
        return False
    op.attempts += 1
    op.next_attempt_at = now + CLAIM_LEASE
    return True


async def _call(rooms: RoomGateway, op: RoomOperation) -> str | None:
    """Call LiveKit; the error text, or None when it was done."""
    try:
        await rooms.perform(op)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure keeps the work pending; it is retried later
        return f"{type(exc).__name__}: {exc}"[:2000]
    return None


async def _settle(uow: Any, claimed: RoomOperation, error: str | None, now: datetime) -> None:
    op = await uow.session.get(RoomOperation, claimed.id, populate_existing=True)
    op.updated_at = now
    if error is None:
        op.state, op.last_error = "done", None
        ROOM_CALLS.labels(op.op, "ok").inc()
        log.info("room_call_done", op=op.op, room=op.room_name, attempts=op.attempts)
        return
    op.last_error = error
    op.next_attempt_at = now + backoff(op.attempts)
    ROOM_CALLS.labels(op.op, "failed").inc()
    log.warning(
        "room_call_failed",
        op=op.op,
        room=op.room_name,
        attempts=op.attempts,
        retry_at=op.next_attempt_at.isoformat(),
        error=error,
    )


async def _deleted_later(uow: Any, op: RoomOperation) -> bool:
    """A create still pending after the room's delete was queued must not bring the
    room back (the session's rows are indexed by session_id)."""
    same_room = (
        RoomOperation.session_id == op.session_id
        if op.session_id is not None
        else RoomOperation.room_name == op.room_name
    )
    later = await uow.session.scalar(
        select(RoomOperation.id)
        .where(same_room, RoomOperation.op == "delete_room", RoomOperation.id > op.id)
        .limit(1)
    )
    return later is not None
