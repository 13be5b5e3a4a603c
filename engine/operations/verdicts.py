"""Finished sessions' verdicts: written when a session finishes, and decided again
whenever a report or a rebuild changes what they rest on (CONTRACT 4.3).

Status, written verdicts and charges move together, in the caller's transaction,
so they never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.operations import announce
from engine.operations.attendance import (
    SessionAttendance,
    StudentAttendance,
    assess,
    closing_event_id,
    session_attendance,
    written_of,
)
from engine.operations.charges import (
    Ledger,
    charge_snapshot,
    settle_charges,
    settlement,
    write_settlements,
)
from engine.operations.lifecycle import check_all, transition, transition_all
from engine.operations.settings import settings_of
from rules import evidence as ev
from rules.actors import REBUILD, Actor, AuditKind
from rules.attendance import AttendanceStatus
from rules.charging import counts_for_teacher
from rules.codes import SessionType, is_individual
from rules.lifecycle import finishing_event, following_verdict, is_finished
from rules.rooms import RoomOperationKind
from rules.settings import RuleSettings
from store.repositories.due import SessionLike
from store.repositories.rooms import Queued
from store.schema import Session
from store.uow import UnitOfWork

REBUILD_REASON = "rebuilt from the stored webhooks"
FINISHED_COLUMNS = ("ended_at", "counts_for_teacher", "subscription_counted")


async def finalise(
    uow: UnitOfWork,
    session: Session,
    *,
    at: datetime,
    actor: Actor,
    roster: list[int] | None = None,
    settings: RuleSettings | None = None,
) -> SessionAttendance:
    """READY/ONGOING -> COMPLETED or ABSENT at `at`, as a batch of one."""
    (attendance,) = await finalise_many(
        uow,
        [session],
        at=at,
        actor=actor,
        rosters=None if roster is None else {session.id: roster},
        settings=None if settings is None else {session.id: settings},
    )
    return attendance


async def finalise_many(
    uow: UnitOfWork,
    sessions: Sequence[SessionLike],
    *,
    at: datetime,
    actor: Actor,
    rosters: Mapping[int, list[int]] | None = None,
    settings: Mapping[int, RuleSettings] | None = None,
) -> list[SessionAttendance]:
    """READY/ONGOING -> COMPLETED or ABSENT at `at` for every session of `sessions`:
    close presence, make the verdicts final, settle charges, close the rooms. One read
    of what they all need, the decisions in memory, one write of each kind. The
    verdicts are decided first, on the intervals the close will leave, so an illegal
    move raises before anything is written. `rosters` and `settings`, when the caller
    (the sweep) has them from this transaction, are not read or parsed again."""
    if not sessions:
        return []
    ids = [s.id for s in sessions]
    if rosters is None:
        rosters = await uow.sessions.rosters(ids)
    evidence = await uow.evidence.for_sessions(ids)
    tracks = await uow.evidence.tracks_for_sessions(ids)
    reports = await uow.reports.for_sessions(ids)
    charges = await uow.charges.for_sessions(ids)
    decided = []
    for session in sessions:
        closed = ev.SessionClosed(event_id=closing_event_id(session.id), at=at)
        intervals = ev.build_intervals([*evidence[session.id], closed])
        given = None if settings is None else settings.get(session.id)
        attendance = assess(
            session,
            settings=await settings_of(uow, session) if given is None else given,
            roster=rosters[session.id],
            intervals=intervals,
            reports=reports[session.id],
            charges=charges[session.id],
            now=at,
            finished=True,
            ended_at=at,
            tracks=tracks[session.id],
        )
        event = finishing_event(
            individual=is_individual(SessionType(session.type)),
            all_absent=all(
                s.verdict.status is AttendanceStatus.ABSENT for s in attendance.students
            ),
        )
        decided.append((session, event, closed, intervals, attendance))
    moves = [(s, event) for s, event, *_ in decided]
    check_all(moves)  # before the rows change: an illegal move changes nothing
    for session, _, _, _, attendance in decided:
        session.ended_at = at
        session.counts_for_teacher = counts_for_teacher(
            attendance.teacher_meeting.attendance_percentage, attendance.settings
        )
        session.subscription_counted = True
    await transition_all(uow, moves, at=at, actor=actor, columns=FINISHED_COLUMNS)
    announce.finalized(uow, [a for *_, a in decided], at=at)
    await uow.rooms.enqueue_many(
        [q for s, *_ in decided if (q := room_closing(s)) is not None], now=at
    )
    await uow.evidence.add_closed_many([(s.id, s.session_code, c) for s, _, c, _, _ in decided])
    await uow.intervals.replace_many({s.id: i for s, _, _, i, _ in decided})
    await uow.verdicts.write_many({s.id: written_of(a) for s, _, _, _, a in decided}, at=at)
    # The students' subscriptions are locked last, just before the ledger rows are
    # written, so that concurrent batches (replicas) sharing students wait on each
    # other only for that write and the commit, not for the whole batch.
    ledger = await Ledger.load(uow, [u for sid in ids for u in rosters[sid]])
    settlements = [settlement(s, a, ledger, at=at) for s, _, _, _, a in decided]
    await write_settlements(uow, settlements, at=at)
    return [a for *_, a in decided]


@dataclass(frozen=True, slots=True)
class VerdictChange:
    """One student's verdict before and after a re-decision, and both as the audit
    log keeps them (the before taken ahead of any write: the charge row is one object,
    updated in place)."""

    user_id: int
    before: StudentAttendance
    after: StudentAttendance
    before_audit: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Redecision:
    """A finished session decided again: its attendance now, and what changed."""

    attendance: SessionAttendance
    changes: tuple[VerdictChange, ...]
    moved: bool  # the session followed its student between COMPLETED and ABSENT


async def redecide(
    uow: UnitOfWork,
    session: Session,
    *,
    at: datetime,
    actor: Actor,
    details: dict[str, Any] | None = None,
) -> Redecision:
    """Decide a finished session's verdicts again from its evidence and reports, as a
    report or a rebuild needs: an individual session follows its student between
    COMPLETED and ABSENT, the verdicts are written again, each charge is updated in
    place (hand-set ones are left alone). The caller holds the session row locked and
    audits the changes in its own terms."""
    before = await session_attendance(uow, session, now=at)
    fresh = await session_attendance(uow, session, now=at, fresh=True)
    changes = tuple(
        VerdictChange(new.user_id, old, new, verdict_snapshot(old))
        for old, new in zip(before.students, fresh.students, strict=True)
        if (old.verdict.status, old.verdict.source) != (new.verdict.status, new.verdict.source)
    )
    event = None
    if fresh.students:
        event = following_verdict(
            session.status,
            individual=is_individual(SessionType(session.type)),
            absent=fresh.students[0].verdict.status is AttendanceStatus.ABSENT,
        )
    if event is not None:
        await transition(uow, session, event, at=at, actor=actor, details=details)
    session.counts_for_teacher = counts_for_teacher(
        fresh.teacher_meeting.attendance_percentage, fresh.settings
    )
    await uow.verdicts.write(session.id, written_of(fresh), at=at)
    for change in changes:
        announce.changed(
            uow,
            session,
            user_id=change.user_id,
            before=_verdict(change.before),
            after=_verdict(change.after),
            by=str(actor),
            reason=(details or {}).get("reason"),
            at=at,
        )
    await settle_charges(uow, session, fresh, at=at)
    return Redecision(fresh, changes, moved=event is not None)


def _verdict(student: StudentAttendance) -> dict[str, Any]:
    """A verdict as `attendance.changed` announces it (the charge has its own message)."""
    return {
        "attendance_status": student.verdict.status.value,
        "source": student.verdict.source.value,
    }


def verdict_snapshot(student: StudentAttendance) -> dict[str, Any]:
    """A student's verdict and charge as the audit log keeps them."""
    return {
        "attendance_status": student.verdict.status.value,
        "source": student.verdict.source.value,
        "charge": charge_snapshot(student.charge),
    }


