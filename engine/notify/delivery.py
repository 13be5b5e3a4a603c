"""One signed POST of an outbox message (CONTRACT 6, Standard Webhooks).

The body is `{"type", "timestamp", "data"}` as written in the outbox; the headers
are `webhook-id` (the message's, the same on every retry), `webhook-timestamp`
(Unix seconds, the moment of this attempt) and `webhook-signature`, made by the
`standardwebhooks` reference library. Only a 2xx answer delivers; at most
`max_body` bytes of any answer are read, and redirects are not followed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from standardwebhooks import Webhook

CONTENT_TYPE = "application/json"
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "hudur-notify/1"


def body_of(payload: dict[str, Any]) -> bytes:
    """The message's bytes, the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, message_id: str, body: bytes, *, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of `body` sent at `at`."""
    return {
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None  # None: no answer (refused, reset, timed out)
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(
    client: aiohttp.ClientSession,
    url: str,
    *,
    secret: str,
    message_id: str,
    payload: dict[str, Any],
    limit_seconds: float,
    max_body: int = MAX_ANSWER_BYTES,
    wall: Any = None,
) -> Outcome:
    """POST the message once; its outcome (never raises for the receiver's faults)."""
    body = body_of(payload)
    moment = wall() if wall is not None else datetime.now(UTC)
    headers = signed_headers(secret, message_id, body, at=moment)
    started = time.perf_counter()
    try:
        async with client.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=limit_seconds),
        ) as response:
            await response.content.read(max_body)
            status = response.status
        error = None if 200 <= status < 300 else f"answered {status}"
        return Outcome(status, error, time.perf_counter() - started)
    except TimeoutError:
        return Outcome(None, f"no answer within {limit_seconds:g} s", time.perf_counter() - started)
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], time.perf_counter() - started)
