"""A session's LiveKit room in its shape (CONTRACT 5): `meeting_id` (the room's sid),
`meeting_expires_at` and `meeting_data` (CreateRoom's answer), over a fake LiveKit."""

from __future__ import annotations

from rules.codes import SessionType
from tests.support.factories import TEACHER_ID
from tests.support.fake_livekit import fixture_livekit  # noqa: F401 (fixture)
from tests.support.lessons import (  # noqa: F401 (fixtures)
    Lesson,
    at,
    fixture_lesson,
    fixture_settings,
)


class TestTheMeetingFields:
    async def test_a_prepared_session_answers_the_room_livekit_made(self, lesson: Lesson) -> None:
        """READY at S − 15: CreateRoom's Room is `meeting_data`, its sid `meeting_id`,
        and the room closes for joins at E + 10."""
        session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        before = await lesson.call("GET", f"/v1/sessions/{session_id}")
        await lesson.sweep(at(9, 45))
        body = await lesson.call("GET", f"/v1/sessions/{session_id}")
        room = lesson.livekit.rooms[lesson.code].info
        assert (None, None, None) == (
            before["meeting_id"],
            before["meeting_expires_at"],
            before["meeting_data"],
        )
        assert (room.sid, "2025-12-01T11:10:00Z") == (
            body["meeting_id"],
            body["meeting_expires_at"],
        )
        assert {
            "sid": room.sid,
            "name": lesson.code,
            "emptyTimeout": room.empty_timeout,
            "maxParticipants": room.max_participants,
        }.items() <= body["meeting_data"].items()

    async def test_without_createrooms_answer_the_first_webhook_tells_the_sid(
        self, lesson: Lesson
    ) -> None:
        """CreateRoom failing, LiveKit opens the room on the teacher's join: the
        webhook's room sid is the `meeting_id`, and there is no `meeting_data`."""
        session_id = await lesson.plan(SessionType.QURAN_INDIVIDUAL)
        lesson.livekit.fail()
        await lesson.sweep(at(9, 45))
        assert lesson.code not in lesson.livekit.rooms
        await lesson.join(str(TEACHER_ID), at(9, 58))
        body = await lesson.call("GET", f"/v1/sessions/{session_id}")
        room = lesson.livekit.rooms[lesson.code].info
        assert (room.sid, None) == (body["meeting_id"], body["meeting_data"])
