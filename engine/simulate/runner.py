"""Plays a planned day against a running Hudur over HTTP, as the platform and
LiveKit would: registers people, creates and schedules sessions, delivers signed
webhooks (one ordered queue per room, rooms in parallel, retries on 5xx), sweeps
with `as_of` as the day advances, and collects the verdicts.

It writes to an academy of its own only: a fresh academy id, sweeps of that academy
alone (`POST /v1/sweeps {as_of, academy_id}`), and, unless told `yes`, a refusal to
start when other academies (an earlier simulation's too: the service cannot tell them
apart) have sessions on the simulated day."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import aiohttp
import jwt

from engine.simulate.plan import DAY, Day, Lesson, plan_day, reports_of, session_fields
from engine.simulate.timeline import Webhook, authorization, lesson_webhooks

STEP = timedelta(minutes=5)
KINDS = {"quran": "quran", "academic": "academic", "interactive": "interactive"}
RETRIES = 5


class SimulationError(RuntimeError):
    pass


class Refused(SimulationError):
    """The target holds other academies' sessions in the simulated time range."""


@dataclass(frozen=True)
class StudentOutcome:
    student_id: int
    behaviour: str
    verdict: str
    source: str
    charge: str


@dataclass(frozen=True)
class LessonOutcome:
    lesson: Lesson
    academy_id: int
    session_id: int
    session_code: str
    status: str
    teacher_status: str
    students: tuple[StudentOutcome, ...]


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class Simulator:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        *,
        service_token: str,
        api_key: str,
        api_secret: str,
        progress: TextIO | None = None,
    ) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {service_token}"}
        self.api_key = api_key
        self.api_secret = api_secret
        self.progress = progress
        self.academy_id: int | None = None

    async def _call(self, method: str, path: str, *, missing: bool = False, **kwargs: Any) -> Any:
        """One request, retried with backoff on 5xx and connection errors (as LiveKit does);
        with `missing`, a 404 answers None."""
        headers = kwargs.pop("headers", self.headers)
        for attempt in range(RETRIES):
            try:
                async with self.http.request(
                    method, self.url + path, headers=headers, **kwargs
                ) as r:
                    if r.status == 404 and missing:
                        return None
                    if r.status < 500:
                        body = await r.json(content_type=None)
                        if r.status >= 400:
                            raise SimulationError(f"{method} {path}: {r.status} {body}")
                        return body
            except aiohttp.ClientConnectionError:
                if attempt == RETRIES - 1:
                    raise
            await asyncio.sleep(0.05 * 2**attempt)
        raise SimulationError(f"{method} {path}: still failing after {RETRIES} attempts")

    async def academy_exists(self, academy_id: int) -> bool:
        rules = await self._call("GET", f"/v1/academies/{academy_id}/rules", missing=True)
        return rules is not None

    async def others(self, day: Day) -> dict[int, int]:
        """Sessions per academy other than the day's whose start falls in the day's
        time range: the data a mistaken run could touch."""
        counts: dict[int, int] = defaultdict(int)
        params = {"from": iso(DAY), "to": iso(max(DAY + timedelta(days=1), _sweep_end(day)))}
        cursor: str | None = None
        while True:
            query = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
            page = await self._call("GET", "/v1/sessions", params=query)
            for session in page["data"]:
                if session["academy_id"] != day.academy_id:
                    counts[session["academy_id"]] += 1
            cursor = page.get("next_cursor")
            if not cursor:
                return dict(counts)

    async def register(self, day: Day) -> None:
        academy = day.academy_id
        await self._call(
            "PUT",
            f"/v1/academies/{academy}",
            json={
                "name": f"Simulated academy {academy}",
                "timezone": "Africa/Cairo",
                "locale": "ar",
            },
        )
        for n, teacher in enumerate(day.teachers):
            await self._call(
                "PUT",
                f"/v1/users/{teacher}",
                json={
                    "academy_id": academy,
                    "role": "teacher",
                    "name": f"Teacher {n + 1}",
                    "email": f"teacher{n + 1}@academy{academy}.example",
                },
            )
        for n, student in enumerate(day.students):
            await self._call(
                "PUT",
                f"/v1/users/{student}",
                json={
                    "academy_id": academy,
                    "role": "student",
                    "name": f"Student {n + 1}",
                    "email": f"student{n + 1}@academy{academy}.example",
                },
            )
            for k, kind in enumerate(KINDS):
                await self._call(
                    "PUT",
                    f"/v1/subscriptions/{student * 10 + k}",
                    json={
                        "student_id": student,
                        "academy_id": academy,
                        "kind": kind,
                        "total_sessions": 12,
                        "starts_at": iso(day.starts_at - timedelta(days=30)),
                        "ends_at": iso(day.ends_at + timedelta(days=30)),
                    },
                )

    async def create(self, day: Day, lesson: Lesson) -> dict[str, Any]:
        body: dict[str, Any] = {
            "academy_id": day.academy_id,
            "type": lesson.type,
            "title": lesson.title,
            "duration_minutes": lesson.duration_minutes,
            "teacher_id": lesson.teacher,
            **session_fields(lesson),
        }
        if lesson.individual:
            body["student_id"] = lesson.students[0]
        else:
            body["student_ids"] = list(lesson.students)
        session = await self._call("POST", "/v1/sessions", json=body)
        await self._call(
            "POST",
            f"/v1/sessions/{session['id']}/schedule",
            json={"scheduled_at": iso(lesson.starts_at)},
        )
        return dict(session)

    async def deliver(self, events: Iterable[Webhook]) -> None:
        """Each room's events one at a time in order; rooms concurrently."""
        by_room: dict[str, list[Webhook]] = defaultdict(list)
        for event in events:
            by_room[event.room].append(event)

        async def room_queue(queue: list[Webhook]) -> None:
            for event in queue:
                token = authorization(event.body, api_key=self.api_key, api_secret=self.api_secret)
                await self._call(
                    "POST",
                    "/webhooks/livekit",
                    data=event.body,
                    headers={"Authorization": token, "Content-Type": "application/webhook+json"},
                )

        await asyncio.gather(*(room_queue(q) for q in by_room.values()))

    async def sweep(self, as_of: datetime) -> list[dict[str, Any]]:
        answer = await self._call(
            "POST", "/v1/sweeps", json={"as_of": iso(as_of), "academy_id": self.academy_id}
        )
        return list(answer.get("transitions", []))

    def _tick(self, done: int, total: int, at: datetime) -> None:
        if self.progress is None:
            return
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done == total else ""
        self.progress.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {at:%H:%M} UTC {done}/{total}{end}"
        )
        self.progress.flush()

    async def notify_to(self, day: Day, url: str, secret: str) -> None:
        """Register `url` as the endpoint of the day's academy (its id the academy's)."""
        await self._call(
            "PUT",
            f"/v1/webhook-endpoints/{day.academy_id}",
            json={"academy_id": day.academy_id, "url": url, "secret": secret, "events": ["*"]},
        )

    async def play(
        self, day: Day, *, yes: bool = False, notify: tuple[str, str] | None = None
    ) -> list[LessonOutcome]:
        if not yes and (others := await self.others(day)):
            listed = ", ".join(f"academy {a} ({n})" for a, n in sorted(others.items()))
            raise Refused(
                f"other academies have sessions on {DAY:%Y-%m-%d}, the simulated day: {listed}."
                " Simulate against a database of its own, or pass --yes to go ahead"
                " (its sweeps touch its own academy only)"
            )
        self.academy_id = day.academy_id
        await self.register(day)
        if notify is not None:
            await self.notify_to(day, *notify)
        sessions = [await self.create(day, lesson) for lesson in day.lessons]
        pending = sorted(
            (
                event
                for lesson, s in zip(day.lessons, sessions, strict=True)
                for event in lesson_webhooks(lesson, s["session_code"], run=day.academy_id)
            ),
            key=lambda e: e.at,
        )
        start, end = day.starts_at - timedelta(minutes=20), _sweep_end(day)
        steps = int((end - start) / STEP) + 1
        for step in range(steps):
            now = start + step * STEP
            due = [e for e in pending if e.at <= now]
            pending = [e for e in pending if e.at > now]
            await self.deliver(due)
            await self.sweep(now)
            self._tick(step + 1, steps, now)
        for lesson, session in zip(day.lessons, sessions, strict=True):
            if (body := reports_of(lesson)) is not None:
                await self._call("PUT", f"/v1/sessions/{session['id']}/reports", json=body)
        return [
            await self.outcome(lesson, s) for lesson, s in zip(day.lessons, sessions, strict=True)
        ]

    async def outcome(self, lesson: Lesson, session: dict[str, Any]) -> LessonOutcome:
        current = await self._call("GET", f"/v1/sessions/{session['id']}")
        attendance = await self._call("GET", f"/v1/sessions/{session['id']}/attendance")
        behaviours = dict(zip(lesson.students, lesson.behaviours, strict=True))
        return LessonOutcome(
            lesson=lesson,
            academy_id=current["academy_id"],
            session_id=session["id"],
            session_code=session["session_code"],
            status=current["status"],
            teacher_status=attendance["teacher"]["attendance_status"],
            students=tuple(
                StudentOutcome(
                    student_id=s["user_id"],
                    behaviour=str(behaviours[s["user_id"]]),
                    verdict=s["attendance_status"],
                    source=s["source"],
                    charge=s["charge"]["status"],
                )
                for s in attendance["students"]
            ),
        )


