"""Webhooks signed as LiveKit signs them, posted as LiveKit posts them.

Tokens come from livekit-api's `AccessToken(...).with_sha256(...)` (bodies from
tests.support.livekit):

    response = await post_webhook(client, body)          # signed, bare token
    response = await post_webhook(client, body, bearer=True)
    response = await post_webhook(client, body, token="not-a-jwt")

Lower level: `body_hash`, `sign` (bytes -> JWT), `auth_headers`; `stored(database)`
counts what the webhook path wrote.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from livekit.api import AccessToken
from sqlalchemy import func, select

from engine.fresh_reads import PROJECTOR
from store.database import Database
from store.repositories.projection import spool_unmoved
from store.schema import Evidence, Interval, RoomOperation, Transition, WebhookEvent
from store.spool import SPOOLED
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET

PATH = "/webhooks/livekit"
CONTENT_TYPE = "application/webhook+json"


def body_hash(body: bytes) -> str:
    """Standard padded base64 of the SHA-256 of the body, as LiveKit puts in `sha256`."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def sign(
    body: bytes,
    *,
    key: str = LIVEKIT_KEY,
    secret: str = LIVEKIT_SECRET,
    ttl: timedelta = timedelta(minutes=5),
) -> str:
    """The JWT LiveKit sends with `body` (HS256, iss = key, sha256 = body hash)."""
    return AccessToken(key, secret).with_sha256(body_hash(body)).with_ttl(ttl).to_jwt()


def auth_headers(body: bytes, *, bearer: bool = False, token: str | None = None) -> dict[str, str]:
    """Content-Type and Authorization as LiveKit sends them (bare token by default)."""
    jwt = sign(body) if token is None else token
    return {
        "Content-Type": CONTENT_TYPE,
        "Authorization": f"Bearer {jwt}" if bearer else jwt,
    }


async def post_webhook(
    client: TestClient[web.Request, web.Application],
    body: bytes,
    *,
    bearer: bool = False,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    project: bool = True,
) -> ClientResponse:
    """POST `body` to the webhook endpoint, signed unless `token` or `headers` say
    otherwise; then bring the projection up to date (`project=False`: leave it to the
    projector), as any read through the API would, so a test may read the store."""
    sent = auth_headers(body, bearer=bearer, token=token) if headers is None else headers
    response = await client.post(PATH, data=body, headers=sent)
    if project and response.status == 200:
        await client.app[PROJECTOR].catch_up()
    return response


async def stored(database: Database) -> dict[str, int]:
    """How many rows the webhook path has written: inbox, evidence, intervals,
    status transitions and room operations."""
    tables = {
        "inbox": WebhookEvent,
        "evidence": Evidence,
        "intervals": Interval,
        "transitions": Transition,
        "room_operations": RoomOperation,
    }
    async with database.uow() as uow:
        counts = {
            name: int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in tables.items()
        }
        if database.spool is not None:  # acknowledged, still in SQLite's spool
            waiting = select(func.count()).select_from(SPOOLED).where(spool_unmoved())
            counts["inbox"] += int(await uow.session.scalar(waiting) or 0)
        return counts
