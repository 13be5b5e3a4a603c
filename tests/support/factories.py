"""Builders of the platform objects tests start from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.codes import SessionType
from rules.lifecycle import Status
from store.schema import Session
from store.uow import UnitOfWork
from tests.support.sessions import session_in

ACADEMY_ID = 1
TEACHER_ID = 5
STUDENT_IDS = (10, 11, 12)


@dataclass
class World:
    academy_id: int = ACADEMY_ID
    teacher_id: int = TEACHER_ID
    student_ids: tuple[int, ...] = STUDENT_IDS


async def seed_world(uow: UnitOfWork, now: datetime, *, subscriptions: bool = True) -> World:
    """One academy, one teacher, three students, each with a Quran subscription."""
    await uow.academies.upsert(
        ACADEMY_ID, now=now, name="Noor", timezone="Africa/Cairo", locale="ar"
    )
    await uow.users.upsert(
        TEACHER_ID,
        now=now,
        academy_id=ACADEMY_ID,
        role="teacher",
        name="Ahmed",
        email="t@example.org",
    )
    for sid in STUDENT_IDS:
        await uow.users.upsert(
            sid, now=now, academy_id=ACADEMY_ID, role="student", name=f"Student {sid}", email=None
        )
        if subscriptions:
            await uow.subscriptions.upsert(
                100 + sid,
                now=now,
                student_id=sid,
                academy_id=ACADEMY_ID,
                kind="quran",
                total_sessions=8,
                starts_at=now - timedelta(days=30),
                ends_at=now + timedelta(days=30),
            )
    return World()


async def scheduled_session(
    uow: UnitOfWork,
    *,
    now: datetime,
    starts_at: datetime,
    session_type: SessionType = SessionType.QURAN_INDIVIDUAL,
    students: tuple[int, ...] = (10,),
    duration_minutes: int = 60,
    status: Status = Status.SCHEDULED,
) -> Session:
    return await session_in(
        uow,
        status,
        now=now,
        academy_id=ACADEMY_ID,
        teacher_id=TEACHER_ID,
        students=students,
        starts_at=starts_at,
        session_type=session_type,
        duration_minutes=duration_minutes,
    )
