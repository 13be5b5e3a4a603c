"""Engagement from LiveKit track events (CONTRACT 4.2a, issue 15 item 2), end to end:
signed webhooks in, the attendance answer, the report rows and progress out."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from engine.operations.presence import known_presence
from engine.operations.rebuild import rebuild
from rules.codes import SessionType
from rules.lifecycle import Status
from store.database import Database
from store.schema import Evidence, StoredVerdict
from tests.integration.api_world import START, A, B, call, make_session, seed_two_academies
from tests.integration.attendance_world import finish
from tests.support.clock import ManualClock
from tests.support.livekit import joined, left, track_published, track_unpublished
from tests.support.signed_requests import post_webhook

S = START + timedelta(hours=6)
ENGAGEMENT = (
    "camera_seconds",
    "microphone_seconds",
    "screen_share_seconds",
    "engagement_score",
    "engagement_explanation",
    "engagement_explanation_code",
)


def at(minutes: float) -> datetime:
    return S + timedelta(minutes=minutes)


async def _lesson(
    database: Database,
    *,
    academy: int = A,
    session_type: SessionType = SessionType.INTERACTIVE_COURSE,
) -> tuple[int, str]:
    """A READY 60-min session at S: academy A (Arabic; teacher 5, student 10) or B
    (English; teacher 7, student 20)."""
    teacher, student = (5, 10) if academy == A else (7, 20)
    async with database.uow() as uow:
        session = await make_session(
            uow,
            starts_at=S,
            status=Status.READY,
            session_type=session_type,
            academy_id=academy,
            teacher_id=teacher,
            students=(student,),
        )
        await uow.commit()
    return session.id, session.session_code


def done_when(room: str, *, teacher: str = "5", student: str = "10") -> list[bytes]:
    """The issue's student: in for the whole 60 min, camera on for the first 30,
    microphone on throughout (never unpublished: it ends with the leave)."""
    return [
        joined(room, "PA_t", teacher, at(0), event_id=f"EV_{room}_1"),
        joined(room, "PA_s", student, at(0), event_id=f"EV_{room}_2"),
        track_published(
            room,
            "PA_s",
            student,
            at(0),
            source="CAMERA",
            track_sid="TR_cam",
            event_id=f"EV_{room}_3",
        ),
        track_published(
            room,
            "PA_s",
            student,
            at(0),
            source="MICROPHONE",
            track_sid="TR_mic",
            event_id=f"EV_{room}_4",
        ),
        track_unpublished(
            room,
            "PA_s",
            student,
            at(30),
            source="CAMERA",
            track_sid="TR_cam",
            event_id=f"EV_{room}_5",
        ),
        left(room, "PA_s", student, at(60), joined_at=at(0), event_id=f"EV_{room}_6"),
        left(room, "PA_t", teacher, at(60), joined_at=at(0), event_id=f"EV_{room}_7"),
    ]


async def _deliver(client: TestClient, bodies: list[bytes]) -> list[str]:
    answers = []
    for body in bodies:
        response = await post_webhook(client, body)
        assert 200 == response.status
        answers.append((await response.json())["status"])
    return answers


async def _student(client: TestClient, session_id: int) -> dict[str, Any]:
    status, body = await call(client, "GET", f"/v1/sessions/{session_id}/attendance")
    assert 200 == status, body
    (student,) = body["students"]
    return student


def _engagement(student: dict[str, Any]) -> dict[str, Any]:
    return {name: student[name] for name in ENGAGEMENT}


class TestTheIssuesCase:
    async def test_camera_30_microphone_60_scores_85(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Present 60 min, camera 30, microphone 60, in an Arabic academy: 1800 s, 3600 s,
        0 s and 85, explained in Arabic beside the machine code naming the three parts."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database)
        await _deliver(client, done_when(room))
        await finish(client, clock, session_id, at(70))

        student = await _student(client, session_id)

        assert {
            "camera_seconds": 1800,
            "microphone_seconds": 3600,
            "screen_share_seconds": 0,
            "engagement_score": 85,
            "engagement_explanation": "التفاعل 85: الحضور 50 + الكاميرا 15 + الميكروفون 20 نقطة؛"
            " الكاميرا 30 دقيقة، الميكروفون 60 دقيقة، مشاركة الشاشة 0 دقيقة من 60 دقيقة حضور",
            "engagement_explanation_code": {
                "code": "engagement",
                "score": 85,
                "camera_seconds": 1800,
                "microphone_seconds": 3600,
                "screen_share_seconds": 0,
                "attended_seconds": 3600,
                "of_seconds": 3600,
                "attendance_fraction": 1.0,
                "camera_fraction": 0.5,
                "microphone_fraction": 1.0,
                "attendance_weight": 0.5,
                "camera_weight": 0.3,
                "microphone_weight": 0.2,
                "attendance_points": 50.0,
                "camera_points": 15.0,
                "microphone_points": 20.0,
            },
        } == _engagement(student)
        assert "حاضر: 60 من 60 دقيقة، انضم عند البداية" == student["explanation"]

    async def test_an_english_academy_reads_english(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The same lesson in an `en` academy: the verdict and engagement in English."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database, academy=B)
        await _deliver(client, done_when(room, teacher="7", student="20"))
        await finish(client, clock, session_id, at(70))

        student = await _student(client, session_id)

        assert (
            "present: 60 of 60 min, joined at start",
            "engagement 85: attendance 50 + camera 15 + microphone 20 points;"
            " camera 30 min, microphone 60 min, screen share 0 min of 60 min attended",
        ) == (student["explanation"], student["engagement_explanation"])

    async def test_a_running_lesson_is_scored_live(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """At 30 min, camera and microphone on since the start: 1800 s each and
        round(100 x (0.5 x 0.5 + 0.3 + 0.2)) = 75 so far."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database)
        await _deliver(client, done_when(room)[:4])
        clock.set(at(30))

        student = await _student(client, session_id)

        assert (1800, 1800, 75) == (
            student["camera_seconds"],
            student["microphone_seconds"],
            student["engagement_score"],
        )


