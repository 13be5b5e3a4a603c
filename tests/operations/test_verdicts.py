"""Finished sessions' verdicts: written when they finish, re-decided by reports,
served as written (CONTRACT 4.3), on a real unit of work with no HTTP."""

from __future__ import annotations

import pytest

from engine.operations.attendance import session_attendance
from engine.operations.reports import RecordReport, record_report
from engine.operations.verdicts import finalise
from rules.actors import SWEEPER, Actor
from rules.attendance import AttendanceStatus
from rules.errors import IllegalTransition
from rules.lifecycle import Status
from store.database import Database
from tests.operations.world import END, STUDENT, TEACHER, at, hear, scheduled, world
from tests.support.livekit import joined, left

pytestmark = pytest.mark.usefixtures("database")
TEACHER_ACTOR = Actor.user(TEACHER)


async def _lesson(database: Database, *, student_minutes: tuple[float, float]) -> int:
    """An individual lesson: the teacher all hour, the student for `student_minutes`."""
    await world(database)
    async with database.uow() as uow:
        session = await scheduled(uow)
        session_id, room = session.id, session.session_code
        await uow.commit()
    came, went = student_minutes
    await hear(
        database,
        joined(room, "PA_t", str(TEACHER), at(0)),
        joined(room, "PA_s", str(STUDENT), at(came)),
        left(room, "PA_s", str(STUDENT), at(went), joined_at=at(came)),
        left(room, "PA_t", str(TEACHER), at(60), joined_at=at(0)),
    )
    return session_id


async def _finish(database: Database, session_id: int) -> None:
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id, for_update=True)
        assert session is not None
        await finalise(uow, session, at=END, actor=SWEEPER)
        await uow.commit()


class TestFinalise:
    async def test_finishing_writes_each_users_verdict(self, database: Database) -> None:
        """A student present all hour is written `present` from the meeting, the teacher
        `attended`; the session is COMPLETED and the student charged once."""
        session_id = await _lesson(database, student_minutes=(0, 60))
        await _finish(database, session_id)
        async with database.uow() as uow:
            written = await uow.verdicts.for_session(session_id)
            session = await uow.sessions.get(session_id)
            charges = await uow.charges.for_session(session_id)
            assert session is not None and Status.COMPLETED == session.status
            charge = (charges[STUDENT].status, charges[STUDENT].verdict)
        assert ("present", "meeting") == (written[STUDENT].status, written[STUDENT].source)
        assert ("attended", "teacher") == (written[TEACHER].status, written[TEACHER].role)
        assert ("charged", "present") == charge

    async def test_an_illegal_finish_writes_nothing(self, database: Database) -> None:
        """Finishing a session twice raises IllegalTransition and writes no verdicts
        beyond the first ones."""
        session_id = await _lesson(database, student_minutes=(0, 60))
        await _finish(database, session_id)
        with pytest.raises(IllegalTransition):
            await _finish(database, session_id)
        async with database.uow() as uow:
            events = [t.event for t in await uow.transitions.for_session(session_id)]
        assert ["generated", "start", "complete"] == events


class TestReadsOfAFinishedSession:
    async def test_serve_the_written_verdicts(self, database: Database) -> None:
        """The student's leave is lost, so the close counts them present; a leave at
        minute 5 arriving after the end changes the intervals but not the written
        verdict, which status and charge agree with (a fresh decision would differ)."""
        await world(database)
        async with database.uow() as uow:
            session = await scheduled(uow)
            session_id, room = session.id, session.session_code
            await uow.commit()
        await hear(
            database,
            joined(room, "PA_t", str(TEACHER), at(0)),
            joined(room, "PA_s", str(STUDENT), at(0)),
        )
        await _finish(database, session_id)
        await hear(database, left(room, "PA_s", str(STUDENT), at(5), joined_at=at(0)))
        async with database.uow() as uow:
            finished = await uow.sessions.get(session_id)
            assert finished is not None
            served = (await session_attendance(uow, finished, now=END)).student(STUDENT)
            fresh = (await session_attendance(uow, finished, now=END, fresh=True)).student(STUDENT)
            charge = (await uow.charges.for_session(session_id))[STUDENT]
            status, charged_for = finished.status, charge.verdict
        assert (AttendanceStatus.PRESENT, AttendanceStatus.ABSENT) == (
            served.verdict.status,
            fresh.verdict.status,
        )
        assert (Status.COMPLETED, "present") == (status, charged_for)
        assert 300 == served.verdict.meeting.attended_seconds


class TestReports:
    async def test_a_report_flips_a_finished_individual_session_and_its_charge(
        self, database: Database
    ) -> None:
        """The teacher reports the present student absent: the session moves COMPLETED
        -> ABSENT, the written verdict and the one charge row follow, and the report is
        audited with the verdict before and after."""
        session_id = await _lesson(database, student_minutes=(0, 60))
        await _finish(database, session_id)
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id, for_update=True)
            assert session is not None
            recorded = await record_report(
                uow,
                session,
                RecordReport(STUDENT, "absent", reason="was not really there"),
                at=END,
                actor=TEACHER_ACTOR,
            )
            await uow.commit()
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id)
            written = await uow.verdicts.for_session(session_id)
            charges = await uow.charges.for_session(session_id)
            (audit,) = await uow.audit.for_session(session_id)
            assert session is not None
            served = (await session_attendance(uow, session, now=END)).student(STUDENT)
            status = session.status
            charge = (charges[STUDENT].status, charges[STUDENT].verdict)
            assert audit.before is not None and audit.after is not None
            audited = (
                audit.before["attendance_status"],
                audit.after["attendance_status"],
                audit.actor,
            )
        assert Status.ABSENT == status
        assert AttendanceStatus.ABSENT == recorded.after.verdict.status == served.verdict.status
        assert ("absent", "teacher_report") == (written[STUDENT].status, written[STUDENT].source)
        assert ("charged", "absent") == charge
        assert ("present", "absent", "user:5") == audited
