"""One parsed LiveKit event -> the evidence row it proves (or none).

Pure: the same event always gives the same row, which is what lets `rebuild`
reproduce live intake from the inbox. Times come from the event itself, never
from when it arrived (CONTRACT 3):

    participant_joined              joined         at = joinedAtMs, else joinedAt, else createdAt
    participant_left                left           at = createdAt, joined_at = joinedAt(Ms)
    participant_connection_aborted  aborted        at = createdAt
    room_finished                   room_finished  at = createdAt

Every other event type proves nothing about presence and gives no row.
"""

from __future__ import annotations

from rules.evidence import parse_identity
from store.schema import Evidence
from webhooks.parse import LiveKitEvent

KINDS = {
    "participant_joined": "joined",
    "participant_left": "left",
    "participant_connection_aborted": "aborted",
    "room_finished": "room_finished",
}
SOURCE = "webhook"


def derive_evidence(event: LiveKitEvent, *, session_id: int | None = None) -> Evidence | None:
    """The evidence row of `event`, attached to `session_id` (None while its room is unknown)."""
    kind = KINDS.get(event.event)
    if kind is None:
        return None
    row = Evidence(
        event_id=event.id,
        source=SOURCE,
        kind=kind,
        room_name=event.room_name,
        room_sid=event.room_sid,
        session_id=session_id,
        at=event.created_at,
        joined_at=None,
        decisive=True,
    )
    participant = event.participant
    if kind == "room_finished" or participant is None:
        return row
    row.participant_sid = participant.sid
    row.identity = participant.identity
    row.user_id = parse_identity(participant.identity)
    row.decisive = participant.decisive
    if kind == "joined" and participant.joined_at is not None:
        row.at = participant.joined_at
    elif kind == "left":
        row.joined_at = participant.joined_at
    return row
