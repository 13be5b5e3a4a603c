"""What the ingest benchmark (`bench.ingest`) stands on: the bare aiohttp handler it
compares with, the seeded world, and signed LiveKit events one lesson at a time."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import aiohttp
from aiohttp import web
from google.protobuf import json_format
from livekit.api import AccessToken
from livekit.protocol import models, webhook

PATH = "/webhooks/livekit"
TEACHER = 5
STUDENTS = (10, 11, 12)


# --- the bare handler (runs in its own process) ------------------------------


async def _bare(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"status": "accepted"})


async def _bare_health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def serve_bare(port: int) -> None:
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(PATH, _bare)
    app.router.add_get("/healthz", _bare_health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- set-up ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(url: str, sessions: int, starts_at: datetime, *, wipe: bool = False) -> list[str]:
    """Migrate, then one academy, a teacher, students and `sessions` scheduled circles.
    `wipe`: a PostgreSQL database is emptied first (DROP SCHEMA public)."""
    from rules.codes import SessionType
    from rules.lifecycle import Status
    from rules.settings import RuleSettings
    from store.database import Database

    if wipe and url.startswith("postgresql"):
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()
    database = Database(url)
    try:
        await database.migrate()
        async with database.uow() as uow:
            now = starts_at - timedelta(hours=1)
            await uow.academies.upsert(1, now=now, name="Bench", timezone="UTC", locale="en")
            for user_id, role in [(TEACHER, "teacher")] + [(s, "student") for s in STUDENTS]:
                await uow.users.upsert(
                    user_id, now=now, academy_id=1, role=role, name=f"U{user_id}", email=None
                )
            codes = []
            for _ in range(sessions):
                session = await uow.sessions.create(
                    academy_id=1,
                    session_type=SessionType.QURAN_CIRCLE,
                    title="Bench",
                    duration_minutes=60,
                    teacher_id=TEACHER,
                    student_ids=STUDENTS,
                    now=now,
                    status=Status.SCHEDULED.value,
                    scheduled_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=60),
                    settings=RuleSettings().to_dict(),
                )
                codes.append(session.session_code)
            await uow.commit()
        return codes
    finally:
        await database.dispose()


class Exits(Protocol):
    """What waiting for a server needs of its process: whether it has exited."""

    returncode: int | None

    def poll(self) -> int | None: ...


async def wait_ready(session: aiohttp.ClientSession, base: str, process: Exits) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server at {base} exited with {process.returncode}")
        try:
            async with session.get(base + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"server at {base} not ready after 30 s")


# --- load ---------------------------------------------------------------------------


@dataclass
class Rooms:
    """Hands out room names, each for one lesson's worth of events."""

    codes: list[str]
    used: int = 0

    def take(self) -> str:
        code = self.codes[self.used]
        self.used += 1
        return code


def lesson(room: str, count: int, start: datetime, tag: str) -> list[bytes]:
    """`count` distinct events of one lesson in `room`: join/leave pairs of the
    teacher and students, each reconnect under a new sid."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    people = [str(TEACHER)] + [f"{s}_bench" for s in STUDENTS]
    bodies = []
    for n in range(count):
        person = people[(n // 2) % len(people)]
        sid = f"PA_{tag}_{n // 2}"
        joined_at = start + timedelta(seconds=30 * (n // 2))
        event = webhook.WebhookEvent(id=f"EV_{tag}_{n}", event="participant_joined")
        event.room.sid = "RM_" + tag
        event.room.name = room
        participant = models.ParticipantInfo(
            sid=sid, identity=person, state=models.ParticipantInfo.State.ACTIVE, version=2
        )
        participant.joined_at = int((joined_at - epoch).total_seconds())
        participant.joined_at_ms = int((joined_at - epoch) / timedelta(milliseconds=1))
        if n % 2:
            event.event = "participant_left"
            participant.state = models.ParticipantInfo.State.DISCONNECTED
            event.created_at = participant.joined_at + 600
        else:
            event.created_at = participant.joined_at + 1
        event.participant.CopyFrom(participant)
        data = json_format.MessageToDict(event)
        bodies.append(json.dumps(data, separators=(",", ":")).encode())
    return bodies


def signed(
    bodies: list[bytes], key: str, secret: str, ttl: timedelta = timedelta(minutes=5)
) -> list[tuple[bytes, str]]:
    """Each body with the token LiveKit sends with it (HS256, iss, sha256 claim)."""
    out = []
    for body in bodies:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        token = AccessToken(key, secret).with_sha256(digest).with_ttl(ttl)
        out.append((body, token.to_jwt()))
    return out


def signed_for(bodies: list[bytes], key: str, secret: str) -> list[tuple[bytes, str]]:
    """Signed to stay valid through a long benchmark run (LiveKit's own last 5 min)."""
    return signed(bodies, key, secret, ttl=timedelta(minutes=60))


def wait_ready_blocking(base: str, process: subprocess.Popen[bytes], bound: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server at {base} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {base} not ready after {bound} s")


if __name__ == "__main__":  # python -m bench.support PORT: the bare handler
    import sys

    serve_bare(int(sys.argv[1]))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, printed beside every figure."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
