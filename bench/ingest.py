"""Webhook ingest benchmark: `hudur serve` on SQLite beside a bare aiohttp handler.

    python -m bench.ingest [--events 960] [--levels 1,4,16,64]

Starts two servers as subprocesses on loopback, each on a random free port:

* `hudur serve` (migrated SQLite in a temp dir, sessions seeded beforehand, the
  sweeper idle), doing everything a delivery costs: JWT + body hash, parse,
  insert-or-ignore in the inbox, evidence, interval recompute, start trigger, commit;
* a bare aiohttp POST handler that reads the body and answers `{"status":"accepted"}`.

One load generator (an aiohttp client in this process) posts the same kind of
signed, distinct LiveKit events to both, at rising concurrency. Each concurrent
worker plays its own rooms one event at a time, as LiveKit does (one queue per
room); a room gets about one lesson's worth of events (joins and leaves of the
teacher and students, reconnects included) before the worker moves to the next.
Prints events/s, p50/p99 latency and Hudur's share of the bare handler's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.support import PATH, Rooms, free_port, lesson, seed, serve_bare, signed, wait_ready

EVENTS_PER_ROOM = 20
LEVELS = (1, 4, 16, 64)
WARMUP = 40


@dataclass(frozen=True)
class Result:
    target: str
    concurrency: int
    events: int
    seconds: float
    latencies: list[float]
    failures: int
    cpu_seconds: float | None  # user + system time the server process spent

    @property
    def cpu_ms_per_event(self) -> str:
        return "" if self.cpu_seconds is None else f"{self.cpu_seconds / self.events * 1000:.2f}"

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_level(
    client: aiohttp.ClientSession,
    base: str,
    target: str,
    work: list[list[tuple[bytes, str]]],
    pid: int,
) -> Result:
    """Each worker posts its own events one at a time; all workers at once."""
    latencies: list[float] = []
    failures = 0

    async def worker(events: list[tuple[bytes, str]]) -> None:
        nonlocal failures
        for body, token in events:
            headers = {"Content-Type": "application/webhook+json", "Authorization": token}
            began = time.perf_counter()
            async with client.post(base + PATH, data=body, headers=headers) as response:
                answer = await response.read()
            latencies.append(time.perf_counter() - began)
            if response.status != 200 or b"accepted" not in answer:
                failures += 1

    cpu_before = cpu_seconds(pid)
    began = time.perf_counter()
    await asyncio.gather(*(worker(events) for events in work))
    elapsed = time.perf_counter() - began
    cpu_after = cpu_seconds(pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Result(target, len(work), len(latencies), elapsed, latencies, failures, cpu)


def plan(
    concurrency: int, events: int, rooms: Rooms, start: datetime, level_tag: str
) -> list[list[bytes]]:
    """The events of each worker: its rooms, a lesson of events each."""
    per_worker = max(1, events // concurrency)
    work = []
    for w in range(concurrency):
        bodies: list[bytes] = []
        while len(bodies) < per_worker:
            count = min(EVENTS_PER_ROOM, per_worker - len(bodies))
            room = rooms.take()
            bodies += lesson(room, count, start, f"{level_tag}w{w}r{rooms.used}")
        work.append(bodies)
    return work


def rooms_needed(events: int, levels: Sequence[int]) -> int:
    total = 1  # warm-up
    for c in levels:
        per_worker = max(1, events // c)
        total += c * -(-per_worker // EVENTS_PER_ROOM)
    return total


# --- main ----------------------------------------------------------------------------


def bench(events: int, levels: Sequence[int], database_url: str | None = None) -> list[Result]:
    """Seed, start both servers, load them, stop them."""
    key = "APIbench" + secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    start = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="hudur-bench-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'hudur.db'}"
        codes = asyncio.run(seed(url, rooms_needed(events, levels), start))
        hudur_port, bare_port = free_port(), free_port()
        env = {
            **os.environ,
            "HUDUR_DATABASE_URL": url,
            "HUDUR_HOST": "127.0.0.1",
            "HUDUR_PORT": str(hudur_port),
            "HUDUR_LIVEKIT_API_KEY": key,
            "HUDUR_LIVEKIT_API_SECRET": secret,
            "HUDUR_LOG_FORMAT": "json",
            "HUDUR_SWEEP_INTERVAL_SECONDS": "3600",
        }
        env.pop("HUDUR_LIVEKIT_URL", None)
        with open(Path(tmp) / "serve.log", "wb") as log:
            servers = [
                subprocess.Popen(
                    [sys.executable, "-m", "engine.cli", "serve"],
                    env=env,
                    cwd=tmp,
                    stdout=log,
                    stderr=log,
                ),
                subprocess.Popen(
                    [sys.executable, "-m", "bench.ingest", "--bare-port", str(bare_port)],
                    cwd=Path(__file__).resolve().parent.parent,
                ),
            ]
            targets = {
                "bare": (f"http://127.0.0.1:{bare_port}", servers[1]),
                "hudur": (f"http://127.0.0.1:{hudur_port}", servers[0]),
            }
            try:
                return asyncio.run(load(targets, events, levels, codes, start, key, secret))
            finally:
                for process in servers:
                    process.terminate()
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()


async def load(
    targets: dict[str, tuple[str, subprocess.Popen[bytes]]],
    events: int,
    levels: Sequence[int],
    codes: list[str],
    start: datetime,
    key: str,
    secret: str,
) -> list[Result]:
    """Warm both up, then each level against each target with the same events."""
    results = []
    connector = aiohttp.TCPConnector(limit=max(levels) + 8)
    async with aiohttp.ClientSession(connector=connector) as client:
        for base, process in targets.values():
            await wait_ready(client, base, process)
        rooms = Rooms(codes)
        run = secrets.token_hex(3)  # event ids unique across runs on a kept database
        warm = signed(lesson(rooms.take(), WARMUP, start, f"{run}warm"), key, secret)
        for target, (base, process) in targets.items():
            await run_level(client, base, target, [warm], process.pid)
        for level in levels:
            work = [
                signed(bodies, key, secret)
                for bodies in plan(level, events, rooms, start, f"{run}c{level}")
            ]
            for target, (base, process) in targets.items():
                results.append(await run_level(client, base, target, work, process.pid))
    return results


def report(results: list[Result], events: int, database: str, load: str) -> str:
    bare = {r.concurrency: r for r in results if r.target == "bare"}
    lines = [
        f"python {platform.python_version()}, {database}, {os.cpu_count()} CPUs, "
        f"{platform.machine()}, load average {load}; {events} signed distinct events per "
        f"run, {EVENTS_PER_ROOM} per room",
        "",
        "| target | concurrency | events | events/s | p50 ms | p99 ms | server CPU ms/event "
        "| failures | events/s vs bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        share = "" if r.target == "bare" else f"{r.rate / bare[r.concurrency].rate:.1%}"
        lines.append(
            f"| {r.target} | {r.concurrency} | {r.events} | {r.rate:,.0f} | "
            f"{r.percentile(0.5):.2f} | {r.percentile(0.99):.2f} | {r.cpu_ms_per_event} | "
            f"{r.failures} | {share} |"
        )
    return "\n".join(lines)


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--events", type=int, default=960, help="events per run (default 960)")
    parser.add_argument(
        "--levels", default=",".join(map(str, LEVELS)), help="concurrency levels (1,4,16,64)"
    )
    parser.add_argument(
        "--database-url",
        help="run `hudur serve` on this database instead of a fresh SQLite file "
        "(e.g. a scratch PostgreSQL database; sessions are added to it)",
    )
    parser.add_argument("--bare-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_port:
        serve_bare(args.bare_port)
        return 0
    levels = [int(v) for v in args.levels.split(",")]
    began = time.perf_counter()
    load_before = _load()
    results = bench(args.events, levels, args.database_url)
    database = (
        f"SQLite {sqlite3.sqlite_version} (fresh file)"
        if args.database_url is None
        else args.database_url.split("://", 1)[0]
        + " database "
        + args.database_url.rsplit("/", 1)[-1]
    )
    print(report(results, args.events, database, f"{load_before} -> {_load()}"))
    print(f"\n(whole run {time.perf_counter() - began:.0f} s)")
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
