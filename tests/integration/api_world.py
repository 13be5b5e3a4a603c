"""A two-academy world for the API tests, and small helpers to call the API.

Academy A (1): admin 1, teachers 5 (teaches every session below) and 6, students
10 (on every roster), 11, 12 and 13 (on no roster). Academy B (2): admin 2,
teacher 7, student 20. Seeded through the store so each test starts in a known
state without depending on the endpoints it tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from engine.operations.presence import recompute_intervals
from rules.codes import SessionType
from rules.lifecycle import Status
from store.database import Database
from store.schema import (
    Academy,
    AuditEntry,
    Base,
    Charge,
    Evidence,
    RoomOperation,
    Session,
    SessionStudent,
    StudentReport,
    Subscription,
    Transition,
    User,
)
from store.uow import UnitOfWork
from tests.support.auth import auth, user_token
from tests.support.databases import empty_postgres
from tests.support.sessions import session_in

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)  # a Monday, 12:00 in Cairo
A, B = 1, 2

# name -> (user id, role, academy)
USERS: dict[str, tuple[int, str, int]] = {
    "admin_a": (1, "admin", A),
    "teacher_own": (5, "teacher", A),
    "teacher_other": (6, "teacher", A),
    "student_on": (10, "student", A),
    "student_off": (13, "student", A),
    "admin_b": (2, "admin", B),
    "teacher_b": (7, "teacher", B),
    "student_b": (20, "student", B),
}
ROLES = ("service", *USERS)


def headers_of(role: str) -> dict[str, str]:
    """The Authorization header of one of the world's callers."""
    if role == "service":
        return auth()
    user_id, kind, academy = USERS[role]
    return auth(user_token(user_id, kind, academy))


def user_id_of(role: str) -> int:
    """Whom a caller asks a join token for: itself, or for the service and admins the
    roster student 10."""
    user_id, kind, _ = USERS.get(role, (10, "service", A))
    return user_id if kind in ("teacher", "student") else 10


@dataclass(frozen=True)
class Sessions:
    unscheduled: int  # quran_individual, UNSCHEDULED
    scheduled: int  # quran_individual at START, SCHEDULED
    ready: int  # quran_individual at START + 2 h, READY
    circle: int  # quran_circle at START + 4 h, READY, students 10-12
    other_academy: int  # academy B, READY


async def seed_two_academies(database: Database, now: datetime = NOW) -> Sessions:
    async with database.uow() as uow:
        # The same people as tests.support.factories.seed_world, plus the others above,
        # added in one flush: the matrix test seeds this world dozens of times.
        stamps: dict[str, Any] = {"created_at": now, "updated_at": now}
        uow.session.add_all(
            [
                Academy(
                    id=A, name="Noor", timezone="Africa/Cairo", locale="ar", rules={}, **stamps
                ),
                Academy(id=B, name="Iqra", timezone="Asia/Riyadh", locale="en", rules={}, **stamps),
            ]
        )
        await uow.session.flush()
        people = {
            **{uid: (kind, academy, f"User {uid}", None) for uid, kind, academy in USERS.values()},
            5: ("teacher", A, "Ahmed", "t@example.org"),
            **{sid: ("student", A, f"Student {sid}", None) for sid in (10, 11, 12)},
        }
        uow.session.add_all(
            User(id=uid, role=kind, academy_id=academy, name=name, email=email, **stamps)
            for uid, (kind, academy, name, email) in people.items()
        )
        await uow.session.flush()
        uow.session.add_all(
            Subscription(
                id=sub_id,
                student_id=student_id,
                academy_id=academy,
                kind="quran",
                total_sessions=total,
                starts_at=now - timedelta(days=30),
                ends_at=now + timedelta(days=30),
                **stamps,
            )
            for sub_id, student_id, academy, total in (
                (110, 10, A, 8),
                (111, 11, A, 8),
                (112, 12, A, 8),
                (220, 20, B, 4),
            )
        )
        await uow.session.flush()
        sessions = Sessions(
            unscheduled=(await make_session(uow, status=Status.UNSCHEDULED)).id,
            scheduled=(await make_session(uow, starts_at=START)).id,
            ready=(
                await make_session(uow, starts_at=START + timedelta(hours=2), status=Status.READY)
            ).id,
            circle=(
                await make_session(
                    uow,
                    starts_at=START + timedelta(hours=4),
                    status=Status.READY,
                    session_type=SessionType.QURAN_CIRCLE,
                    students=(10, 11, 12),
                )
            ).id,
            other_academy=(
                await make_session(
                    uow,
                    academy_id=B,
                    teacher_id=7,
                    students=(20,),
                    starts_at=START,
                    status=Status.READY,
                )
            ).id,
        )
        await uow.commit()
    return sessions


async def make_session(
    uow: UnitOfWork,
    *,
    starts_at: datetime | None = None,
    status: Status = Status.SCHEDULED,
    session_type: SessionType = SessionType.QURAN_INDIVIDUAL,
    students: tuple[int, ...] = (10,),
    academy_id: int = A,
    teacher_id: int = 5,
    duration_minutes: int = 60,
) -> Session:
    return await session_in(
        uow,
        status,
        now=NOW,
        academy_id=academy_id,
        teacher_id=teacher_id,
        students=students,
        starts_at=starts_at,
        session_type=session_type,
        duration_minutes=duration_minutes,
    )


async def presence(
    database: Database,
    session_id: int,
    user_id: int,
    joined_at: datetime,
    left_at: datetime | None,
    *,
    sid: str | None = None,
) -> None:
    """One stretch of presence in the session's room, as the webhook intake stores it."""
    sid = sid or f"PA_{user_id}_{joined_at:%H%M%S}"
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        common = {
            "source": "webhook",
            "room_name": session.session_code,
            "room_sid": "RM_1",
            "session_id": session_id,
            "participant_sid": sid,
            "identity": str(user_id),
            "user_id": user_id,
            "decisive": True,
        }
        await uow.evidence.add(
            Evidence(event_id=f"EV_j_{sid}", kind="joined", at=joined_at, **common)
        )
        if left_at is not None:
            await uow.evidence.add(
                Evidence(
                    event_id=f"EV_l_{sid}", kind="left", at=left_at, joined_at=joined_at, **common
                )
            )
        await recompute_intervals(uow, session_id)
        await uow.commit()


async def wipe(database: Database) -> None:
    """Empty every table, for a test that seeds its world again."""
    async with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            await empty_postgres(conn)
        else:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())


SNAPSHOT_MODELS = (
    Academy,
    User,
    Subscription,
    Session,
    SessionStudent,
    StudentReport,
    AuditEntry,
    Transition,
    Charge,
    RoomOperation,
)


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table an API call could write, for "nothing changed" checks."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    async with database.uow() as uow:
        for model in SNAPSHOT_MODELS:
            columns = list(model.__table__.columns)
            rows = await uow.session.execute(
                select(*columns).order_by(*model.__table__.primary_key)
            )
            state[model.__tablename__] = sorted(tuple(map(repr, row)) for row in rows)
    return state


async def call(
    client: TestClient, method: str, path: str, role: str = "service", json: Any = None
) -> tuple[int, Any]:
    """One request as `role`; the status and the decoded JSON body (None if not JSON)."""
    response = await client.request(method, path, headers=headers_of(role), json=json)
    body = await response.json() if response.content_type == "application/json" else None
    return response.status, body
