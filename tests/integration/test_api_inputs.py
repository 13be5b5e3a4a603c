"""Small input breakages found by trying the API as a newcomer would (issue 13, item 8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import call, headers_of, presence, seed_two_academies
from tests.integration.attendance_world import S, finish, report
from tests.support.clock import ManualClock


class TestPathIds:
    @pytest.mark.parametrize("written", ["١", "01", "0", "٠١", "1٠", "+1", "１"])
    async def test_an_id_not_written_in_ascii_digits_without_a_leading_zero_is_not_found(
        self, client: TestClient, database: Database, written: str
    ) -> None:
        """`/v1/sessions/١` and `/v1/sessions/01` name no session, even though session 1
        exists: 404 not_found, like any id no row has."""
        await seed_two_academies(database)
        assert 200 == (await call(client, "GET", "/v1/sessions/1"))[0]
        status, body = await call(client, "GET", f"/v1/sessions/{written}")
        assert (404, "not_found") == (status, body["error"]["code"])

    @pytest.mark.parametrize("written", ["١", "01"])
    async def test_the_teachers_page_refuses_them_too(
        self, client: TestClient, database: Database, written: str
    ) -> None:
        """The page's own route reads ids through the same check."""
        await seed_two_academies(database)
        response = await client.get(
            f"/sessions/{written}/attendance", headers=headers_of("teacher_own")
        )
        assert 404 == response.status


class TestTimeZones:
    @pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory"])
    async def test_a_name_from_the_hosts_zoneinfo_that_is_no_iana_zone_is_refused(
        self, client: TestClient, database: Database, zone: str
    ) -> None:
        """`localtime` is whatever the host's clock is set to: 422 naming `timezone`, and
        no academy is written."""
        academy = {"name": "Noor", "timezone": zone, "locale": "ar"}
        status, body = await call(client, "PUT", "/v1/academies/3", json=academy)
        assert (422, ["timezone"]) == (status, [d["field"] for d in body["error"]["details"]])
        async with database.uow() as uow:
            assert None is await uow.academies.get(3)

    @pytest.mark.parametrize("zone", ["Africa/Cairo", "UTC", "America/Argentina/Buenos_Aires"])
    async def test_iana_names_are_taken(self, client: TestClient, zone: str) -> None:
        """Real zones, however deep their names, are still accepted."""
        academy = {"name": "Noor", "timezone": zone, "locale": "ar"}
        assert 200 == (await call(client, "PUT", "/v1/academies/3", json=academy))[0]


class TestOwnJoinToken:
    @pytest.mark.parametrize(("role", "identity"), [("student_on", "10"), ("teacher_own", "5")])
    @pytest.mark.parametrize("body", [{}, None])
    async def test_a_teacher_or_student_naming_nobody_gets_its_own(
        self, client: TestClient, database: Database, role: str, identity: str, body: object
    ) -> None:
        """`{}` or no body at all from a teacher or student means its own token."""
        ids = await seed_two_academies(database)
        status, answer = await call(
            client, "POST", f"/v1/sessions/{ids.ready}/join-token", role=role, json=body
        )
        assert (200, identity) == (status, answer["identity"])

    @pytest.mark.parametrize("role", ["service", "admin_a"])
    async def test_the_service_and_admins_must_still_name_the_user(
        self, client: TestClient, database: Database, role: str
    ) -> None:
        """They act for others: 422 naming `user_id`."""
        ids = await seed_two_academies(database)
        status, answer = await call(
            client, "POST", f"/v1/sessions/{ids.ready}/join-token", role=role, json={}
        )
        assert (422, ["user_id"]) == (
            status,
            [d["field"] for d in answer["error"]["details"]],
        )


