"""A verified body -> one normalized, frozen `LiveKitEvent`.

The body is LiveKit's protobuf JSON of `WebhookEvent` (LIVEKIT.md): lowerCamelCase
keys, zero values omitted, enums as names, 64-bit integers as strings. It is
decoded once, from the raw bytes as received, and read leniently: unknown fields
and unknown event types are fine (LiveKit grows), but what Hudur uses must be
there and have the right type, or the body is not a WebhookEvent (`BadRequest`,
with every problem named in `details`):

* always: `id` (`EV_…`), `event`, and `createdAt` (seconds);
* participant events: `room.name`, `participant.sid` and `participant.identity`;
* `room_finished`: `room.name`.

A track event's `track` (`sid`, `source`) is read leniently: a missing or odd one
makes no problem, the event is kept and proves nothing (`Track` None).

Protobuf's own parser is not used on purpose: it maps an enum name it does not
know to zero, which would make a participant of a future kind `STANDARD`. Here an
unknown kind is simply not STANDARD, so it never decides a verdict.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.errors import BadRequest
from rules.evidence import parse_identity
from webhooks.jsontext import loads

PARTICIPANT_EVENTS = frozenset(
    {"participant_joined", "participant_left", "participant_connection_aborted"}
)
ROOM_EVENTS = frozenset({"room_started", "room_finished"})
TRACK_EVENTS = frozenset({"track_published", "track_unpublished"})

# livekit.TrackSource by number, for a body that sends enums as numbers; absent
# (zero, omitted) is UNKNOWN.
_TRACK_SOURCES = {1: "CAMERA", 2: "MICROPHONE", 3: "SCREEN_SHARE", 4: "SCREEN_SHARE_AUDIO"}

# Column widths of the inbox and evidence tables: longer values are not ours.
MAX_ID = 64
MAX_EVENT = 48
MAX_ROOM = 64
MAX_SID = 64
MAX_IDENTITY = 255
MAX_SOURCE = 24

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_USER_ID = 2**63 - 1
_INT64 = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only: int() would take "1_0" or "١٠"


@dataclass(frozen=True, slots=True)
class Participant:
    sid: str
    identity: str
    # The kind's enum name as sent; absent means STANDARD (zero values are omitted).
    kind: str
    metadata: str
    # When its signal connection began: joinedAtMs, else joinedAt; None if neither.
    joined_at: datetime | None

    @property
    def is_observer(self) -> bool:
        """Metadata JSON with `"role": "observer"` (anything unreadable is not)."""
        if not self.metadata:
            return False
        try:
            data = json.loads(self.metadata)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("role") == "observer"

    @property
    def decisive(self) -> bool:
        """Whether this participant's presence may decide a verdict."""
        return self.kind == "STANDARD" and not self.is_observer


@dataclass(frozen=True, slots=True)
class Track:
    sid: str
    # The source's enum name as sent (`CAMERA`, `MICROPHONE`, `SCREEN_SHARE`, ...).
    source: str


@dataclass(frozen=True, slots=True)
class LiveKitEvent:
    """What Hudur reads of one WebhookEvent."""

    id: str
    event: str
    created_at: datetime
    # room.name, else the room an egress/ingress works for.
    room_name: str | None
    room_sid: str | None
    participant: Participant | None
    track: Track | None = None


def parse_event(body: bytes) -> LiveKitEvent:
    """Read a WebhookEvent from the raw body, or raise `BadRequest` saying why not."""
    try:
        data = loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not JSON", details={"reason": str(exc)[:200]}) from None
    if not isinstance(data, dict):
        raise BadRequest("the body is not a WebhookEvent", details={"body": "not an object"})
    reader = _Reader()
    event_id = reader.string(data, "id", required=True, limit=MAX_ID)
    event = reader.string(data, "event", required=True, limit=MAX_EVENT)
    created_at = reader.time(data, "createdAt", required=True, seconds=True)
    room = reader.object(data, "room")
    room_name = reader.string(room, "name", prefix="room.", limit=MAX_ROOM)
    room_sid = reader.string(room, "sid", prefix="room.", limit=MAX_SID)
    if room_name is None:
        for holder in ("egressInfo", "ingressInfo"):
            info = reader.object(data, holder)
            name = info.get("roomName")
            if isinstance(name, str) and name and len(name) <= MAX_ROOM:
                room_name = name
                break
    participant = None
    raw = reader.object(data, "participant")
    if raw or event in PARTICIPANT_EVENTS:
        participant = _participant(reader, raw, required=event in PARTICIPANT_EVENTS)
    if (event in PARTICIPANT_EVENTS or event == "room_finished") and not room_name:
        reader.problem("room.name", "required")
    reader.raise_problems()
    assert event_id is not None and event is not None and created_at is not None
    return LiveKitEvent(
        id=event_id,
        event=event,
        created_at=created_at,
        room_name=room_name or None,
        room_sid=room_sid or None,
        participant=participant,
        track=_track(data.get("track")) if event in TRACK_EVENTS else None,
    )


