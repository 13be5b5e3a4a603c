"""Whole lessons on a manual clock: the sweeper, signed webhooks and a fake LiveKit.

Each lesson runs through the app under test: people join and leave on the fake
LiveKit, which posts signed webhooks to /webhooks/livekit; sweeps are
`POST /v1/sweeps` with `as_of`; rooms are created and deleted on the fake through
livekit-api's real client. CONTRACT 4.1 (lifecycle) and 4.4 (charging).
"""

from __future__ import annotations

import pytest

from rules.codes import SessionType, is_individual
from rules.lifecycle import Status
from tests.support.factories import TEACHER_ID
from tests.support.fake_livekit import fixture_livekit  # noqa: F401 (fixture)
from tests.support.lessons import (  # noqa: F401 (fixtures)
    TYPES,
    Lesson,
    at,
    charged,
    fixture_lesson,
    fixture_settings,
    roster_of,
)


class TestAHeldLesson:
    @pytest.mark.parametrize("session_type", TYPES)
    async def test_runs_scheduled_ready_ongoing_completed_with_room_verdicts_and_charges(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """Room opened at S − 15 with the roster's seats, started by the teacher's join,
        completed at E + 10 once the room is empty, room deleted, everyone charged once."""
        await lesson.plan(session_type)
        assert [] == await lesson.sweep(at(9, 44, 59))
        assert [("scheduled", "ready")] == await lesson.sweep(at(9, 45))
        room = lesson.livekit.rooms[lesson.code].info
        roster = roster_of(session_type)
        assert (85 * 60, len(roster) + 1 + 5) == (room.empty_timeout, room.max_participants)
        state = await lesson.state()
        session = state["session"]
        assert (lesson.code, f"{lesson.livekit.url}/rooms/{lesson.code}", at(11, 10)) == (
            session.meeting_room_name,
            session.meeting_link,
            session.meeting_expires_at,
        )

        await lesson.join(str(TEACHER_ID), at(9, 58))
        await lesson.join("10_Mohamed", at(10, 0))
        if len(roster) > 1:
            await lesson.join("11_Aisha", at(10, 15))
        state = await lesson.state()
        assert (Status.ONGOING.value, at(9, 58)) == (
            state["session"].status,
            state["session"].started_at,
        )
        for identity in list(lesson.people):
            await lesson.leave(identity, at(11, 0))

        assert [] == await lesson.sweep(at(11, 9, 59))
        assert [("ongoing", "completed")] == await lesson.sweep(at(11, 10))
        assert lesson.code not in lesson.livekit.rooms
        assert [lesson.code] == [r.room for r in lesson.livekit.calls_of("DeleteRoom")]

        state = await lesson.state()
        expected_verdicts = {10: "present", 11: "late", 12: "absent"}
        assert {s: expected_verdicts[s] for s in roster} == state["verdicts"]
        assert "attended" == state["teacher"]
        assert {s: charged(session_type, s, expected_verdicts[s]) for s in roster} == state[
            "charges"
        ]
        assert (True, True, at(11, 10)) == (
            state["session"].counts_for_teacher,
            state["session"].subscription_counted,
            state["session"].ended_at,
        )
        assert [
            ("unscheduled", "scheduled", "service"),
            ("scheduled", "ready", "sweeper"),
            ("ready", "ongoing", "evidence"),
            ("ongoing", "completed", "sweeper"),
        ] == state["history"]

        assert [] == await lesson.sweep(at(11, 30))
        assert state["charges"] == (await lesson.state())["charges"]


class TestNobodyCame:
    @pytest.mark.parametrize("session_type", TYPES)
    async def test_ready_becomes_absent_or_completed_and_every_student_is_charged(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """Nobody joined: an individual session is ABSENT, a group one COMPLETED with
        every student absent; a no-show is charged (the teacher was not there either,
        but neither was the student, so nothing is waived)."""
        await lesson.plan(session_type)
        await lesson.sweep(at(9, 45))
        final = "absent" if is_individual(session_type) else "completed"
        assert [("ready", final)] == await lesson.sweep(at(11, 10))
        state = await lesson.state()
        roster = roster_of(session_type)
        assert dict.fromkeys(roster, "absent") == state["verdicts"]
        assert {s: charged(session_type, s, "absent") for s in roster} == state["charges"]
        assert False is state["session"].counts_for_teacher
        assert [
            ("unscheduled", "scheduled", "service"),
            ("scheduled", "ready", "sweeper"),
            ("ready", final, "sweeper"),
        ] == state["history"]
        assert lesson.code not in lesson.livekit.rooms


class TestTheTeacherDidNotCome:
    @pytest.mark.parametrize("session_type", TYPES)
    async def test_students_who_came_are_waived(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """The student's join starts the session; the teacher never comes: COMPLETED,
        and a student who attended is waived with reason teacher_absent."""
        await lesson.plan(session_type)
        await lesson.sweep(at(9, 45))
        await lesson.join("10_Mohamed", at(10, 0))
        await lesson.leave("10_Mohamed", at(11, 0))
        assert [("ongoing", "completed")] == await lesson.sweep(at(11, 10))
        state = await lesson.state()
        assert ("waived", "teacher_absent", None) == state["charges"][10]
        assert "absent" == state["teacher"]
        for other in roster_of(session_type)[1:]:
            assert charged(session_type, other, "absent") == state["charges"][other]


class TestTheStudentDidNotCome:
    @pytest.mark.parametrize("session_type", TYPES)
    async def test_ongoing_becomes_absent_for_individual_sessions(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """The teacher held the room alone: an individual session ends ABSENT (the
        student charged as a no-show), a group one COMPLETED."""
        await lesson.plan(session_type)
        await lesson.sweep(at(9, 45))
        await lesson.join(str(TEACHER_ID), at(10, 0))
        await lesson.leave(str(TEACHER_ID), at(11, 0))
        final = "absent" if is_individual(session_type) else "completed"
        assert [("ongoing", final)] == await lesson.sweep(at(11, 10))
        state = await lesson.state()
        assert charged(session_type, 10, "absent") == state["charges"][10]
        assert True is state["session"].counts_for_teacher


class TestClosingTime:
    async def test_a_roster_user_still_in_the_room_holds_it_open_until_they_leave(
        self, lesson: Lesson
    ) -> None:
        """At E + 10 the room still holds the student: nothing happens until they leave."""
        await lesson.plan(SessionType.QURAN_CIRCLE)
        await lesson.sweep(at(9, 45))
        await lesson.join(str(TEACHER_ID), at(10, 0))
        await lesson.join("11_Aisha", at(10, 0))
        await lesson.leave(str(TEACHER_ID), at(11, 0))
        assert [] == await lesson.sweep(at(11, 10))
        assert [] == await lesson.sweep(at(11, 20))
        await lesson.leave("11_Aisha", at(11, 25))
        assert [("ongoing", "completed")] == await lesson.sweep(at(11, 25, 30))
        assert at(11, 25, 30) == (await lesson.state())["session"].ended_at

    async def test_the_hard_close_at_e_plus_60_ends_it_regardless(self, lesson: Lesson) -> None:
        """Someone who never leaves is cut off at E + 60: the session completes and the
        open interval is closed at ended_at."""
        await lesson.plan(SessionType.ACADEMIC_INDIVIDUAL)
        await lesson.sweep(at(9, 45))
        await lesson.join(str(TEACHER_ID), at(10, 0))
        await lesson.join("10_Mohamed", at(10, 0))
        assert [] == await lesson.sweep(at(11, 59, 59))
        assert [("ongoing", "completed")] == await lesson.sweep(at(12, 0))
        state = await lesson.state()
        assert ("present", at(12, 0)) == (state["verdicts"][10], state["session"].ended_at)
        async with lesson.database.uow() as uow:
            left = [i.left_at for i in await uow.intervals.for_session(lesson.session_id)]
        assert [at(12, 0), at(12, 0)] == left

    @pytest.mark.parametrize(
        "session_type", [SessionType.QURAN_INDIVIDUAL, SessionType.QURAN_CIRCLE]
    )
    async def test_a_missed_preparation_is_made_up_and_finished_in_one_pass(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """No sweep ran during the whole window: the next one prepares and finishes the
        session in one pass (both transitions recorded) and opens no room just to close it."""
        await lesson.plan(session_type)
        final = "absent" if is_individual(session_type) else "completed"
        assert [("scheduled", "ready"), ("ready", final)] == await lesson.sweep(at(13, 0))
        state = await lesson.state()
        assert [
            ("unscheduled", "scheduled", "service"),
            ("scheduled", "ready", "sweeper"),
            ("ready", final, "sweeper"),
        ] == state["history"]
        assert [] == lesson.livekit.calls_of("CreateRoom")
        assert [lesson.code] == [r.room for r in lesson.livekit.calls_of("DeleteRoom")]
        assert charged(session_type, 10, "absent") == state["charges"][10]


class TestCancelled:
    @pytest.mark.parametrize("session_type", TYPES)
    async def test_a_cancelled_session_has_its_room_closed_and_is_never_charged(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """READY -> CANCELLED through POST /cancel: the next sweep deletes the room and
        never moves or charges the session."""
        await lesson.plan(session_type)
        await lesson.sweep(at(9, 45))
        lesson.clock.set(at(9, 50))
        await lesson.call(
            "POST", f"/v1/sessions/{lesson.session_id}/cancel", {"reason": "teacher ill"}
        )
        assert [] == await lesson.sweep(at(9, 50))
        assert lesson.code not in lesson.livekit.rooms
        assert [lesson.code] == [r.room for r in lesson.livekit.calls_of("DeleteRoom")]
        assert [] == await lesson.sweep(at(12, 0))
        state = await lesson.state()
        assert ({}, "cancelled") == (state["charges"], state["session"].status)
        assert ("ready", "cancelled", "service") == state["history"][-1]


class TestFinishedByHand:
    @pytest.mark.parametrize("session_type", TYPES)
    async def test_complete_ends_an_ongoing_session_and_the_sweeper_only_closes_the_room(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """POST /complete during the lesson: ONGOING -> COMPLETED (or ABSENT) at once,
        charged once; the next sweep deletes the room and changes nothing else."""
        await lesson.plan(session_type)
        await lesson.sweep(at(9, 45))
        await lesson.join(str(TEACHER_ID), at(10, 0))
        await lesson.join("10_Mohamed", at(10, 0))
        lesson.clock.set(at(10, 55))
        done = await lesson.call("POST", f"/v1/sessions/{lesson.session_id}/complete")
        assert "completed" == done["status"]
        charges = (await lesson.state())["charges"]
        assert [] == await lesson.sweep(at(10, 55, 30))
        assert lesson.code not in lesson.livekit.rooms
        assert charges == (await lesson.state())["charges"]
        assert set(roster_of(session_type)) == set(charges)

    @pytest.mark.parametrize(
        "session_type", [SessionType.QURAN_INDIVIDUAL, SessionType.ACADEMIC_INDIVIDUAL]
    )
    async def test_a_report_flips_completed_and_absent_and_charges_stay_single(
        self, lesson: Lesson, session_type: SessionType
    ) -> None:
        """COMPLETED -> ABSENT and back through the teacher's report: one ledger row
        throughout, re-decided in place."""
        await lesson.plan(session_type)
        await lesson.sweep(at(9, 45))
        await lesson.join(str(TEACHER_ID), at(10, 0))
        await lesson.join("10_Mohamed", at(10, 0))
        await lesson.leave(str(TEACHER_ID), at(11, 0))
        await lesson.leave("10_Mohamed", at(11, 0))
        assert [("ongoing", "completed")] == await lesson.sweep(at(11, 10))
        report = f"/v1/sessions/{lesson.session_id}/reports/10"
        lesson.clock.set(at(11, 30))
        await lesson.call("PUT", report, {"attendance_status": "absent", "reason": "camera off"})
        state = await lesson.state()
        assert ("absent", {10: charged(session_type, 10, "absent")}) == (
            state["session"].status,
            state["charges"],
        )
        await lesson.call("PUT", report, {"attendance_status": None, "reason": "back to meeting"})
        state = await lesson.state()
        assert ("completed", {10: charged(session_type, 10, "present")}) == (
            state["session"].status,
            state["charges"],
        )
        assert [("completed", "absent"), ("absent", "completed")] == [
            h[:2] for h in state["history"][-2:]
        ]
        assert [] == await lesson.sweep(at(12, 30))


class TestJoiningAFinishedSession:
    async def test_the_participant_is_removed_from_the_room_again(self, lesson: Lesson) -> None:
        """A join after completion is recorded, changes nothing, and the next sweep calls
        RemoveParticipant on LiveKit."""
        await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        await lesson.sweep(at(9, 45))
        await lesson.join(str(TEACHER_ID), at(10, 0))
        await lesson.join("10_Mohamed", at(10, 0))
        await lesson.leave(str(TEACHER_ID), at(11, 0))
        await lesson.leave("10_Mohamed", at(11, 0))
        await lesson.sweep(at(11, 10))
        before = await lesson.state()

        await lesson.join("10_Mohamed", at(11, 15))
        assert ["10_Mohamed"] == lesson.livekit.present(lesson.code)
        assert [] == await lesson.sweep(at(11, 15, 30))
        removed = lesson.livekit.calls_of("RemoveParticipant")
        assert [(lesson.code, "10_Mohamed")] == [(r.room, r.identity) for r in removed]
        assert [] == lesson.livekit.present(lesson.code)
        after = await lesson.state()
        assert (before["history"], before["charges"], before["verdicts"]) == (
            after["history"],
            after["charges"],
            after["verdicts"],
        )


class TestLiveKitDown:
    async def test_room_calls_wait_for_livekit_and_no_transition_is_lost_or_repeated(
        self, lesson: Lesson
    ) -> None:
        """LiveKit answering 503 at preparation, then closed at the end: each session
        moves on time anyway; CreateRoom and DeleteRoom stay pending and a later sweep
        performs them once LiveKit is back; every transition is recorded once."""
        await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        lesson.livekit.fail(503)
        assert [("scheduled", "ready")] == await lesson.sweep(at(9, 45))
        assert lesson.code not in lesson.livekit.rooms
        async with lesson.database.uow() as uow:
            (create,) = await uow.rooms.for_session(lesson.session_id)
            assert ("create_room", "pending", 1) == (create.op, create.state, create.attempts)
        lesson.livekit.recover()
        assert [] == await lesson.sweep(at(9, 45, 5))  # still backing off
        assert lesson.code not in lesson.livekit.rooms
        assert [] == await lesson.sweep(at(9, 46))
        assert lesson.code in lesson.livekit.rooms

        await lesson.livekit.stop()
        assert [("ready", "absent")] == await lesson.sweep(at(11, 10))
        await lesson.livekit.start()
        assert lesson.code in lesson.livekit.rooms
        assert [] == await lesson.sweep(at(11, 11))
        assert lesson.code not in lesson.livekit.rooms
        state = await lesson.state()
        assert [
            ("unscheduled", "scheduled", "service"),
            ("scheduled", "ready", "sweeper"),
            ("ready", "absent", "sweeper"),
        ] == state["history"]
        async with lesson.database.uow() as uow:
            ops = await uow.rooms.for_session(lesson.session_id)
            assert [("create_room", "done"), ("delete_room", "done")] == [
                (op.op, op.state) for op in ops
            ]
