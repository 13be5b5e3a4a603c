"""`PUT /v1/sessions/{id}/reports`: many reports at once, all or nothing, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import engine.operations.reports as report_operations
from store.database import Database
from tests.integration.api_world import call, presence, seed_two_academies, snapshot
from tests.integration.attendance_world import CIRCLE, S, finish, ledger_rows
from tests.support.clock import ManualClock


def bulk(*entries: dict[str, Any], reason: str = "checked the recording") -> dict[str, Any]:
    return {"reason": reason, "reports": list(entries)}


def present(student_id: int, **changes: Any) -> dict[str, Any]:
    return {"student_id": student_id, "attendance_status": "present", **changes}


class TestBulkReports:
    async def test_a_finished_circle_is_marked_all_present_in_one_request(
        self,
        client: TestClient,
        database: Database,
        clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Every verdict and charge follows its report, each report is audited with the
        one reason, and the session is decided again once for the whole batch."""
        ids = await seed_two_academies(database)
        await finish(client, clock, ids.circle, CIRCLE + timedelta(minutes=70))
        redecisions = []
        original = report_operations.redecide

        async def counted(*args: Any, **kwargs: Any) -> Any:
            redecisions.append(kwargs.get("details"))
            return await original(*args, **kwargs)

        monkeypatch.setattr(report_operations, "redecide", counted)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.circle}/reports",
            role="teacher_own",
            json=bulk(present(10), present(11, recitation_quality=8), present(12)),
        )
        assert 200 == status, body
        assert [
            (10, "present", "teacher_report"),
            (11, "present", "teacher_report"),
            (12, "present", "teacher_report"),
        ] == [
            (r["student_id"], r["verdict"]["attendance_status"], r["verdict"]["source"])
            for r in body["data"]
        ]
        assert (None, 8.0, 5) == (
            body["next_cursor"],
            body["data"][1]["recitation_quality"],
            body["data"][1]["reported_by"],
        )
        assert [{"student_ids": [10, 11, 12], "reason": "checked the recording"}] == redecisions
        assert [
            (10, "charged", "present", False),
            (11, "charged", "present", False),
            (12, "charged", "present", False),
        ] == await ledger_rows(database, ids.circle)
        _, history = await call(client, "GET", f"/v1/sessions/{ids.circle}/history")
        audited = [e for e in history["data"] if e["kind"] == "report"]
        assert [
            (10, "checked the recording", "absent", "present"),
            (11, "checked the recording", "absent", "present"),
            (12, "checked the recording", "absent", "present"),
        ] == sorted(
            (
                e["student_id"],
                e["reason"],
                e["before"]["attendance_status"],
                e["after"]["attendance_status"],
            )
            for e in audited
        )

    async def test_a_bad_entry_among_good_ones_is_named_and_nothing_is_written(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """All or nothing: each bad entry is named by its index and field, the good ones
        are not written either."""
        ids = await seed_two_academies(database)
        await finish(client, clock, ids.circle, CIRCLE + timedelta(minutes=70))
        before = await snapshot(database)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.circle}/reports",
            json=bulk(
                present(10),
                present(11, attendance_status="excused"),
                present(12, session_grade=9, participation_score=11),
            ),
        )
        assert 422 == status, body
        assert [
            "reports[1].attendance_status",
            "reports[2].participation_score",
            "reports[2].session_grade",
        ] == sorted(d["field"] for d in body["error"]["details"])
        assert "validation_failed" == body["error"]["code"]
        assert before == await snapshot(database)

    async def test_a_student_off_the_roster_or_named_twice_is_a_bad_entry(
        self, client: TestClient, database: Database
    ) -> None:
        """A student in the body, not the path: off the roster is a 422 naming the entry
        (not a 404), as is a second report on one student; nothing is written."""
        ids = await seed_two_academies(database)
        before = await snapshot(database)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.circle}/reports",
            json=bulk(present(10), present(13), present(10)),
        )
        assert 422 == status, body
        assert [
            {
                "field": "reports[1].student_id",
                "message": f"student 13 is not on the roster of session {ids.circle}",
            },
            {
                "field": "reports[2].student_id",
                "message": "student 10 is reported already in reports[0]",
            },
        ] == body["error"]["details"]
        assert before == await snapshot(database)

    async def test_a_cancelled_session_takes_no_reports(
        self, client: TestClient, database: Database
    ) -> None:
        """409 with the current status, as for one report."""
        ids = await seed_two_academies(database)
        await call(client, "POST", f"/v1/sessions/{ids.circle}/cancel", json={"reason": "x"})
        before = await snapshot(database)
        status, body = await call(
            client, "PUT", f"/v1/sessions/{ids.circle}/reports", json=bulk(present(10))
        )
        assert (409, "cancelled") == (status, body["error"]["details"]["current_status"])
        assert before == await snapshot(database)

    @pytest.mark.parametrize(
        ("role", "expected"),
        [("student_on", 403), ("teacher_other", 403), ("admin_b", 404), ("admin_a", 200)],
    )
    async def test_rights_are_those_of_one_report(
        self, client: TestClient, database: Database, role: str, expected: int
    ) -> None:
        """A student may not report, nor another teacher; another academy's admin does
        not see the session; the academy's admin may."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client, "PUT", f"/v1/sessions/{ids.circle}/reports", role=role, json=bulk(present(10))
        )
        assert expected == status, body

    async def test_a_live_session_keeps_its_status_and_charges_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """Before the end the reports are stored and win the verdicts, nothing is charged."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.circle}/reports",
            json=bulk(present(10), {"student_id": 11, "attendance_status": "late"}),
        )
        assert (200, ["ready", "ready"], ["present", "late"]) == (
            status,
            [r["session_status"] for r in body["data"]],
            [r["verdict"]["attendance_status"] for r in body["data"]],
        )
        assert [] == await ledger_rows(database, ids.circle)

    async def test_a_finished_individual_session_follows_its_student_once(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """COMPLETED -> ABSENT by a bulk report: one transition, noted with the batch's
        students and reason, and the one ledger row rewritten in place."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=60))
        await presence(database, ids.ready, 10, S, S + timedelta(minutes=60))
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports",
            json=bulk({"student_id": 10, "attendance_status": "absent"}, reason="a sibling"),
        )
        assert (200, "absent") == (status, body["data"][0]["session_status"])
        assert [(10, "charged", "absent", False)] == await ledger_rows(database, ids.ready)
        _, history = await call(client, "GET", f"/v1/sessions/{ids.ready}/history")
        moves = [e for e in history["data"] if e["kind"] == "transition"][-1:]
        assert [("completed", "absent", {"student_ids": [10], "reason": "a sibling"})] == [
            (e["before"]["status"], e["after"]["status"], e["details"]) for e in moves
        ]