class TestRepeatableFilters:
    async def test_a_status_given_twice_selects_either(
        self, client: TestClient, database: Database
    ) -> None:
        """`?status=ready&status=unscheduled` lists the sessions in either status."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client, "GET", "/v1/sessions?academy_id=1&status=ready&status=unscheduled"
        )
        assert (200, [ids.ready, ids.circle, ids.unscheduled]) == (
            status,
            [s["id"] for s in body["data"]],
        )

    async def test_completed_or_absent_answers_rather_than_422(
        self, client: TestClient, database: Database
    ) -> None:
        """The issue's own query: nothing has finished yet, so an empty list, not 422."""
        await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/sessions?status=completed&status=absent")
        assert (200, []) == (status, body["data"])

    async def test_a_type_given_twice_selects_either(
        self, client: TestClient, database: Database
    ) -> None:
        """`?type=quran_circle&type=quran_individual` in academy 1 is all of its sessions."""
        ids = await seed_two_academies(database)
        _, every = await call(client, "GET", "/v1/sessions?academy_id=1")
        status, body = await call(
            client, "GET", "/v1/sessions?academy_id=1&type=quran_circle&type=quran_individual"
        )
        assert (200, [s["id"] for s in every["data"]]) == (
            status,
            [s["id"] for s in body["data"]],
        )
        assert ids.circle in [s["id"] for s in body["data"]]

    async def test_a_bad_value_among_several_names_the_parameter(self, client: TestClient) -> None:
        """`?status=ready&status=done`: 422 naming `status`, as for a single bad value."""
        status, body = await call(client, "GET", "/v1/sessions?status=ready&status=done")
        assert (422, ["status"]) == (status, [d["field"] for d in body["error"]["details"]])

    async def test_a_filter_that_takes_one_value_still_refuses_two(
        self, client: TestClient
    ) -> None:
        """`academy_id` names one academy: given twice it is 422, not one of them."""
        status, body = await call(client, "GET", "/v1/sessions?academy_id=1&academy_id=2")
        assert (422, ["academy_id"]) == (status, [d["field"] for d in body["error"]["details"]])


async def a_long_history(client: TestClient, database: Database, clock: ManualClock) -> int:
    """The READY session finished, then flipped twice by reports: transitions and
    overrides, some at the same moment (a report and the move it causes)."""
    ids = await seed_two_academies(database)
    await presence(database, ids.ready, 5, S, S + timedelta(minutes=60))
    await presence(database, ids.ready, 10, S, S + timedelta(minutes=60))
    await finish(client, clock, ids.ready, S + timedelta(minutes=70))
    for hours, verdict in ((2, "absent"), (3, None)):
        clock.set(S + timedelta(hours=hours))
        status, _ = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            role="admin_a",
            json=report(attendance_status=verdict),
        )
        assert 200 == status
    return ids.ready


class TestHistoryPages:
    async def test_pages_of_one_walk_the_whole_history_in_order(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Following `next_cursor` with `limit=1` gives exactly the one-page history,
        in its order, and the last page's `next_cursor` is null."""
        session_id = await a_long_history(client, database, clock)
        _, whole = await call(client, "GET", f"/v1/sessions/{session_id}/history")
        assert None is whole["next_cursor"]
        walked: list[Any] = []
        cursor = None
        for _ in range(len(whole["data"])):
            query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
            status, page = await call(client, "GET", f"/v1/sessions/{session_id}/history?{query}")
            assert (200, 1) == (status, len(page["data"]))
            walked += page["data"]
            cursor = page["next_cursor"]
        assert None is cursor
        assert whole["data"] == walked
        assert len(walked) >= 6

    async def test_a_page_says_where_the_next_begins(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """`limit=2` of a longer history: two entries and a cursor."""
        session_id = await a_long_history(client, database, clock)
        _, page = await call(client, "GET", f"/v1/sessions/{session_id}/history?limit=2")
        assert 2 == len(page["data"])
        assert isinstance(page["next_cursor"], str)

    @pytest.mark.parametrize("query", ["cursor=bm9wZQ", "cursor=xyz", "limit=0", "limit=501"])
    async def test_a_forged_cursor_or_a_bad_limit_is_named(
        self, client: TestClient, database: Database, query: str
    ) -> None:
        """422 naming the parameter, as on the session list."""
        ids = await seed_two_academies(database)
        status, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/history?{query}")
        field = query.split("=", 1)[0]
        assert (422, [field]) == (status, [d["field"] for d in body["error"]["details"]])
