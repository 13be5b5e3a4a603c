"""A fake LiveKit server on loopback: RoomService over Twirp, and webhooks like LiveKit's.

Hudur's `RoomGateway` talks to it through livekit-api's real client, so requests
arrive exactly as they would at LiveKit: `POST /twirp/livekit.RoomService/<Method>`
with a protobuf body (`Content-Type: application/protobuf`; JSON is answered in
JSON) and a bearer JWT signed with the API secret, checked here for its grants.

The fake keeps rooms and participants in memory, records every call, can be told
to fail (`fail(503)`) or be stopped and started again on the same port. People
join and leave with `join()`/`leave()`, which also deliver the matching webhook
events to `deliver` (unless told not to: that is how lost events are made);
`to_hudur(client)` delivers them to the app under test as signed webhooks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from google.protobuf import json_format
from google.protobuf.message import Message
from livekit.protocol import models, room, webhook

from scheduler.rooms import RoomGateway
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.clock import ManualClock
from tests.support.livekit import encode
from tests.support.signed_requests import post_webhook

PROTOBUF = "application/protobuf"
JSON = "application/json"

Deliver = Callable[[webhook.WebhookEvent], Awaitable[None]]


@dataclass
class FakeRoom:
    info: models.Room
    participants: dict[str, models.ParticipantInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    method: str
    request: Message
    content_type: str


class FakeLiveKit:
    """RoomService of one LiveKit server, in memory."""

    METHODS = ("CreateRoom", "DeleteRoom", "ListRooms", "ListParticipants", "RemoveParticipant")

    def __init__(
        self, api_key: str, api_secret: str, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rooms: dict[str, FakeRoom] = {}
        self.calls: list[Call] = []
        self.failing: int | None = None
        self.deliver: Deliver | None = None
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- serving -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        """Listen on loopback (the same port again after a `stop()`)."""
        app = web.Application()
        app.router.add_post("/twirp/livekit.RoomService/{method}", self._twirp)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self.url

    async def stop(self) -> None:
        """Close the server: calls now fail to connect, as with a LiveKit that is down."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def fail(self, status: int = 503) -> None:
        """Answer every call with `status` until `recover()`."""
        self.failing = status

    def recover(self) -> None:
        self.failing = None

    def calls_of(self, method: str) -> list[Any]:
        return [c.request for c in self.calls if c.method == method]

    async def _twirp(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        content_type = request.content_type
        if self.failing is not None:
            return _error(self.failing, "unavailable", "LiveKit is down (fake)")
        if method not in self.METHODS:
            return _error(404, "bad_route", f"no method {method}")
        grants = self._grants(request)
        if grants is None:
            return _error(401, "unauthenticated", "invalid token")
        request_class, handler, needs = self._routes()[method]
        if not all(grants.get(name) for name in needs):
            return _error(403, "permission_denied", f"{method} needs {needs}")
        body = await request.read()
        if content_type == JSON:
            message = json_format.Parse(body, request_class(), ignore_unknown_fields=True)
        else:
            message = request_class.FromString(body)
        self.calls.append(Call(method, message, content_type))
        try:
            answer = handler(message)
        except LookupError as exc:
            return _error(404, "not_found", str(exc))
        if content_type == JSON:
            return web.Response(body=json_format.MessageToJson(answer), content_type=JSON)
        return web.Response(body=answer.SerializeToString(), content_type=PROTOBUF)

    def _grants(self, request: web.Request) -> dict[str, Any] | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            claims = jwt.decode(token, self.api_secret, algorithms=["HS256"], issuer=self.api_key)
        except jwt.InvalidTokenError:
            return None
        video: dict[str, Any] = claims.get("video", {})
        return video

    def _routes(self) -> dict[str, tuple[type[Message], Callable[[Any], Message], tuple[str, ...]]]:
        return {
            "CreateRoom": (room.CreateRoomRequest, self._create_room, ("roomCreate",)),
            "DeleteRoom": (room.DeleteRoomRequest, self._delete_room, ("roomCreate",)),
            "ListRooms": (room.ListRoomsRequest, self._list_rooms, ("roomList",)),
            "ListParticipants": (
                room.ListParticipantsRequest,
                self._list_participants,
                ("roomAdmin",),
            ),
            "RemoveParticipant": (
                room.RoomParticipantIdentity,
                self._remove_participant,
                ("roomAdmin",),
            ),
        }

    # -- RoomService -----------------------------------------------------------------

    def _create_room(self, request: room.CreateRoomRequest) -> models.Room:
        existing = self.rooms.get(request.name)
        if existing is not None:
            return existing.info
        return self._open(request.name, request.empty_timeout, request.max_participants).info

    def _delete_room(self, request: room.DeleteRoomRequest) -> room.DeleteRoomResponse:
        if self.rooms.pop(request.room, None) is None:
            raise LookupError("room not found")
        return room.DeleteRoomResponse()

    def _list_rooms(self, request: room.ListRoomsRequest) -> room.ListRoomsResponse:
        names = set(request.names) or set(self.rooms)
        return room.ListRoomsResponse(
            rooms=[r.info for name, r in self.rooms.items() if name in names]
        )

    def _list_participants(
        self, request: room.ListParticipantsRequest
    ) -> room.ListParticipantsResponse:
        found = self.rooms.get(request.room)
        if found is None:
            raise LookupError("room not found")
        return room.ListParticipantsResponse(participants=list(found.participants.values()))

    def _remove_participant(
        self, request: room.RoomParticipantIdentity
    ) -> room.RemoveParticipantResponse:
        found = self.rooms.get(request.room)
        if found is None:
            raise LookupError("room not found")
        sid = next(
            (s for s, p in found.participants.items() if p.identity == request.identity), None
        )
        if sid is None:
            raise LookupError("participant not found")
        del found.participants[sid]
        return room.RemoveParticipantResponse()

    def _open(self, name: str, empty_timeout: int = 300, max_participants: int = 0) -> FakeRoom:
        now = self.clock()
        opened = FakeRoom(
            models.Room(
                sid=f"RM_{next(self._ids):06d}",
                name=name,
                empty_timeout=empty_timeout,
                max_participants=max_participants,
                creation_time=int(now.timestamp()),
                creation_time_ms=int(now.timestamp() * 1000),
            )
        )
        self.rooms[name] = opened
        return opened

    # -- people ----------------------------------------------------------------------

    async def join(
        self,
        room_name: str,
        identity: str,
        *,
        at: datetime | None = None,
        kind: models.ParticipantInfo.Kind = models.ParticipantInfo.Kind.STANDARD,
        metadata: str = "",
        notify: bool = True,
    ) -> models.ParticipantInfo:
        """Someone connects (LiveKit creates a missing room on join, as here)."""
        at = at or self.clock()
        target = self.rooms.get(room_name) or self._open(room_name)
        participant = models.ParticipantInfo(
            sid=f"PA_{next(self._ids):06d}",
            identity=identity,
            name=identity,
            state=models.ParticipantInfo.State.ACTIVE,
            joined_at=int(at.timestamp()),
            joined_at_ms=int(at.timestamp() * 1000),
            kind=kind,
            metadata=metadata,
        )
        target.participants[participant.sid] = participant
        if notify:
            await self.emit("participant_joined", target, participant, at=at)
        return participant

    async def leave(
        self,
        room_name: str,
        participant: models.ParticipantInfo,
        *,
        at: datetime | None = None,
        notify: bool = True,
    ) -> None:
        target = self.rooms[room_name]
        target.participants.pop(participant.sid, None)
        if notify:
            left = models.ParticipantInfo()
            left.CopyFrom(participant)
            left.state = models.ParticipantInfo.State.DISCONNECTED
            left.disconnect_reason = models.DisconnectReason.CLIENT_INITIATED
            await self.emit("participant_left", target, left, at=at or self.clock())

    async def emit(
        self,
        event: str,
        target: FakeRoom,
        participant: models.ParticipantInfo | None = None,
        *,
        at: datetime,
    ) -> webhook.WebhookEvent:
        """Hand one webhook event to `deliver`, as LiveKit's sender would."""
        message = webhook.WebhookEvent(
            event=event,
            room=target.info,
            id=f"EV_{next(self._ids):012d}",
            created_at=int(at.timestamp()),
        )
        if participant is not None:
            message.participant.CopyFrom(participant)
        if self.deliver is not None:
            await self.deliver(message)
        return message

    def present(self, room_name: str) -> list[str]:
        """Identities in a room now."""
        found = self.rooms.get(room_name)
        return sorted(p.identity for p in found.participants.values()) if found else []


def to_hudur(client: TestClient[web.Request, web.Application]) -> Deliver:
    """Deliver events to the app under test as LiveKit does: signed POSTs to
    /webhooks/livekit (bodies and signatures from tests.support.livekit)."""

    async def deliver(event: webhook.WebhookEvent) -> None:
        response = await post_webhook(client, encode(event))
        assert 200 == response.status, await response.text()

    return deliver


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status, body=json.dumps({"code": code, "msg": message}), content_type=JSON
    )


@pytest.fixture(name="livekit")
async def fixture_livekit(clock: ManualClock) -> AsyncIterator[FakeLiveKit]:
    """A fake LiveKit on loopback, keyed like the app under test, on the test's clock."""
    fake = FakeLiveKit(LIVEKIT_KEY, LIVEKIT_SECRET, clock=clock)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(name="rooms")
async def fixture_rooms(livekit: FakeLiveKit) -> AsyncIterator[RoomGateway]:
    """Hudur's RoomService gateway pointed at the fake."""
    gateway = RoomGateway(livekit.url, LIVEKIT_KEY, LIVEKIT_SECRET)
    yield gateway
    await gateway.close()