class TestOrderAndRepeats:
    async def test_shuffled_and_repeated_webhooks_give_the_same_answer(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The lesson delivered in event order into one session and shuffled, with
        repeats, into another gives the same engagement; each repeat is a duplicate."""
        await seed_two_academies(database)
        first, first_room = await _lesson(database)
        async with database.uow() as uow:
            second = await make_session(
                uow,
                starts_at=S,
                status=Status.READY,
                session_type=SessionType.INTERACTIVE_COURSE,
                teacher_id=6,
                students=(11,),
            )
            await uow.commit()
        await _deliver(client, done_when(first_room))
        bodies = done_when(second.session_code, teacher="6", student="11")
        shuffled = bodies + bodies[2:5]
        random.Random(15).shuffle(shuffled)
        answers = await _deliver(client, shuffled)
        await finish(client, clock, first, at(70))
        await finish(client, clock, second.id, at(70))

        assert (7, 3) == (answers.count("accepted"), answers.count("duplicate"))
        assert _engagement(await _student(client, first)) == _engagement(
            await _student(client, second.id)
        )

    async def test_a_rebuild_from_the_inbox_keeps_the_engagement(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """`hudur rebuild` derives the track evidence again: the same answer after it."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database)
        await _deliver(client, done_when(room))
        await finish(client, clock, session_id, at(70))
        before = await _student(client, session_id)
        async with database.uow() as uow:
            await rebuild(uow, now=at(80), allow_as_of=True)
            await uow.commit()

        assert _engagement(before) == _engagement(await _student(client, session_id))


class TestTrackEvidence:
    async def test_unknown_sources_are_stored_and_decide_nothing(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A SCREEN_SHARE_AUDIO track is kept as evidence and counts for no source."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database)
        await _deliver(
            client,
            [
                joined(room, "PA_s", "10", at(0)),
                track_published(room, "PA_s", "10", at(0), source="SCREEN_SHARE_AUDIO"),
            ],
        )
        await finish(client, clock, session_id, at(70))
        async with database.uow() as uow:
            sources = list(
                await uow.session.scalars(
                    select(Evidence.track_source).where(Evidence.kind == "track_published")
                )
            )

        student = await _student(client, session_id)
        assert (["SCREEN_SHARE_AUDIO"], 0, 0, 0) == (
            sources,
            student["camera_seconds"],
            student["microphone_seconds"],
            student["screen_share_seconds"],
        )

    async def test_a_track_does_not_hide_a_lost_join_from_the_repair(
        self, client: TestClient, database: Database
    ) -> None:
        """The repair (ListParticipants) adds a join for a connection no join webhook
        told of, even when one of its track events did arrive."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database)
        await _deliver(
            client,
            [
                joined(room, "PA_t", "5", at(0)),
                track_published(room, "PA_lost", "10", at(1), source="CAMERA"),
            ],
        )
        async with database.uow() as uow:
            known = await known_presence(uow, [session_id])

        assert frozenset({"PA_t"}) == known[session_id].sids

    async def test_other_types_have_seconds_and_no_score(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A Quran lesson shows the student's screen share but no engagement score."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database, session_type=SessionType.QURAN_INDIVIDUAL)
        await _deliver(
            client,
            [
                joined(room, "PA_s", "10", at(0)),
                track_published(room, "PA_s", "10", at(10), source="SCREEN_SHARE"),
                left(room, "PA_s", "10", at(60), joined_at=at(0)),
            ],
        )
        await finish(client, clock, session_id, at(70))

        student = await _student(client, session_id)

        assert (3000, None, "tracks") == (
            student["screen_share_seconds"],
            student["engagement_score"],
            student["engagement_explanation_code"]["code"],
        )


class TestKeptBeforeEngagement:
    async def test_a_verdict_kept_before_engagement_is_read_from_the_evidence(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A finished session whose kept answer has no engagement (written by an earlier
        release) answers the engagement its evidence gives, as the report rows do."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database)
        await _deliver(client, done_when(room))
        await finish(client, clock, session_id, at(70))
        async with database.uow() as uow:
            for row in await uow.session.scalars(
                select(StoredVerdict).where(StoredVerdict.session_id == session_id)
            ):
                row.snapshot = {
                    k: v for k, v in (row.snapshot or {}).items() if not k.startswith("engagement")
                }
                row.snapshot.pop("camera_seconds", None)
            await uow.commit()

        student = await _student(client, session_id)

        assert (1800, 85) == (student["camera_seconds"], student["engagement_score"])


class TestAcrossSessions:
    async def test_report_rows_and_progress_carry_the_score(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """`GET /v1/attendance` rows show the student's engagement, and the
        interactive progress averages it."""
        await seed_two_academies(database)
        session_id, room = await _lesson(database)
        await _deliver(client, done_when(room))
        await finish(client, clock, session_id, at(70))

        _, rows = await call(client, "GET", "/v1/attendance?type=interactive_course&student_id=10")
        _, progress = await call(client, "GET", "/v1/students/10/progress?type=interactive_course")

        (row,) = rows["data"]
        assert (85, 1800, 3600, 0, 85.0) == (
            row["engagement_score"],
            row["camera_seconds"],
            row["microphone_seconds"],
            row["screen_share_seconds"],
            progress["interactive"]["average_engagement_score"],
        )

    async def test_the_weights_are_rule_settings(
        self, client: TestClient, database: Database
    ) -> None:
        """An academy sets the three weights per session type; a weight over 1 is a 422."""
        await seed_two_academies(database)
        weights = {"engagement_attendance_weight": 0.3, "engagement_camera_weight": 0.5}
        path = f"/v1/academies/{A}/rules"

        put, _ = await call(client, "PUT", path, json={"interactive_course": weights})
        _, rules = await call(client, "GET", path)
        bad, error = await call(
            client, "PUT", path, json={"default": {"engagement_camera_weight": 1.5}}
        )

        assert (200, 0.5, 0.3, 0.2, 0.3) == (
            put,
            rules["interactive_course"]["engagement_camera_weight"],
            rules["interactive_course"]["engagement_attendance_weight"],
            rules["interactive_course"]["engagement_microphone_weight"],
            rules["default"]["engagement_camera_weight"],
        )
        assert 422 == bad, error
