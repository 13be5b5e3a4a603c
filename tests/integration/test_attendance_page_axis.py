"""The teacher's page as a teacher reads it: the time axis in the academy's zone
(right to left in Arabic), the teacher's own row, who overrode a verdict, and the
history in time order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from rules.codes import SessionType
from rules.lifecycle import Status
from store.database import Database
from tests.integration.api_world import (
    B,
    headers_of,
    make_session,
    presence,
    seed_two_academies,
)
from tests.integration.attendance_world import finish
from tests.integration.test_attendance_page import PAGE, page_token
from tests.support.clock import ManualClock

NINE = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)  # 11:00 in Cairo, 12:00 in Riyadh


async def lesson_at_nine(
    client: TestClient,
    database: Database,
    clock: ManualClock,
    *,
    academy_id: int = 1,
    teacher_id: int = 5,
    session_type: SessionType = SessionType.QURAN_CIRCLE,
) -> int:
    """A circle from 09:00Z to 10:00Z, finished: its teacher stayed the hour, student
    10 came from 2 to 58 minutes in, student 11 for the first twenty minutes."""
    await seed_two_academies(database)
    students = (10, 11, 12) if academy_id == 1 else (20,)
    async with database.uow() as uow:
        session = await make_session(
            uow,
            starts_at=NINE,
            status=Status.READY,
            session_type=session_type,
            students=students,
            academy_id=academy_id,
            teacher_id=teacher_id,
        )
        await uow.commit()
    await presence(database, session.id, teacher_id, NINE, NINE + timedelta(minutes=60))
    await presence(
        database, session.id, students[0], NINE + timedelta(minutes=2), NINE + timedelta(minutes=58)
    )
    if academy_id == 1:
        await presence(database, session.id, 11, NINE, NINE + timedelta(minutes=20))
    await finish(client, clock, session.id, NINE + timedelta(minutes=70))
    return session.id


def ticks(html: str) -> dict[str, float]:
    """Each axis label of the students' table and where it sits, in % from the left."""
    table = html[html.index('class="students-table"') :]
    found = re.findall(r'class="tick l([0-9_]+)" data-tick="(\d\d:\d\d)"', table)
    return {label: float(at.replace("_", ".")) for at, label in found}


async def read(client: TestClient, session_id: int, role: str = "teacher_own") -> str:
    response = await client.get(PAGE.format(session_id), headers=headers_of(role))
    assert 200 == response.status
    return await response.text()


