"""Recovery of lost LiveKit events: compare recorded presence with the room itself.

LiveKit delivers webhooks on a best-effort basis; a `participant_left` or a
`participant_joined` may never come. For every READY or ONGOING session the
sweeper asks RoomService `ListParticipants` and compares:

* a recorded open interval whose participant is no longer in the room gets a
  synthetic `left` at the tick's time (`event_id = "reconciled-left:<sid>"`);
* a participant in the room with no evidence at all gets a synthetic `joined` at
  its own `joined_at` (`event_id = "reconciled-joined:<sid>"`), and may start the
  session like any join.

Such rows carry `source = "reconciled"`, never "webhook". Their ids are fixed per
participant, so replicas and repeated ticks add each at most once, and since
intervals are built from the set of evidence, a real webhook arriving later with an
earlier time simply wins. Only intervals that began before `now` are closed: a
participant who joined after the room was listed is not mistaken for one who left.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from livekit.protocol import models
from sqlalchemy import select

from engine.operations.presence import recompute_intervals, start_on_join
from rules.evidence import parse_identity
from rules.lifecycle import Status
from scheduler.due import candidates
from scheduler.plan import TransitionReport
from scheduler.rooms import RoomGateway
from store.database import Database
from store.schema import Evidence, Interval, Session
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.recovery")

SOURCE = "reconciled"
# RoomService calls in flight at once during one sweep.
CONCURRENT_CALLS = 8


async def reconcile_rooms(
    database: Database, now: datetime, *, rooms: RoomGateway, batch_size: int
) -> list[TransitionReport]:
    """Repair every READY/ONGOING session whose room disagrees with its evidence."""
    reports: list[TransitionReport] = []
    async for sessions in candidates(
        database, (Status.READY, Status.ONGOING), None, batch_size=batch_size
    ):
        async with database.uow() as uow:
            known = await _known_participants(uow, [s.id for s in sessions])
            uow.session.expunge_all()  # plain, detached rows: read after the rollback
        listed = await _list_all(rooms, sessions)
        for session in sessions:
            participants = listed.get(session.id)
            if participants is None:
                continue  # LiveKit did not answer for this room; try next tick
            gone, new = _differences(known.get(session.id, {}), participants, now)
            if gone or new:
                reports += await _repair(
                    database, session.id, _room(session), gone, new, rooms=rooms, now=now
                )
    return reports


async def _list_all(rooms: RoomGateway, sessions: Sequence[Session]) -> dict[int, list[Any]]:
    limit = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(session: Session) -> tuple[int, list[Any] | None]:
        room = _room(session)
        async with limit:
            try:
                return session.id, await rooms.list_participants(room)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # LiveKit unreachable: nothing is repaired now
                log.warning("list_participants_failed", room=room, error=str(exc))
                return session.id, None

    answers = await asyncio.gather(*(one(s) for s in sessions))
    return {sid: participants for sid, participants in answers if participants is not None}


async def _known_participants(
    uow: UnitOfWork, session_ids: Sequence[int]
) -> dict[int, dict[str, Interval | None]]:
    """Per session: every participant sid with evidence, mapped to its interval if
    that is still open (None when closed or not an interval)."""
    result: dict[int, dict[str, Interval | None]] = {sid: {} for sid in session_ids}
    if not session_ids:
        return result
    for session_id, sid in await uow.session.execute(
        select(Evidence.session_id, Evidence.participant_sid).where(
            Evidence.session_id.in_(session_ids), Evidence.participant_sid.is_not(None)
        )
    ):
        if session_id is not None and sid is not None:
            result[session_id].setdefault(sid, None)
    for interval in await uow.session.scalars(
        select(Interval).where(Interval.session_id.in_(session_ids), Interval.left_at.is_(None))
    ):
        result[interval.session_id][interval.participant_sid] = interval
    return result


def _differences(
    known: dict[str, Interval | None], participants: Sequence[Any], now: datetime
) -> tuple[list[Interval], list[Any]]:
    present = {p.sid for p in participants}
    gone = [
        interval
        for sid, interval in known.items()
        if interval is not None and sid not in present and interval.joined_at < now
    ]
    new = [p for p in participants if p.sid not in known]
    return gone, new


async def _repair(
    database: Database,
    session_id: int,
    room: str,
    gone: list[Interval],
    new: list[Any],
    *,
    rooms: RoomGateway,
    now: datetime,
) -> list[TransitionReport]:
    room_sid = None
    if new:
        try:
            room_sid = await rooms.room_sid(room)
        except asyncio.CancelledError:
            raise
        except Exception:  # the sid only helps a later room_finished close these intervals
            room_sid = None
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id, skip_locked=True)
        if session is None or session.status not in (Status.READY, Status.ONGOING):
            return []
        for interval in gone:
            await uow.evidence.add(
                Evidence(
                    event_id=f"reconciled-left:{interval.participant_sid}",
                    source=SOURCE,
                    kind="left",
                    room_name=room,
                    room_sid=interval.room_sid,
                    session_id=session.id,
                    participant_sid=interval.participant_sid,
                    identity=interval.identity,
                    user_id=interval.user_id,
                    at=now,
                    joined_at=interval.joined_at,
                    decisive=interval.decisive,
                )
            )
        joins = []
        for participant in new:
            joined_at = _joined_at(participant, now)
            event_id = f"reconciled-joined:{participant.sid}"
            user_id = parse_identity(participant.identity)
            decisive = _decisive(participant)
            await uow.evidence.add(
                Evidence(
                    event_id=event_id,
                    source=SOURCE,
                    kind="joined",
                    room_name=room,
                    room_sid=room_sid or _any_room_sid(gone),
                    session_id=session.id,
                    participant_sid=participant.sid,
                    identity=participant.identity,
                    user_id=user_id,
                    at=joined_at,
                    joined_at=joined_at,
                    decisive=decisive,
                )
            )
            if decisive and user_id is not None:
                joins.append((joined_at, user_id, event_id))
        await recompute_intervals(uow, session.id)
        reports = []
        roster = {session.teacher_id, *await uow.sessions.roster(session.id)}
        for joined_at, user_id, event_id in sorted(joins):
            if user_id not in roster:
                continue
            before = session.status
            if await start_on_join(
                uow, session, joined_at=joined_at, user_id=user_id, event_id=event_id
            ):
                reports.append(
                    TransitionReport(
                        session.id, session.session_code, before, session.status, joined_at
                    )
                )
        await uow.commit()
    log.info(
        "presence_reconciled",
        session_id=session_id,
        closed=[i.participant_sid for i in gone],
        opened=[p.sid for p in new],
    )
    return reports


def _room(session: Session) -> str:
    return session.meeting_room_name or session.session_code


def _any_room_sid(gone: list[Interval]) -> str | None:
    return gone[0].room_sid if gone else None


def _joined_at(participant: Any, now: datetime) -> datetime:
    if participant.joined_at_ms:
        return datetime.fromtimestamp(participant.joined_at_ms / 1000, tz=UTC)
    if participant.joined_at:
        return datetime.fromtimestamp(participant.joined_at, tz=UTC)
    return now


def _decisive(participant: Any) -> bool:
    """Only STANDARD participants who are not observers decide a verdict (CONTRACT 1)."""
    if participant.kind != models.ParticipantInfo.Kind.STANDARD:
        return False
    try:
        metadata = json.loads(participant.metadata) if participant.metadata else {}
    except ValueError:
        return True
    return not (isinstance(metadata, dict) and metadata.get("role") == "observer")
