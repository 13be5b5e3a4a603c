"""Attendance report benchmark: a 100 000-session CSV from `hudur serve`, in flat memory.

    .venv/bin/python -m bench.report [--sessions 100000] [--baseline 1000]

Bulk-inserts `sessions` finished lessons (a fifth of them circles of three, a third
with intervals of the teacher and the first student) into a fresh SQLite file, starts
`hudur serve` on it (a subprocess on a free loopback port, sweeper idle), and streams
`GET /v1/attendance?format=csv` twice: first over the first `baseline` sessions only (a
`to` window), then over all of them. While each streams, the server's resident memory
(VmRSS from /proc/<pid>/status) is sampled every 20 ms; the client counts rows and
bytes as they arrive and keeps none. Printed: rows, MB, seconds, rows/s, the server's
RSS before, its peak during each stream, and VmHWM (the kernel's own high-water mark).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.support import free_port, wait_ready
from rules.lifecycle import Status
from store.database import Database
from tests.support.bulk import insert_intervals, insert_world, session_row

TOKEN = "bench-service-token-0123456789abcdef"
FIRST = datetime(2025, 1, 1, 8, tzinfo=UTC)
TEACHERS = 200
STUDENTS = 2000
RSS_LIMIT_MB = 200


@dataclass
class Stream:
    label: str
    rows: int
    megabytes: float
    seconds: float
    rss_before_mb: float
    rss_peak_mb: float


def _start(n: int) -> datetime:
    # Ten lessons an hour, so any prefix of the sessions is a `to` window.
    return FIRST + timedelta(minutes=6 * n)


async def _seed(url: str, total: int) -> None:
    database = Database(url)
    try:
        await database.migrate()
        sessions, roster, intervals = [], [], []
        for n in range(1, total + 1):
            circle = n % 5 == 0
            teacher = 1 + n % TEACHERS
            start = _start(n)
            sessions.append(
                session_row(
                    code=f"QSE-1-{n:06d}",
                    status=Status.COMPLETED if n % 7 else Status.ABSENT,
                    start=start,
                    teacher_id=teacher,
                    created=FIRST - timedelta(days=1),
                    session_type="quran_circle" if circle else "quran_individual",
                    session_id=n,
                )
            )
            students = [10_000 + (n * 3 + k) % STUDENTS for k in range(3 if circle else 1)]
            roster += [{"session_id": n, "student_id": s} for s in students]
            if n % 3 == 0:
                for who in (teacher, students[0]):
                    intervals.append(
                        {
                            "session_id": n,
                            "participant_sid": f"PA_{n}_{who}",
                            "identity": str(who),
                            "user_id": who,
                            "room_sid": f"RM_{n}",
                            "joined_at": start + timedelta(minutes=n % 20),
                            "left_at": start + timedelta(minutes=55),
                            "decisive": True,
                        }
                    )
        await insert_world(
            database,
            created=FIRST - timedelta(days=1),
            teachers=range(1, TEACHERS + 1),
            students=range(10_000, 10_000 + STUDENTS),
            sessions=sessions,
            roster=roster,
            evidence=[],
        )
        await insert_intervals(database, intervals)
    finally:
        await database.dispose()


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


async def _stream(
    http: aiohttp.ClientSession, base: str, pid: int, label: str, query: str
) -> Stream:
    before = _rss_mb(pid)
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_mb(pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.02)

    sampler = asyncio.create_task(sample())
    rows = size = 0
    started = time.perf_counter()
    try:
        async with http.get(
            f"{base}/v1/attendance?format=csv{query}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=aiohttp.ClientTimeout(total=3600),
        ) as response:
            assert 200 == response.status, await response.text()
            async for chunk in response.content.iter_chunked(1 << 16):
                size += len(chunk)
                rows += chunk.count(b"\r\n")
    finally:
        done.set()
        await sampler
    seconds = time.perf_counter() - started
    return Stream(label, rows - 1, size / 1e6, seconds, before, max(peak, _rss_mb(pid)))


async def _measure(base: str, pid: int, baseline: int) -> list[Stream]:
    async with aiohttp.ClientSession() as http:
        await wait_ready(http, base, _Process(pid))
        window = "&to=" + _start(baseline + 1).isoformat().replace("+00:00", "Z")
        small = await _stream(http, base, pid, f"first {baseline:,} sessions", window)
        whole = await _stream(http, base, pid, "all sessions", "")
    return [small, whole]


class _Process:
    """Enough of Popen for `wait_ready`: whether the server has exited."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return None if Path(f"/proc/{self.pid}").exists() else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    args = parser.parse_args(argv)
    print(f"bench.report: CSV of {args.sessions:,} sessions from `hudur serve` (SQLite)")
    print(f"machine: {os.cpu_count()} CPUs, load average {_load()}")
    with tempfile.TemporaryDirectory(prefix="hudur-report-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'hudur.db'}"
        started = time.perf_counter()
        asyncio.run(_seed(url, args.sessions))
        print(f"seeded in {time.perf_counter() - started:.1f} s")
        port = free_port()
        env = {
            **os.environ,
            "HUDUR_DATABASE_URL": url,
            "HUDUR_HOST": "127.0.0.1",
            "HUDUR_PORT": str(port),
            "HUDUR_SERVICE_TOKEN": TOKEN,
            "HUDUR_LOG_FORMAT": "json",
            "HUDUR_SWEEPER_ENABLED": "false",
        }
        env.pop("HUDUR_LIVEKIT_URL", None)
        with open(Path(tmp) / "serve.log", "wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", "serve"],
                env=env,
                cwd=tmp,
                stdout=log,
                stderr=log,
            )
            try:
                streams = asyncio.run(
                    _measure(f"http://127.0.0.1:{port}", server.pid, args.baseline)
                )
                hwm = _rss_mb(server.pid, "VmHWM")
            finally:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
    print("| stream | rows | MB | s | rows/s | server RSS before MB | server RSS peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in streams:
        print(
            f"| {s.label} | {s.rows:,} | {s.megabytes:.1f} | {s.seconds:.1f} | "
            f"{s.rows / s.seconds:,.0f} | {s.rss_before_mb:.1f} | {s.rss_peak_mb:.1f} |"
        )
    print(f"server VmHWM (peak RSS of the whole run): {hwm:.1f} MB (limit {RSS_LIMIT_MB} MB)")
    print(f"machine: load average {_load()} at the end")
    return 0 if hwm < RSS_LIMIT_MB else 1


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
