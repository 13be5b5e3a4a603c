"""The least the endpoint reads of a verified body before it is stored (CONTRACT 3).

    read_envelope(body) -> Envelope   id, event type, room name and sid, createdAt

Only what makes it a WebhookEvent at all is refused (`BadRequest`, a 400): not JSON,
not an object, no string `id` or `event`, or nested deeper than 64 levels. Whatever
else its fields hold (an empty or 100 kB identity, a 5,000-character room name, an
id over 64 characters, an unknown type) is stored raw and decides nothing: the
projector's full parse (parse.py) reads it later and finds nothing to derive.
Values too long for the inbox's columns are stored as the raw body only:
a long room name as none, a long event id as its SHA-256 (still the unique key, so
LiveKit's retries of it are duplicates), a long event type cut short.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rules.errors import BadRequest
from store.repositories.inbox import NewEvent
from webhooks.jsontext import loads
from webhooks.parse import MAX_EVENT, MAX_ID, MAX_ROOM, MAX_SID

MAX_DEPTH = 64
_MAX_SECONDS = 253_402_300_799


@dataclass(frozen=True, slots=True)
class Envelope:
    """The inbox's columns of one verified delivery."""

    key: str  # the event id, or its digest when too long for the column
    event: str
    room_name: str | None
    room_sid: str | None
    created_at: datetime | None

    def stored(self, body: bytes, *, now: datetime) -> NewEvent:
        """The inbox row that keeps this delivery, received at `now`."""
        return NewEvent(
            event_id=self.key,
            event=self.event,
            room_name=self.room_name,
            room_sid=self.room_sid,
            occurred_at=self.created_at or now,
            received_at=now,
            body=body,
        )


def read_envelope(body: bytes) -> Envelope:
    """The envelope of a WebhookEvent, or `BadRequest` saying why `body` is not one."""
    if _may_nest_deeper(body) and _depth_over(body):
        raise BadRequest(
            "the body is not a WebhookEvent",
            details={"body": f"nested deeper than {MAX_DEPTH} levels"},
        )
    try:
        data = loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest("the body is not JSON", details={"reason": str(exc)[:200]}) from None
    if not isinstance(data, dict):
        raise BadRequest("the body is not a WebhookEvent", details={"body": "not an object"})
    event_id, event = data.get("id"), data.get("event")
    problems = {
        name: "required"
        for name, value in (("id", event_id), ("event", event))
        if not isinstance(value, str) or not value
    }
    if problems:
        raise BadRequest("the body is not a WebhookEvent", details=problems)
    assert isinstance(event_id, str) and isinstance(event, str)
    room = data.get("room")
    room = room if isinstance(room, dict) else {}
    name = room.get("name")
    if not isinstance(name, str) or not name:
        name = _room_of_egress(data)
    return Envelope(
        key=event_key(event_id),
        event=event[:MAX_EVENT],
        room_name=name if isinstance(name, str) and 0 < len(name) <= MAX_ROOM else None,
        room_sid=_short(room.get("sid"), MAX_SID),
        created_at=_seconds(data.get("createdAt")),
    )


def event_key(event_id: str) -> str:
    """The inbox's unique key of an event id: itself, or the digest of a long one."""
    if len(event_id) <= MAX_ID:
        return event_id
    digest = base64.urlsafe_b64encode(hashlib.sha256(event_id.encode()).digest())
    return "sha256:" + digest.decode().rstrip("=")


def _room_of_egress(data: dict[str, Any]) -> str | None:
    for holder in ("egressInfo", "ingressInfo"):
        info = data.get(holder)
        if isinstance(info, dict) and isinstance(info.get("roomName"), str):
            return str(info["roomName"]) or None
    return None


def _short(value: Any, limit: int) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _seconds(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return datetime.fromtimestamp(number, UTC) if 0 < number <= _MAX_SECONDS else None


def _may_nest_deeper(body: bytes) -> bool:
    """Fewer openers than the limit cannot nest past it (one C-speed count, almost
    every real event stops here)."""
    return body.count(b"{") + body.count(b"[") > MAX_DEPTH


def _depth_over(body: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH, counted without
    decoding (json.loads would recurse, and raise RecursionError, far deeper)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return False
