"""`GET/POST /sessions/{id}/attendance`: the teacher's page over plain HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import (
    START,
    Sessions,
    headers_of,
    presence,
    seed_two_academies,
    snapshot,
)
from tests.support.auth import user_token
from tests.support.clock import ManualClock

PAGE = "/sessions/{}/attendance"


async def world(database: Database, clock: ManualClock) -> Sessions:
    """Two academies; in the circle (14:00 UTC, 16:00 in Cairo) the teacher stayed the
    hour and student 10 from 2 to 58 minutes in; the clock stands after the lesson,
    which no sweep has finished yet."""
    sessions = await seed_two_academies(database)
    start = START + timedelta(hours=4)  # the circle's start
    clock.set(start + timedelta(hours=2))
    await presence(database, sessions.circle, 5, start, start + timedelta(minutes=60))
    await presence(
        database, sessions.circle, 10, start + timedelta(minutes=2), start + timedelta(minutes=58)
    )
    return sessions


async def page_token(client: TestClient, session_id: int, role: str) -> str:
    """The CSRF token the page's forms carry for `role`."""
    html = await (await client.get(PAGE.format(session_id), headers=headers_of(role))).text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match[1]


class TestReadingThePage:
    async def test_a_teacher_sees_every_student_with_timeline_verdict_and_form(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The circle's teacher sees all three students, the bars of student 10's
        presence, the rule that decided each verdict, an override form each and the
        "mark all present" form."""
        sessions = await world(database, clock)
        response = await client.get(PAGE.format(sessions.circle), headers=headers_of("teacher_own"))
        html = await response.text()
        assert 200 == response.status
        assert "text/html" == response.content_type
        assert '<html lang="ar" dir="rtl">' in html
        assert 3 == html.count('class="student"')
        assert 'data-interval="16:02–16:58"' in html  # Cairo time, UTC+2
        # Not finished yet: the rule so far, in the academy's Arabic.
        assert "قيد الانتظار: حاضر حتى الآن" in html
        assert "pending: present so far" not in html
        # One override form per student, and "mark all present".
        assert 4 == html.count('<form method="post"')
        assert 3 == html.count('name="student_id"')

    async def test_a_student_sees_only_its_own_row_and_no_form(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Read-only, and the classmates stay private."""
        sessions = await world(database, clock)
        response = await client.get(PAGE.format(sessions.circle), headers=headers_of("student_on"))
        html = await response.text()
        assert 200 == response.status
        assert 1 == html.count('class="student"')
        assert 'data-user-id="10"' in html
        assert "<form" not in html

    async def test_an_english_academy_reads_left_to_right(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The language and direction follow the academy's locale."""
        sessions = await world(database, clock)
        response = await client.get(
            PAGE.format(sessions.other_academy), headers=headers_of("teacher_b")
        )
        assert '<html lang="en" dir="ltr">' in await response.text()

    async def test_a_token_in_the_address_becomes_a_cookie_and_leaves_the_address(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A link with ?token= redirects to the clean address with an HttpOnly,
        SameSite=Lax cookie (Lax: it must open from an e-mail or another site), and
        the cookie then opens the page."""
        sessions = await world(database, clock)
        token = user_token(5, "teacher", 1)
        response = await client.get(
            PAGE.format(sessions.circle), params={"token": token}, allow_redirects=False
        )
        assert 303 == response.status
        assert PAGE.format(sessions.circle) == response.headers["Location"]
        cookie = response.cookies["hudur_token"]
        assert (token, True, "Lax") == (
            cookie.value,
            bool(cookie["httponly"]),
            cookie["samesite"],
        )
        follow = await client.get(PAGE.format(sessions.circle))
        assert 200 == follow.status


class TestRefusals:
    async def test_no_token_is_an_html_401_saying_to_open_the_link_again(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Without a token there is no page, and a person is told what to do, in
        English since nobody known is asking."""
        sessions = await world(database, clock)
        response = await client.get(PAGE.format(sessions.circle))
        html = await response.text()
        assert (401, "text/html") == (response.status, response.content_type)
        assert '<html lang="en" dir="ltr">' in html
        assert "Open the attendance page again from the platform" in html
        assert 'data-error-code="unauthorized"' in html

    async def test_a_client_asking_for_json_gets_the_401_in_the_error_shape(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Scripts keep the contract's error shape."""
        sessions = await world(database, clock)
        response = await client.get(
            PAGE.format(sessions.circle), headers={"Accept": "application/json"}
        )
        assert 401 == response.status
        assert "unauthorized" == (await response.json())["error"]["code"]

    async def test_a_bad_token_in_the_address_is_refused_and_not_stored(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A forged link sets no cookie."""
        sessions = await world(database, clock)
        response = await client.get(
            PAGE.format(sessions.circle), params={"token": "forged"}, allow_redirects=False
        )
        assert 401 == response.status
        assert "hudur_token" not in response.cookies

    async def test_another_teacher_is_403_and_another_academy_404(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Same rights as the API."""
        sessions = await world(database, clock)
        other_teacher = await client.get(
            PAGE.format(sessions.circle), headers=headers_of("teacher_other")
        )
        other_academy = await client.get(
            PAGE.format(sessions.circle), headers=headers_of("admin_b")
        )
        assert (403, 404) == (other_teacher.status, other_academy.status)


class TestOverriding:
    async def test_the_form_overrides_the_verdict_and_keeps_the_rest_of_the_report(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A form post sets the verdict with its reason, redirects to the page, and is
        audited like an API report."""
        sessions = await world(database, clock)
        token = await page_token(client, sessions.circle, "teacher_own")
        response = await client.post(
            PAGE.format(sessions.circle),
            data={
                "student_id": "11",
                "attendance_status": "late",
                "reason": "came by phone",
                "csrf_token": token,
            },
            headers=headers_of("teacher_own"),
            allow_redirects=False,
        )
        assert 303 == response.status
        assert f"{PAGE.format(sessions.circle)}?saved=1" == response.headers["Location"]
        async with database.uow() as uow:
            report = await uow.reports.get(sessions.circle, 11)
            (audit,) = await uow.audit.for_session(sessions.circle)
            assert report is not None and "late" == report.attendance_status
            assert ("came by phone", "user:5") == (audit.reason, audit.actor)

    async def test_a_student_cannot_post_and_nothing_changes(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Students read; they never override."""
        sessions = await world(database, clock)
        before = await snapshot(database)
        response = await client.post(
            PAGE.format(sessions.circle),
            data={"student_id": "10", "attendance_status": "present", "reason": "me"},
            headers=headers_of("student_on"),
        )
        assert 403 == response.status
        assert before == await snapshot(database)

    async def test_a_post_without_reason_or_with_an_unknown_status_is_422_naming_both(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Every bad field is named, and nothing is written."""
        sessions = await world(database, clock)
        token = await page_token(client, sessions.circle, "teacher_own")
        before = await snapshot(database)
        response = await client.post(
            PAGE.format(sessions.circle),
            data={
                "student_id": "11",
                "attendance_status": "asleep",
                "reason": " ",
                "csrf_token": token,
            },
            headers=headers_of("teacher_own"),
        )
        body = await response.json()
        assert 422 == response.status
        assert {"attendance_status", "reason"} == {d["field"] for d in body["error"]["details"]}
        assert before == await snapshot(database)


class TestWords:
    def test_both_languages_have_every_word(self) -> None:
        """A word missing in one language would break that language's page."""
        from engine.pages.view import WORDS

        def shape(words: dict[str, object]) -> dict[str, object]:
            return {k: shape(v) if isinstance(v, dict) else None for k, v in words.items()}

        assert shape(WORDS["en"]) == shape(WORDS["ar"])
