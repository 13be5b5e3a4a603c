"""Student progress benchmark: `GET /v1/students/{id}/progress` over a year of weekly
lessons, its time and its statements.

    .venv/bin/python -m bench.progress [--students 200] [--requests 50]

Bulk-inserts, into a fresh SQLite file, a year of finished weekly lessons for each of
`students` students (52 Quran lessons and 52 academic course lessons each, every one
with a teacher's report carrying its type's fields), then serves the app in-process
on loopback and asks one student's progress over the year `requests` times after a
warm-up, counting the statements each request sends. Printed: lessons in the
database, statements per request (the same for every request, or it says so), and
the median and slowest request in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from engine.app import create_app
from engine.fresh_reads import PROJECTOR
from rules.lifecycle import Status
from store.database import Database
from tests.support.auth import SERVICE_TOKEN, app_settings
from tests.support.bulk import insert_reports, insert_world, session_row
from tests.support.statements import counted

FIRST = datetime(2025, 1, 6, 16, tzinfo=UTC)  # a Monday
WEEKS = 52
TEACHERS = 20


async def _seed(database: Database, students: int) -> int:
    await database.migrate()
    created = FIRST - timedelta(days=1)
    sessions, roster, reports = [], [], []
    n = 0
    for s in range(students):
        student = 10_000 + s
        for week in range(WEEKS):
            for kind, offset in (("quran_individual", 0), ("academic_course", 2)):
                n += 1
                start = FIRST + timedelta(weeks=week, days=offset, minutes=s)
                sessions.append(
                    session_row(
                        code=f"{'QSE' if kind.startswith('quran') else 'ASE'}-1-{n:06d}",
                        status=Status.COMPLETED,
                        start=start,
                        teacher_id=1 + s % TEACHERS,
                        created=created,
                        session_type=kind,
                        session_id=n,
                    )
                )
                roster.append({"session_id": n, "student_id": student})
                fields: dict[str, object] = (
                    {"papers_memorized_today": 0.5, "recitation_quality": 1 + week % 10}
                    if kind.startswith("quran")
                    else {
                        "session_grade": 5 + week % 5,
                        "quiz_score": 6.0,
                        "homework": {"description": "sums", "submitted_at": None, "grade": 7.0},
                    }
                )
                reports.append(
                    {
                        "session_id": n,
                        "student_id": student,
                        "attendance_status": "present",
                        "fields": fields,
                        "reported_by": 1 + s % TEACHERS,
                        "created_at": start,
                        "updated_at": start,
                    }
                )
    await insert_world(
        database,
        created=created,
        teachers=range(1, TEACHERS + 1),
        students=range(10_000, 10_000 + students),
        sessions=sessions,
        roster=roster,
        evidence=[],
    )
    await insert_reports(database, reports)
    return n


async def _measure(database: Database, requests: int) -> tuple[list[float], set[int]]:
    app = create_app(app_settings(database.url), database=database)
    path = "/v1/students/10000/progress?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    async with TestClient(TestServer(app)) as client:
        # The background projector's polls would be counted whenever they fall.
        await client.app[PROJECTOR].stop()
        for _ in range(3):  # warm the pool and caches
            response = await client.get(path, headers=headers)
            assert 200 == response.status, await response.text()
            body = await response.json()
        assert (WEEKS, WEEKS) == (body["quran"]["sessions"], body["academic"]["sessions"])
        times, counts = [], set()
        for _ in range(requests):
            with counted(database) as statements:
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                await response.read()
                times.append((time.perf_counter() - started) * 1000)
            assert 200 == response.status
            counts.add(len(statements))
    return times, counts


async def _run(url: str, students: int, requests: int) -> None:
    database = Database(url)
    try:
        started = time.perf_counter()
        lessons = await _seed(database, students)
        print(f"seeded {lessons:,} lessons with reports in {time.perf_counter() - started:.1f} s")
        times, counts = await _measure(database, requests)
    finally:
        await database.dispose()
    print(f"statements per request: {sorted(counts)}")
    print(
        f"{requests} requests over {2 * WEEKS} lessons: median "
        f"{statistics.median(times):.1f} ms, slowest {max(times):.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    print(f"bench.progress: a year of weekly lessons, {args.students} students (SQLite)")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}")
    with tempfile.TemporaryDirectory(prefix="hudur-progress-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'hudur.db'}"
        asyncio.run(_run(url, args.students, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
