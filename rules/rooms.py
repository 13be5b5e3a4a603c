"""The LiveKit RoomService work a session's lifecycle asks for, and how it is retried."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

__all__ = [
    "CLAIM_LEASE",
    "ClaimOutcome",
    "RoomOperationKind",
    "RoomOperationState",
    "backoff",
    "claim_outcome",
]

# A claimed row is left alone by other replicas this long (calls time out sooner).
CLAIM_LEASE = timedelta(seconds=60)


class RoomOperationKind(StrEnum):
    CREATE_ROOM = "create_room"  # a session became READY
    DELETE_ROOM = "delete_room"  # a session finished or was cancelled
    REMOVE_PARTICIPANT = "remove_participant"  # someone joined a finished session


class RoomOperationState(StrEnum):
    PENDING = "pending"  # to be called, at `next_attempt_at`
    DONE = "done"  # called, or settled without a call


class ClaimOutcome(StrEnum):
    """What becomes of a due operation when a sweep takes it up."""

    CALL = "call"  # LiveKit is called
    SUPERSEDED = "superseded"  # done without a call: the room was deleted later
    SKIPPED = "skipped"  # done without a call: there is no LiveKit to call
    WAIT = "wait"  # left pending: an earlier delete of the same room goes first


def claim_outcome(
    kind: RoomOperationKind | str,
    *,
    deleted_later: bool,
    calls_enabled: bool,
    deleted_before_pending: bool = False,
) -> ClaimOutcome:
    """A create still pending after the room's delete was queued must not bring the
    room back; a create queued after a delete that is still pending (a rescheduled
    session's new room) waits for it, lest the late delete remove the new room (both
    use the session's code as the room name); without LiveKit nothing is called;
    anything else is called."""
    if kind == RoomOperationKind.CREATE_ROOM and deleted_later:
        return ClaimOutcome.SUPERSEDED
    if kind == RoomOperationKind.CREATE_ROOM and deleted_before_pending and calls_enabled:
        return ClaimOutcome.WAIT
    if not calls_enabled:
        return ClaimOutcome.SKIPPED
    return ClaimOutcome.CALL


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a failed room call: 10 s, 20 s, 40 s, … at most 10 min."""
    return timedelta(seconds=min(2 ** min(attempts, 16) * 5, 600))
