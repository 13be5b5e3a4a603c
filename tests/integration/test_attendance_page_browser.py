"""The teacher's attendance page in a real browser (Debian's Chromium, headless).

Skipped where no Chromium is installed, unless HUDUR_REQUIRE_BROWSER=1 (CI), where
that is a failure. The screenshots are kept in `artifacts/` (not in git) for people
to look at.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.app import create_app
from engine.settings import Settings
from engine.simulate.runner import simulate, teacher_token
from store.database import Database
from tests.support.auth import JWT_SECRET, LIVEKIT_KEY, LIVEKIT_SECRET, SERVICE_TOKEN
from tests.support.clock import ManualClock

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = os.environ.get("HUDUR_TEST_CHROMIUM") or shutil.which("chromium")
    if path and Path(path).exists():
        return path
    if os.environ.get("HUDUR_REQUIRE_BROWSER") == "1":
        pytest.fail("HUDUR_REQUIRE_BROWSER=1 but no Chromium was found")
    pytest.skip("no Chromium installed (apt-get install chromium)")


async def tick_lefts(page: Any) -> list[float]:
    """Where the students' axis labels sit on screen, in the page's (chronological)
    order."""
    boxes = [await t.bounding_box() for t in await page.locator(".students-table .tick").all()]
    return [box["x"] for box in boxes if box is not None]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
class TestAttendancePageInABrowser:
    async def test_a_teacher_reads_the_lesson_in_local_time_and_marks_all_present(
        self,
        aiohttp_server: Any,
        settings: Settings,
        database: Database,
        clock: ManualClock,
    ) -> None:
        """A simulated Arabic group lesson in Cairo opened from a teacher's link: the
        axis reads Cairo time and runs right to left, every student has a timeline and
        a verdict; "mark all present" makes every verdict present by teacher report,
        with the teacher named and the reason shown. The same page in English runs left
        to right. Screenshots of each are kept."""
        executable = chromium()
        from playwright.async_api import async_playwright

        server = await aiohttp_server(create_app(settings, clock=clock, database=database))
        outcomes = await simulate(
            str(server.make_url("/")),
            sessions=5,
            seed=4,
            service_token=SERVICE_TOKEN,
            api_key=LIVEKIT_KEY,
            api_secret=LIVEKIT_SECRET,
            academy_id=77,
            progress=None,
        )
        # A group lesson at 09:00Z where not everyone was present.
        lesson = next(
            o
            for o in outcomes
            if len(o.students) >= 2
            and any(s.verdict != "present" for s in o.students)
            and o.lesson.starts_at == datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
        )
        url = server.make_url(f"/sessions/{lesson.session_id}/attendance").with_query(
            token=teacher_token(lesson, JWT_SECRET)
        )
        reason = "the whole circle was there; the meeting dropped"

        ARTIFACTS.mkdir(exist_ok=True)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS
            )
            page = await browser.new_page(locale="ar", viewport={"width": 1600, "height": 900})
            refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
            page.on("console", lambda message: refused.append(message.text))
            await page.goto(str(url))

            assert "rtl" == await page.get_attribute("html", "dir")
            assert f"{server.make_url('/').origin()}/sessions/{lesson.session_id}/attendance" == (
                page.url
            )  # the token left the address bar for a cookie
            # The axis reads Cairo time (UTC+2): the lesson's 09:00Z start is 11:00.
            labels = await page.locator(".students-table .tick").all_inner_texts()
            assert "11:00" in labels
            assert "11:00" in await page.locator("#lesson-when").inner_text()
            assert "Africa/Cairo" in await page.locator("#zone-note").inner_text()
            # Right to left: the earliest label is the rightmost.
            lefts = await tick_lefts(page)
            assert len(lefts) >= 3 and lefts == sorted(lefts, reverse=True)
            start_mark, end_mark = [
                await m.bounding_box() for m in await page.locator("tr.teacher .mark").all()
            ]
            assert start_mark is not None and end_mark is not None
            assert start_mark["x"] > end_mark["x"]

            rows = page.locator("tr.student")
            assert len(lesson.students) == await rows.count()
            for student in lesson.students:
                row = page.locator(f'tr[data-user-id="{student.student_id}"]')
                assert student.verdict == await row.locator("td.verdict").get_attribute(
                    "data-verdict"
                )
            assert await page.locator("tr.student .timeline .counted").count() >= 1
            assert await page.locator("tr.teacher .timeline .counted").count() >= 1
            bar = await page.locator("tr.student .timeline .counted").first.bounding_box()
            assert bar is not None and bar["width"] > 0  # placed by the nonce'd stylesheet
            await page.screenshot(path=str(ARTIFACTS / "attendance-page-ar.png"), full_page=True)

            await page.locator("#mark-all input[name=reason]").fill(reason)
            async with page.expect_navigation():
                await page.locator("#mark-all-button").click()

            assert await page.locator("p.flash").is_visible()
            for student in lesson.students:
                row = page.locator(f'tr[data-user-id="{student.student_id}"]')
                assert ("present", "teacher_report") == (
                    await row.locator("td.verdict").get_attribute("data-verdict"),
                    await row.locator("td.source").get_attribute("data-source"),
                )
                assert reason == await row.locator("td.override .why").inner_text()
            await page.screenshot(
                path=str(ARTIFACTS / "attendance-page-ar-marked.png"), full_page=True
            )

            async with aiohttp.ClientSession() as http:
                answer = await http.put(
                    str(server.make_url(f"/v1/academies/{lesson.academy_id}")),
                    json={"name": "Simulated", "timezone": "Africa/Cairo", "locale": "en"},
                    headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
                )
                assert 200 == answer.status
            await page.reload()
            assert "ltr" == await page.get_attribute("html", "dir")
            lefts = await tick_lefts(page)
            assert len(lefts) >= 3 and lefts == sorted(lefts)
            await page.screenshot(
                path=str(ARTIFACTS / "attendance-page-en-marked.png"), full_page=True
            )
            await browser.close()

        assert [] == [m for m in refused if "Content Security Policy" in m]
        async with database.uow() as uow:
            # The simulator's own end-of-lesson reports are the service's; the page's are
            # the teacher's, one per student.
            audits = [
                a for a in await uow.audit.for_session(lesson.session_id) if a.actor != "service"
            ]
            assert {(reason, f"user:{lesson.lesson.teacher}")} == {
                (a.reason, a.actor) for a in audits
            }
            assert {s.student_id for s in lesson.students} == {a.student_id for a in audits}

    async def test_a_teachers_link_opens_the_page_from_another_site(
        self,
        aiohttp_server: Any,
        settings: Settings,
        database: Database,
        clock: ManualClock,
    ) -> None:
        """A link followed from an e-mail or another site (here: a page of no origin)
        lands on the page, not on a 401: the cookie is SameSite=Lax."""
        executable = chromium()
        from playwright.async_api import async_playwright

        server = await aiohttp_server(create_app(settings, clock=clock, database=database))
        outcomes = await simulate(
            str(server.make_url("/")),
            sessions=1,
            seed=4,
            service_token=SERVICE_TOKEN,
            api_key=LIVEKIT_KEY,
            api_secret=LIVEKIT_SECRET,
            academy_id=77,
            progress=None,
        )
        (lesson,) = outcomes
        url = server.make_url(f"/sessions/{lesson.session_id}/attendance").with_query(
            token=teacher_token(lesson, JWT_SECRET)
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS
            )
            page = await browser.new_page()
            await page.set_content(f'<a id="join" href="{url}">Join page</a>')
            async with page.expect_navigation():
                await page.click("#join")
            status = await page.locator("#session-status").count()
            await browser.close()
        assert 1 == status
