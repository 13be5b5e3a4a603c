"""The teacher's page as a browser meets it: its cookie, its headers, its errors."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from engine.app import create_app
from engine.pages.attendance import get_page
from engine.pages.guard import guarded
from engine.settings import Settings
from store.database import Database
from tests.integration.api_world import headers_of
from tests.integration.test_attendance_page import PAGE, world
from tests.support.auth import user_token
from tests.support.clock import ManualClock

HARDENING = {"X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def hardening(response: web.StreamResponse | object) -> dict[str, str]:
    headers = response.headers  # type: ignore[attr-defined]
    return {name: headers.get(name, "") for name in HARDENING}


def nonce_of(csp: str) -> str:
    match = re.fullmatch(
        r"default-src 'none'; style-src 'nonce-([\w-]+)'; img-src 'self'; "
        r"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        csp,
    )
    assert match is not None, csp
    return match[1]


class TestTheCookie:
    async def test_the_links_cookie_is_lax_httponly_and_scoped_to_the_pages(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Lax lets the link open from an e-mail or another site (the CSRF defence
        guards the form); over plain HTTP it cannot be Secure."""
        sessions = await world(database, clock)
        response = await client.get(
            PAGE.format(sessions.circle),
            params={"token": user_token(5, "teacher", 1)},
            allow_redirects=False,
        )
        cookie = response.cookies["hudur_token"]
        assert ("Lax", True, "/sessions", "") == (
            cookie["samesite"],
            bool(cookie["httponly"]),
            cookie["path"],
            cookie["secure"],
        )

    @pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
    async def test_over_https_the_cookie_is_secure(self, settings: Settings) -> None:
        """A request that came over TLS gets a cookie the browser never sends in clear."""
        app = create_app(settings)
        request = make_mocked_request(
            "GET",
            f"/sessions/4/attendance?token={user_token(5, 'teacher', 1)}",
            app=app,
            sslcontext=True,
        )
        with pytest.raises(web.HTTPSeeOther) as answer:
            await guarded(get_page)(request)
        cookie = answer.value.cookies["hudur_token"]
        assert (True, "Lax", HARDENING) == (
            bool(cookie["secure"]),
            cookie["samesite"],
            hardening(answer.value),
        )


class TestTheHeaders:
    async def test_the_page_is_never_cached_framed_or_scripted_and_its_style_is_nonced(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The CSP allows only the page's own stylesheet, by a nonce fresh per answer;
        nothing in the page needs more (no script, no inline style attribute)."""
        sessions = await world(database, clock)
        first = await client.get(PAGE.format(sessions.circle), headers=headers_of("teacher_own"))
        second = await client.get(PAGE.format(sessions.circle), headers=headers_of("teacher_own"))
        html = await first.text()
        nonce = nonce_of(first.headers["Content-Security-Policy"])
        assert HARDENING == hardening(first)
        assert f'<style nonce="{nonce}">' in html
        assert nonce != nonce_of(second.headers["Content-Security-Policy"])
        assert (0, 0) == (html.count("style="), html.count("<script"))
        assert re.search(r'class="bar counted l[\d_]+ w[\d_]+"', html)

    async def test_the_redirects_carry_the_same_headers(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The 303 that moves the token into the cookie, and the one after a save."""
        sessions = await world(database, clock)
        link = await client.get(
            PAGE.format(sessions.circle),
            params={"token": user_token(5, "teacher", 1)},
            allow_redirects=False,
        )
        page = await client.get(PAGE.format(sessions.circle))
        token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert token is not None
        saved = await client.post(
            PAGE.format(sessions.circle),
            data={
                "student_id": "11",
                "attendance_status": "",
                "reason": "r",
                "csrf_token": token[1],
            },
            allow_redirects=False,
        )
        assert [(303, HARDENING), (303, HARDENING)] == [
            (link.status, hardening(link)),
            (saved.status, hardening(saved)),
        ]
        nonce_of(link.headers["Content-Security-Policy"])


class TestErrorsForPeople:
    async def test_an_expired_link_is_an_html_401_with_the_headers(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The link a browser follows with a bad token says to open it again from the
        platform or ask for a new one."""
        sessions = await world(database, clock)
        response = await client.get(
            PAGE.format(sessions.circle),
            params={"token": "expired"},
            headers={"Accept": "text/html,application/xhtml+xml"},
            allow_redirects=False,
        )
        html = await response.text()
        assert (401, "text/html", HARDENING) == (
            response.status,
            response.content_type,
            hardening(response),
        )
        assert "ask the academy for a new link" in html
        nonce = nonce_of(response.headers["Content-Security-Policy"])
        assert f'<style nonce="{nonce}">' in html

    async def test_a_403_and_a_404_speak_the_callers_academys_language(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Another teacher of the Arabic academy reads Arabic; the English academy's
        admin, for whom the session does not exist, reads English."""
        sessions = await world(database, clock)
        other_teacher = await client.get(
            PAGE.format(sessions.circle), headers=headers_of("teacher_other")
        )
        other_academy = await client.get(
            PAGE.format(sessions.circle), headers=headers_of("admin_b")
        )
        forbidden, missing = await other_teacher.text(), await other_academy.text()
        assert (403, 404) == (other_teacher.status, other_academy.status)
        assert '<html lang="ar" dir="rtl">' in forbidden and "صلاحية" in forbidden
        assert '<html lang="en" dir="ltr">' in missing and "no such session" in missing

    async def test_a_browsers_refused_form_post_is_html_but_a_scripts_is_json(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A form post says it accepts HTML; a script that does not keeps the
        contract's error shape."""
        sessions = await world(database, clock)
        form = {"student_id": "11", "attendance_status": "present", "reason": "no token"}
        browser = await client.post(
            PAGE.format(sessions.circle),
            data=form,
            headers={**headers_of("teacher_own"), "Accept": "text/html"},
        )
        script = await client.post(
            PAGE.format(sessions.circle), data=form, headers=headers_of("teacher_own")
        )
        assert (403, "text/html") == (browser.status, browser.content_type)
        assert (403, "forbidden") == (script.status, (await script.json())["error"]["code"])


class TestErrorWords:
    def test_both_languages_have_every_error_word(self) -> None:
        """A word missing in one language would break that language's error page."""
        from engine.pages.guard import ERRORS

        assert set(ERRORS["en"]) == set(ERRORS["ar"])
