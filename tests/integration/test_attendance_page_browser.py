"""The teacher's attendance page in a real browser (Debian's Chromium, headless).

Skipped where no Chromium is installed, unless HUDUR_REQUIRE_BROWSER=1 (CI), where
that is a failure. The screenshot is kept in `artifacts/` for people to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
class TestAttendancePageInABrowser:
    async def test_a_teacher_sees_the_timeline_and_overrides_a_verdict(
        self,
        aiohttp_server: Any,
        settings: Settings,
        database: Database,
        clock: ManualClock,
    ) -> None:
        """A simulated group lesson opened from a teacher's link shows every student's
        timeline and verdict; an override submitted through the form is applied and
        shown with the teacher report as its source."""
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
        lesson = next(o for o in outcomes if len(o.students) >= 2)
        target = next(s for s in lesson.students if s.verdict != "absent")
        url = server.make_url(f"/sessions/{lesson.session_id}/attendance").with_query(
            token=teacher_token(lesson, JWT_SECRET)
        )

        ARTIFACTS.mkdir(exist_ok=True)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS
            )
            page = await browser.new_page(locale="ar")
            refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
            page.on("console", lambda message: refused.append(message.text))
            await page.goto(str(url))

            assert "rtl" == await page.get_attribute("html", "dir")
            assert f"{server.make_url('/').origin()}/sessions/{lesson.session_id}/attendance" == (
                page.url
            )  # the token left the address bar for a cookie
            rows = page.locator("tr.student")
            assert len(lesson.students) == await rows.count()
            row = page.locator(f'tr[data-user-id="{target.student_id}"]')
            assert target.verdict == await row.locator("td.verdict").get_attribute("data-verdict")
            assert "meeting" == await row.locator("td.source").get_attribute("data-source")
            assert await row.locator(".timeline .counted").count() >= 1
            assert await page.locator("tr.teacher .timeline .counted").count() >= 1
            bar = await row.locator(".timeline .counted").first.bounding_box()
            assert bar is not None and bar["width"] > 0  # placed by the nonce'd stylesheet
            await page.screenshot(path=str(ARTIFACTS / "attendance-page.png"), full_page=True)

            await row.locator("select[name=attendance_status]").select_option("absent")
            await row.locator("input[name=reason]").fill("left the camera off all lesson")
            await row.locator("button[type=submit]").click()
            await page.wait_for_load_state()

            row = page.locator(f'tr[data-user-id="{target.student_id}"]')
            assert "absent" == await row.locator("td.verdict").get_attribute("data-verdict")
            assert "teacher_report" == await row.locator("td.source").get_attribute("data-source")
            assert await page.locator("p.flash").is_visible()
            await page.screenshot(
                path=str(ARTIFACTS / "attendance-page-overridden.png"), full_page=True
            )
            await browser.close()

        assert [] == [m for m in refused if "Content Security Policy" in m]
        async with database.uow() as uow:
            # The simulator's own end-of-lesson reports are the service's; the page's is
            # the teacher's.
            (audit,) = [
                a for a in await uow.audit.for_session(lesson.session_id) if a.actor != "service"
            ]
            report = await uow.reports.get(lesson.session_id, target.student_id)
            assert ("left the camera off all lesson", f"user:{lesson.lesson.teacher}") == (
                audit.reason,
                audit.actor,
            )
            assert report is not None and "absent" == report.attendance_status

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
