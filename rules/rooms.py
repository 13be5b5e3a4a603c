"""The LiveKit RoomService work a session's lifecycle asks for."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RoomOperationKind"]


class RoomOperationKind(StrEnum):
    CREATE_ROOM = "create_room"  # a session became READY
    DELETE_ROOM = "delete_room"  # a session finished or was cancelled
    REMOVE_PARTICIPANT = "remove_participant"  # someone joined a finished session
