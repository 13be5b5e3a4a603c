"""Bulk-inserted worlds for the sweeper's load tests and `bench/tick.py`: thousands of
sessions in a few INSERTs, where the units of work of the factories would take minutes;
and the bare statements a benchmark measures or checks against.

Everything lives in academy 1, with the contract's default rules frozen per session.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from rules.lifecycle import FINISHED, Status
from rules.rooms import RoomOperationKind
from rules.settings import RuleSettings
from store.database import Database
from store.schema import (
    Academy,
    Charge,
    Evidence,
    Interval,
    RoomOperation,
    Session,
    SessionStudent,
    StudentReport,
    Subscription,
    Transition,
    User,
)

Rows = list[dict[str, Any]]

ACADEMY = 1
CHUNK = 10_000  # rows per INSERT, under PostgreSQL's 32 767 bind parameters
_SETTINGS = RuleSettings().to_dict()


def session_row(
    *,
    code: str,
    status: Status,
    start: datetime,
    teacher_id: int,
    created: datetime,
    session_type: str = "quran_individual",
    session_id: int | None = None,
) -> dict[str, Any]:
    """One hour-long session; READY and later ones have their room, ONGOING ones started
    on time. Without `session_id` the database numbers it."""
    row: dict[str, Any] = {
        "session_code": code,
        "academy_id": ACADEMY,
        "type": session_type,
        "status": status.value,
        "title": "Hifz",
        "duration_minutes": 60,
        "teacher_id": teacher_id,
        "scheduled_at": start,
        "ends_at": start + timedelta(minutes=60),
        "started_at": start if status is Status.ONGOING else None,
        "settings": _SETTINGS,
        "meeting_room_name": None if status is Status.SCHEDULED else code,
        "extra": {},
        "subscription_counted": status in (Status.COMPLETED, Status.ABSENT),
        "is_makeup_session": False,
        "revision": 0,
        "created_at": created,
        "updated_at": created,
    }
    if session_id is not None:
        row["id"] = session_id
    return row


def attended_rows(
    session_id: int, code: str, people: Iterable[int], start: datetime, end: datetime
) -> Rows:
    """Webhook evidence of each of `people` joining at `start` and leaving at `end`."""
    rows = []
    for who in people:
        sid = f"PA_{session_id}_{who}"
        for kind, at in (("joined", start), ("left", end)):
            rows.append(
                {
                    "event_id": f"EV_{kind}_{sid}",
                    "source": "webhook",
                    "kind": kind,
                    "room_name": code,
                    "room_sid": f"RM_{session_id}",
                    "session_id": session_id,
                    "participant_sid": sid,
                    "identity": str(who),
                    "user_id": who,
                    "at": at,
                    "joined_at": start,
                    "decisive": True,
                }
            )
    return rows


async def insert_world(
    database: Database,
    *,
    created: datetime,
    teachers: Iterable[int],
    students: Iterable[int],
    subscription_id_offset: int = 0,
    sessions: Rows,
    roster: Rows,
    evidence: Rows,
) -> None:
    """Academy 1, its people, a year-long 1 000-session subscription per student, and the
    given sessions, roster and evidence, in one transaction with fresh statistics."""
    stamp = {"created_at": created, "updated_at": created}
    students = list(students)
    people = [
        {"id": t, "academy_id": ACADEMY, "role": "teacher", "name": f"T{t}", **stamp}
        for t in teachers
    ] + [
        {"id": s, "academy_id": ACADEMY, "role": "student", "name": f"S{s}", **stamp}
        for s in students
    ]
    subscriptions = [
        {
            "id": subscription_id_offset + s,
            "student_id": s,
            "academy_id": ACADEMY,
            "kind": "quran",
            "total_sessions": 1000,
            "starts_at": created - timedelta(days=180),
            "ends_at": created + timedelta(days=180),
            **stamp,
        }
        for s in students
    ]
    academy = {"id": ACADEMY, "name": "Bulk", "timezone": "UTC", "rules": {}, **stamp}
    async with database.engine.begin() as conn:
        await conn.execute(insert(Academy), [academy])
        for table, rows in (
            (User, people),
            (Subscription, subscriptions),
            (Session, sessions),
            (SessionStudent, roster),
            (Evidence, evidence),
        ):
            for start in range(0, len(rows), CHUNK):
                await conn.execute(insert(table), rows[start : start + CHUNK])
        await conn.execute(text("ANALYZE"))


async def bare_due_ids(database: Database, now: datetime, *, preparation: timedelta) -> int:
    """How many ids the two due queries of a tick find, ids only, without paging or any
    work: the floor a tick is measured against."""
    prepare = select(Session.id).where(
        Session.status == Status.SCHEDULED.value,
        Session.scheduled_at <= now + preparation,
    )
    finish = select(Session.id).where(
        Session.status.in_([Status.READY.value, Status.ONGOING.value]),
        Session.scheduled_at <= now,
        Session.ends_at <= now,
    )
    async with database.uow() as uow:
        found = len(list(await uow.session.scalars(prepare)))
        found += len(list(await uow.session.scalars(finish)))
    return found


async def count_sessions(database: Database) -> int:
    """Every session on record."""
    async with database.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Session)) or 0)


async def wipe(database: Database) -> None:
    """Drop the whole public schema (PostgreSQL) and create it empty, to migrate again."""
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


async def insert_sessions(database: Database, rows: Rows) -> None:
    """Sessions inserted as they are, then fresh statistics of the table."""
    async with database.engine.begin() as conn:
        await conn.execute(insert(Session), rows)
        await conn.execute(text("ANALYZE sessions"))


async def query_plan(database: Database, stmt: Any) -> str:
    """The plan the database chooses for `stmt` (EXPLAIN, or SQLite's EXPLAIN QUERY
    PLAN), one line per step."""
    compiled = stmt.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN" if database.dialect == "postgresql" else "EXPLAIN QUERY PLAN"
    async with database.uow() as uow:
        rows = (await uow.session.execute(text(f"{explain} {compiled}"))).all()
    return "\n".join(str(r[-1]) for r in rows)


async def finishes_per_session(database: Database) -> dict[int, int]:
    """How many times each session was finished (moved to COMPLETED or ABSENT)."""
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(Transition.session_id, func.count())
            .where(Transition.to_status.in_(sorted(s.value for s in FINISHED)))
            .group_by(Transition.session_id)
        )
        return {session_id: count for session_id, count in rows}


async def charge_rows_and_pairs(database: Database) -> tuple[int, int]:
    """The number of charge rows, and of distinct (session, student) pairs among them."""
    async with database.uow() as uow:
        rows = await uow.session.scalar(select(func.count()).select_from(Charge))
        distinct = await uow.session.scalar(
            select(func.count()).select_from(
                select(Charge.session_id, Charge.student_id).distinct().subquery()
            )
        )
        return int(rows or 0), int(distinct or 0)


async def charged_per_subscription(database: Database) -> dict[int | None, int]:
    """How many sessions each subscription (None: none) was charged for."""
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(Charge.subscription_id, func.count())
            .where(Charge.status == "charged")
            .group_by(Charge.subscription_id)
        )
        return {subscription_id: count for subscription_id, count in rows}


async def sessions_per_student(database: Database) -> dict[int, int]:
    """On how many sessions' rosters each student is."""
    async with database.uow() as uow:
        rows = await uow.session.execute(
            select(SessionStudent.student_id, func.count()).group_by(SessionStudent.student_id)
        )
        return {student_id: count for student_id, count in rows}


async def queued_room_operations(database: Database, kind: RoomOperationKind) -> int:
    """How many room operations of `kind` were ever queued."""
    async with database.uow() as uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(RoomOperation).where(RoomOperation.op == kind.value)
        )
        return int(count or 0)


async def insert_intervals(database: Database, rows: Rows) -> None:
    """Intervals as the projector would have derived them, bulk-inserted (a report's
    benchmark reads them; nothing here derives them from evidence)."""
    async with database.engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(insert(Interval), rows[start : start + CHUNK])


async def insert_reports(database: Database, rows: Rows) -> None:
    """Teachers' reports, bulk-inserted (the progress benchmark reads them)."""
    async with database.engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(insert(StudentReport), rows[start : start + CHUNK])
