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


async def test_stopping_while_a_batch_forms_answers_its_requests(database: Database) -> None:
    """A writer stopped while it waits out a pass of the loop leaves no request of the
    batch it holds waiting for an answer: each is cancelled (the server is stopping)."""
    writer = GroupWriter(lambda: database)
    request = asyncio.create_task(writer.append(_event(1)))
    await asyncio.sleep(0)  # the request queues its event and starts the writer
    await asyncio.sleep(0)  # the writer takes it and waits out a pass of the loop
    await writer.stop()
    done, _ = await asyncio.wait({request}, timeout=5)
    assert {request} == done
    assert request.cancelled()
