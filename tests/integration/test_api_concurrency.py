"""Session codes under concurrent creation over HTTP."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import call, seed_two_academies

N = 200


class TestConcurrentCreation:
    async def test_200_sessions_created_at_once_get_200_distinct_gap_free_codes(
        self, client: TestClient, database: Database
    ) -> None:
        """Codes are unique, never skipped, and every request succeeds (CONTRACT 1)."""
        await seed_two_academies(database)
        body = {
            "academy_id": 1,
            "type": "academic_individual",
            "title": "Arithmetic",
            "duration_minutes": 30,
            "teacher_id": 5,
            "student_id": 10,
        }
        answers = await asyncio.gather(
            *(call(client, "POST", "/v1/sessions", json=body) for _ in range(N))
        )
        assert [201] * N == [status for status, _ in answers]
        codes = sorted(answer["session_code"] for _, answer in answers)
        assert [f"ASE-1-{seq:06d}" for seq in range(1, N + 1)] == codes
        assert N == len({answer["id"] for _, answer in answers})