def _track(raw: object) -> Track | None:
    """`track.sid` and `track.source`, or None when there is no usable sid."""
    if not isinstance(raw, dict):
        return None
    sid, source = raw.get("sid"), raw.get("source", "UNKNOWN")
    if not isinstance(sid, str) or not sid or len(sid) > MAX_SID:
        return None
    if isinstance(source, int) and not isinstance(source, bool):
        source = _TRACK_SOURCES.get(source, "UNKNOWN")
    elif not isinstance(source, str) or len(source) > MAX_SOURCE:
        source = "UNKNOWN"
    return Track(sid=sid, source=source)


def _participant(reader: _Reader, raw: dict[str, Any], *, required: bool) -> Participant | None:
    p = "participant."
    sid = reader.string(raw, "sid", required=required, prefix=p, limit=MAX_SID)
    identity = reader.string(raw, "identity", required=required, prefix=p, limit=MAX_IDENTITY)
    kind = raw.get("kind", "STANDARD")
    if isinstance(kind, int) and not isinstance(kind, bool):
        kind = "STANDARD" if kind == 0 else f"KIND_{kind}"
    elif not isinstance(kind, str):
        reader.problem(p + "kind", "must be an enum name")
        kind = "?"
    metadata = reader.string(raw, "metadata", prefix=p) or ""
    joined_ms = reader.time(raw, "joinedAtMs", prefix=p, seconds=False)
    joined_s = reader.time(raw, "joinedAt", prefix=p, seconds=True)
    if not sid or not identity:
        return None
    user_id = parse_identity(identity)
    if user_id is not None and user_id > _MAX_USER_ID:
        # The stores keep user ids as BIGINT; no platform user has such an id.
        reader.problem(p + "identity", "user id out of range")
        return None
    return Participant(
        sid=sid, identity=identity, kind=kind, metadata=metadata, joined_at=joined_ms or joined_s
    )


class _Reader:
    """Typed field access that collects every problem instead of stopping at one."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}

    def problem(self, field: str, message: str) -> None:
        self.problems.setdefault(field, message)

    def raise_problems(self) -> None:
        if self.problems:
            raise BadRequest("the body is not a WebhookEvent", details=self.problems)

    def object(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(key, "must be an object")
            return {}
        return value

    def string(
        self,
        data: dict[str, Any],
        key: str,
        *,
        required: bool = False,
        prefix: str = "",
        limit: int | None = None,
    ) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.problem(prefix + key, "required")
            return None
        if not isinstance(value, str):
            self.problem(prefix + key, "must be a string")
            return None
        if limit is not None and len(value) > limit:
            self.problem(prefix + key, f"longer than {limit} characters")
            return None
        return value

    def time(
        self,
        data: dict[str, Any],
        key: str,
        *,
        seconds: bool,
        required: bool = False,
        prefix: str = "",
    ) -> datetime | None:
        """An int64 count of seconds or milliseconds since the epoch (string or number)."""
        value = data.get(key)
        if value is None or value in ("", "0", 0):
            if required:
                self.problem(prefix + key, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problem(prefix + key, "must be an int64")
            return None
        if isinstance(value, str) and not _INT64.fullmatch(value):
            self.problem(prefix + key, "must be an int64")
            return None
        number = int(value)
        limit = _MAX_SECONDS if seconds else _MAX_SECONDS * 1000
        if not 0 < number <= limit:
            self.problem(prefix + key, "out of range")
            return None
        if seconds:
            return _EPOCH + timedelta(seconds=number)
        return _EPOCH + timedelta(milliseconds=number)