class TestTheTimeAxis:
    async def test_a_nine_oclock_utc_lesson_in_cairo_reads_eleven_with_its_zone_named(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Every time is Cairo's: the axis labels, the lesson's hours, the bars; the
        zone is named beside them."""
        session_id = await lesson_at_nine(client, database, clock)
        html = await read(client, session_id)
        labels = ticks(html)
        assert {"11:00", "11:30", "12:00"} <= set(labels)
        assert "09:00" not in labels
        assert "2025-12-01 11:00–12:00" in html
        assert "Africa/Cairo, UTC+02:00" in html
        assert 'data-interval="11:02–11:58"' in html

    async def test_in_arabic_the_axis_runs_right_to_left(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Later is further left: 11:00 sits to the right of 12:00."""
        session_id = await lesson_at_nine(client, database, clock)
        html = await read(client, session_id)
        labels = ticks(html)
        assert '<html lang="ar" dir="rtl">' in html
        assert labels["11:00"] > labels["11:30"] > labels["12:00"]

    async def test_in_english_the_axis_runs_left_to_right_in_the_academys_zone(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Academy B teaches in English in Riyadh (UTC+3): 09:00Z reads 12:00."""
        session_id = await lesson_at_nine(client, database, clock, academy_id=B, teacher_id=7)
        html = await read(client, session_id, "teacher_b")
        labels = ticks(html)
        assert '<html lang="en" dir="ltr">' in html
        assert labels["12:00"] < labels["12:30"] < labels["13:00"]
        assert "Asia/Riyadh, UTC+03:00" in html


class TestTheRows:
    async def test_the_teacher_has_a_table_of_its_own(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The teacher's share of the lesson is in its own column, not in a student's
        explanation column."""
        session_id = await lesson_at_nine(client, database, clock)
        html = await read(client, session_id)
        teacher = html[html.index('class="teacher-table"') : html.index('class="students-table"')]
        assert 'data-share="100 %"' in teacher
        assert 'data-user-id="5"' in teacher
        assert 'data-user-id="5"' not in html[html.index('class="students-table"') :]

    async def test_each_student_shows_attended_and_copresent_minutes(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Student 10 was there 56 minutes, all of them with the teacher."""
        session_id = await lesson_at_nine(client, database, clock)
        html = await read(client, session_id)
        row = html[html.index('data-user-id="10"') :]
        row = row[: row.index("</tr>")]
        assert '<td class="attended num"><bdi>56 دقيقة</bdi></td>' in row
        assert '<td class="copresence num"><bdi>56 دقيقة</bdi></td>' in row

    async def test_each_student_shows_engagement_beside_the_verdict(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Camera, microphone and screen-share time and their explanation; no score in
        a Quran circle."""
        session_id = await lesson_at_nine(client, database, clock)
        html = await read(client, session_id)
        row = html[html.index('data-user-id="10"') :]
        engagement = row[row.index('class="engagement"') :]
        engagement = engagement[: engagement.index("</td>")]
        assert "الكاميرا: <bdi>0 دقيقة</bdi>" in engagement
        assert "الكاميرا 0 دقيقة، الميكروفون 0 دقيقة، مشاركة الشاشة 0 دقيقة" in engagement
        assert "data-score" not in engagement

    async def test_an_interactive_course_shows_the_engagement_score(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Student 10 attended 56 of 60 minutes with no camera or microphone: half the
        weight of 56/60, 47."""
        session_id = await lesson_at_nine(
            client, database, clock, session_type=SessionType.INTERACTIVE_COURSE
        )
        html = await read(client, session_id)
        row = html[html.index('data-user-id="10"') :]
        engagement = row[row.index('class="engagement"') :]
        engagement = engagement[: engagement.index("</td>")]
        assert 'data-score="47"' in engagement

    async def test_an_override_shows_who_made_it_when_and_why(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The teacher overrides student 11 at 10:30Z: the row names Ahmed, 12:30 in
        Cairo and the reason; a student without an override shows none."""
        session_id = await lesson_at_nine(client, database, clock)
        clock.set(NINE + timedelta(minutes=90))
        token = await page_token(client, session_id, "teacher_own")
        response = await client.post(
            PAGE.format(session_id),
            data={
                "student_id": "11",
                "attendance_status": "present",
                "reason": "was in the lesson by phone",
                "csrf_token": token,
            },
            headers=headers_of("teacher_own"),
            allow_redirects=False,
        )
        assert 303 == response.status
        html = await read(client, session_id)
        row = html[html.index('data-user-id="11"') :]
        row = row[: row.index("</tr>")]
        override = row[row.index('class="override"') :]
        assert "Ahmed" in override
        assert "2025-12-01 12:30 (Africa/Cairo)" in override
        assert "was in the lesson by phone" in override
        assert 'data-source="teacher_report"' in row
        other = html[html.index('data-user-id="10"') :]
        assert '<td class="override">—</td>' in other[: other.index("</tr>")].replace("\n", "")


class TestTheHistory:
    async def test_the_lessons_moves_come_before_a_later_override(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Oldest first, as the API answers it: scheduled, ready, completed, then the
        report and the move it caused."""
        session_id = await lesson_at_nine(client, database, clock)
        clock.set(NINE + timedelta(minutes=90))
        token = await page_token(client, session_id, "teacher_own")
        await client.post(
            PAGE.format(session_id),
            data={
                "student_id": "12",
                "attendance_status": "late",
                "reason": "came late",
                "csrf_token": token,
            },
            headers=headers_of("teacher_own"),
            allow_redirects=False,
        )
        html = await read(client, session_id)
        history = html[html.index('class="history"') :]
        assert ["transition", "transition", "transition", "report"] == re.findall(
            r'data-kind="(\w+)"', history
        )
        assert "came late" in history

    async def test_a_student_sees_no_history(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The history is the teacher's and the admin's, as in the API."""
        session_id = await lesson_at_nine(client, database, clock)
        html = await read(client, session_id, "student_on")
        assert 'class="history"' not in html
