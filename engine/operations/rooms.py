"""The bookkeeping of pending LiveKit room work: claim what is due, then write down
how each call went (done, or retried later with a backoff).

The calls themselves are made by `scheduler.rooms` between the two, outside any
transaction; these functions only read and write `room_operations` rows and never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rules.rooms import (
    CLAIM_LEASE,
    ClaimOutcome,
    RoomOperationKind,
    RoomOperationState,
    backoff,
    claim_outcome,
)
from store.repositories.rooms import Claim
from store.uow import UnitOfWork

__all__ = ["SKIPPED", "SUPERSEDED", "Claimed", "RoomCall", "Settled", "claim_due", "settle"]

SKIPPED = "skipped: no HUDUR_LIVEKIT_URL"
SUPERSEDED = "superseded: the room was deleted later"
WAIT_STEP = timedelta(seconds=1)
PENDING, DONE = RoomOperationState.PENDING.value, RoomOperationState.DONE.value
_DONE_WITHOUT_CALL = {ClaimOutcome.SUPERSEDED: SUPERSEDED, ClaimOutcome.SKIPPED: SKIPPED}


@dataclass(frozen=True, slots=True)
class RoomCall:
    """A claimed operation: what to ask LiveKit, outside any transaction."""

    op_id: int
    kind: str
    room_name: str
    identity: str | None
    payload: dict[str, Any]
    attempts: int
    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of one operation: `outcome` says how (a call made, failed or
    not needed); `retry_at` is set when it stays pending."""

    kind: str
    room_name: str
    outcome: str
    attempts: int
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed batch: the calls to make, those settled without one, and how many
    due rows were read (a full batch means more may be due)."""

    calls: tuple[RoomCall, ...]
    settled: tuple[Settled, ...]
    read: int


async def claim_due(
    uow: UnitOfWork,
    now: datetime,
    *,
    limit: int,
    calls_enabled: bool,
    academy_id: int | None = None,
) -> Claimed:
    """Take up to `limit` due operations, their rows locked `FOR UPDATE SKIP LOCKED`:
    each is moved a lease ahead for its call (a replica that dies mid-call leaves it
    to be retried once the lease runs out), or done here without one. Only the
    operations of `academy_id`'s sessions when it is given."""
    ops = await uow.rooms.due(now, limit=limit, lock=True, academy_id=academy_id)
    calls: list[RoomCall] = []
    settled: list[Settled] = []
    creates = [op for op in ops if op.op == RoomOperationKind.CREATE_ROOM]
    superseded = await uow.rooms.deleted_after(creates)
    deletes_first = await uow.rooms.pending_deletes_before(creates)
    claims: list[Claim] = []
    for op in ops:
        deleted_later = op.id in superseded
        delete_first = deletes_first.get(op.id)
        outcome = claim_outcome(
            op.op,
            deleted_later=deleted_later,
            calls_enabled=calls_enabled,
            deleted_before_pending=delete_first is not None,
        )
        if outcome is ClaimOutcome.WAIT:
            assert delete_first is not None
            # Due again once the delete may have gone through; never at `now`, so a run
            # that reads this row again does not loop on it.
            wait_until = max(delete_first.next_attempt_at, now) + WAIT_STEP
            claims.append(Claim(op.id, PENDING, op.last_error, op.attempts, wait_until))
            continue
        if outcome is not ClaimOutcome.CALL:
            error = _DONE_WITHOUT_CALL[outcome]
            claims.append(Claim(op.id, DONE, error, op.attempts, op.next_attempt_at))
            settled.append(Settled(op.op, op.room_name, outcome.value, op.attempts))
            continue
        claims.append(Claim(op.id, PENDING, op.last_error, op.attempts + 1, now + CLAIM_LEASE))
        calls.append(
            RoomCall(
                op.id,
                op.op,
                op.room_name,
                op.identity,
                dict(op.payload or {}),
                op.attempts + 1,
                op.session_id,
            )
        )
    await uow.rooms.claim_many(claims, now=now)
    return Claimed(tuple(calls), tuple(settled), len(ops))


async def settle(
    uow: UnitOfWork,
    call: RoomCall,
    error: str | None,
    now: datetime,
    *,
    answer: dict[str, Any] | None = None,
) -> Settled:
    """Write down how a call went: done, or pending again after a backoff with its error.
    A room made for a session leaves LiveKit's `answer` (the Room) on it: its sid is the
    session's `meeting_id`, the whole of it its `meeting_data`."""
    op = await uow.rooms.fresh(call.op_id)
    assert op is not None  # operations are never deleted
    op.updated_at = now
    if error is None:
        op.state, op.last_error = RoomOperationState.DONE.value, None
        if answer is not None and call.kind == RoomOperationKind.CREATE_ROOM and call.session_id:
            session = await uow.sessions.get(call.session_id)
            if session is not None:
                session.meeting_data = answer
                session.meeting_id = answer.get("sid") or session.meeting_id
        return Settled(op.op, op.room_name, "ok", op.attempts)
    op.last_error = error
    op.next_attempt_at = now + backoff(op.attempts)
    return Settled(op.op, op.room_name, "failed", op.attempts, error, op.next_attempt_at)
