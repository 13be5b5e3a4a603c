"""The envelope the endpoint reads of a verified body (webhooks.envelope)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from webhooks.envelope import read_envelope

_LAST_SECOND = 253_402_300_799  # 9999-12-31 23:59:59 UTC


def _body(created_at: object) -> bytes:
    return json.dumps({"id": "EV_1", "event": "room_started", "createdAt": created_at}).encode()


@given(st.integers(min_value=-(2**70), max_value=2**70), st.booleans())
@example(0, False)
@example(1, True)
@example(_LAST_SECOND, False)
@example(_LAST_SECOND + 1, True)
def test_created_at_is_the_second_it_names_or_none(seconds: int, as_text: bool) -> None:
    """LiveKit's `createdAt` (seconds since the epoch, a number or its text) is that
    moment when it is one a datetime can hold after the epoch, and nothing otherwise."""
    envelope = read_envelope(_body(str(seconds) if as_text else seconds))
    expected = None
    if 0 < seconds <= _LAST_SECOND:
        expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    assert expected == envelope.created_at
