"""Sessions, their rosters, codes and status history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from rules.codes import SessionType, format_session_code, prefix_of
from rules.lifecycle import NOT_BEGUN, STANDING, Status
from rules.sweep import OpenInterval
from store.repositories.base import insert_ignore, table_of, update_by_id
from store.repositories.due import (
    Candidate,
    LockedSession,
    SessionLike,
    due_statement,
    lock_statement,
)
from store.schema import (
    Interval,
    Session,
    SessionCodeCounter,
    SessionStudent,
)


def _values(statuses: frozenset[Any]) -> list[str]:
    return sorted(status.value for status in statuses)


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What `GET /v1/sessions` narrows by; `after` is the keyset `(scheduled_at, id)` of
    the last row of the previous page."""

    academy_id: int | None = None
    status: tuple[str, ...] = ()  # any of these; () is every status
    teacher_id: int | None = None
    student_id: int | None = None
    types: tuple[str, ...] = ()  # any of them; empty: every type
    starts_from: datetime | None = None  # scheduled_at >= starts_from
    starts_before: datetime | None = None  # scheduled_at < starts_before
    ended_by: datetime | None = None  # ends_at <= ended_by
    upcoming_at: datetime | None = None  # scheduled_at > upcoming_at and not yet begun
    external_id: str | None = None
    after: tuple[datetime | None, int] | None = None
    limit: int = 50


def _listed(f: SessionFilter) -> Select[Session]:
    stmt = select(Session)
    if f.academy_id is not None:
        stmt = stmt.where(Session.academy_id == f.academy_id)
    if f.status:
        stmt = stmt.where(Session.status.in_(f.status))
    if f.teacher_id is not None:
        stmt = stmt.where(Session.teacher_id == f.teacher_id)
    if f.types:
        stmt = stmt.where(Session.type.in_(f.types))
    if f.external_id is not None:
        stmt = stmt.where(Session.external_id == f.external_id)
    if f.student_id is not None:
        on_roster = select(SessionStudent.session_id).where(
            SessionStudent.student_id == f.student_id
        )
        stmt = stmt.where(Session.id.in_(on_roster))
    if f.starts_from is not None:
        stmt = stmt.where(Session.scheduled_at >= f.starts_from)
    if f.starts_before is not None:
        stmt = stmt.where(Session.scheduled_at < f.starts_before)
    if f.ended_by is not None:
        stmt = stmt.where(Session.ends_at <= f.ended_by)
    if f.upcoming_at is not None:
        stmt = stmt.where(
            Session.scheduled_at > f.upcoming_at, Session.status.in_(_values(NOT_BEGUN))
        )
    if f.after is not None:
        after_at, after_id = f.after
        if after_at is None:
            stmt = stmt.where(Session.scheduled_at.is_(None), Session.id > after_id)
        else:
            stmt = stmt.where(
                or_(
                    Session.scheduled_at.is_(None),
                    Session.scheduled_at > after_at,
                    and_(Session.scheduled_at == after_at, Session.id > after_id),
                )
            )
    return stmt.order_by(Session.scheduled_at.is_(None), Session.scheduled_at, Session.id)


