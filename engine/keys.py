"""Typed application keys: every long-lived resource the app holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from engine.settings import Settings
from store.db import Database

Clock = Callable[[], datetime]

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
# The LiveKit RoomService gateway (scheduler.rooms.RoomGateway) and the background
# sweeper, set in the app's cleanup_ctx (typed loosely: engine.sweeps owns them).
ROOMS: web.AppKey[Any] = web.AppKey("rooms")
SWEEPER: web.AppKey[Any] = web.AppKey("sweeper")
