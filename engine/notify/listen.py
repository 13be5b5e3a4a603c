"""`hudur listen`: a receiver of Hudur's notifications for a newcomer's terminal,
Stripe-CLI style. It verifies each POST with the `standardwebhooks` reference
library and prints one line per message (or its whole JSON with `--json`); a POST
that does not verify is printed as rejected and answered 401.

    hudur listen                      # terminal 1: prints its URL and secret
    hudur simulate --notify URL       # terminal 2: the simulated day's messages arrive

Both take the same default secret, derived from HUDUR_SERVICE_TOKEN, so that the two
commands work together with nothing to copy; `--secret` names another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

DEFAULT_PORT = 8081


def default_secret(service_token: str) -> str:
    """The secret `listen` and `simulate --notify` share by default: 32 bytes derived
    from the service token (which never leaves this machine in it)."""
    raw = hmac.new(service_token.encode(), b"hudur listen", hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(raw).decode()


def summary(payload: dict[str, Any]) -> str:
    """One line about a message, for people."""
    kind, data = payload.get("type", "?"), payload.get("data") or {}
    if kind.startswith("session."):
        return f"{data.get('session_code')} {data.get('status')} (session {data.get('id')})"
    if kind == "attendance.finalized":
        verdicts = " ".join(
            f"{s.get('user_id')}:{s.get('attendance_status')}" for s in data.get("students", [])
        )
        return f"session {data.get('session_id')} {data.get('status')}: {verdicts}"
    if kind == "attendance.changed":
        before = (data.get("before") or {}).get("attendance_status")
        after = (data.get("after") or {}).get("attendance_status")
        return (
            f"session {data.get('session_id')} user {data.get('user_id')}: "
            f"{before} -> {after} by {data.get('by')} ({data.get('reason')})"
        )
    if kind == "charge.recorded":
        return (
            f"session {data.get('session_id')} student {data.get('student_id')}: "
            f"{data.get('status')} ({data.get('reason')})"
        )
    return json.dumps(data)[:200]


def listener_app(
    secret: str,
    out: TextIO,
    *,
    full: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> web.Application:
    """The receiver: any path, POST only."""
    webhook = Webhook(secret)
    seen: set[str] = set()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        moment = clock().strftime("%H:%M:%S")
        try:
            payload = webhook.verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            print(f"{moment}  rejected  {request.path}: {exc}", file=out, flush=True)
            return web.json_response({"error": "signature not verified"}, status=401)
        message_id = request.headers.get("webhook-id", "")
        again = " (again)" if message_id in seen else ""
        seen.add(message_id)
        if full:
            print(json.dumps({"webhook-id": message_id, **payload}), file=out, flush=True)
        else:
            print(
                f"{moment}  {payload.get('type', '?'):<21} {message_id}{again}  {summary(payload)}",
                file=out,
                flush=True,
            )
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    return app