async def redecide_rebuilt(
    uow: UnitOfWork, session_ids: Iterable[int], *, at: datetime
) -> list[Redecision]:
    """After a rebuild recomputed their intervals: each finished session among
    `session_ids` decided again as a report would, every changed verdict audited with
    the actor `rebuild`. Rows are locked one at a time, after the inbox (the lock
    order of intake), so a rebuild and live deliveries cannot deadlock."""
    done = []
    for session_id in session_ids:
        session = await uow.sessions.get(session_id, for_update=True)
        if session is None or not is_finished(session.status):
            continue
        redecision = await redecide(
            uow, session, at=at, actor=REBUILD, details={"reason": REBUILD_REASON}
        )
        for change in redecision.changes:
            uow.audit.record(
                session.id,
                student_id=change.user_id,
                kind=AuditKind.REBUILD,
                actor=REBUILD,
                at=at,
                reason=REBUILD_REASON,
                before=change.before_audit,
                after=verdict_snapshot(change.after),
            )
        done.append(redecision)
    return done


def close_room(uow: UnitOfWork, session: Session, *, at: datetime) -> None:
    """Queue DeleteRoom for a session that had a room."""
    if (q := room_closing(session)) is not None:
        uow.rooms.enqueue(q.op, q.room_name, now=at, session_id=q.session_id)


def room_closing(session: SessionLike) -> Queued | None:
    """The DeleteRoom of a session that had a room."""
    if not session.meeting_room_name:
        return None
    return Queued(RoomOperationKind.DELETE_ROOM, session.meeting_room_name, session.id)
