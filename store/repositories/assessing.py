"""What assessing one session from its evidence reads (an unfinished session's
attendance): two statements, whatever the size of its roster.

The statements are built once, with the session's id bound at each read: building
and keying a statement costs more than running it on a small session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    String,
    and_,
    bindparam,
    cast,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from rules import evidence as ev
from rules.engagement import TrackEvidence, TrackPublished, TrackUnpublished
from store.repositories.evidence import TRACK_KINDS
from store.schema import Charge, Evidence, Interval, Session, SessionStudent, StudentReport

# The session with its roster, each student's report and charge joined: one row a
# student (one row with no student for an empty roster). A report or charge of
# someone off the roster is not read: no answer shows one.
_PEOPLE = (
    select(Session, SessionStudent.student_id, StudentReport, Charge)
    .select_from(Session)
    .outerjoin(SessionStudent, SessionStudent.session_id == Session.id)
    .outerjoin(
        StudentReport,
        and_(
            StudentReport.session_id == Session.id,
            StudentReport.student_id == SessionStudent.student_id,
        ),
    )
    .outerjoin(
        Charge,
        and_(Charge.session_id == Session.id, Charge.student_id == SessionStudent.student_id),
    )
    .where(Session.id == bindparam("session_id"))
    .order_by(SessionStudent.student_id)
)

# The intervals (tag 0) and the track evidence (tag 1) of the session in one
# statement: one column set, each part filling what it has. The first part's types
# decode both (its NULLs are cast so PostgreSQL knows them).
_INTERVALS = select(
    literal(0).label("tag"),
    cast(null(), BigInteger).label("ord"),
    Interval.participant_sid.label("sid"),
    Interval.identity.label("identity"),
    Interval.user_id.label("user_id"),
    Interval.room_sid.label("room_sid"),
    Interval.joined_at.label("at"),
    Interval.left_at.label("left_at"),
    Interval.decisive.label("decisive"),
    cast(null(), String).label("event_id"),
    cast(null(), String).label("track_sid"),
    cast(null(), String).label("track_source"),
    cast(null(), String).label("kind"),
).where(Interval.session_id == bindparam("session_id"))
_TRACKS = select(
    literal(1),
    Evidence.id,
    Evidence.participant_sid,
    Evidence.identity,
    cast(null(), BigInteger),
    Evidence.room_sid,
    Evidence.at,
    cast(null(), DateTime(timezone=True)),
    cast(null(), Boolean),
    Evidence.event_id,
    Evidence.track_sid,
    Evidence.track_source,
    Evidence.kind,
).where(Evidence.session_id == bindparam("session_id"), Evidence.kind.in_(TRACK_KINDS))
# Intervals by (joined_at, sid), tracks in the order they were stored.
_EVIDENCE: Any = union_all(_INTERVALS, _TRACKS).order_by(
    literal_column("tag"), literal_column("ord"), literal_column("at"), literal_column("sid")
)


@dataclass(frozen=True, slots=True)
class Inputs:
    """A session and every row its assessment rests on."""

    session: Session
    roster: list[int]
    reports: dict[int, StudentReport]
    charges: dict[int, Charge]
    intervals: list[ev.Interval]
    tracks: list[TrackEvidence]


class AssessingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def inputs(self, session_id: int) -> Inputs | None:
        """The session (None if there is none), its roster, reports, charges,
        intervals and track evidence: two statements."""
        params = {"session_id": session_id}
        rows = (await self.session.execute(_PEOPLE, params)).all()
        if not rows:
            return None
        roster, reports, charges = [], {}, {}
        for _, student_id, report, charge in rows:
            if student_id is None:
                continue
            roster.append(student_id)
            if report is not None:
                reports[student_id] = report
            if charge is not None:
                charges[student_id] = charge
        intervals, tracks = [], []
        for row in await self.session.execute(_EVIDENCE, params):
            if row.tag == 0:
                intervals.append(_interval(row))
            else:
                tracks.append(_track(row))
        return Inputs(rows[0][0], roster, reports, charges, intervals, tracks)


def _interval(row: Any) -> ev.Interval:
    return ev.Interval(
        sid=row.sid,
        identity=row.identity,
        user_id=row.user_id,
        room_sid=row.room_sid,
        joined_at=row.at,
        left_at=row.left_at,
        decisive=row.decisive,
    )


def _track(row: Any) -> TrackEvidence:
    kind = TrackPublished if row.kind == ev.EvidenceKind.TRACK_PUBLISHED.value else TrackUnpublished
    return kind(
        row.event_id,
        row.room_sid or "",
        row.at,
        row.sid or "",
        row.identity or "",
        row.track_sid or "",
        row.track_source or "",
    )
