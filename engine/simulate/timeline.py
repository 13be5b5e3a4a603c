"""The LiveKit webhooks of a planned day, as LiveKit would send them: protobuf JSON
from livekit-protocol messages, signed with livekit-api's AccessToken."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from google.protobuf import json_format
from livekit.api import AccessToken
from livekit.protocol import models, webhook

from engine.simulate.plan import Behaviour, Lesson
from engine.simulate.tracks import Publication, Stay, publications

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEPARTURE_TIMEOUT = timedelta(seconds=20)


@dataclass(frozen=True)
class Webhook:
    room: str
    at: datetime
    event_id: str
    body: bytes


def _seconds(at: datetime) -> int:
    return (at - EPOCH) // timedelta(seconds=1)


class RoomScript:
    """Writes one room's events in the order LiveKit would send them. Event, room and
    participant ids carry `run` (the run's academy id): LiveKit's ids never repeat, and
    a second run on one database must not meet the first one's as duplicates."""

    def __init__(self, room: str, index: int, starts_at: datetime, *, run: int) -> None:
        self.prefix = f"sim{run}x{index:04d}"
        self.room = models.Room(
            sid=f"RM_{self.prefix}",
            name=room,
            empty_timeout=300,
            departure_timeout=20,
            creation_time=_seconds(starts_at),
        )
        self.events: list[Webhook] = []
        self._sids = 0

    def _emit(
        self,
        kind: str,
        at: datetime,
        participant: models.ParticipantInfo | None = None,
        track: models.TrackInfo | None = None,
    ) -> None:
        event_id = f"EV_{self.prefix}{len(self.events):04d}"
        message = webhook.WebhookEvent(event=kind, id=event_id, created_at=_seconds(at))
        message.room.CopyFrom(self.room)
        if participant is not None:
            message.participant.CopyFrom(participant)
        if track is not None:
            message.track.CopyFrom(track)
        body = json.dumps(json_format.MessageToDict(message), separators=(",", ":")).encode()
        self.events.append(Webhook(self.room.name, at, event_id, body))

    def new_sid(self) -> str:
        self._sids += 1
        return f"PA_{self.prefix}{self._sids:04d}"

    def started(self, at: datetime) -> None:
        self._emit("room_started", at)

    def joined(self, sid: str, identity: str, at: datetime) -> None:
        self._emit("participant_joined", at + timedelta(seconds=1), _participant(sid, identity, at))

    def left(self, sid: str, identity: str, joined: datetime, at: datetime, reason: int) -> None:
        info = _participant(sid, identity, joined, state=models.ParticipantInfo.State.DISCONNECTED)
        info.disconnect_reason = reason  # type: ignore[assignment]  # an enum value, as an int
        self._emit("participant_left", at, info)

    def published(self, track: Publication, track_sid: str) -> None:
        self._track("track_published", track, track_sid, track.published)

    def unpublished(self, track: Publication, track_sid: str, at: datetime) -> None:
        self._track("track_unpublished", track, track_sid, at)

    def _track(self, kind: str, track: Publication, track_sid: str, at: datetime) -> None:
        stay = track.stay
        kind_of, source, mime = _SOURCES[track.source]
        info = models.TrackInfo(sid=track_sid, type=kind_of, source=source, mime_type=mime)
        self._emit(kind, at, _participant(stay.sid, stay.identity, stay.joined), info)

    def finished(self, at: datetime) -> None:
        self._emit("room_finished", at)


# LiveKit's TrackInfo by source: its type, and the codec a browser publishes it with.
_SOURCES = {
    "CAMERA": (models.TrackType.VIDEO, models.TrackSource.CAMERA, "video/VP8"),
    "MICROPHONE": (models.TrackType.AUDIO, models.TrackSource.MICROPHONE, "audio/red"),
    "SCREEN_SHARE": (models.TrackType.VIDEO, models.TrackSource.SCREEN_SHARE, "video/VP8"),
}


def _participant(
    sid: str, identity: str, joined: datetime, *, state: int = models.ParticipantInfo.State.ACTIVE
) -> models.ParticipantInfo:
    return models.ParticipantInfo(
        sid=sid,
        identity=identity,
        state=state,  # type: ignore[arg-type]  # an enum value, as an int
        name=f"User {identity}",
        joined_at=_seconds(joined),
        joined_at_ms=(joined - EPOCH) // timedelta(milliseconds=1),
        version=2,
    )


def lesson_webhooks(lesson: Lesson, room: str, *, run: int) -> list[Webhook]:
    """Every webhook of one lesson, in sending order (which is time order), its ids
    unique to `run`."""
    S, E = lesson.starts_at, lesson.ends_at
    m = timedelta(minutes=1)
    script = RoomScript(room, lesson.index, S, run=run)
    stays: list[Stay] = []
    client = models.DisconnectReason.CLIENT_INITIATED

    def stay(identity: str, joined: datetime, left: datetime | None, reason: int = client) -> None:
        stays.append(Stay(script.new_sid(), identity, joined, left, reason))

    if lesson.teacher_shows_up:
        stay(str(lesson.teacher), S - 2 * m, E + m)
    for student, behaviour in zip(lesson.students, lesson.behaviours, strict=True):
        identity = f"{student}_Student"
        match behaviour:
            case Behaviour.ON_TIME:
                stay(identity, S + m, E)
            case Behaviour.LATE:
                stay(identity, S + 15 * m, E)
            case Behaviour.LEFT_EARLY:
                stay(identity, S, E - 20 * m)
            case Behaviour.PARTIAL:
                stay(identity, S, S + 10 * m)
                stay(identity, S + 25 * m, E)
            case Behaviour.NO_SHOW:
                pass
            case Behaviour.RECONNECT:
                stay(identity, S, S + 20 * m, models.DisconnectReason.CONNECTION_TIMEOUT)
                stay(identity, S + 21 * m, E)
            case Behaviour.DUPLICATE:
                # A second tab under the same identity: LiveKit ends the first
                # session with DUPLICATE_IDENTITY a moment after the new join.
                duplicate = models.DisconnectReason.DUPLICATE_IDENTITY
                stay(identity, S, S + 30 * m + timedelta(seconds=2), duplicate)
                stay(identity, S + 30 * m, E)
            case Behaviour.LOST_LEFT:
                stay(identity, S + m, None)

    script.started(S - 5 * m)
    # (time, tie-break, event): a connection's joins and leaves keep their old order,
    # its tracks come after its join and before its leave.
    moments: list[tuple[datetime, int, Callable[[], None]]] = []
    for n, s in enumerate(stays):
        moments.append((s.joined, n, partial(script.joined, s.sid, s.identity, s.joined)))
        if s.left is not None:
            leave = partial(script.left, s.sid, s.identity, s.joined, s.left, s.reason)
            moments.append((s.left, n, leave))
    for n, track in enumerate(publications(lesson, stays)):
        track_sid = f"TR_{script.prefix}{n:04d}"
        moments.append((track.published, n, partial(script.published, track, track_sid)))
        if track.unpublished is not None:
            off = partial(script.unpublished, track, track_sid, track.unpublished)
            moments.append((track.unpublished, n, off))
    for _, _, emit in sorted(moments, key=lambda moment: moment[:2]):
        emit()
    # A lesson with a lost leave lost its room_finished too: the LiveKit node went down.
    if all(s.left is not None for s in stays):
        last = max((s.left for s in stays if s.left is not None), default=S)
        script.finished(last + DEPARTURE_TIMEOUT)
    return script.events


def authorization(body: bytes, *, api_key: str, api_secret: str) -> str:
    """The `Authorization` header LiveKit sends: a bare JWT carrying the body's hash."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return (
        AccessToken(api_key, api_secret).with_sha256(digest).with_ttl(timedelta(minutes=5)).to_jwt()
    )
