"""LiveKit webhook bodies as LiveKit sends them (signing them: tests.support.signed_requests).

Bodies are built from livekit-protocol messages and encoded in LiveKit's exact
JSON form: lowerCamelCase keys, 64-bit integers as strings, zero values omitted,
compact, optionally with the odd extra spaces after commas that LiveKit's encoder
inserts.

    body = joined("QSE-1-000001", "PA_1", "10_Mohamed", at=datetime(..., tzinfo=UTC))

Event builders (each returns the body bytes; all take `event_id=` (default: a fresh
`EV_…`), `created_at=` (default: `at`, or the next whole second for joins),
`room_sid=` and `odd_spacing=`):

    room_started(room, at)                       room_finished(room, at)
    joined(room, sid, identity, at, kind=, metadata=)
    left(room, sid, identity, at, joined_at=, reason=)
    aborted(room, sid, identity, at)
    track_published(room, sid, identity, at, source=, track_sid=)
    track_unpublished(room, sid, identity, at, source=, track_sid=)
    egress_started(room, at)

Lower level: `room_info`, `participant_info`, `webhook_event`, `encode` (message ->
bytes).
"""

from __future__ import annotations

import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from livekit.protocol import egress, models, webhook

ROOM_SID = "RM_hycBMAjmt6Ub"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OBSERVER = '{"role":"observer"}'
_ALPHABET = string.ascii_letters + string.digits


def new_event_id() -> str:
    """A fresh LiveKit-style event id (`EV_` and 12 letters or digits)."""
    return "EV_" + "".join(secrets.choice(_ALPHABET) for _ in range(12))


def seconds(at: datetime) -> int:
    return (at - EPOCH) // timedelta(seconds=1)


def millis(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)


# --- messages ---------------------------------------------------------------


def room_info(name: str, *, sid: str = ROOM_SID, created_at: datetime | None = None) -> models.Room:
    created = created_at or datetime(2025, 12, 1, 9, 45, tzinfo=UTC)
    return models.Room(
        sid=sid,
        name=name,
        empty_timeout=300,
        departure_timeout=20,
        creation_time=seconds(created),
        creation_time_ms=millis(created),
    )


def participant_info(
    sid: str,
    identity: str,
    *,
    joined_at: datetime | None,
    kind: models.ParticipantInfo.Kind = models.ParticipantInfo.Kind.STANDARD,
    metadata: str = "",
    state: models.ParticipantInfo.State = models.ParticipantInfo.State.ACTIVE,
    reason: models.DisconnectReason = models.DisconnectReason.UNKNOWN_REASON,
) -> models.ParticipantInfo:
    """A participant as LiveKit describes it; `joined_at` None leaves joinedAt(Ms) out."""
    info = models.ParticipantInfo(
        sid=sid,
        identity=identity,
        state=state,
        name=f"User {identity}",
        metadata=metadata,
        version=2,
        permission=models.ParticipantPermission(
            can_subscribe=True, can_publish=True, can_publish_data=True
        ),
        kind=kind,
        disconnect_reason=reason,
    )
    if joined_at is not None:
        info.joined_at = seconds(joined_at)
        info.joined_at_ms = millis(joined_at)
    return info


def webhook_event(
    event: str,
    *,
    created_at: datetime,
    event_id: str | None = None,
    room: models.Room | None = None,
    participant: models.ParticipantInfo | None = None,
    track: models.TrackInfo | None = None,
    egress_info: egress.EgressInfo | None = None,
) -> webhook.WebhookEvent:
    message = webhook.WebhookEvent(
        event=event, id=event_id or new_event_id(), created_at=seconds(created_at)
    )
    if room is not None:
        message.room.CopyFrom(room)
    if participant is not None:
        message.participant.CopyFrom(participant)
    if track is not None:
        message.track.CopyFrom(track)
    if egress_info is not None:
        message.egress_info.CopyFrom(egress_info)
    return message


def encode(message: Message, *, odd_spacing: bool = False) -> bytes:
    """Protobuf JSON as LiveKit writes it; `odd_spacing` adds a space after every
    second comma outside strings, as LiveKit's encoder does after some."""
    text = json.dumps(json_format.MessageToDict(message), separators=(",", ":"), ensure_ascii=False)
    return (_odd_spacing(text) if odd_spacing else text).encode()


def _odd_spacing(text: str) -> str:
    out: list[str] = []
    in_string = escaped = False
    commas = 0
    for char in text:
        out.append(char)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == ",":
            commas += 1
            if commas % 2:
                out.append(" ")
    return "".join(out)


# --- events -----------------------------------------------------------------


def _body(
    event: str,
    *,
    at: datetime,
    event_id: str | None,
    room: models.Room | None,
    odd_spacing: bool,
    **fields: Any,
) -> bytes:
    message = webhook_event(event, created_at=at, event_id=event_id, room=room, **fields)
    return encode(message, odd_spacing=odd_spacing)


def room_started(
    room: str,
    at: datetime,
    *,
    event_id: str | None = None,
    room_sid: str = ROOM_SID,
    odd_spacing: bool = False,
) -> bytes:
    return _body(
        "room_started",
        at=at,
        event_id=event_id,
        room=room_info(room, sid=room_sid, created_at=at),
        odd_spacing=odd_spacing,
    )


