"""What an attendance read needs (`attendance`), and what assessing one session from
its evidence reads (`inputs`): one statement each, whatever the size of its roster.
An attendance read brings the inputs only while the session is unfinished; a
finished session's answer is kept on its written verdicts (verdicts.py).

The session with its roster, reports and charges comes as rows (the ORM's objects);
its intervals and track evidence ride on the first row as two JSON arrays, decoded
here. Each statement costs a round trip and the driver's and SQLAlchemy's turn
(about half a millisecond on the benchmark machine, more than the rows of a session
cost to decode), and this read is the larger part of an ongoing session's answer.

The statement is built once, with the session's id bound at each read: building and
keying a statement costs more than running it on a small session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic_core import from_json
from sqlalchemy import (
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    null,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from rules import evidence as ev
from rules.engagement import TrackEvidence
from rules.lifecycle import FINISHED, is_finished
from store.repositories.base import on_postgres
from store.repositories.evidence import TRACK_KINDS, to_track_evidence
from store.repositories.projection import is_spooled, position_columns, projected
from store.repositories.verdicts import SessionFacts, SessionRead, served_of, verdicts_of_session
from store.schema import Academy, Charge, Evidence, Interval, Session, SessionStudent, StudentReport


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


def _evidence(dialect: str, only_if: Any = None) -> tuple[Any, Any]:
    """The session's intervals and its track evidence, each as the text of one JSON
    array of arrays (scalar subqueries on the session id; ordered after decoding),
    evaluated only where `only_if` holds (else NULL)."""
    postgres = dialect == "postgresql"
    item, aggregate = (
        (func.json_build_array, func.json_agg)
        if postgres
        else (func.json_array, func.json_group_array)
    )
    intervals = select(
        cast(
            aggregate(
                item(
                    Interval.participant_sid,
                    Interval.identity,
                    Interval.user_id,
                    Interval.room_sid,
                    Interval.joined_at,
                    Interval.left_at,
                    Interval.decisive,
                )
            ),
            Text,
        )
    ).where(Interval.session_id == bindparam("session_id"))
    tracks = select(
        cast(
            aggregate(
                item(
                    Evidence.id,
                    Evidence.event_id,
                    Evidence.room_sid,
                    Evidence.at,
                    Evidence.participant_sid,
                    Evidence.identity,
                    Evidence.track_sid,
                    Evidence.track_source,
                    Evidence.kind,
                )
            ),
            Text,
        )
    ).where(Evidence.session_id == bindparam("session_id"), Evidence.kind.in_(TRACK_KINDS))
    # On the first row only: a session with reports comes as a row per student.
    first = func.row_number().over() == 1
    wanted = first if only_if is None else and_(first, only_if)
    return (
        case((wanted, intervals.scalar_subquery()), else_=null()),
        case((wanted, tracks.scalar_subquery()), else_=null()),
    )


def _people(dialect: str) -> Any:
    """The session with its roster, its evidence, and the reports and charges of its
    students: one row per student that has either (one row when none has), so the
    session's own columns, decoded on every row, come once for a session nobody
    reported on yet. A report or charge of someone off the roster is not read: no
    answer shows one."""
    return _with_people(
        select(Session, _roster(dialect), *_evidence(dialect), StudentReport, Charge)
    )


def _with_people(statement: Any, only_if: Any = None) -> Any:
    """`statement` from the session, with a row per student that has a report or a
    charge where `only_if` holds (one row, the students' columns NULL, where not).
    `only_if` must not depend on the outer row: it gates the students' subquery,
    which both databases then evaluate once, and skip when it is false."""
    on_record = union(
        select(StudentReport.student_id).where(
            StudentReport.session_id == bindparam("session_id"), *_given(only_if)
        ),
        select(Charge.student_id).where(
            Charge.session_id == bindparam("session_id"), *_given(only_if)
        ),
    )
    return (
        statement.select_from(Session)
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


def _given(condition: Any) -> tuple[Any, ...]:
    return () if condition is None else (condition,)


def _attendance(dialect: str, spooled: bool) -> Any:
    """Everything an attendance read needs, in one statement: the session, its
    academy's locale, its written verdicts with their charges (a finished session's
    kept answer), the projection's position and the newest inbox id (CONTRACT 3: the
    read tells itself whether it may be stale) and, only while it is unfinished,
    what assessing it rests on (`_people`'s columns; NULL, and one row, once it is
    finished, so a finished read pays nothing for them)."""
    finished = sorted(status.value for status in FINISHED)
    unfinished = Session.status.not_in(finished)
    # The same, as a statement of its own: PostgreSQL evaluates it once and skips the
    # students' rows of a finished session (a condition on the outer row would only
    # filter them out after reading them). Not used for the CASEs: there the outer
    # row's status is free, and each use of this one is another lookup.
    read = aliased(Session)
    still_open = (
        select(read.status).where(read.id == bindparam("session_id")).scalar_subquery()
    ).not_in(finished)
    return _with_people(
        select(
            Session,
            Academy.locale,
            verdicts_of_session(dialect),
            *position_columns(spooled=spooled),
            case((unfinished, _roster(dialect)), else_=null()),
            *_evidence(dialect, only_if=unfinished),
            StudentReport,
            Charge,
        ).outerjoin(Academy, Academy.id == Session.academy_id),
        only_if=still_open,
    )


_PEOPLE = {dialect: _people(dialect) for dialect in ("sqlite", "postgresql")}
# By dialect and by whether the read's connection has SQLite's spool attached (its
# rows count in the freshness columns then).
_ATTENDANCE = {
    (dialect, spooled): _attendance(dialect, spooled)
    for dialect in ("sqlite", "postgresql")
    for spooled in (False, True)
}


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

    async def attendance(self, session_id: int) -> Attendance:
        """The session's read (`SessionRead`: None, stale, if there is no such
        session) and, while it is unfinished, the inputs of its assessment: one
        statement (`_attendance`)."""
        rows = (
            await self.session.execute(
                _ATTENDANCE[self._dialect(), is_spooled(self.session)],
                {"session_id": session_id},
            )
        ).all()
        if not rows:
            return Attendance(SessionRead(None, [], None, fresh=False), None)
        session, locale, verdicts, position, newest = rows[0][:5]
        facts = SessionFacts(
            session.id,
            session.academy_id,
            session.teacher_id,
            session.status,
            session.counts_for_teacher,
        )
        served = sorted(
            (served_of(v) for v in (from_json(verdicts) if verdicts else ())),
            key=lambda s: s.verdict.user_id,
        )
        read = SessionRead(facts, served, locale, fresh=projected(position, newest))
        if is_finished(session.status):
            return Attendance(read, None)
        return Attendance(read, _inputs([(row[0], *row[5:]) for row in rows]))

    async def inputs(self, session_id: int) -> Inputs | None:
        """The session (None if there is none), its roster, reports, charges,
        intervals and track evidence: one statement."""
        rows = (
            await self.session.execute(_PEOPLE[self._dialect()], {"session_id": session_id})
        ).all()
        return _inputs(rows) if rows else None

    def _dialect(self) -> str:
        return "postgresql" if on_postgres(self.session) else "sqlite"


class Attendance(NamedTuple):
    read: SessionRead
    inputs: Inputs | None  # None once the session is finished


def _inputs(rows: Sequence[Any]) -> Inputs:
    """Inputs from `_people`'s rows: (session, roster, intervals, tracks, report,
    charge) each."""
    session, roster = rows[0][:2]
    # On one row, whichever the database numbered first (none when there is none).
    intervals = next((row[2] for row in rows if row[2] is not None), None)
    tracks = next((row[3] for row in rows if row[3] is not None), None)
    reports = {r.student_id: r for *_, r, _ in rows if r is not None}
    charges = {c.student_id: c for *_, c in rows if c is not None}
    return Inputs(
        session,
        sorted(from_json(roster or "[]")),
        reports,
        charges,
        _intervals(intervals),
        _tracks(tracks),
    )


def _moment(text: str) -> datetime:
    """A moment as the JSON functions write it: PostgreSQL's ISO text with its offset,
    or SQLite's stored naive UTC text (store/types.py)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _intervals(document: str | None) -> list[ev.Interval]:
    """The session's intervals by (joined_at, participant sid), the order of
    `IntervalRepository.for_session`."""
    intervals = [
        ev.Interval(
            sid=sid,
            identity=identity,
            user_id=user_id,
            room_sid=room_sid,
            joined_at=_moment(joined_at),
            left_at=None if left_at is None else _moment(left_at),
            decisive=bool(decisive),
        )
        for sid, identity, user_id, room_sid, joined_at, left_at, decisive in from_json(
            document or "[]"
        )
    ]
    intervals.sort(key=lambda i: (i.joined_at, i.sid))
    return intervals


class _TrackRow(NamedTuple):
    """A track evidence row as its JSON array holds it, its moment decoded."""

    order: int  # the evidence row's id: the order it was stored in
    event_id: str
    room_sid: str | None
    at: datetime
    participant_sid: str | None
    identity: str | None
    track_sid: str | None
    track_source: str | None
    kind: str


def _tracks(document: str | None) -> list[TrackEvidence]:
    """The session's track evidence in the order it was stored."""
    rows = [
        _TrackRow(order, event_id, room_sid, _moment(at), sid, identity, track_sid, source, kind)
        for order, event_id, room_sid, at, sid, identity, track_sid, source, kind in from_json(
            document or "[]"
        )
    ]
    rows.sort(key=lambda row: row.order)
    return [to_track_evidence(row) for row in rows]
