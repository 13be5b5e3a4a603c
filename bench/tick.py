"""How long one sweep takes: 10 000 due sessions among 100 000, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.tick [--sessions 100000] [--due 10000]
    HUDUR_BENCH_POSTGRES_URL=postgresql+asyncpg://hudur:hudur@127.0.0.1:5432/<db> \\
        .venv/bin/python -m bench.tick

The PostgreSQL database named by HUDUR_BENCH_POSTGRES_URL is WIPED (schema dropped
and migrated again); without it that half is skipped with a message. SQLite runs in
a temporary file.

Data, bulk-inserted: of all sessions, `due` are due now (half SCHEDULED starting
within the preparation window, half READY/ONGOING whose end + buffer has passed, a
third of those with join/leave evidence); the rest are long finished, cancelled,
or scheduled days ahead. Every student has a subscription. No LiveKit URL, so room
operations are marked skipped (their bookkeeping is still measured).

Printed per backend:
  baseline  a bare indexed SELECT of the due ids (the two queries a tick starts from)
  tick      one full tick: the due sessions in batches, each batch one locked transaction
            (and whether every finished student got exactly one ledger row)
  idle      the next tick at the same time, when nothing is due any more (best of 3)
  growth    the same due sessions among only themselves (cost follows the due, not the stored)
  replicas  PostgreSQL: one backlog cleared by one sweeping replica, then by two at once
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

# What `hudur serve` has imported before its first sweep: the outbox's writer (and the
# API shapes it imports), which a commit imports on first use. Without it the first
# tick measured here would include about half a second of importing.
import engine.notify.outbox  # noqa: F401
from bench.support import load_average
from rules.lifecycle import Status, is_finished
from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from store.database import Database
from store.schema import Base
from tests.support.bulk import (
    Rows,
    attended_rows,
    bare_due_ids,
    charge_rows_and_pairs,
    count_sessions,
    insert_world,
    session_row,
    wipe,
)

NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
STUDENTS = 2000
TEACHERS = 200
OFFLINE = RoomGateway(None, "bench", "bench-secret-0123456789abcdef0123456789")


def _world(total: int, due: int) -> tuple[Rows, Rows, Rows]:
    created = NOW - timedelta(days=90)
    sessions, roster, evidence = [], [], []
    prepare = due // 2
    for n in range(1, total + 1):
        if n <= prepare:  # SCHEDULED, S within the next 15 minutes
            status, start = Status.SCHEDULED, NOW + timedelta(minutes=n % 15)
        elif n <= due:  # READY or ONGOING, E + 10 already passed
            status = Status.ONGOING if n % 3 == 0 else Status.READY
            start = NOW - timedelta(minutes=75 + n % 60)
        elif n % 10 == 0:
            status, start = Status.CANCELLED, NOW - timedelta(days=n % 60, hours=3)
        elif n % 4 == 0:  # planned, days ahead
            status, start = Status.SCHEDULED, NOW + timedelta(days=1 + n % 30, hours=n % 10)
        else:  # long finished
            status = Status.COMPLETED if n % 7 else Status.ABSENT
            start = NOW - timedelta(days=1 + n % 60, hours=n % 10)
        code = f"QSE-1-{n:06d}"
        circle = n % 10 == 5
        teacher = 1 + n % TEACHERS
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
        students = [10_000 + (n * 3 + k) % STUDENTS for k in range(3 if circle else 1)]
        roster += [{"session_id": n, "student_id": s} for s in students]
        if status is Status.ONGOING:
            end = start + timedelta(minutes=60)
            evidence += attended_rows(n, code, (teacher, students[0]), start, end)
    return sessions, roster, evidence


async def _load(database: Database, total: int, due: int) -> None:
    sessions, roster, evidence = _world(total, due)
    await insert_world(
        database,
        created=NOW,
        teachers=range(1, TEACHERS + 1),
        students=range(10_000, 10_000 + STUDENTS),
        sessions=sessions,
        roster=roster,
        evidence=evidence,
    )


async def _baseline(database: Database) -> tuple[float, int]:
    """The two due queries of a tick, ids only, without paging or any work."""
    started = time.perf_counter()
    found = await bare_due_ids(database, NOW, preparation=timedelta(minutes=15))
    return time.perf_counter() - started, found


def _finishing_pairs(due: int) -> int:
    """The (session, student) pairs of the sessions the sweep must finish (n in
    (due / 2, due]): each must end with exactly one ledger row."""
    return sum(3 if n % 10 == 5 else 1 for n in range(due // 2 + 1, due + 1))


async def run(label: str, database: Database, total: int, due: int) -> dict[str, Any]:
    started = time.perf_counter()
    await _load(database, total, due)
    load_s = time.perf_counter() - started
    count = await count_sessions(database)
    baseline_s, found = await _baseline(database)
    started, cpu_started = time.perf_counter(), time.process_time()
    reports = await tick(database, NOW, rooms=OFFLINE)
    tick_s = time.perf_counter() - started
    # This process's CPU (its driver threads included, PostgreSQL's server not): what
    # the machine's load does not inflate as it does the wall time.
    cpu_s = time.process_time() - cpu_started
    idle_s, idle = float("inf"), []
    for _ in range(3):  # the best of three: nothing is due, so each run is the same work
        started = time.perf_counter()
        idle = await tick(database, NOW, rooms=OFFLINE)
        idle_s = min(idle_s, time.perf_counter() - started)
    finished = sum(1 for r in reports if is_finished(r.to_status))
    rows, pairs = await charge_rows_and_pairs(database)
    return {
        "backend": label,
        "sessions": count,
        "due": found,
        "load_s": load_s,
        "baseline_ms": baseline_s * 1000,
        "tick_s": tick_s,
        "transitions": len(reports),
        "finished": finished,
        "charged_once": rows == pairs == _finishing_pairs(due),
        "per_session_ms": tick_s * 1000 / max(found, 1),
        "cpu_s": cpu_s,
        "cpu_per_session_ms": cpu_s * 1000 / max(found, 1),
        "idle_ms": idle_s * 1000,
        "idle_transitions": len(idle),
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['backend']:<10} sessions={result['sessions']:,} due={result['due']:,} "
        f"(bulk load {result['load_s']:.1f} s)\n"
        f"  baseline  bare indexed SELECT of the due ids: {result['baseline_ms']:.1f} ms\n"
        f"  tick      {result['tick_s']:.2f} s for {result['transitions']:,} transitions "
        f"({result['finished']:,} finished, every student charged once: "
        f"{'yes' if result['charged_once'] else 'NO'}): "
        f"{result['per_session_ms']:.2f} ms per due session\n"
        f"            sweeping process CPU {result['cpu_s']:.2f} s: "
        f"{result['cpu_per_session_ms']:.2f} ms per due session\n"
        f"  idle      next tick, nothing due: {result['idle_ms']:.1f} ms "
        f"({result['idle_transitions']} transitions)"
    )


def _compare(big: dict[str, Any], small: dict[str, Any]) -> None:
    ratio = big["tick_s"] / small["tick_s"]
    print(
        f"  growth    {big['due']:,} due among {big['sessions']:,}: {big['tick_s']:.2f} s; "
        f"among {small['sessions']:,}: {small['tick_s']:.2f} s (x{ratio:.2f}); "
        f"CPU {big['cpu_s']:.2f} s against {small['cpu_s']:.2f} s "
        f"(x{big['cpu_s'] / small['cpu_s']:.2f})"
    )


async def _sqlite(total: int, due: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
        try:
            await database.migrate()
            return await run("sqlite", database, total, due)
        finally:
            await database.dispose()


async def _postgres(url: str, total: int, due: int) -> dict[str, Any]:
    database = Database(url)
    try:
        await wipe(database)
        await database.migrate()
        return await run("postgresql", database, total, due)
    finally:
        await database.dispose()


async def _replicas(url: str, total: int, due: int, replicas: int) -> float:
    """Seconds for `replicas` app instances (separate processes, as replicas are), each
    sweeping until nothing is due, to clear a backlog of `due` sessions on one
    PostgreSQL database."""
    database = Database(url)
    try:
        await wipe(database)
        await database.migrate()
        await _load(database, total, due)
    finally:
        await database.dispose()
    started = time.perf_counter()
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.tick", "--sweep-until-idle", url
        )
        for _ in range(replicas)
    ]
    codes = [await p.wait() for p in processes]
    assert codes == [0] * replicas, codes
    return time.perf_counter() - started


async def _sweep_until_idle(url: str) -> None:
    """One replica: sweep as of NOW until a tick finds nothing due."""
    database = Database(url)
    try:
        while await tick(database, NOW, rooms=OFFLINE):
            pass
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--sweep-until-idle", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.sweep_until_idle:  # one replica of the replicas run
        asyncio.run(_sweep_until_idle(args.sweep_until_idle))
        return 0
    assert Base.metadata.tables  # the schema is imported before migrating
    print(f"bench.tick: one sweep over {args.due:,} due sessions among {args.sessions:,}")
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()}")
    big = asyncio.run(_sqlite(args.sessions, args.due))
    _print(big)
    _compare(big, asyncio.run(_sqlite(args.due, args.due)))
    url = os.environ.get("HUDUR_BENCH_POSTGRES_URL")
    if url:
        big = asyncio.run(_postgres(url, args.sessions, args.due))
        _print(big)
        _compare(big, asyncio.run(_postgres(url, args.due, args.due)))
        one = asyncio.run(_replicas(url, args.sessions, args.due, 1))
        two = asyncio.run(_replicas(url, args.sessions, args.due, 2))
        print(
            f"  replicas  the same backlog cleared by one replica: {one:.2f} s; "
            f"by two at once: {two:.2f} s (x{one / two:.2f} faster)"
        )
    else:
        print("postgresql skipped: set HUDUR_BENCH_POSTGRES_URL (that database is wiped)")
    print(f"machine: load average {load_average()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
