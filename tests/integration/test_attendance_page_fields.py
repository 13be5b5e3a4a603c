"""The teacher's page shows the session type's fields (issue 16, item 5): the lesson's
(a course number and its materials as links) and each student's report (a quiz
score; papers and recitation)."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import call, headers_of, seed_two_academies

PAGE = "/sessions/{}/attendance"


def _field(html: str, key: str) -> str:
    """The text of the first element carrying `data-field="key"`, tags dropped."""
    match = re.search(rf'data-field="{key}">(.*?)</div>', html, re.S)
    assert match is not None, key
    return re.sub(r"<[^>]+>", "", match[1]).strip()


class TestTypeFieldsOnThePage:
    async def test_a_course_lesson_shows_its_number_materials_and_quiz_score(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        status, session = await call(
            client,
            "POST",
            "/v1/sessions",
            json={
                "academy_id": 1,
                "type": "academic_course",
                "title": "Algebra 3",
                "duration_minutes": 60,
                "teacher_id": 5,
                "student_ids": [10, 11],
                "course_id": 40,
                "session_number": 3,
                "materials": [{"title": "Worksheet <3>", "url": "https://example.org/3.pdf"}],
            },
        )
        assert 201 == status, session
        status, _ = await call(
            client,
            "PUT",
            f"/v1/sessions/{session['id']}/reports/10",
            json={"quiz_score": 9, "homework": {"description": "p. 12", "grade": 7.5}},
        )
        assert 200 == status
        response = await client.get(PAGE.format(session["id"]), headers=headers_of("teacher_own"))
        html = await response.text()
        assert 200 == response.status
        assert ("الجلسة3", "الدورة40") == (
            _field(html, "session_number"),
            _field(html, "course_id"),
        )
        assert '<a href="https://example.org/3.pdf" rel="noopener noreferrer">' in html
        assert "Worksheet &lt;3&gt;" in html
        assert ("الاختبار: 9", "الواجب: p. 12 · 7.5") == (
            _field(html, "quiz_score"),
            _field(html, "homework"),
        )

    async def test_a_quran_lesson_shows_papers_and_recitation(
        self, client: TestClient, database: Database
    ) -> None:
        ids = await seed_two_academies(database)
        status, _ = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            json={"papers_memorized_today": 1.5, "recitation_quality": 8},
        )
        assert 200 == status
        response = await client.get(PAGE.format(ids.ready), headers=headers_of("teacher_own"))
        html = await response.text()
        assert ("الأوجه المحفوظة: 1.5", "التلاوة: 8") == (
            _field(html, "papers_memorized_today"),
            _field(html, "recitation_quality"),
        )
