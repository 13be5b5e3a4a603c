"""A READY session rescheduled gives its LiveKit room up and gets a new one before the
new time, over the fake Twirp RoomService and signed webhooks."""

from __future__ import annotations

from rules.codes import SessionType
from tests.support.factories import TEACHER_ID
from tests.support.fake_livekit import fixture_livekit  # noqa: F401 (fixture)
from tests.support.lessons import (  # noqa: F401 (fixtures)
    Lesson,
    at,
    fixture_lesson,
    fixture_settings,
    iso,
)


async def _ready_then_moved(lesson: Lesson) -> tuple[int, str]:
    """Prepared at 09:45 for 10:00 (room made), then moved to 14:00 at 09:50."""
    session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
    assert [("scheduled", "ready")] == await lesson.sweep(at(9, 45))
    first_sid = lesson.livekit.rooms[lesson.code].info.sid
    lesson.clock.set(at(9, 50))
    moved = await lesson.call(
        "POST",
        f"/v1/sessions/{session_id}/reschedule",
        {"scheduled_at": iso(at(14)), "reason": "teacher's train is late"},
    )
    assert ("scheduled", None) == (moved["status"], moved["meeting_room_name"])
    return session_id, first_sid


class TestTheRoomCycle:
    async def test_the_room_is_deleted_and_made_again_at_the_new_time(self, lesson: Lesson) -> None:
        """The next sweep deletes the old room; nothing opens until S' − 15, when the
        session is READY again with a new room expiring at E' + 10."""
        session_id, first_sid = await _ready_then_moved(lesson)
        assert [] == await lesson.sweep(at(9, 51))
        assert lesson.code not in lesson.livekit.rooms
        assert [] == await lesson.sweep(at(13, 44))
        assert lesson.code not in lesson.livekit.rooms

        assert [("scheduled", "ready")] == await lesson.sweep(at(13, 45))
        room = lesson.livekit.rooms[lesson.code].info
        body = await lesson.call("GET", f"/v1/sessions/{session_id}")
        assert room.sid != first_sid
        assert ("ready", room.sid, "2025-12-01T15:10:00Z", lesson.code) == (
            body["status"],
            body["meeting_id"],
            body["meeting_expires_at"],
            body["meeting_room_name"],
        )
        assert ["CreateRoom", "DeleteRoom", "CreateRoom"] == [
            c.method for c in lesson.livekit.calls if c.method in ("CreateRoom", "DeleteRoom")
        ]

    async def test_the_lesson_then_runs_at_the_new_time(self, lesson: Lesson) -> None:
        """Joins at the new time start the session; it completes after the new end, and
        the student is judged against the new window."""
        await _ready_then_moved(lesson)
        await lesson.sweep(at(13, 45))
        await lesson.join(str(TEACHER_ID), at(14))
        await lesson.join("10", at(14, 2))
        await lesson.leave("10", at(15))
        await lesson.leave(str(TEACHER_ID), at(15))
        assert [("ongoing", "completed")] == await lesson.sweep(at(15, 10))
        state = await lesson.state()
        assert ({10: "present"}, at(14)) == (state["verdicts"], state["session"].started_at)

    async def test_a_delete_still_failing_does_not_remove_the_new_room(
        self, lesson: Lesson
    ) -> None:
        """LiveKit refusing the old room's DeleteRoom until after the new CreateRoom is
        due: the new room is made only once the delete went through, so it stays."""
        await _ready_then_moved(lesson)
        lesson.livekit.fail()
        await lesson.sweep(at(9, 51))  # the delete fails, and keeps failing
        await lesson.sweep(at(13, 45))  # READY again; its CreateRoom must wait
        lesson.livekit.recover()
        await lesson.sweep(at(13, 56))
        await lesson.sweep(at(13, 58))
        assert lesson.code in lesson.livekit.rooms
        methods = [
            c.method for c in lesson.livekit.calls if c.method in ("CreateRoom", "DeleteRoom")
        ]
        assert ["CreateRoom", "DeleteRoom", "CreateRoom"] == methods[-3:]
