"""The history of a session played ahead of the service's clock, in time order.

A simulated day (or a replay) moves its sessions with `as_of` sweeps, so their
transitions carry the sweeps' times, ahead of the service's own clock; the teacher's
report that follows must not be dated before the lesson it corrects.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import call, presence, seed_two_academies
from tests.integration.attendance_world import S, report
from tests.support.clock import ManualClock


class TestHistoryOfADayPlayedAhead:
    async def test_a_report_after_as_of_sweeps_follows_the_lessons_transitions(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The sweeps finish the lesson "as of" its end while the clock stays before it;
        the report made afterwards comes after the lesson's transitions, the move it
        caused after it, and no entry is older than the one before it."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=60))
        clock.set(S - timedelta(hours=3))  # the service's clock, behind the played day
        for minutes in (1, 75):
            status, _ = await call(
                client,
                "POST",
                "/v1/sweeps",
                json={"as_of": (S + timedelta(minutes=minutes)).isoformat()},
            )
            assert 200 == status
        status, _ = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            role="teacher_own",
            json=report(attendance_status="present", reason="was there by phone"),
        )
        assert 200 == status
        _, history = await call(client, "GET", f"/v1/sessions/{ids.ready}/history")
        entries = [(e["kind"], e["event"], e["at"]) for e in history["data"]]
        assert [
            ("transition", "schedule"),
            ("transition", "prepare"),
            ("transition", "mark_absent"),  # the sweep "as of" the lesson's end
            ("report", None),
            ("transition", "report_present"),  # the move the report caused
        ] == [(kind, event) for kind, event, _ in entries]
        times = [at for _, _, at in entries]
        assert sorted(times) == times
