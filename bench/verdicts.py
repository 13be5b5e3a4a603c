"""How fast a verdict read is: `GET /v1/sessions/{id}/attendance` against `/healthz`.

    .venv/bin/python -m bench.verdicts [--sessions 100000] [--evidence 2000000] [--rounds 100]
    HUDUR_BENCH_POSTGRES_URL=postgresql+asyncpg://hudur:hudur@127.0.0.1:5432/<db> \\
        .venv/bin/python -m bench.verdicts

The PostgreSQL database named by HUDUR_BENCH_POSTGRES_URL is WIPED (schema dropped
and migrated again); without it that half is skipped with a message. SQLite runs in
a temporary file.

The world, bulk-inserted (`tests.support.bulk`): `sessions` sessions with
`evidence` join/leave rows among them, most long finished. Among them the measured
ones: for each roster size 1 to 30 one session that finished (by a real sweep, so
its verdicts and charges are written as the service writes them) and one ONGOING
(its verdicts assessed from the evidence at each read).

`hudur serve` then runs on the database in its own process (no sweeper) and one
client, on one kept-alive connection, alternates `/healthz` with a read of every
measured session, `rounds` times. Printed per backend: p50 and p99 in ms of each,
and the server process's CPU time per request of each kind alone (the figure the
machine's load does not inflate).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from bench.support import cpu_seconds, free_port, load_average, wait_ready
from rules.lifecycle import Status
from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from store.database import Database
from tests.support.bulk import Rows, attended_rows, insert_world, session_row, wipe

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
TEACHERS = 200
STUDENTS = 3000
SIZES = range(1, 31)  # the roster sizes measured
TOKEN = "bench-service-token-0123456789abcdef0123"
OFFLINE = RoomGateway(None, "bench", "bench-secret-0123456789abcdef0123456789")


def _people(n: int, size: int) -> tuple[int, list[int]]:
    teacher = 1 + n % TEACHERS
    return teacher, [10_000 + (n * 7 + k) % STUDENTS for k in range(size)]


def _world(total: int, evidence_rows: int) -> tuple[Rows, Rows, Rows, dict[str, list[int]]]:
    """The sessions, rosters and evidence; the ids measured, finished and ongoing."""
    created = NOW - timedelta(days=90)
    sessions: Rows = []
    roster: Rows = []
    evidence: Rows = []
    measured: dict[str, list[int]] = {"finished": [], "ongoing": []}
    # Each stored session's people join and leave once: two rows a person.
    per_session = max(evidence_rows // max(total - 2 * len(SIZES), 1), 2)
    n = 0
    for kind, status, start in (
        ("finished", Status.ONGOING, NOW - timedelta(minutes=80)),  # the sweep finishes it
        ("ongoing", Status.ONGOING, NOW - timedelta(minutes=20)),
    ):
        for size in SIZES:
            n += 1
            teacher, students = _people(n, size)
            circle = size > 1
            code = f"QSE-1-{n:06d}"
            sessions.append(
                session_row(
                    code=code,
                    status=status,
                    start=start,
                    teacher_id=teacher,
                    created=created,
                    session_type="quran_circle" if circle else "quran_individual",
                    session_id=n,
                )
            )
            roster += [{"session_id": n, "student_id": s} for s in students]
            # The teacher and every student; the last one leaves halfway.
            evidence += attended_rows(
                n, code, (teacher, *students[:-1]), start, start + timedelta(minutes=55)
            )
            evidence += attended_rows(n, code, students[-1:], start, start + timedelta(minutes=30))
            measured[kind].append(n)
    while n < total:
        n += 1
        size = max(per_session // 2 - 1, 1)
        teacher, students = _people(n, size)
        code = f"QSE-1-{n:06d}"
        start = NOW - timedelta(days=1 + n % 80, hours=n % 10)
        sessions.append(
            session_row(
                code=code,
                status=Status.COMPLETED,
                start=start,
                teacher_id=teacher,
                created=created,
                session_type="quran_circle",
                session_id=n,
            )
        )
        roster += [{"session_id": n, "student_id": s} for s in students]
        if len(evidence) < evidence_rows:
            evidence += attended_rows(
                n, code, (teacher, *students), start, start + timedelta(minutes=50)
            )
    return sessions, roster, evidence, measured


async def _prepare(url: str, total: int, evidence_rows: int, *, postgres: bool) -> dict[str, Any]:
    database = Database(url)
    try:
        if postgres:
            await wipe(database)
        await database.migrate()
        sessions, roster, evidence, measured = _world(total, evidence_rows)
        started = time.perf_counter()
        await insert_world(
            database,
            created=NOW - timedelta(days=90),
            teachers=range(1, TEACHERS + 1),
            students=range(10_000, 10_000 + STUDENTS),
            sessions=sessions,
            roster=roster,
            evidence=evidence,
        )
        load_s = time.perf_counter() - started
        finished = await tick(database, NOW, rooms=OFFLINE)
        assert {r.session_id for r in finished} >= set(measured["finished"]), finished
        return {
            "measured": measured,
            "sessions": len(sessions),
            "evidence": len(evidence),
            "load_s": load_s,
        }
    finally:
        await database.dispose()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _measure(
    base: str, measured: dict[str, list[int]], rounds: int, pid: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    timings: dict[str, list[float]] = {"healthz": [], "finished": [], "ongoing": []}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=1)  # one kept-alive connection for all
    async with aiohttp.ClientSession(connector=connector, headers=headers) as client:

        async def get(path: str) -> float:
            started = time.perf_counter()
            async with client.get(base + path) as response:
                await response.read()
                assert response.status == 200, (path, response.status)
            return (time.perf_counter() - started) * 1000

        for _ in range(3):  # warm the connection, the pool and the caches
            for kind in ("finished", "ongoing"):
                for session_id in measured[kind]:
                    await get(f"/v1/sessions/{session_id}/attendance")
        for _ in range(rounds):
            for kind in ("finished", "ongoing"):
                for session_id in measured[kind]:
                    timings["healthz"].append(await get("/healthz"))
                    timings[kind].append(await get(f"/v1/sessions/{session_id}/attendance"))
        # The server's own CPU per request (user + system), which the machine's load
        # does not inflate as it does latency: each kind alone, a quarter of the rounds.
        cpu: dict[str, float] = {}
        paths = {
            "healthz": ["/healthz"] * len(measured["finished"]),
            **{
                kind: [f"/v1/sessions/{i}/attendance" for i in measured[kind]]
                for kind in ("finished", "ongoing")
            },
        }
        for kind, kind_paths in paths.items():
            before = cpu_seconds(pid) or 0.0
            for _ in range(max(rounds // 4, 1)):
                for path in kind_paths:
                    await get(path)
            spent = (cpu_seconds(pid) or 0.0) - before
            cpu[kind] = spent * 1000 / (max(rounds // 4, 1) * len(kind_paths))
    return timings, cpu


def _serve(url: str, directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "HUDUR_DATABASE_URL": url,
        "HUDUR_HOST": "127.0.0.1",
        "HUDUR_PORT": str(port),
        "HUDUR_SERVICE_TOKEN": TOKEN,
        "HUDUR_JWT_SECRET": "bench-jwt-secret-0123456789abcdef0123456789",
        "HUDUR_LIVEKIT_API_KEY": "APIbench",
        "HUDUR_LIVEKIT_API_SECRET": "bench-secret-0123456789abcdef0123456789",
        "HUDUR_LOG_FORMAT": "json",
        "HUDUR_SWEEPER_ENABLED": "false",
    }
    env.pop("HUDUR_LIVEKIT_URL", None)
    log = open(directory / "serve.log", "wb")  # noqa: SIM115 -- closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve"],
        env=env,
        cwd=directory,
        stdout=log,
        stderr=log,
    )
    return process, f"http://127.0.0.1:{port}"


async def _ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as client:
        await wait_ready(client, base, process)


def run(label: str, url: str, args: argparse.Namespace, *, postgres: bool) -> None:
    world = asyncio.run(_prepare(url, args.sessions, args.evidence, postgres=postgres))
    with tempfile.TemporaryDirectory(prefix="hudur-bench-") as directory:
        process, base = _serve(url, Path(directory))
        try:
            asyncio.run(_ready(base, process))
            timings, cpu = asyncio.run(_measure(base, world["measured"], args.rounds, process.pid))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    health = timings["healthz"]
    print(
        f"{label:<10} sessions={world['sessions']:,} evidence={world['evidence']:,} "
        f"(bulk load {world['load_s']:.1f} s), rosters of 1 to 30, {args.rounds} rounds"
    )
    h50, h99 = _percentile(health, 50), _percentile(health, 99)
    print(
        f"  /healthz            p50 {h50:6.2f} ms  p99 {h99:6.2f} ms  "
        f"server CPU {cpu['healthz']:.2f} ms"
    )
    for kind in ("finished", "ongoing"):
        values = timings[kind]
        p50, p99 = _percentile(values, 50), _percentile(values, 99)
        print(
            f"  attendance {kind:<8} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
            f"(p99 x{p99 / h99:.1f} /healthz's)  server CPU {cpu[kind]:.2f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--evidence", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print("bench.verdicts: GET /v1/sessions/{id}/attendance against /healthz")
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()}")
    with tempfile.TemporaryDirectory() as directory:
        run("sqlite", f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}", args, postgres=False)
    url = os.environ.get("HUDUR_BENCH_POSTGRES_URL")
    if url:
        run("postgresql", url, args, postgres=True)
    else:
        print("postgresql skipped: set HUDUR_BENCH_POSTGRES_URL (that database is wiped)")
    print(f"machine: load average {load_average()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
