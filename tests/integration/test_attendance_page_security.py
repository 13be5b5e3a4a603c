"""The teacher's page against forged requests: the override form's CSRF defence."""

from __future__ import annotations

import re

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import headers_of, snapshot
from tests.integration.test_attendance_page import PAGE, world
from tests.support.auth import user_token
from tests.support.clock import ManualClock

FORGED = {"student_id": "11", "attendance_status": "present", "reason": "forged"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def open_by_link(client: TestClient, session_id: int) -> str:
    """Open the page as teacher 5 from its link, as a browser would (the cookie is
    kept in the client's jar), and answer the CSRF token its forms carry."""
    link = await client.get(PAGE.format(session_id), params={"token": user_token(5, "teacher", 1)})
    assert 200 == link.status
    return form_token(await link.text())


def form_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match is not None, "the page's form carries no CSRF token"
    return match[1]


def own_origin(client: TestClient) -> str:
    return str(client.make_url("/").origin())


async def post_form(
    client: TestClient, session_id: int, data: dict[str, str], headers: dict[str, str]
) -> ClientResponse:
    """The override form posted as a browser would, the redirect not followed."""
    return await client.post(
        PAGE.format(session_id), data=data, headers=headers, allow_redirects=False
    )


class TestCrossSiteForgery:
    async def test_a_post_from_another_site_with_the_teachers_cookie_is_403_and_changes_nothing(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The issue's reproduction: `Origin: http://evil.example`, the cookie, even a
        valid token; refused in the error shape, no report, verdict or charge written."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        before = await snapshot(database)
        response = await post_form(
            client,
            sessions.circle,
            {**FORGED, "csrf_token": token},
            {"Origin": "http://evil.example"},
        )
        assert 403 == response.status
        assert "forbidden" == (await response.json())["error"]["code"]
        assert before == await snapshot(database)

    async def test_a_referer_from_another_site_is_refused_when_there_is_no_origin(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Lacking `Origin`, the `Referer` says where the form was."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        before = await snapshot(database)
        response = await post_form(
            client,
            sessions.circle,
            {**FORGED, "csrf_token": token},
            {"Referer": "https://evil.example/trap.html"},
        )
        assert 403 == response.status
        assert before == await snapshot(database)

    async def test_an_opaque_null_origin_is_refused(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A sandboxed frame's `Origin: null` is nobody's site, so not ours."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        response = await post_form(
            client, sessions.circle, {**FORGED, "csrf_token": token}, {"Origin": "null"}
        )
        assert 403 == response.status

    async def test_a_same_site_post_without_the_token_is_403_and_changes_nothing(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The cookie alone never authorises a change."""
        sessions = await world(database, clock)
        await open_by_link(client, sessions.circle)
        before = await snapshot(database)
        response = await post_form(client, sessions.circle, FORGED, {"Origin": own_origin(client)})
        assert 403 == response.status
        assert "forbidden" == (await response.json())["error"]["code"]
        assert before == await snapshot(database)

    async def test_another_sessions_or_another_callers_token_is_refused(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A token is bound to one session and one caller."""
        sessions = await world(database, clock)
        other_session = await open_by_link(client, sessions.ready)
        admin_page = await client.get(PAGE.format(sessions.circle), headers=headers_of("admin_a"))
        admins = form_token(await admin_page.text())
        before = await snapshot(database)
        statuses = []
        for token in (other_session, admins):
            response = await client.post(
                PAGE.format(sessions.circle),
                data={**FORGED, "csrf_token": token},
                allow_redirects=False,
            )
            statuses.append(response.status)
        assert [403, 403] == statuses
        assert before == await snapshot(database)


class TestTheRealForm:
    async def test_the_same_site_form_post_with_its_token_is_303_and_changes_the_verdict(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """What the page's own form sends: our Origin, the cookie and the token."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        response = await post_form(
            client,
            sessions.circle,
            {**FORGED, "reason": "came by phone", "csrf_token": token},
            {"Origin": own_origin(client)},
        )
        assert 303 == response.status
        async with database.uow() as uow:
            report = await uow.reports.get(sessions.circle, 11)
            assert report is not None and "present" == report.attendance_status

    async def test_a_client_sending_neither_origin_nor_referer_is_accepted_with_the_token(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Non-browser clients send no `Origin`; the token is their proof."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        response = await client.post(
            PAGE.format(sessions.circle),
            data={**FORGED, "csrf_token": token},
            allow_redirects=False,
        )
        assert 303 == response.status

    async def test_a_page_left_open_six_hours_still_submits_but_not_after_twelve(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The token of the bucket before is accepted; an older one is refused."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        clock.advance(hours=6)
        later = await client.post(
            PAGE.format(sessions.circle),
            data={**FORGED, "csrf_token": token},
            allow_redirects=False,
        )
        clock.advance(hours=6, seconds=1)
        too_late = await client.post(
            PAGE.format(sessions.circle),
            data={**FORGED, "csrf_token": token},
            allow_redirects=False,
        )
        assert (303, 403) == (later.status, too_late.status)