def _sweep_end(day: Day) -> datetime:
    """The last sweep's time: past every lesson's hard close."""
    return day.ends_at + timedelta(minutes=70)


def teacher_token(outcome: LessonOutcome, jwt_secret: str, *, hours: int = 12) -> str:
    """A user token for the lesson's teacher, as the platform would sign it."""
    claims = {
        "sub": str(outcome.lesson.teacher),
        "role": "teacher",
        "academy_id": outcome.academy_id,
        "exp": datetime.now(UTC) + timedelta(hours=hours),
    }
    return jwt.encode(claims, jwt_secret, algorithm="HS256")


def table(outcomes: list[LessonOutcome]) -> str:
    header = (
        "session",
        "type",
        "status",
        "teacher",
        "student",
        "behaviour",
        "verdict",
        "source",
        "charge",
    )
    rows = [header]
    for o in outcomes:
        for n, s in enumerate(o.students):
            first = n == 0
            rows.append(
                (
                    o.session_code if first else "",
                    o.lesson.type if first else "",
                    o.status if first else "",
                    o.teacher_status if first else "",
                    str(s.student_id),
                    s.behaviour,
                    s.verdict,
                    s.source,
                    s.charge,
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def simulate(
    url: str,
    *,
    sessions: int,
    seed: int,
    service_token: str,
    api_key: str,
    api_secret: str,
    academy_id: int | None = None,
    progress: TextIO | None = sys.stderr,
    yes: bool = False,
    notify: tuple[str, str] | None = None,
) -> list[LessonOutcome]:
    """Play `sessions` lessons of the `seed`'s day in a fresh academy (`academy_id`, or
    a random one the target does not hold yet); `yes` skips the refusal to run where
    other academies have sessions that day."""
    async with aiohttp.ClientSession() as http:
        simulator = Simulator(
            http,
            url,
            service_token=service_token,
            api_key=api_key,
            api_secret=api_secret,
            progress=progress,
        )
        if academy_id is None:
            academy_id = await _fresh_academy(simulator)
        day = plan_day(seed=seed, sessions=sessions, academy_id=academy_id)
        return await simulator.play(day, yes=yes, notify=notify)


async def _fresh_academy(simulator: Simulator, *, attempts: int = 20) -> int:
    """An academy id the target has no academy under: simulate never renames a real one."""
    for _ in range(attempts):
        candidate = 1000 + secrets.randbelow(9000)
        if not await simulator.academy_exists(candidate):
            return candidate
    raise SimulationError(f"no free academy id found in {attempts} draws")
