"""The one owner of a session's status.

`transition` moves an existing session, `create` brings a new one into being, and
`note` records an event that leaves the status as it is. Each asks
`rules.lifecycle` (which raises `IllegalTransition` and changes nothing when the
move is not allowed), writes the history row, and counts the metric after commit.
No other module assigns `Session.status`; every other question about a status goes
to the predicates of `rules.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog

from engine.operations import announce
from rules.actors import Actor
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent, Status, apply, born
from rules.lifecycle import note as noted
from store.metrics import TRANSITIONS
from store.repositories.due import SessionLike
from store.schema import Session, Transition
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.lifecycle")

MOVED_COLUMNS = ("status", "updated_at", "revision")  # what a move changes on the row


async def transition(
    uow: UnitOfWork,
    session: Session,
    event: LifecycleEvent,
    *,
    at: datetime,
    actor: Actor,
    details: dict[str, Any] | None = None,
) -> Transition:
    """Apply one lifecycle event; raises IllegalTransition and changes nothing if not allowed."""
    return uow.transitions.record(**_move(uow, session, event, at=at, actor=actor, details=details))


async def transition_all(
    uow: UnitOfWork,
    moves: Sequence[tuple[SessionLike, LifecycleEvent]],
    *,
    at: datetime,
    actor: Actor,
    columns: Sequence[str] = (),
) -> None:
    """Apply many sessions' events at once (a sweep's batch): their statuses in one
    UPDATE (with `columns`, the caller's own changes to the same rows, so each row is
    written once) and their history in one INSERT, no ORM flush; every move is checked
    before any is made, so an illegal one raises and changes nothing."""
    check_all(moves)
    # One after-commit callback for the whole batch, not two per move: the same
    # lines and counts, in the same order, without thousands of closures.
    lines: list[dict[str, Any]] = []
    history = [_move(uow, s, event, at=at, actor=actor, lines=lines) for s, event in moves]
    await uow.sessions.write_columns([s for s, _ in moves], (*MOVED_COLUMNS, *columns))
    await uow.transitions.record_many(history)
    uow.after_commit(lambda: _moved_all(lines))


def _moved_all(lines: Sequence[dict[str, Any]]) -> None:
    """Count and log the committed moves of a batch."""
    counted: dict[tuple[str | None, str], int] = {}
    for fields in lines:
        key = (fields["from_status"], fields["to_status"])
        counted[key] = counted.get(key, 0) + 1
    for (old, new), n in counted.items():
        TRANSITIONS.labels(old, new).inc(n)
    for fields in lines:
        log.info("transition", **fields)


def check_all(moves: Sequence[tuple[SessionLike, LifecycleEvent]]) -> None:
    """Raise IllegalTransition unless every move is allowed (nothing is changed)."""
    for session, event in moves:
        apply(Status(session.status), event)


def _move(
    uow: UnitOfWork,
    session: SessionLike,
    event: LifecycleEvent,
    *,
    at: datetime,
    actor: Actor,
    details: dict[str, Any] | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Move the session; its history row, to be written. With `lines`, the move's
    log line is added there for the caller to count and log after commit."""
    old = Status(session.status)
    new = apply(old, event)
    session.status = new.value
    session.updated_at = at
    session.revision += 1
    announce.moved(uow, session, new, event, at=at)
    if lines is None:
        uow.after_commit(lambda: TRANSITIONS.labels(old.value, new.value).inc())
        _log_after_commit(uow, session, old.value, new.value, event, actor)
    else:
        lines.append(_line(session, old.value, new.value, event, actor))
    return {
        "session_id": session.id,
        "from_status": old.value,
        "to_status": new.value,
        "event": event.value,
        "at": at,
        "actor": str(actor),
        "details": details,
    }


async def create(
    uow: UnitOfWork,
    event: LifecycleEvent,
    *,
    at: datetime,
    actor: Actor,
    academy_id: int,
    session_type: SessionType,
    title: str,
    duration_minutes: int,
    teacher_id: int,
    student_ids: Sequence[int],
    details: dict[str, Any] | None = None,
    **fields: Any,
) -> Session:
    """A new session, born in the status `event` gives it (scheduled when `fields`
    carry `scheduled_at`). A session made by hand (CREATE) starts its history at its
    first move; generated sessions and make-ups start it with their birth."""
    status = born(event, scheduled=fields.get("scheduled_at") is not None)
    session = await uow.sessions.create(
        academy_id=academy_id,
        session_type=session_type,
        title=title,
        duration_minutes=duration_minutes,
        teacher_id=teacher_id,
        student_ids=student_ids,
        now=at,
        status=status.value,
        **fields,
    )
    if event is not LifecycleEvent.CREATE:
        uow.transitions.record(
            session.id,
            from_status=None,
            to_status=status.value,
            event=event.value,
            at=at,
            actor=str(actor),
            details=details,
        )
        _log_after_commit(uow, session, None, status.value, event, actor)
        announce.moved(uow, session, status, event, at=at)
    return session


def note(
    uow: UnitOfWork,
    session: Session,
    event: LifecycleEvent,
    *,
    at: datetime,
    actor: Actor,
    details: dict[str, Any] | None = None,
) -> Transition:
    """Record `event` in the session's history; its status stays as it is."""
    status = noted(Status(session.status), event)
    return uow.transitions.record(
        session.id,
        from_status=status.value,
        to_status=status.value,
        event=event.value,
        at=at,
        actor=str(actor),
        details=details,
    )


def _log_after_commit(
    uow: UnitOfWork,
    session: SessionLike,
    old: str | None,
    new: str,
    event: LifecycleEvent,
    actor: Actor,
) -> None:
    """One line per move, written only once it is committed: a rolled-back move never
    happened, and the log must not say it did. Values are read now, while the row is
    loaded (after commit its attributes are expired)."""
    fields = _line(session, old, new, event, actor)
    uow.after_commit(lambda: log.info("transition", **fields))


def _line(
    session: SessionLike, old: str | None, new: str, event: LifecycleEvent, actor: Actor
) -> dict[str, Any]:
    return {
        "session_id": session.id,
        "session_code": session.session_code,
        "from_status": old,
        "to_status": new,
        "lifecycle_event": event.value,  # `event` is structlog's own key
        "actor": str(actor),
    }
