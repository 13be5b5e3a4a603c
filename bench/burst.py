"""The top of the hour, as LiveKit delivers it (issue 11's burst).

    python -m bench.burst [--lessons 10000] [--minute 60] [--postgres-url ...]

`--lessons` sessions start in the same minute. Each room's six events (the teacher
and three students joining, two of them leaving again) happen at random moments of
that minute and are queued for the room's one sender, as LiveKit does: one FIFO
queue and one sender per room, the next event sent only once the previous one is
answered, an event dropped for good once it has waited over 30 s in the queue.
Different rooms send concurrently.

Reports, per database: the wait in the room's queue (p50, p99, max), the events
LiveKit would drop, any answer but `200 accepted`, the answer latency, the
projection's catch-up after the minute, and how many sessions the teachers' joins
started (all of them, when nothing was lost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from google.protobuf import json_format
from livekit.protocol import models, webhook

from bench.ingest import _serve
from bench.support import (
    PATH,
    STUDENTS,
    TEACHER,
    free_port,
    seed,
    signed_for,
    wait_ready_blocking,
)
from bench.wrk import caught_up_after, percentile, rss_mb

EVENTS_PER_ROOM = 6
DROP_AFTER = 30.0  # LiveKit drops an event that waited longer in its room's queue
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Outcome:
    waits: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    dropped: int = 0
    failed: int = 0


def room_events(room: str, moments: list[datetime], tag: str) -> list[bytes]:
    """Six events of one room at `moments` (sorted): four joins, then two leaves."""
    people = [str(TEACHER)] + [f"{s}_bench" for s in STUDENTS]
    bodies = []
    for n, at in enumerate(moments):
        person = people[n % 4]
        event = webhook.WebhookEvent(id=f"EV_{tag}_{n}", event="participant_joined")
        event.room.sid, event.room.name = "RM_" + tag, room
        participant = models.ParticipantInfo(
            sid=f"PA_{tag}_{n % 4}", identity=person, state=models.ParticipantInfo.State.ACTIVE
        )
        joined = moments[n % 4]
        participant.joined_at = int((joined - EPOCH).total_seconds())
        participant.joined_at_ms = int((joined - EPOCH) / timedelta(milliseconds=1))
        if n >= 4:
            event.event = "participant_left"
            participant.state = models.ParticipantInfo.State.DISCONNECTED
        event.created_at = int((at - EPOCH).total_seconds())
        event.participant.CopyFrom(participant)
        data = json_format.MessageToDict(event)
        bodies.append(json.dumps(data, separators=(",", ":")).encode())
    return bodies


async def deliver(
    base: str,
    plan: list[tuple[list[float], list[tuple[bytes, str]]]],
    began: float,
    connections: int,
) -> Outcome:
    """Every room's sender, all at once; `plan` holds each room's queueing moments
    (seconds after `began`) and its signed events."""
    outcome = Outcome()
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def sender(moments: list[float], events: list[tuple[bytes, str]]) -> None:
            free_at = began
            for moment, (body, token) in zip(moments, events, strict=True):
                queued = began + moment
                now = time.perf_counter()
                if now < queued:
                    await asyncio.sleep(queued - now)
                start = max(queued, free_at, time.perf_counter())
                wait = start - queued
                outcome.waits.append(wait)
                if wait > DROP_AFTER:
                    outcome.dropped += 1
                    continue
                headers = {"Content-Type": "application/webhook+json", "Authorization": token}
                sent = time.perf_counter()
                try:
                    async with client.post(base + PATH, data=body, headers=headers) as response:
                        answer = await response.read()
                        ok = response.status == 200 and b"accepted" in answer
                except aiohttp.ClientError:
                    ok = False
                free_at = time.perf_counter()
                outcome.latencies.append(free_at - sent)
                if not ok:
                    outcome.failed += 1

        await asyncio.gather(*(sender(m, e) for m, e in plan))
    return outcome


async def started_sessions(url: str) -> int:
    from store.database import Database

    database = Database(url)
    try:
        async with database.uow() as uow:
            return await uow.sessions.count_by_status("ongoing")
    finally:
        await database.dispose()


def bench_one(url: str, label: str, args: argparse.Namespace, directory: Path) -> str:
    rng = random.Random(args.seed)
    key, secret = "APIburst" + secrets.token_hex(4), secrets.token_urlsafe(32)
    minute = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=90)
    codes = asyncio.run(seed(url, args.lessons, minute, wipe=True))
    run = secrets.token_hex(3)
    plan = []
    for i, code in enumerate(codes):
        moments = sorted(rng.uniform(0, args.minute) for _ in range(EVENTS_PER_ROOM))
        at = [minute + timedelta(seconds=m) for m in moments]
        plan.append((moments, signed_for(room_events(code, at, f"{run}{i}"), key, secret)))
    port = free_port()
    server = _serve(url, port, key, secret, directory)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready_blocking(base, server)
        load_before = f"{os.getloadavg()[0]:.2f}"
        outcome = asyncio.run(deliver(base, plan, time.perf_counter() + 1, args.connections))
        caught_up = caught_up_after(base)
        rss = rss_mb(server.pid)
        load_after = f"{os.getloadavg()[0]:.2f}"
    finally:
        server.terminate()
        server.wait(timeout=30)
    started = asyncio.run(started_sessions(url))
    waits, lat = outcome.waits, outcome.latencies
    return (
        f"| {label} | {args.lessons:,} | {len(waits):,} | {percentile(waits, 0.5):.2f} s "
        f"| {percentile(waits, 0.99):.2f} s | {max(waits):.2f} s | {outcome.dropped} "
        f"| {outcome.failed} | {percentile(lat, 0.5) * 1000:.1f} / "
        f"{percentile(lat, 0.99) * 1000:.1f} ms | {caught_up:.2f} s | {started:,} "
        f"| {rss:.0f} MB | {load_before} -> {load_after} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__)
    parser.add_argument("--lessons", type=int, default=10_000)
    parser.add_argument("--minute", type=float, default=60.0, help="seconds they start in")
    parser.add_argument("--connections", type=int, default=1000, help="client pool bound")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("HUDUR_BENCH_POSTGRES_URL"),
        help="a PostgreSQL database the bench may wipe (default $HUDUR_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hudur-burst-") as tmp:
        directory = Path(tmp)
        if args.sqlite:
            url = f"sqlite+aiosqlite:///{directory / 'hudur.db'}"
            rows.append(bench_one(url, "SQLite", args, directory))
        if args.postgres_url:
            rows.append(bench_one(args.postgres_url, "PostgreSQL", args, directory))
    print(
        f"{args.lessons:,} lessons starting within {args.minute:g} s, {EVENTS_PER_ROOM} events "
        "each, one serial sender per room (LiveKit's delivery)\n\n"
        "| database | lessons | events | wait p50 | wait p99 | wait max | dropped (> 30 s) "
        "| not accepted | answer p50 / p99 | caught up after | sessions started | RSS "
        "| load average |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
