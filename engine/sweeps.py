"""`POST /v1/sweeps`: one sweep now, for the platform (service token only).

Body optional: `{"as_of": "2025-12-01T11:10:00Z"}` sweeps as of that time, which
only a service with HUDUR_ALLOW_AS_OF=true accepts (tests and replays); else 403.
`{"academy_id": 7}` sweeps that academy only (CONTRACT 5): a replay's `as_of` then
cannot move, mark absent or charge another academy's lessons.
Answers `{"transitions": [{"session_id", "session_code", "from", "to", "at"}, ...]}`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from engine.api import http
from engine.api.types import MAX_ID, utc_moment
from engine.fresh_reads import PROJECTOR
from engine.keys import CLOCK, DATABASE, ROOMS, SETTINGS, SWEEPER
from engine.projector import Projector
from engine.settings import Settings
from engine.wire import iso_z
from rules.errors import BadRequest, Forbidden, ValidationFailed
from scheduler.loop import Sweeper
from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from store.database import Database

log = structlog.get_logger("hudur.sweeps")


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time with a zone (`...Z` or `+00:00`), as aware UTC; ValueError else."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time string")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("must carry a time zone, e.g. 2025-12-01T10:00:00Z")
    return utc_moment(moment)


def parse_academy(value: Any) -> int:
    """An academy id: a JSON integer from 1 up; ValueError else."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValueError("must be a positive integer")
    return value


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


async def post_sweeps(request: web.Request) -> web.Response:
    body = await _body(request)
    unknown = sorted(set(body) - {"as_of", "academy_id"})
    if unknown:
        raise ValidationFailed(
            "unknown fields", details={name: "unknown field" for name in unknown}
        )
    now = http.now(request)
    if body.get("as_of") is not None:
        if not request.app[SETTINGS].allow_as_of:
            raise Forbidden("as_of is only accepted where HUDUR_ALLOW_AS_OF is true")
        try:
            now = parse_time(body["as_of"])
        except ValueError as exc:
            raise ValidationFailed("invalid as_of", details={"as_of": str(exc)}) from exc
    academy_id = None
    if body.get("academy_id") is not None:
        try:
            academy_id = parse_academy(body["academy_id"])
        except ValueError as exc:
            raise ValidationFailed("invalid academy_id", details={"academy_id": str(exc)}) from exc
    reports = await tick(
        http.database(request), now, rooms=request.app[ROOMS], academy_id=academy_id
    )
    return web.json_response({"transitions": [r.as_dict() for r in reports]})


async def run_sweep(
    settings: Settings, as_of: str | None, academy_id: int | None = None
) -> list[str]:
    """`hudur sweep [--as-of TIME] [--academy ID]`: one tick on the configured database
    (of one academy with `academy_id`), as lines to print (an operator's tool: `as_of`
    needs no HUDUR_ALLOW_AS_OF here)."""
    now = parse_time(as_of) if as_of else datetime.now(UTC)
    database = Database(settings.database_url)
    rooms = RoomGateway.from_settings(settings)
    try:
        projector = Projector(
            lambda: database, clock=lambda: datetime.now(UTC), allow_as_of=settings.allow_as_of
        )
        await projector.catch_up()
        reports = await tick(database, now, rooms=rooms, academy_id=academy_id)
    finally:
        await rooms.close()
        await database.dispose()
    lines = [
        f"{r.session_code} (session {r.session_id}): {r.from_status} -> {r.to_status}"
        f" at {iso_z(r.at)}"
        for r in reports
    ]
    scope = "" if academy_id is None else f" of academy {academy_id}"
    return [
        *lines,
        f"hudur: sweep{scope} as of {iso_z(now)} made {len(reports)} transition(s)",
    ]


async def rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    """The LiveKit RoomService gateway; its HTTP session is closed on cleanup."""
    rooms = RoomGateway.from_settings(app[SETTINGS])
    app[ROOMS] = rooms
    if not rooms.enabled:
        log.warning("livekit_url_unset", message="HUDUR_LIVEKIT_URL unset: room calls skipped")
    yield
    await rooms.close()


async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """The background sweeper of `hudur serve` (unless HUDUR_SWEEPER_ENABLED=false)."""
    settings = app[SETTINGS]
    if not settings.sweeper_enabled:
        yield
        return
    rooms = app[ROOMS]
    projector = app[PROJECTOR]

    async def fresh_tick(database: Database, now: datetime, **kwargs: Any) -> Any:
        await projector.catch_up()  # every sweep sees every acknowledged event
        return await tick(database, now, **kwargs)

    sweeper = Sweeper(
        app[DATABASE],
        rooms,
        clock=app[CLOCK],
        interval=settings.sweep_interval_seconds,
        run_tick=fresh_tick,
    )
    app[SWEEPER] = sweeper
    sweeper.start()
    yield
    await sweeper.stop()


def setup(app: web.Application) -> None:
    """Register the gateway and the sweeper (after the database's cleanup_ctx) and the route."""
    app.cleanup_ctx.append(rooms_ctx)
    app.cleanup_ctx.append(sweeper_ctx)
    app.router.add_post("/v1/sweeps", post_sweeps)
