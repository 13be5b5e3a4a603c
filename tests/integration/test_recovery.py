"""Recovery of lost LiveKit events: the sweeper compares evidence with ListParticipants."""

from __future__ import annotations

from datetime import timedelta

from engine.keys import ROOMS
from rules.codes import SessionType
from rules.evidence import ParticipantJoined, ParticipantLeft
from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.factories import TEACHER_ID
from tests.support.fake_livekit import fixture_livekit  # noqa: F401 (fixture)
from tests.support.lessons import (  # noqa: F401 (fixtures)
    Lesson,
    at,
    fixture_lesson,
    fixture_settings,
)
from tests.support.livekit import OBSERVER

TEACHER = str(TEACHER_ID)
RECONCILED = ("reconciled-left:", "reconciled-joined:")


async def _reconciled(lesson: Lesson) -> list[tuple[str, str, object, bool]]:
    """The lesson's reconciled evidence (their ids say so), in the order it was added."""
    async with lesson.database.uow() as uow:
        evidence = await uow.evidence.for_session(lesson.session_id)
    return [
        (e.event_id, e.kind, e.at, e.decisive)
        for e in evidence
        if isinstance(e, ParticipantJoined | ParticipantLeft) and e.event_id.startswith(RECONCILED)
    ]


async def _started_lesson(lesson: Lesson) -> None:
    await lesson.plan(SessionType.QURAN_INDIVIDUAL)
    await lesson.sweep(at(9, 45))
    await lesson.join(TEACHER, at(10, 0))
    await lesson.join("10_Mohamed", at(10, 0))


class TestALostLeave:
    async def test_a_participant_gone_from_the_room_gets_a_reconciled_left_at_the_sweep(
        self, lesson: Lesson
    ) -> None:
        """The student's participant_left never came: the next sweep sees the room
        without them, closes the interval at its own time, and the verdict follows."""
        await _started_lesson(lesson)
        gone = await lesson.leave("10_Mohamed", at(10, 30), notify=False)
        assert [] == await lesson.sweep(at(10, 30, 30))
        assert [(f"reconciled-left:{gone.sid}", "left", at(10, 30, 30), True)] == await _reconciled(
            lesson
        )
        async with lesson.database.uow() as uow:
            intervals = await uow.intervals.for_session(lesson.session_id)
            student = next(i for i in intervals if i.user_id == 10)
            assert (at(10, 0), at(10, 30, 30)) == (student.joined_at, student.left_at)

        await lesson.leave(TEACHER, at(11, 0))
        assert [("ongoing", "completed")] == await lesson.sweep(at(11, 10))
        assert "left_early" == (await lesson.state())["verdicts"][10]

    async def test_the_repair_lets_the_session_close_at_e_plus_buffer_not_e_plus_60(
        self, lesson: Lesson
    ) -> None:
        """With both leaves lost, the sweep at E + 10 repairs the room and completes the
        session at once instead of waiting for the hard close."""
        await _started_lesson(lesson)
        await lesson.leave("10_Mohamed", at(11, 0), notify=False)
        await lesson.leave(TEACHER, at(11, 0), notify=False)
        assert [("ongoing", "completed")] == await lesson.sweep(at(11, 10))
        state = await lesson.state()
        assert ("present", "attended") == (state["verdicts"][10], state["teacher"])

    async def test_a_late_real_webhook_wins_over_the_reconciled_time(self, lesson: Lesson) -> None:
        """The real participant_left, arriving after the repair, sets the earlier time:
        evidence is a set, so the order of arrival does not matter."""
        await _started_lesson(lesson)
        gone = await lesson.leave("10_Mohamed", at(10, 30), notify=False)
        await lesson.sweep(at(10, 31))
        room = lesson.livekit.rooms[lesson.code]
        await lesson.livekit.emit("participant_left", room, gone, at=at(10, 30))
        async with lesson.database.uow() as uow:
            intervals = await uow.intervals.for_session(lesson.session_id)
            student = next(i for i in intervals if i.user_id == 10)
            assert at(10, 30) == student.left_at

    async def test_repeated_sweeps_add_the_repair_once(self, lesson: Lesson) -> None:
        """A second and third sweep find nothing more to repair."""
        await _started_lesson(lesson)
        await lesson.leave("10_Mohamed", at(10, 30), notify=False)
        for minute in (31, 32, 33):
            await lesson.sweep(at(10, minute))
        assert 1 == len(await _reconciled(lesson))


