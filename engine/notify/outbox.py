"""A transaction's announcements (engine.operations.announce) written to the outbox,
in that transaction, just before it commits.

Batch first: the sweep finishes thousands of sessions in one transaction, so the
endpoints are read once, the sessions' API shapes are built for all of them at once
(`session_shapes`: a fixed number of queries whatever their number), and every row
goes in one insert. Nothing is built when no endpoint wants any of the messages.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from engine.api.shapes import attendance_shape, session_shapes
from engine.operations.announce import Changed, Charged, Finalized, Item, Moved
from engine.wire import iso_z
from rules.notify import EventType, wants
from store.repositories.due import SessionLike
from store.repositories.notifications import PENDING
from store.schema import NotificationEndpoint, Session
from store.uow import UnitOfWork


def message_id() -> str:
    """A new `webhook-id`: unique per message, kept for every retry."""
    return f"msg_{uuid.uuid4().hex}"


def _type(item: Item) -> EventType:
    if isinstance(item, Moved):
        return item.type
    if isinstance(item, Finalized):
        return EventType.ATTENDANCE_FINALIZED
    if isinstance(item, Changed):
        return EventType.ATTENDANCE_CHANGED
    return EventType.CHARGE_RECORDED


def _session_id(item: Item) -> int:
    if isinstance(item, Moved | Changed):
        return item.session.id
    if isinstance(item, Finalized):
        return item.attendance.session.id
    return item.session_id


async def _academies(uow: UnitOfWork, items: Sequence[Item]) -> dict[int, int]:
    """The academy of every item's session: known from the items themselves, else read
    once for the rest (a settlement names only its session)."""
    known: dict[int, int] = {}
    for item in items:
        if isinstance(item, Moved | Changed):
            known[item.session.id] = item.session.academy_id
        elif isinstance(item, Finalized):
            known[item.attendance.session.id] = item.attendance.session.academy_id
        elif item.academy_id is not None:
            known[item.session_id] = item.academy_id
    missing = sorted({_session_id(i) for i in items} - known.keys())
    return known | await uow.sessions.academy_ids(missing)


async def write(uow: UnitOfWork, items: Sequence[Item]) -> None:
    """Write `items` as outbox rows, one per message and endpoint that wants it."""
    if not items:
        return
    endpoints = await uow.endpoints.enabled()
    if not endpoints:
        return
    academies = await _academies(uow, items)
    wanted: list[tuple[Item, list[NotificationEndpoint]]] = []
    for item in items:
        kind, academy = _type(item), academies.get(_session_id(item))
        targets = [
            e
            for e in endpoints
            if academy is not None
            and wants(
                endpoint_academy_id=e.academy_id,
                events=e.events.get("types", []),
                enabled=e.enabled,
                academy_id=academy,
                event_type=kind,
            )
        ]
        if targets:
            wanted.append((item, targets))
    if not wanted:
        return
    data = await _data(uow, [item for item, _ in wanted])
    rows = []
    for (item, targets), body in zip(wanted, data, strict=True):
        mid = message_id()
        payload = {"type": _type(item).value, "timestamp": iso_z(item.at), "data": body}
        rows += [
            {
                "message_id": mid,
                "endpoint_id": e.id,
                "session_id": _session_id(item),
                "type": payload["type"],
                "payload": payload,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": item.at,
                "first_attempt_at": None,
                "leased_until": None,
                "lease_owner": None,
                "last_status": None,
                "created_at": item.at,
                "updated_at": item.at,
            }
            for e in targets
        ]
    await uow.outbox.add_many(rows)
    uow.outbox_written()


async def _data(uow: UnitOfWork, items: Sequence[Item]) -> list[dict[str, Any]]:
    """Each item's `data`: sessions shaped as the API shapes them, now that the
    transaction's writes are made (a finished session's verdicts and charges
    included); all sessions of the batch at once."""
    moved = [i for i in items if isinstance(i, Moved)]
    sessions = await _orm_sessions(uow, moved)
    shapes: dict[int, dict[str, Any]] = {}
    if sessions:
        latest = max(i.at for i in moved)
        for shape in await session_shapes(uow, sessions, now=latest):
            dumped = shape.model_dump(mode="json", by_alias=True)
            shapes[dumped["id"]] = dumped
    finished = [i for i in items if isinstance(i, Finalized)]
    charges = await uow.charges.for_sessions([i.attendance.session.id for i in finished])
    # A finished session's explanations read in its academy's locale (CONTRACT 4.3).
    locales = (
        {
            a.id: a.locale
            for a in (
                await uow.academies.get_many(
                    list({i.attendance.session.academy_id for i in finished})
                )
            ).values()
        }
        if finished
        else {}
    )
    result = []
    for item in items:
        if isinstance(item, Moved):
            # A session moved twice in one transaction: each message says its own status.
            result.append({**shapes[item.session.id], "status": item.status.value})
        elif isinstance(item, Finalized):
            locale = locales.get(item.attendance.session.academy_id)
            result.append(_attendance(item, charges[item.attendance.session.id], locale))
        elif isinstance(item, Changed):
            result.append(item.data)
        else:
            result.append(_charge(item))
    return result


async def _orm_sessions(uow: UnitOfWork, moved: Sequence[Moved]) -> list[Session]:
    """The moved sessions as the API shapes them: a sweep's batch moves plain locked
    rows, written with Core statements, so those are read back as stored now."""
    by_id: dict[int, SessionLike] = {i.session.id: i.session for i in moved}
    plain = [sid for sid, s in by_id.items() if not isinstance(s, Session)]
    loaded = await uow.sessions.loaded(plain)
    return [s if isinstance(s, Session) else loaded[sid] for sid, s in by_id.items()]


def _attendance(item: Finalized, charges: dict[int, Any], locale: str | None) -> dict[str, Any]:
    """The final attendance with the charges the same transaction wrote."""
    attendance = item.attendance
    students = tuple(
        dataclasses.replace(s, charge=charges.get(s.user_id)) for s in attendance.students
    )
    final = dataclasses.replace(attendance, students=students)
    return attendance_shape(final, locale=locale).model_dump(mode="json", by_alias=True)


def _charge(item: Charged) -> dict[str, Any]:
    d = item.decision
    return {
        "session_id": item.session_id,
        "student_id": d.student_id,
        "status": d.status.value,
        "reason": d.reason,
        "subscription_id": d.subscription_id,
    }


__all__ = ["message_id", "write"]
