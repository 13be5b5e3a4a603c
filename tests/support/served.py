"""`hudur serve` as a real process: started on a free port (HUDUR_PORT=0, the port
read from its `serving` log line), killed with SIGKILL or stopped with SIGTERM, its
log lines kept for the test to read."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET, SERVICE_TOKEN

STARTUP_SECONDS = 60.0


class Served:
    def __init__(self, process: asyncio.subprocess.Process, lines: list[str]) -> None:
        self.process = process
        self.lines = lines  # every log line so far, this run's and earlier runs'
        self.port = 0
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    async def start(
        cls, database_url: str, *, env: Mapping[str, str] = {}, lines: list[str] | None = None
    ) -> Served:
        """Start `hudur serve` and return once it listens."""
        environment = {
            **os.environ,
            "HUDUR_DATABASE_URL": database_url,
            "HUDUR_HOST": "127.0.0.1",
            "HUDUR_PORT": "0",
            "HUDUR_SERVICE_TOKEN": SERVICE_TOKEN,
            "HUDUR_LIVEKIT_API_KEY": LIVEKIT_KEY,
            "HUDUR_LIVEKIT_API_SECRET": LIVEKIT_SECRET,
            "HUDUR_LOG_FORMAT": "json",
            **env,
        }
        environment.pop("HUDUR_LIVEKIT_URL", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "engine.cli",
            "serve",
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        served = cls(process, [] if lines is None else lines)
        served.port = await asyncio.wait_for(served._until_serving(), STARTUP_SECONDS)
        served._reader = asyncio.create_task(served._read_rest())
        return served

    async def _until_serving(self) -> int:
        assert self.process.stderr is not None
        while line := (await self.process.stderr.readline()).decode():
            self.lines.append(line)
            entry = _parsed(line)
            if entry.get("event") == "serving":
                return int(entry["port"])
        raise RuntimeError("hudur serve ended before serving:\n" + "".join(self.lines[-20:]))

    async def _read_rest(self) -> None:
        assert self.process.stderr is not None
        while line := (await self.process.stderr.readline()).decode():
            self.lines.append(line)

    async def kill(self) -> None:
        """SIGKILL: no cleanup, no last commit, as a crash."""
        self.process.send_signal(signal.SIGKILL)
        await self._ended()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
        await self._ended()

    async def _ended(self) -> None:
        await self.process.wait()
        if self._reader is not None:
            await self._reader

    def entries(self) -> list[dict[str, Any]]:
        return [e for line in self.lines if (e := _parsed(line))]


def _parsed(line: str) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except ValueError:
        return {}
    return entry if isinstance(entry, dict) else {}
