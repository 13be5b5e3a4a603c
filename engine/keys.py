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
CLOCK = web.AppKey("clock", Callable[[], datetime])  # type: ignore[arg-type]
# The LiveKit RoomService gateway (scheduler.rooms.RoomGateway), set by the app factory.
ROOMS = web.AppKey("rooms", Any)  # type: ignore[arg-type]
SWEEPER = web.AppKey("sweeper", Any)  # type: ignore[arg-type]
