"""Hand-set charges and the metrics they count, over HTTP."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from rules.lifecycle import Status
from store.database import Database
from store.schema import Charge
from tests.integration.api_world import call, make_session, seed_two_academies
from tests.integration.attendance_world import S, finish, ledger_rows, report
from tests.support.clock import ManualClock


class TestCharges:
    async def test_a_hand_set_waiver_updates_the_one_row_and_is_audited(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """`counts: false` waives the charged session in place; history keeps before and after."""
        ids = await seed_two_academies(database)
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/charges/10",
            role="admin_a",
            json={"counts": False, "reason": "internet outage in the area"},
        )
        assert 200 == status
        assert ("waived", "hand_set", None, True, "absent") == (
            body["status"],
            body["reason"],
            body["subscription_id"],
            body["hand_set"],
            body["verdict"],
        )
        assert [(10, "waived", "hand_set", True)] == await ledger_rows(database, ids.ready)
        _, history = await call(client, "GET", f"/v1/sessions/{ids.ready}/history")
        charge = next(e for e in history["data"] if e["kind"] == "charge")
        assert ("user:1", "internet outage in the area", 10) == (
            charge["actor"],
            charge["reason"],
            charge["student_id"],
        )
        assert ("charged", "waived") == (charge["before"]["status"], charge["after"]["status"])
        _, sub = await call(client, "GET", "/v1/subscriptions/110")
        assert 0 == sub["used_sessions"]

    async def test_the_rules_never_change_a_hand_set_row(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A charge set before the end survives completion and later reports."""
        ids = await seed_two_academies(database)
        status, _ = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/charges/10",
            json={"counts": False, "reason": "trial lesson"},
        )
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            json=report(attendance_status="present"),
        )
        assert 200 == status
        assert [(10, "waived", "hand_set", True)] == await ledger_rows(database, ids.ready)

    async def test_counting_without_a_subscription_is_unbilled(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Student 13 has no subscription: the counted session is `unbilled`."""
        await seed_two_academies(database)
        async with database.uow() as uow:
            session = await make_session(uow, starts_at=S, status=Status.READY, students=(13,))
            await uow.commit()
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{session.id}/charges/13",
            json={"counts": True, "reason": "late cancellation"},
        )
        assert (200, "unbilled", None) == (status, body["status"], body["subscription_id"])

    async def test_counting_charges_the_subscription_that_ends_first(
        self, client: TestClient, database: Database
    ) -> None:
        """The student's active Quran package ending first is used."""
        ids = await seed_two_academies(database)
        await call(
            client,
            "PUT",
            "/v1/subscriptions/301",
            json={
                "student_id": 10,
                "academy_id": 1,
                "kind": "quran",
                "total_sessions": 4,
                "starts_at": "2025-11-01T00:00:00Z",
                "ends_at": "2025-12-15T00:00:00Z",
            },
        )
        _, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/charges/10",
            json={"counts": True, "reason": "make-up agreed"},
        )
        assert ("charged", 301) == (body["status"], body["subscription_id"])

    async def test_a_cancelled_session_is_never_charged_by_hand_either(
        self, client: TestClient, database: Database
    ) -> None:
        """CONTRACT 4.4: CANCELLED never charges."""
        ids = await seed_two_academies(database)
        await call(client, "POST", f"/v1/sessions/{ids.ready}/cancel", json={"reason": "x"})
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/charges/10",
            json={"counts": True, "reason": "y"},
        )
        assert (409, "cancelled") == (status, body["error"]["details"]["current_status"])

    async def test_counts_must_be_a_boolean_and_the_reason_given(
        self, client: TestClient, database: Database
    ) -> None:
        """`"yes"` is no boolean; a hand-set charge always says why."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client, "PUT", f"/v1/sessions/{ids.ready}/charges/10", json={"counts": "yes"}
        )
        assert (422, {"counts", "reason"}) == (
            status,
            {d["field"] for d in body["error"]["details"]},
        )
        async with database.uow() as uow:
            count = await uow.session.scalar(select(func.count()).select_from(Charge))
            assert 0 == count


class TestMetrics:
    async def test_metrics_expose_the_transition_counters(
        self, client: TestClient, database: Database
    ) -> None:
        """Prometheus text format, with what the store counts."""
        ids = await seed_two_academies(database)
        await call(client, "POST", f"/v1/sessions/{ids.ready}/cancel", json={"reason": "x"})
        response = await client.get("/metrics")
        text = await response.text()
        assert (200, "text/plain") == (response.status, response.content_type)
        assert 'hudur_session_transitions_total{from_status="ready",to_status="cancelled"}' in text