class TestALostJoin:
    async def test_a_participant_in_the_room_but_not_recorded_is_recorded_at_its_joined_at(
        self, lesson: Lesson
    ) -> None:
        """The teacher's participant_joined never came: the sweep records the join at
        LiveKit's joined_at and starts the session from it."""
        await lesson.plan(SessionType.QURAN_CIRCLE)
        await lesson.sweep(at(9, 45))
        teacher = await lesson.join(TEACHER, at(9, 58), notify=False)
        assert [("ready", "ongoing")] == await lesson.sweep(at(10, 0))
        assert [
            (f"reconciled-joined:{teacher.sid}", "joined", at(9, 58), True)
        ] == await _reconciled(lesson)
        state = await lesson.state()
        assert ("ongoing", at(9, 58)) == (state["session"].status, state["session"].started_at)
        assert [("ready", "ongoing", "evidence")] == state["history"][2:]

    async def test_an_observer_found_in_the_room_is_recorded_but_decides_nothing(
        self, lesson: Lesson
    ) -> None:
        """An unrecorded observer is added as non-decisive evidence and starts nothing."""
        await lesson.plan(SessionType.QURAN_CIRCLE)
        await lesson.sweep(at(9, 45))
        watcher = await lesson.join("77", at(10, 0), notify=False, metadata=OBSERVER)
        assert [] == await lesson.sweep(at(10, 1))
        assert [
            (f"reconciled-joined:{watcher.sid}", "joined", at(10, 0), False)
        ] == await _reconciled(lesson)
        assert "ready" == (await lesson.state())["session"].status


class TestWithoutAnswers:
    async def test_nothing_is_repaired_while_livekit_cannot_be_asked(self, lesson: Lesson) -> None:
        """LiveKit answering 503 to ListParticipants: the open interval stays as it was,
        and the next sweep repairs it once LiveKit answers again."""
        await _started_lesson(lesson)
        await lesson.leave("10_Mohamed", at(10, 30), notify=False)
        lesson.livekit.fail(503)
        assert [] == await lesson.sweep(at(10, 31))
        assert [] == await _reconciled(lesson)
        lesson.livekit.recover()
        await lesson.sweep(at(10, 32))
        assert 1 == len(await _reconciled(lesson))

    async def test_without_a_livekit_url_the_room_is_never_asked(self, lesson: Lesson) -> None:
        """No HUDUR_LIVEKIT_URL: no ListParticipants, no reconciled evidence."""
        await _started_lesson(lesson)
        await lesson.leave("10_Mohamed", at(10, 30), notify=False)
        calls = len(lesson.livekit.calls)
        offline = RoomGateway(None, LIVEKIT_KEY, LIVEKIT_SECRET)
        assert [] == await tick(lesson.database, at(10, 31), rooms=offline)
        assert [] == await _reconciled(lesson)
        assert calls == len(lesson.livekit.calls)

    async def test_a_participant_who_joined_after_the_sweep_began_is_not_closed(
        self, lesson: Lesson
    ) -> None:
        """An interval that began after the sweep's time cannot be judged from the
        listing: it stays open."""
        await _started_lesson(lesson)
        await lesson.join("10_phone", at(10, 20), notify=True)
        lesson.livekit.rooms[lesson.code].participants.pop(lesson.people["10_phone"].sid)
        await tick(lesson.database, at(10, 20) - timedelta(seconds=1), rooms=_gateway(lesson))
        assert [] == await _reconciled(lesson)


def _gateway(lesson: Lesson) -> RoomGateway:
    gateway: RoomGateway = lesson.client.app[ROOMS]
    return gateway
