"""Credentials of the app under test, its settings, and tokens as the platform would sign
them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient

from engine.settings import Settings

SERVICE_TOKEN = "service-token-for-tests-0123456789abcdef"
JWT_SECRET = "jwt-secret-for-tests-0123456789abcdef0123"
LIVEKIT_KEY = "APItestkey"
LIVEKIT_SECRET = "livekit-secret-for-tests-0123456789abcdef"


def app_settings(database_url: str) -> Settings:
    """Settings of an app under test: these secrets, the database, no .env file."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings' own init argument
        database_url=database_url,
        service_token=SERVICE_TOKEN,
        jwt_secret=JWT_SECRET,
        livekit_api_key=LIVEKIT_KEY,
        livekit_api_secret=LIVEKIT_SECRET,
        allow_as_of=True,
        log_format="json",
        sweeper_enabled=False,  # tests sweep by calling tick() with the ManualClock's time
        notify_enabled=False,  # tests deliver with Notifier.deliver_due(), or turn it on
    )


def user_token(
    user_id: int, role: str, academy_id: int, *, ttl: timedelta = timedelta(hours=1)
) -> str:
    """A platform user's JWT as the main platform would sign it."""
    claims = {
        "sub": str(user_id),
        "role": role,
        "academy_id": academy_id,
        "exp": datetime.now(UTC) + ttl,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def auth(token: str = SERVICE_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(
    client: TestClient[web.Request, web.Application],
    method: str,
    path: str,
    *,
    token: str | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    """One JSON request with `token` (the service's by default): status and body."""
    response = await client.request(method, path, headers=auth(token or SERVICE_TOKEN), **kwargs)
    return response.status, await response.json()