def room_finished(
    room: str,
    at: datetime,
    *,
    event_id: str | None = None,
    room_sid: str = ROOM_SID,
    odd_spacing: bool = False,
) -> bytes:
    """The room `room_sid` ended at `at` (no participant)."""
    return _body(
        "room_finished",
        at=at,
        event_id=event_id,
        room=room_info(room, sid=room_sid),
        odd_spacing=odd_spacing,
    )


def joined(
    room: str,
    sid: str,
    identity: str,
    at: datetime,
    *,
    event_id: str | None = None,
    created_at: datetime | None = None,
    room_sid: str = ROOM_SID,
    kind: models.ParticipantInfo.Kind = models.ParticipantInfo.Kind.STANDARD,
    metadata: str = "",
    odd_spacing: bool = False,
) -> bytes:
    """`identity` joined with connection `sid` at `at` (its joinedAt/joinedAtMs); the
    event itself is created at the next whole second unless `created_at` says otherwise."""
    created = created_at or EPOCH + timedelta(seconds=seconds(at) + 1)
    return _body(
        "participant_joined",
        at=created,
        event_id=event_id,
        room=room_info(room, sid=room_sid),
        participant=participant_info(sid, identity, joined_at=at, kind=kind, metadata=metadata),
        odd_spacing=odd_spacing,
    )


def left(
    room: str,
    sid: str,
    identity: str,
    at: datetime,
    *,
    joined_at: datetime | None,
    event_id: str | None = None,
    room_sid: str = ROOM_SID,
    reason: models.DisconnectReason = models.DisconnectReason.CLIENT_INITIATED,
    kind: models.ParticipantInfo.Kind = models.ParticipantInfo.Kind.STANDARD,
    metadata: str = "",
    odd_spacing: bool = False,
) -> bytes:
    """Connection `sid` (joined at `joined_at`) left at `at` (the event's createdAt)."""
    return _body(
        "participant_left",
        at=at,
        event_id=event_id,
        room=room_info(room, sid=room_sid),
        participant=participant_info(
            sid,
            identity,
            joined_at=joined_at,
            kind=kind,
            metadata=metadata,
            state=models.ParticipantInfo.State.DISCONNECTED,
            reason=reason,
        ),
        odd_spacing=odd_spacing,
    )


def aborted(
    room: str,
    sid: str,
    identity: str,
    at: datetime,
    *,
    event_id: str | None = None,
    room_sid: str = ROOM_SID,
    kind: models.ParticipantInfo.Kind = models.ParticipantInfo.Kind.STANDARD,
    metadata: str = "",
    odd_spacing: bool = False,
) -> bytes:
    """Connection `sid` failed before it became active (participant_connection_aborted)."""
    return _body(
        "participant_connection_aborted",
        at=at,
        event_id=event_id,
        room=room_info(room, sid=room_sid),
        participant=participant_info(
            sid,
            identity,
            joined_at=None,
            kind=kind,
            metadata=metadata,
            state=models.ParticipantInfo.State.DISCONNECTED,
            reason=models.DisconnectReason.JOIN_FAILURE,
        ),
        odd_spacing=odd_spacing,
    )


_SOURCES = {
    "CAMERA": (models.TrackType.VIDEO, models.TrackSource.CAMERA, "video/VP8"),
    "MICROPHONE": (models.TrackType.AUDIO, models.TrackSource.MICROPHONE, "audio/red"),
    "SCREEN_SHARE": (models.TrackType.VIDEO, models.TrackSource.SCREEN_SHARE, "video/VP8"),
    "SCREEN_SHARE_AUDIO": (
        models.TrackType.AUDIO,
        models.TrackSource.SCREEN_SHARE_AUDIO,
        "audio/opus",
    ),
}


def track_published(
    room: str,
    sid: str,
    identity: str,
    at: datetime,
    *,
    source: str = "MICROPHONE",
    track_sid: str | None = None,
    event_id: str | None = None,
    room_sid: str = ROOM_SID,
    odd_spacing: bool = False,
    event: str = "track_published",
) -> bytes:
    """`source` one of CAMERA, MICROPHONE, SCREEN_SHARE, SCREEN_SHARE_AUDIO."""
    kind, enum, mime = _SOURCES[source]
    return _body(
        event,
        at=at,
        event_id=event_id,
        room=room_info(room, sid=room_sid),
        participant=participant_info(sid, identity, joined_at=at - timedelta(seconds=5)),
        track=models.TrackInfo(
            sid=track_sid or "TR_" + sid[-8:], type=kind, source=enum, mime_type=mime
        ),
        odd_spacing=odd_spacing,
    )


def track_unpublished(room: str, sid: str, identity: str, at: datetime, **options: Any) -> bytes:
    """`track_published`'s twin, with the same options."""
    return track_published(room, sid, identity, at, event="track_unpublished", **options)


def egress_started(
    room: str,
    at: datetime,
    *,
    event_id: str | None = None,
    room_sid: str = ROOM_SID,
    odd_spacing: bool = False,
) -> bytes:
    return _body(
        "egress_started",
        at=at,
        event_id=event_id,
        room=None,
        egress_info=egress.EgressInfo(
            egress_id="EG_" + secrets.token_hex(4),
            room_id=room_sid,
            room_name=room,
            status=egress.EgressStatus.EGRESS_STARTING,
            started_at=millis(at) * 1_000_000,
        ),
        odd_spacing=odd_spacing,
    )