class SessionState(NamedTuple):
    id: int
    status: str
    started_at: datetime | None


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, session_id: int, *, for_update: bool = False, skip_locked: bool = False
    ) -> Session | None:
        """The session; with `for_update` its row locked for this transaction, and with
        `skip_locked` as well None while another transaction holds it."""
        stmt = select(Session).where(Session.id == session_id)
        if for_update or skip_locked:
            stmt = stmt.with_for_update(skip_locked=skip_locked)
        return await self.session.scalar(stmt.execution_options(populate_existing=True))

    async def lock_many(self, session_ids: Sequence[int], *, skip_locked: bool) -> list[Session]:
        """The sessions of `session_ids`, their rows locked for this transaction (in id
        order, so two lockers of overlapping batches cannot deadlock); with
        `skip_locked` the rows another transaction holds are left out."""
        if not session_ids:
            return []
        stmt = (
            select(Session)
            .where(Session.id.in_(session_ids))
            .order_by(Session.id)
            .with_for_update(skip_locked=skip_locked)
        )
        return list(await self.session.scalars(stmt.execution_options(populate_existing=True)))

    async def lock_rows(
        self, session_ids: Sequence[int], *, skip_locked: bool
    ) -> list[LockedSession]:
        """`lock_many` as plain values (`LockedSession`), no ORM object: a sweep's batch."""
        if not session_ids:
            return []
        rows = await self.session.execute(lock_statement(session_ids, skip_locked=skip_locked))
        return [LockedSession(*row) for row in rows]

    async def loaded(self, session_ids: Sequence[int]) -> dict[int, Session]:
        """The sessions of `session_ids` as ORM objects, by id, as stored now."""
        if not session_ids:
            return {}
        stmt = select(Session).where(Session.id.in_(session_ids))
        rows = await self.session.scalars(stmt.execution_options(populate_existing=True))
        return {row.id: row for row in rows}

    async def write_columns(self, sessions: Sequence[SessionLike], columns: Sequence[str]) -> None:
        """Write `columns` of each of `sessions` (their new values already set) in one
        executemany UPDATE by id; on an ORM object, mark those values as the stored
        ones, so the ORM flush does not write them again."""
        if not sessions:
            return
        rows = []
        for row in sessions:
            values: dict[str, Any] = {"id": row.id}
            for c in columns:
                values[c] = getattr(row, c)
            if isinstance(row, Session):
                for c in columns:
                    set_committed_value(row, c, values[c])
            rows.append(values)
        await update_by_id(self.session, table_of(Session), columns, rows)

    async def lock_states(self, session_ids: Sequence[int]) -> list[SessionState]:
        """`lock_many` without loading the sessions: each one's id, status and start,
        its row locked for this transaction (in id order)."""
        if not session_ids:
            return []
        rows = await self.session.execute(
            select(Session.id, Session.status, Session.started_at)
            .where(Session.id.in_(session_ids))
            .order_by(Session.id)
            .with_for_update()
        )
        return [SessionState(*row) for row in rows]

    async def by_external_id(self, academy_id: int, external_id: str) -> Session | None:
        """The academy's session the platform knows as `external_id`, if any."""
        return await self.session.scalar(
            select(Session).where(
                Session.academy_id == academy_id, Session.external_id == external_id
            )
        )

    async def by_course_number(
        self, academy_id: int, session_type: str, course_id: int, session_number: int
    ) -> Session | None:
        """The session holding `session_number` of the academy's course, if any."""
        return await self.session.scalar(
            select(Session).where(
                Session.academy_id == academy_id,
                Session.type == session_type,
                Session.course_id == course_id,
                Session.session_number == session_number,
            )
        )

    async def next_code(self, session_type: SessionType, academy_id: int) -> str:
        """The next code of the academy and prefix: gap-free, since the counter row
        is locked until this transaction ends and rolls back with it."""
        prefix = prefix_of(session_type)
        await self.session.execute(
            insert_ignore(self.session, SessionCodeCounter, ["academy_id", "prefix"]).values(
                academy_id=academy_id, prefix=prefix, last_seq=0
            )
        )
        seq = await self.session.scalar(
            update(SessionCodeCounter)
            .where(SessionCodeCounter.academy_id == academy_id, SessionCodeCounter.prefix == prefix)
            .values(last_seq=SessionCodeCounter.last_seq + 1)
            .returning(SessionCodeCounter.last_seq)
        )
        assert seq is not None
        return format_session_code(prefix, academy_id, int(seq))

    async def create(
        self,
        *,
        academy_id: int,
        session_type: SessionType,
        title: str,
        duration_minutes: int,
        teacher_id: int,
        student_ids: Sequence[int],
        now: datetime,
        **fields: Any,
    ) -> Session:
        """Insert a session and its roster; `fields` carry its status, which only the
        lifecycle owner (`engine.operations.lifecycle.create`) decides."""
        code = await self.next_code(session_type, academy_id)
        row = Session(
            session_code=code,
            academy_id=academy_id,
            type=session_type.value,
            title=title,
            duration_minutes=duration_minutes,
            teacher_id=teacher_id,
            created_at=now,
            updated_at=now,
            extra=fields.pop("extra", {}),
            **fields,
        )
        self.session.add(row)
        await self.session.flush()
        self.session.add_all(SessionStudent(session_id=row.id, student_id=s) for s in student_ids)
        await self.session.flush()
        return row

    async def academy_ids(self, session_ids: Sequence[int]) -> dict[int, int]:
        """The academy of each of `session_ids` (one query)."""
        if not session_ids:
            return {}
        rows = await self.session.execute(
            select(Session.id, Session.academy_id).where(Session.id.in_(session_ids))
        )
        return {session_id: academy_id for session_id, academy_id in rows}

    async def ids_by_code(self, codes: Sequence[str]) -> dict[str, int]:
        """The id of the session of each room code of `codes` that has one."""
        if not codes:
            return {}
        rows = await self.session.execute(
            select(Session.session_code, Session.id).where(Session.session_code.in_(codes))
        )
        return {code: session_id for code, session_id in rows}

    async def learn_meeting_id(self, session_id: int, room_sid: str) -> None:
        """Take `room_sid` as the session's `meeting_id` unless one is known already."""
        await self.session.execute(
            update(Session)
            .where(Session.id == session_id, Session.meeting_id.is_(None))
            .values(meeting_id=room_sid)
        )

    async def count_by_status(self, status: str) -> int:
        """How many sessions are in `status` (benchmarks and operators)."""
        return int(
            await self.session.scalar(
                select(func.count()).select_from(Session).where(Session.status == status)
            )
            or 0
        )

    async def learn_meeting_ids(self, room_sids: Mapping[int, str]) -> None:
        """`learn_meeting_id` of many sessions (session id -> room sid): one statement,
        executed for each (one compiled form, however many sessions)."""
        if not room_sids:
            return
        table = cast(Table, Session.__table__)
        await self.session.execute(
            update(table)
            .where(table.c.id == bindparam("sid"), table.c.meeting_id.is_(None))
            .values(meeting_id=bindparam("room_sid")),
            [{"sid": sid, "room_sid": room_sid} for sid, room_sid in room_sids.items()],
        )

    async def roster(self, session_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(SessionStudent.student_id)
            .where(SessionStudent.session_id == session_id)
            .order_by(SessionStudent.student_id)
        )
        return list(rows)

    async def rosters(self, session_ids: Sequence[int]) -> dict[int, list[int]]:
        result: dict[int, list[int]] = {sid: [] for sid in session_ids}
        if not session_ids:
            return result
        rows = await self.session.execute(
            select(SessionStudent.session_id, SessionStudent.student_id)
            .where(SessionStudent.session_id.in_(session_ids))
            .order_by(SessionStudent.session_id, SessionStudent.student_id)
        )
        for session_id, student_id in rows:
            result[session_id].append(student_id)
        return result

    async def teacher_overlap(
        self, teacher_id: int, starts_at: datetime, ends_at: datetime, *, exclude_id: int | None
    ) -> Session | None:
        """Another non-cancelled session of the teacher overlapping [starts_at, ends_at)."""
        stmt = select(Session).where(
            Session.teacher_id == teacher_id,
            Session.status.in_(_values(STANDING)),
            Session.scheduled_at < ends_at,
            Session.ends_at > starts_at,
        )
        if exclude_id is not None:
            stmt = stmt.where(Session.id != exclude_id)
        return await self.session.scalar(stmt.limit(1))

    async def standing_makeup(self, original_id: int) -> Session | None:
        """The make-up of `original_id` that is not cancelled, if it has one."""
        return await self.session.scalar(
            select(Session).where(
                Session.makeup_of_id == original_id,
                Session.status.in_(_values(STANDING)),
            )
        )

    async def listed(self, f: SessionFilter) -> list[Session]:
        """The sessions `f` selects in `(scheduled_at, id)` order, unscheduled ones last,
        from just after its cursor: up to `f.limit + 1` rows, the last one only telling
        that another page follows."""
        return list(await self.session.scalars(_listed(f).limit(f.limit + 1)))

    async def on_calendar_of(self, user_id: int, academy_id: int) -> list[Session]:
        """The scheduled sessions of the academy the user teaches or is on the roster of,
        by `(scheduled_at, id)`: a calendar feed's events."""
        on_roster = select(SessionStudent.session_id).where(SessionStudent.student_id == user_id)
        rows = await self.session.scalars(
            select(Session)
            .where(
                Session.academy_id == academy_id,
                Session.scheduled_at.is_not(None),
                or_(Session.teacher_id == user_id, Session.id.in_(on_roster)),
            )
            .order_by(Session.scheduled_at, Session.id)
        )
        return list(rows)

    # --- the sweep

    async def due_page(
        self,
        statuses: Sequence[Status],
        until: datetime | None,
        *,
        after: tuple[datetime, int] | None,
        ended: bool,
        limit: int,
        academy_id: int | None = None,
    ) -> list[Candidate]:
        """One keyset page of the sessions in `statuses` due by `until` (`due_statement`),
        as plain values, readable after the unit of work ends."""
        rows = await self.session.execute(
            due_statement(
                statuses, until, after=after, ended=ended, limit=limit, academy_id=academy_id
            )
        )
        return [Candidate(*row) for row in rows]

    async def open_presence(self, session_ids: Sequence[int]) -> dict[int, list[OpenInterval]]:
        """Who is still in each session's room: its intervals not yet closed (sessions
        with none are absent from the answer)."""
        result: dict[int, list[OpenInterval]] = {}
        if not session_ids:
            return result
        rows = await self.session.execute(
            select(Interval.session_id, Interval.user_id, Interval.decisive).where(
                Interval.session_id.in_(session_ids), Interval.left_at.is_(None)
            )
        )
        for session_id, user_id, decisive in rows:
            result.setdefault(session_id, []).append(OpenInterval(user_id, decisive))
        return result
