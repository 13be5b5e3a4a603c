"""Typed application keys: every long-lived resource the app holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from engine.settings import Settings
from scheduler.loop import Sweeper
from scheduler.rooms import RoomGateway
from store.database import Database

Clock = Callable[[], datetime]

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
# Set in the app's cleanup_ctx (engine.sweeps).
ROOMS = web.AppKey("rooms", RoomGateway)
SWEEPER = web.AppKey("sweeper", Sweeper)
