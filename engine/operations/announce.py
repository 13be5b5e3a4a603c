"""What a transaction announces to the platform (CONTRACT 6), kept until it commits.

The one writer of each change calls one function here, in memory and without a
query: `moved` (lifecycle: a transition or a birth), `finalized` (verdicts: sessions
finished), `changed` (verdicts: a finished session's verdict re-decided), `charged`
(charges: a ledger row written or changed). Just before the transaction commits,
`engine.notify.outbox.write` turns them into outbox rows, in the same transaction:
one read of what the whole batch needs, one multi-row insert. A rolled-back change
announces nothing, a committed one is always announced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rules.charging import ChargeDecision
from rules.lifecycle import LifecycleEvent, Status
from rules.notify import EventType, message_type
from store.repositories.due import SessionLike
from store.schema import Session
from store.uow import UnitOfWork

if TYPE_CHECKING:
    from engine.operations.attendance import SessionAttendance

KEY = "outbox"


@dataclass(frozen=True, slots=True)
class Moved:
    session: SessionLike
    type: EventType
    status: Status
    at: datetime


@dataclass(frozen=True, slots=True)
class Finalized:
    attendance: SessionAttendance
    at: datetime


@dataclass(frozen=True, slots=True)
class Changed:
    session: Session
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class Charged:
    session_id: int
    academy_id: int | None  # None: read at the commit (the settlement knows only the id)
    decision: ChargeDecision
    at: datetime


Item = Moved | Finalized | Changed | Charged


@dataclass
class Pending:
    items: list[Item] = field(default_factory=list)


def _pending(uow: UnitOfWork) -> Pending:
    pending = uow.kept.get(KEY)
    if pending is None:
        pending = uow.kept[KEY] = Pending()
        uow.before_commit(KEY, lambda: _write(uow))
    assert isinstance(pending, Pending)
    return pending


async def _write(uow: UnitOfWork) -> None:
    # Imported here, not above: the outbox shapes sessions as the API does, and the
    # API's shapes import the operations that call this module.
    from engine.notify.outbox import write

    pending = uow.kept.pop(KEY)
    await write(uow, pending.items)


def moved(
    uow: UnitOfWork, session: SessionLike, status: Status, event: LifecycleEvent, *, at: datetime
) -> None:
    """A session moved into (or was born in) `status` by `event`."""
    kind = message_type(status, event)
    if kind is not None:
        _pending(uow).items.append(Moved(session, kind, status, at))


def finalized(uow: UnitOfWork, attendances: Sequence[SessionAttendance], *, at: datetime) -> None:
    """Sessions finished, with their final attendance."""
    _pending(uow).items.extend(Finalized(a, at) for a in attendances)


def changed(
    uow: UnitOfWork,
    session: Session,
    *,
    user_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    by: str,
    reason: str | None,
    at: datetime,
) -> None:
    """A finished session's verdict of `user_id` decided again."""
    data = {
        "session_id": session.id,
        "user_id": user_id,
        "before": before,
        "after": after,
        "by": by,
        "reason": reason,
    }
    _pending(uow).items.append(Changed(session, data, at))


def charged(
    uow: UnitOfWork,
    session_id: int,
    decision: ChargeDecision,
    *,
    at: datetime,
    academy_id: int | None = None,
) -> None:
    """A ledger row written or changed."""
    _pending(uow).items.append(Charged(session_id, academy_id, decision, at))
