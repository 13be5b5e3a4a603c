"""Presence: evidence in, intervals out, and the start a roster join triggers.

    on_join   what a join does to its session: start it, or flag a removal
    repair    what ListParticipants shows that lost webhooks left out
    (projection.py derives evidence from the inbox and calls these;
     rebuild.py is the same projection replayed from position zero)

Intervals are always rebuilt from the whole evidence of a session, so any order
and any repeats of the same events give the same intervals (CONTRACT 3). Locks are
always taken in one order, the projection's position row first, then session rows
by id, so projectors of several replicas, the sweeper and a rebuild cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.operations.attendance import closing_event_id
from engine.operations.lifecycle import transition
from engine.operations.settings import settings_of
from rules import evidence as ev
from rules.actors import Actor
from rules.lifecycle import LifecycleEvent, awaits_start, is_ongoing, is_running, is_terminal
from rules.rooms import RoomOperationKind
from store.schema import Session, Transition
from store.uow import UnitOfWork

RECONCILED = ev.EvidenceSource.RECONCILED


async def recompute_intervals(uow: UnitOfWork, session_id: int) -> tuple[ev.Interval, ...]:
    """Rebuild a session's intervals from all of its evidence (order-free by construction)."""
    evidence = await uow.evidence.for_session(session_id)
    intervals = ev.build_intervals(evidence)
    await uow.intervals.replace(session_id, intervals)
    # A finished session's kept answer rests on its intervals: no longer kept. (A
    # re-decision writes it again; reads assess the evidence meanwhile.)
    await uow.verdicts.forget_snapshots(session_id)
    return intervals


async def start_on_join(
    uow: UnitOfWork, session: Session, *, joined_at: datetime, user_id: int, event_id: str
) -> Transition | None:
    """SCHEDULED/READY -> ONGOING on the first roster join at or after S - preparation."""
    if not awaits_start(session.status) or session.scheduled_at is None:
        return None
    settings = await settings_of(uow, session)
    if joined_at < settings.opens_at(session.scheduled_at):
        return None
    session.started_at = joined_at
    return await transition(
        uow,
        session,
        LifecycleEvent.START,
        at=joined_at,
        actor=Actor.evidence(event_id),
        details={"user_id": user_id},
    )


async def close_presence(uow: UnitOfWork, session: Session, *, at: datetime) -> None:
    """Whoever is still in the room is out from `at` on: a synthetic evidence row, so
    a rebuild from the inbox reaches the same intervals."""
    await uow.evidence.add_closed(
        session.id, session.session_code, at=at, event_id=closing_event_id(session.id)
    )
    await recompute_intervals(uow, session.id)


async def adopt_orphan_evidence(uow: UnitOfWork, session: Session, *, now: datetime) -> None:
    """Attach webhooks that arrived for this room before the session existed; a roster
    join among them starts it as if it had arrived now (once it is scheduled).

    The projection's position is held first: a projector batch that looked the rooms
    up before this session was committed, and so stores this room's evidence as
    orphans, commits before this adoption reads them (and a batch after it sees the
    session)."""
    await uow.projection.hold()
    await uow.inbox.attach(session.session_code, session.id)
    if await uow.evidence.attach(session.session_code, session.id):
        await recompute_intervals(uow, session.id)
        await start_from_evidence(uow, session, now=now)


async def start_from_evidence(uow: UnitOfWork, session: Session, *, now: datetime) -> bool:
    """Whether a join already in the session's evidence starts it now: evidence that
    was attached (or a session scheduled) after the joins arrived."""
    if not awaits_start(session.status):
        return False
    joins = sorted(
        (
            e
            for e in await uow.evidence.for_session(session.id)
            if isinstance(e, ev.ParticipantJoined)
        ),
        key=lambda join: (join.at, join.event_id),
    )
    for join in joins:
        started, _ = await on_join(uow, session, join, ev.parse_identity(join.identity), now=now)
        if started:
            return True
    return False


# --- joins: the start trigger ---------------------------------------------------


async def on_join(
    uow: UnitOfWork,
    session: Session,
    join: ev.ParticipantJoined,
    user_id: int | None,
    *,
    now: datetime,
) -> tuple[bool, bool]:
    """(started, flagged for removal) for a join into `session` (row-locked): a first
    roster join starts it, a join into a finished session flags the participant for
    removal from the room."""
    if is_terminal(session.status):  # recorded, and the participant removed from the room
        uow.rooms.enqueue(
            RoomOperationKind.REMOVE_PARTICIPANT,
            session.session_code,
            now=now,
            session_id=session.id,
            identity=join.identity,
        )
        return False, True
    if not join.decisive or user_id is None:
        return False, False
    if user_id != session.teacher_id and user_id not in set(await uow.sessions.roster(session.id)):
        return False, False
    if awaits_start(session.status):
        moved = await start_on_join(
            uow, session, joined_at=join.at, user_id=user_id, event_id=join.event_id
        )
        return moved is not None, False
    if is_ongoing(session.status) and session.started_at and join.at < session.started_at:
        await _start_earlier(uow, session, join.at, now=now)
    return False, False


