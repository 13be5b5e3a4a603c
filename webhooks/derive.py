"""One parsed LiveKit event -> the evidence it proves (or none), in the rules' form.

Pure: the same event (and time of receipt) always gives the same evidence, which
is what lets a rebuild reproduce live intake from the inbox (it hands in the
inbox's `received_at`). Times come from the event itself, never from when it
arrived (CONTRACT 3), but only the believable ones (rules.event_times): a
`joinedAt(Ms)` more than 10 min from `createdAt` gives way to `createdAt`, and an
event dated more than 5 min after its receipt gives no evidence at all (where a
receipt time is handed in, i.e. `as_of` is not allowed).

    participant_joined              joined         at = joinedAtMs, else joinedAt, else createdAt
    participant_left                left           at = createdAt, joined_at = joinedAt(Ms)
    participant_connection_aborted  aborted        at = createdAt
    room_finished                   room_finished  at = createdAt
    track_published                 track_published    at = createdAt
    track_unpublished               track_unpublished  at = createdAt

A track event without a participant or a track sid proves nothing.

Every other event type proves nothing and gives none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rules import evidence as ev
from rules.engagement import TrackEvidence, TrackPublished, TrackUnpublished
from rules.event_times import believed_join, decides
from webhooks.parse import LiveKitEvent

SOURCE = ev.EvidenceSource.WEBHOOK
_PARTICIPANT_KINDS = {
    "participant_joined": ev.EvidenceKind.JOINED,
    "participant_left": ev.EvidenceKind.LEFT,
    "participant_connection_aborted": ev.EvidenceKind.ABORTED,
}


@dataclass(frozen=True, slots=True)
class Derived:
    """The evidence one webhook proves, and what storing it needs beyond it."""

    evidence: ev.Evidence | TrackEvidence
    room_name: str | None
    user_id: int | None  # the platform user its participant's identity names
    source: ev.EvidenceSource = SOURCE


def derive_evidence(event: LiveKitEvent, *, received_at: datetime | None) -> Derived | None:
    """The evidence of `event`, or None when it proves nothing about presence or, being
    dated too far after `received_at`, may decide nothing (None: no receipt rule)."""
    at, room_sid = event.created_at, event.room_sid or ""
    if not decides(at, received_at):
        # No evidence rather than undecisive evidence: a leave or room end dated in
        # the future would still hold an interval open until then.
        return None
    if event.event == "room_finished":
        return Derived(ev.RoomFinished(event.id, room_sid, at), event.room_name, None)
    if event.event in ("track_published", "track_unpublished"):
        return _track_evidence(event, at, room_sid)
    if event.event not in _PARTICIPANT_KINDS:
        return None
    p = event.participant
    sid, identity = (p.sid, p.identity) if p else ("", "")
    decisive = p.decisive if p else True
    joined_at = p.joined_at if p else None
    evidence: ev.Evidence
    match _PARTICIPANT_KINDS[event.event]:
        case ev.EvidenceKind.JOINED:
            evidence = ev.ParticipantJoined(
                event.id, room_sid, believed_join(joined_at, at), sid, identity, decisive
            )
        case ev.EvidenceKind.LEFT:
            evidence = ev.ParticipantLeft(
                event.id, room_sid, at, sid, identity, decisive, joined_at
            )
        case _:
            evidence = ev.ConnectionAborted(event.id, room_sid, at, sid, identity, decisive)
    return Derived(evidence, event.room_name, ev.parse_identity(identity))


def _track_evidence(event: LiveKitEvent, at: datetime, room_sid: str) -> Derived | None:
    p, track = event.participant, event.track
    if p is None or track is None:
        return None
    kind = TrackPublished if event.event == "track_published" else TrackUnpublished
    evidence = kind(event.id, room_sid, at, p.sid, p.identity, track.sid, track.source)
    return Derived(evidence, event.room_name, ev.parse_identity(p.identity))
