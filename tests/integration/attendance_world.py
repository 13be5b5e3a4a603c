"""Shared by the attendance and charges API tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import START, call
from tests.support.clock import ManualClock

S = START + timedelta(hours=2)  # the READY individual session's start
CIRCLE = START + timedelta(hours=4)


async def ledger_rows(database: Database, session_id: int) -> list[tuple[int, str, str, bool]]:
    """The session's charges as (student, status, reason, hand_set), oldest first."""
    async with database.uow() as uow:
        rows = sorted((await uow.charges.for_session(session_id)).values(), key=lambda r: r.id)
        return [(r.student_id, r.status, r.reason, r.hand_set) for r in rows]


async def finish(client: TestClient, clock: ManualClock, session_id: int, at: datetime) -> dict:
    clock.set(at)
    status, body = await call(client, "POST", f"/v1/sessions/{session_id}/complete")
    assert 200 == status, body
    return body


def report(**changes: object) -> dict[str, object]:
    return {"attendance_status": None, "reason": "checked the recording", **changes}


def no_tracks(*, attended_seconds: int, of_seconds: int = 3600) -> dict[str, object]:
    """The engagement fields of an Arabic academy's student who published no track,
    in a session type without a score."""
    minutes = attended_seconds // 60
    return {
        "camera_seconds": 0,
        "microphone_seconds": 0,
        "screen_share_seconds": 0,
        "engagement_score": None,
        "engagement_explanation": "الكاميرا 0 دقيقة، الميكروفون 0 دقيقة،"
        f" مشاركة الشاشة 0 دقيقة من {minutes} دقيقة حضور",
        "engagement_explanation_code": {
            "code": "tracks",
            "camera_seconds": 0,
            "microphone_seconds": 0,
            "screen_share_seconds": 0,
            "attended_seconds": attended_seconds,
            "of_seconds": of_seconds,
        },
    }
