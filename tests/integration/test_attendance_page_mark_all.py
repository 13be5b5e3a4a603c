""" "Mark all present" on the teacher's page: the bulk reports operation behind a
form, under the override form's defences."""

from __future__ import annotations

import re
from types import SimpleNamespace

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from engine.auth import Principal
from engine.pages import csrf
from store.database import Database
from tests.integration.api_world import headers_of, snapshot
from tests.integration.test_attendance_page import PAGE, page_token, world
from tests.integration.test_attendance_page_security import open_by_link, own_origin
from tests.support.clock import ManualClock

MARK_ALL = PAGE + "/present"


def token_of(client: TestClient, clock: ManualClock, principal: Principal, session_id: int) -> str:
    """The CSRF token the page would hand `principal` for the session, had it been
    allowed to open it."""
    return csrf.form_token(SimpleNamespace(app=client.app), principal, session_id, clock())  # type: ignore[arg-type]


async def mark_all(
    client: TestClient, session_id: int, data: dict[str, str], role: str | None = "teacher_own"
) -> ClientResponse:
    headers = headers_of(role) if role else {}
    return await client.post(
        MARK_ALL.format(session_id), data=data, headers=headers, allow_redirects=False
    )


def verdicts(html: str) -> dict[str, tuple[str, str]]:
    """Each student row's verdict and source."""
    rows = re.findall(
        r'<tr data-user-id="(\d+)" class="student">.*?data-verdict="(\w+)".*?data-source="(\w+)"',
        html,
        re.DOTALL,
    )
    return {user: (verdict, source) for user, verdict, source in rows}


class TestMarkingAllPresent:
    async def test_every_student_becomes_present_by_teacher_report_and_each_is_audited(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """One post: a 303 back to the page, which shows every student present by the
        teacher's report; each report is audited with the reason and the teacher."""
        sessions = await world(database, clock)
        token = await page_token(client, sessions.circle, "teacher_own")
        opened = await client.get(PAGE.format(sessions.circle), headers=headers_of("teacher_own"))
        before = verdicts(await opened.text())
        assert {"10", "11", "12"} == set(before)
        response = await mark_all(
            client, sessions.circle, {"reason": "all came by phone", "csrf_token": token}
        )
        assert 303 == response.status
        assert f"{PAGE.format(sessions.circle)}?saved=1" == response.headers["Location"]
        page = await client.get(response.headers["Location"], headers=headers_of("teacher_own"))
        after = verdicts(await page.text())
        assert {"10", "11", "12"} == set(after)
        assert before != after
        assert {("present", "teacher_report")} == set(after.values())
        async with database.uow() as uow:
            audits = [
                (a.student_id, a.reason, a.actor)
                for a in await uow.audit.for_session(sessions.circle)
            ]
            statuses = {
                r.attendance_status
                for r in (await uow.reports.for_session(sessions.circle)).values()
            }
        assert [
            (10, "all came by phone", "user:5"),
            (11, "all came by phone", "user:5"),
            (12, "all came by phone", "user:5"),
        ] == sorted(audits)
        assert {"present"} == statuses

    async def test_the_rest_of_each_report_is_kept(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A student's earlier report keeps its notes and fields; only the verdict
        changes."""
        sessions = await world(database, clock)
        async with database.uow() as uow:
            session = await uow.sessions.get(sessions.circle)
            assert session is not None
            await uow.reports.put(
                None,
                sessions.circle,
                10,
                values={
                    "attendance_status": None,
                    "actual_attendance_minutes": 50,
                    "participation_score": 7.0,
                    "notes": "recited well",
                    "fields": {"papers_memorized_today": 2},
                    "reported_by": 5,
                },
                at=clock(),
            )
            await uow.commit()
        token = await page_token(client, sessions.circle, "teacher_own")
        response = await mark_all(client, sessions.circle, {"reason": "all", "csrf_token": token})
        assert 303 == response.status
        async with database.uow() as uow:
            report = await uow.reports.get(sessions.circle, 10)
            assert report is not None
            assert ("present", 50, "recited well", {"papers_memorized_today": 2}) == (
                report.attendance_status,
                report.actual_attendance_minutes,
                report.notes,
                report.fields,
            )


class TestRefusals:
    async def test_without_a_csrf_token_it_is_403_and_nothing_changes(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The teacher's own credentials are not enough without the page's token."""
        sessions = await world(database, clock)
        before = await snapshot(database)
        response = await mark_all(client, sessions.circle, {"reason": "all came"})
        assert 403 == response.status
        assert before == await snapshot(database)

    async def test_from_another_site_it_is_403_and_nothing_changes(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The teacher's cookie and a valid token, posted from another origin."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        before = await snapshot(database)
        response = await client.post(
            MARK_ALL.format(sessions.circle),
            data={"reason": "forged", "csrf_token": token},
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        )
        assert 403 == response.status
        assert before == await snapshot(database)

    async def test_from_its_own_site_with_the_cookie_it_is_accepted(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The same post from the page's own origin goes through."""
        sessions = await world(database, clock)
        token = await open_by_link(client, sessions.circle)
        response = await client.post(
            MARK_ALL.format(sessions.circle),
            data={"reason": "all came", "csrf_token": token},
            headers={"Origin": own_origin(client)},
            allow_redirects=False,
        )
        assert 303 == response.status

    async def test_a_student_or_another_teacher_is_403_and_nothing_changes(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Same rights as overriding one verdict: students never, other teachers not
        here (even with a token of their own for this session)."""
        sessions = await world(database, clock)
        own = token_of(client, clock, Principal("teacher", 6, 1), sessions.circle)
        before = await snapshot(database)
        student = await mark_all(client, sessions.circle, {"reason": "me"}, "student_on")
        other = await mark_all(
            client, sessions.circle, {"reason": "mine", "csrf_token": own}, "teacher_other"
        )
        assert (403, 403) == (student.status, other.status)
        assert before == await snapshot(database)

    async def test_without_a_reason_it_is_422_naming_it_and_nothing_changes(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A blank reason is no reason: every override says why."""
        sessions = await world(database, clock)
        token = await page_token(client, sessions.circle, "teacher_own")
        before = await snapshot(database)
        response = await mark_all(client, sessions.circle, {"reason": "  ", "csrf_token": token})
        assert 422 == response.status
        assert ["reason"] == [d["field"] for d in (await response.json())["error"]["details"]]
        assert before == await snapshot(database)
