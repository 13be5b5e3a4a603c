"""What announcing costs a sweep: bench.tick's sweep of `due` sessions among
`sessions`, once with no notification endpoint and once with one endpoint taking
every message (the outbox rows written in each batch's transaction).

    .venv/bin/python -m bench.notify [--sessions 100000] [--due 10000]
    HUDUR_BENCH_POSTGRES_URL=postgresql+asyncpg://…/<db> .venv/bin/python -m bench.notify

The PostgreSQL database is WIPED. Nothing is delivered: the worker is not running;
this is the cost of writing the outbox, in the sweep's own transactions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import structlog

from bench.support import load_average
from bench.tick import NOW, OFFLINE, _load
from scheduler.tick import tick
from store.database import Database
from tests.support.bulk import wipe

SECRET = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


async def one(
    database: Database, total: int, due: int, *, endpoint: bool
) -> tuple[float, int, int]:
    """Seconds of one tick, its transitions, and the outbox rows it wrote."""
    await _load(database, total, due)
    if endpoint:
        async with database.uow() as uow:
            await uow.endpoints.put(
                1,
                now=NOW,
                academy_id=None,
                url="http://127.0.0.1:9/hooks",
                secret=SECRET,
                events=["*"],
                enabled=True,
            )
            await uow.commit()
    started = time.perf_counter()
    reports = await tick(database, NOW, rooms=OFFLINE)
    seconds = time.perf_counter() - started
    async with database.uow() as uow:
        rows = await uow.outbox.backlog()
    return seconds, len(reports), rows


async def sqlite(total: int, due: int, *, endpoint: bool) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
        try:
            await database.migrate()
            return await one(database, total, due, endpoint=endpoint)
        finally:
            await database.dispose()


async def postgres(url: str, total: int, due: int, *, endpoint: bool) -> tuple[float, int, int]:
    database = Database(url)
    try:
        await wipe(database)
        await database.migrate()
        return await one(database, total, due, endpoint=endpoint)
    finally:
        await database.dispose()


def report(label: str, without: tuple[float, int, int], with_: tuple[float, int, int]) -> None:
    print(
        f"{label:<10} no endpoint: {without[0]:.2f} s for {without[1]:,} transitions "
        f"({without[2]} outbox rows)\n"
        f"{'':<10} one endpoint, every message: {with_[0]:.2f} s for {with_[1]:,} transitions, "
        f"{with_[2]:,} outbox rows (x{with_[0] / without[0]:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"bench.notify: one sweep over {args.due:,} due among {args.sessions:,}, announced")
    print(f"machine: {os.cpu_count()} CPUs, load average {load_average()}")
    n, due = args.sessions, args.due
    report(
        "sqlite",
        asyncio.run(sqlite(n, due, endpoint=False)),
        asyncio.run(sqlite(n, due, endpoint=True)),
    )
    url = os.environ.get("HUDUR_BENCH_POSTGRES_URL")
    if url:
        report(
            "postgresql",
            asyncio.run(postgres(url, n, due, endpoint=False)),
            asyncio.run(postgres(url, n, due, endpoint=True)),
        )
    else:
        print("postgresql skipped: set HUDUR_BENCH_POSTGRES_URL (that database is wiped)")
    print(f"machine: load average {load_average()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