async def _start_earlier(uow: UnitOfWork, session: Session, at: datetime, *, now: datetime) -> None:
    """A roster join earlier than the one that started the session arrived late:
    `started_at` is the first join by event time, never by arrival (CONTRACT 3)."""
    if session.scheduled_at is None:
        return
    settings = await settings_of(uow, session)
    if at >= settings.opens_at(session.scheduled_at):
        session.started_at = at
        session.updated_at = now


# --- repair from ListParticipants -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listed:
    """One participant LiveKit's ListParticipants shows in a room."""

    sid: str
    identity: str
    joined_at: datetime  # its own joined_at, else the time of the listing
    decisive: bool


@dataclass(frozen=True, slots=True)
class Known:
    """What a session's evidence says of its room: every participant sid it has seen,
    and the intervals still open."""

    sids: frozenset[str]
    open: tuple[ev.Interval, ...]

    def differences(
        self, listed: Sequence[Listed], now: datetime
    ) -> tuple[list[ev.Interval], list[Listed]]:
        """(gone, new): open intervals whose participant is no longer listed, and
        listed participants with no evidence at all. Only intervals that began
        before `now` can be judged: a later join was not in the listing."""
        present = {p.sid for p in listed}
        gone = [i for i in self.open if i.sid not in present and i.joined_at < now]
        return gone, [p for p in listed if p.sid not in self.sids]


async def known_presence(uow: UnitOfWork, session_ids: Sequence[int]) -> dict[int, Known]:
    """Per session of `session_ids`, what its evidence says of its room (two reads)."""
    sids = await uow.evidence.participants_in(session_ids)
    open_ = await uow.intervals.open_in(session_ids)
    return {
        sid: Known(frozenset(sids[sid] | {i.sid for i in open_[sid]}), tuple(open_[sid]))
        for sid in session_ids
    }


@dataclass(frozen=True, slots=True)
class RepairPresence:
    """Close the intervals of participants gone from a session's room, and record the
    participants in it that no webhook told of."""

    session_id: int
    room: str
    room_sid: str | None  # the room's sid, when LiveKit told it
    gone: tuple[ev.Interval, ...]
    new: tuple[Listed, ...]


@dataclass(frozen=True, slots=True)
class Started:
    """A session a repaired join moved to ONGOING."""

    session_id: int
    session_code: str
    from_status: str
    to_status: str
    at: datetime


async def repair(
    uow: UnitOfWork, command: RepairPresence, *, now: datetime
) -> tuple[Started, ...] | None:
    """Reconciled evidence for `command`: a `left` at `now` per gone participant and a
    `joined` at its own time per new one (ids fixed per sid, so each is added at most
    once); the first roster join may start the session. None when the session is
    locked elsewhere or no longer running: nothing was written."""
    session = await uow.sessions.get(command.session_id, skip_locked=True)
    if session is None or not is_running(session.status):
        return None
    for interval in command.gone:
        await uow.evidence.record(
            ev.ParticipantLeft(
                event_id=f"reconciled-left:{interval.sid}",
                room_sid=interval.room_sid,
                at=now,
                sid=interval.sid,
                identity=interval.identity,
                decisive=interval.decisive,
                joined_at=interval.joined_at,
            ),
            source=RECONCILED,
            room_name=command.room,
            session_id=session.id,
            user_id=interval.user_id,
        )
    room_sid = command.room_sid or (command.gone[0].room_sid if command.gone else "")
    joins: list[tuple[datetime, int, str]] = []
    for participant in command.new:
        join = ev.ParticipantJoined(
            event_id=f"reconciled-joined:{participant.sid}",
            room_sid=room_sid,
            at=participant.joined_at,
            sid=participant.sid,
            identity=participant.identity,
            decisive=participant.decisive,
        )
        user_id = ev.parse_identity(participant.identity)
        await uow.evidence.record(
            join, source=RECONCILED, room_name=command.room, session_id=session.id, user_id=user_id
        )
        if join.decisive and user_id is not None:
            joins.append((join.at, user_id, join.event_id))
    await recompute_intervals(uow, session.id)
    if not joins:
        return ()
    roster = {session.teacher_id, *await uow.sessions.roster(session.id)}
    started: list[Started] = []
    for joined_at, user_id, event_id in sorted(joins):
        if user_id not in roster:
            continue
        before = session.status
        if await start_on_join(
            uow, session, joined_at=joined_at, user_id=user_id, event_id=event_id
        ):
            started.append(
                Started(session.id, session.session_code, before, session.status, joined_at)
            )
    return tuple(started)
