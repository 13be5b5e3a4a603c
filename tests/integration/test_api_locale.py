"""No English reaches an Arabic academy's attendance answer (issue 15 item 3): not even
from a verdict written before explanation codes were kept, whose stored line is English."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from store.database import Database
from store.schema import StoredVerdict
from tests.integration.api_world import call, presence, seed_two_academies
from tests.integration.attendance_world import S, finish
from tests.support.clock import ManualClock

LATIN = re.compile("[A-Za-z]")


async def _written_before_codes(database: Database, session_id: int, *, kept: bool) -> None:
    """The student's verdict as an early release wrote it: `partial` with an English line
    and no code (the meeting says otherwise, so no code can be recomputed for it); its
    kept answer without the codes, or none at all."""
    async with database.uow() as uow:
        row = await uow.session.scalar(
            select(StoredVerdict).where(
                StoredVerdict.session_id == session_id, StoredVerdict.role == "student"
            )
        )
        assert row is not None and row.snapshot is not None
        old = {k: v for k, v in row.snapshot.items() if k != "explanation_code"}
        await uow.session.execute(
            update(StoredVerdict)
            .where(StoredVerdict.session_id == session_id, StoredVerdict.role == "student")
            .values(
                status="partial",
                explanation="partial: 40 of 60 min, joined at start",
                snapshot=old if kept else None,
            )
        )
        await uow.commit()


class TestArabicOnly:
    @pytest.mark.parametrize("kept", [True, False], ids=["kept", "assessed"])
    async def test_a_verdict_written_before_codes_reads_arabic(
        self, client: TestClient, database: Database, clock: ManualClock, kept: bool
    ) -> None:
        """Its explanation is the status in Arabic; its engagement says nothing English."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 10, S, S + timedelta(minutes=60))
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        await _written_before_codes(database, ids.ready, kept=kept)

        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")

        (student,) = body["students"]
        assert "حضور جزئي" == student["explanation"]
        assert not LATIN.search(student["engagement_explanation"])
