"""What assessing one session from its evidence reads (an unfinished session's
attendance): two statements, whatever the size of its roster.

The statements are built once, with the session's id bound at each read: building
and keying a statement costs more than running it on a small session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from rules import evidence as ev
from rules.engagement import TrackEvidence
from store.repositories.evidence import TRACK_KINDS, to_track_evidence
from store.schema import Charge, Evidence, Interval, Session, SessionStudent, StudentReport


def _roster(dialect: str) -> Any:
    """The session's roster as the text of one JSON array (a scalar subquery)."""
    student = SessionStudent.student_id
    aggregate = (
        func.json_agg(student) if dialect == "postgresql" else func.json_group_array(student)
    )
    return (
        select(cast(aggregate, Text))
        .where(SessionStudent.session_id == Session.id)
        .correlate(Session)
        .scalar_subquery()
    )


def _people(dialect: str) -> Any:
    """The session with its roster, and the reports and charges of its students: one
    row per student that has either (one row when none has), so the session's own
    columns, decoded on every row, come once for a session nobody reported on yet. A
    report or charge of someone off the roster is not read: no answer shows one."""
    on_record = union(
        select(StudentReport.student_id).where(StudentReport.session_id == bindparam("session_id")),
        select(Charge.student_id).where(Charge.session_id == bindparam("session_id")),
    )
    return (
        select(Session, _roster(dialect), StudentReport, Charge)
        .select_from(Session)
        .outerjoin(
            SessionStudent,
            and_(
                SessionStudent.session_id == Session.id,
                SessionStudent.student_id.in_(on_record.scalar_subquery()),
            ),
        )
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
    )


_PEOPLE = {dialect: _people(dialect) for dialect in ("sqlite", "postgresql")}

# The intervals (tag 0) and the track evidence (tag 1) of the session in one
# statement: one column set, each part filling what it has. The first part's types
# decode both (its NULLs are cast so PostgreSQL knows them).
_INTERVALS = select(
    literal(0).label("tag"),
    cast(null(), BigInteger).label("ord"),
    Interval.participant_sid.label("participant_sid"),
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
    literal_column("tag"),
    literal_column("ord"),
    literal_column("at"),
    literal_column("participant_sid"),
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
        dialect = self.session.bind.dialect.name if self.session.bind is not None else ""
        statement = _PEOPLE["postgresql" if dialect == "postgresql" else "sqlite"]
        rows = (await self.session.execute(statement, params)).all()
        if not rows:
            return None
        roster = sorted(from_json(rows[0][1] or "[]"))
        reports = {r.student_id: r for _, _, r, _ in rows if r is not None}
        charges = {c.student_id: c for _, _, _, c in rows if c is not None}
        intervals, tracks = [], []
        for row in await self.session.execute(_EVIDENCE, params):
            if row.tag == 0:
                intervals.append(_interval(row))
            else:
                tracks.append(to_track_evidence(row))
        return Inputs(rows[0][0], roster, reports, charges, intervals, tracks)


def _interval(row: Any) -> ev.Interval:
    return ev.Interval(
        sid=row.participant_sid,
        identity=row.identity,
        user_id=row.user_id,
        room_sid=row.room_sid,
        joined_at=row.at,
        left_at=row.left_at,
        decisive=row.decisive,
    )
