"""The intake's group commit (webhooks/writer.py): how requests share a transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from structlog.testing import capture_logs

from store.database import Database
from store.repositories.inbox import NewEvent
from webhooks.writer import GroupWriter

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def _event(n: int) -> NewEvent:
    return NewEvent(
        event_id=f"EV_{n}",
        event="participant_joined",
        room_name="QSE-1-000001",
        room_sid="RM_1",
        occurred_at=NOW,
        received_at=NOW,
        body=b"{}",
    )


async def test_requests_read_while_a_batch_forms_share_its_commit(database: Database) -> None:
    """Requests whose bodies the loop reads over a few passes (as it does for the
    connections answered by the previous commit) are committed together: one fsync
    for all of them, not one for each pass."""
    writer = GroupWriter(lambda: database)

    async def request(n: int) -> str:
        for _ in range(n % 4):  # read n % 4 passes of the loop after the first
            await asyncio.sleep(0)
        return await writer.append(_event(n))

    try:
        with capture_logs() as logs:
            answers = await asyncio.gather(*(request(n) for n in range(12)))
    finally:
        await writer.stop()
    assert ["accepted"] * 12 == answers
    assert [12] == [line["events"] for line in logs if line["event"] == "inbox_commit"]
