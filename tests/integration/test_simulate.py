"""`hudur simulate` against a real app: a whole academy day through HTTP and webhooks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from engine import cli
from engine.app import create_app
from engine.settings import Settings
from engine.simulate import timeline
from engine.simulate.plan import DAY, Behaviour, plan_day, report_fields, session_fields
from engine.simulate.runner import LessonOutcome, Refused, simulate, table
from rules.lifecycle import Status
from store.database import Database
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET, SERVICE_TOKEN
from tests.support.bulk import count_sessions
from tests.support.clock import ManualClock
from tests.support.factories import ACADEMY_ID, TEACHER_ID, seed_world
from tests.support.sessions import session_in

# What each behaviour must come out as, by the contract's rules (4.2), with no
# teacher report: the simulator designs each behaviour to meet exactly one rule.
EXPECTED = {
    Behaviour.ON_TIME: ("present", "meeting"),
    Behaviour.LATE: ("late", "meeting"),
    Behaviour.LEFT_EARLY: ("left_early", "meeting"),
    Behaviour.PARTIAL: ("partial", "meeting"),
    Behaviour.NO_SHOW: ("absent", "none"),
    Behaviour.RECONNECT: ("present", "meeting"),  # a 60 s gap is within the reconnect gap
    Behaviour.DUPLICATE: ("present", "meeting"),
    # No leave and no room_finished ever came, and there is no RoomService to ask:
    # the interval runs to the session's end.
    Behaviour.LOST_LEFT: ("present", "meeting"),
}
SEED = 3
SESSIONS = 10


@pytest.fixture(name="server")
async def fixture_server(
    aiohttp_server: Any, settings: Settings, database: Database, clock: ManualClock
) -> Any:
    return await aiohttp_server(create_app(settings, clock=clock, database=database))


@pytest.fixture(name="outcomes")
async def fixture_outcomes(server: Any) -> list[LessonOutcome]:
    return await simulate(
        str(server.make_url("/")),
        sessions=SESSIONS,
        seed=SEED,
        service_token=SERVICE_TOKEN,
        api_key=LIVEKIT_KEY,
        api_secret=LIVEKIT_SECRET,
        academy_id=42,
        progress=None,
    )


class TestSimulatedDay:
    async def test_a_simulated_day_ends_as_the_rules_say(
        self, outcomes: list[LessonOutcome]
    ) -> None:
        """One whole day (run once per backend, it takes seconds) checked for:
        every lesson of all five types completed by the sweeps; each behaviour
        with the verdict and source its rule gives; a student whose teacher never
        came waived and everyone else, no-shows included, charged once; the
        teacher's override turning an individual no-show (ABSENT) into a late
        student of a COMPLETED session; and a table row per student."""
        assert SESSIONS == len(outcomes)
        assert {"completed"} == {o.status for o in outcomes}
        assert 5 == len({o.lesson.type for o in outcomes})
        assert all(len(o.students) == len(o.lesson.students) for o in outcomes)

        seen = set()
        for o in outcomes:
            if o.lesson.teacher_report is None:
                for student in o.students:
                    seen.add(student.behaviour)
                    expected = EXPECTED[Behaviour(student.behaviour)]
                    assert expected == (student.verdict, student.source), (o.session_code, student)
        assert {str(b) for b in Behaviour} == seen

        for o in outcomes:
            if o.lesson.teacher_shows_up:
                assert "attended" == o.teacher_status
                assert {"charged"} == {s.charge for s in o.students}
            else:
                assert ("absent", ["waived"]) == (o.teacher_status, [s.charge for s in o.students])

        (reported,) = [o for o in outcomes if o.lesson.teacher_report is not None]
        (student,) = reported.students
        assert ("completed", "late", "teacher_report", "charged") == (
            reported.status,
            student.verdict,
            student.source,
            student.charge,
        )

        lines = table(outcomes).splitlines()
        assert "session type status teacher student behaviour verdict source charge" == " ".join(
            lines[0].split()
        )
        assert sum(len(o.students) for o in outcomes) == len(lines) - 2


class TestSimulatedFields:
    async def test_each_lesson_carries_its_types_fields_and_reports(
        self, outcomes: list[LessonOutcome], database: Database
    ) -> None:
        """A Quran lesson with its surah, papers and recitation, a course lesson with its
        number and quiz score: every student who came has the type's report fields,
        and the override's student too; the no-shows have none."""
        async with database.reading() as uow:
            for o in outcomes:
                session = await uow.sessions.get(o.session_id)
                assert session is not None
                assert session_fields(o.lesson) == session.extra, o.session_code
                reports = await uow.reports.for_session(o.session_id)
                came = {
                    student
                    for student, behaviour in zip(
                        o.lesson.students, o.lesson.behaviours, strict=True
                    )
                    if behaviour is not Behaviour.NO_SHOW
                }
                if o.lesson.teacher_report is not None:
                    came.add(o.lesson.teacher_report[0])
                assert {student: report_fields(o.lesson, student) for student in sorted(came)} == {
                    student: reports[student].fields for student in sorted(reports)
                }
        course = next(o for o in outcomes if o.lesson.type == "academic_course")
        assert "quiz_score" in report_fields(course.lesson, course.lesson.students[0])


async def _real_lesson_on_the_simulated_day(database: Database) -> int:
    """A real academy's lesson, READY on the simulated day and over before its sweeps end."""
    seeded = DAY - timedelta(days=1)
    async with database.uow() as uow:
        await seed_world(uow, seeded)
        session = await session_in(
            uow,
            Status.READY,
            now=seeded,
            academy_id=ACADEMY_ID,
            teacher_id=TEACHER_ID,
            students=[10],
            starts_at=DAY + timedelta(hours=8),
        )
        await uow.commit()
        return session.id


async def _academies_and_sessions(database: Database) -> tuple[list[int], int]:
    async with database.uow() as uow:
        academies = sorted((await uow.academies.zones()).keys())
        await uow.commit()
    return academies, await count_sessions(database)


async def _attendance(server: Any, outcome: LessonOutcome) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        url = server.make_url(f"/v1/sessions/{outcome.session_id}/attendance")
        async with http.get(url) as answer:
            assert 200 == answer.status
            return list((await answer.json())["students"])


class TestSimulatedTracks:
    async def test_an_interactive_lesson_scores_its_cameras_and_microphones(
        self, outcomes: list[LessonOutcome], server: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every student who came to an interactive course published a microphone and
        the first of them a camera: their seconds count and the engagement score holds
        camera and microphone points beside the attendance ones. The tracks decide no
        verdict: the same day played without them gives the same table."""
        interactive = [o for o in outcomes if o.lesson.type == "interactive_course"]
        assert interactive
        for lesson in interactive:
            came = [s for s in await _attendance(server, lesson) if s["source"] == "meeting"]
            came = [s for s in came if s["attendance_status"] != "absent"]
            assert came, lesson.session_code
            assert any(s["camera_seconds"] > 0 for s in came), lesson.session_code
            for s in came:
                code = s["engagement_explanation_code"]
                assert 0 < s["microphone_seconds"] <= s["attended_seconds"], s
                assert code["microphone_points"] > 0, s
                parts = (
                    code["attendance_points"] + code["camera_points"] + code["microphone_points"]
                )
                assert s["engagement_score"] == pytest.approx(parts, abs=1), s
                assert s["engagement_score"] > round(code["attendance_points"]), s

        monkeypatch.setattr(timeline, "publications", lambda lesson, stays: [])
        silent = await simulate(
            str(server.make_url("/")),
            sessions=SESSIONS,
            seed=SEED,
            service_token=SERVICE_TOKEN,
            api_key=LIVEKIT_KEY,
            api_secret=LIVEKIT_SECRET,
            academy_id=43,
            progress=None,
            yes=True,
        )
        assert table(outcomes).replace("42", "<academy>") == table(silent).replace(
            "43", "<academy>"
        )


class TestOtherAcademies:
    async def test_simulate_refuses_a_database_with_other_academies_sessions_that_day(
        self, aiohttp_server: Any, settings: Settings, database: Database, clock: ManualClock
    ) -> None:
        """Another academy has a lesson on 2031-03-03: simulate refuses, naming that
        academy and `--yes`, before it writes anything."""
        await _real_lesson_on_the_simulated_day(database)
        before = await _academies_and_sessions(database)
        server = await aiohttp_server(create_app(settings, clock=clock, database=database))
        with pytest.raises(Refused) as refused:
            await simulate(
                str(server.make_url("/")),
                sessions=2,
                seed=SEED,
                service_token=SERVICE_TOKEN,
                api_key=LIVEKIT_KEY,
                api_secret=LIVEKIT_SECRET,
                academy_id=42,
                progress=None,
            )
        assert f"academy {ACADEMY_ID} (1)" in str(refused.value)
        assert "--yes" in str(refused.value)
        assert before == await _academies_and_sessions(database)

    async def test_told_yes_simulate_sweeps_its_own_academy_only(
        self, aiohttp_server: Any, settings: Settings, database: Database, clock: ManualClock
    ) -> None:
        """With `yes`, simulate runs its day; the other academy's READY lesson, long over
        by the simulation's last sweep, is still READY and charged nothing."""
        session_id = await _real_lesson_on_the_simulated_day(database)
        server = await aiohttp_server(create_app(settings, clock=clock, database=database))
        outcomes = await simulate(
            str(server.make_url("/")),
            sessions=2,
            seed=SEED,
            service_token=SERVICE_TOKEN,
            api_key=LIVEKIT_KEY,
            api_secret=LIVEKIT_SECRET,
            academy_id=42,
            progress=None,
            yes=True,
        )
        assert {"completed"} == {o.status for o in outcomes}
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id)
            assert session is not None
            assert (Status.READY.value, {}) == (
                session.status,
                await uow.charges.for_session(session_id),
            )
            await uow.commit()


class TestRepeatedRuns:
    async def test_two_runs_on_one_database_with_one_seed_print_the_same_table(
        self, aiohttp_server: Any, settings: Settings, database: Database, clock: ManualClock
    ) -> None:
        """A second run on the same database, same seed (told `yes`: the first run's
        academy has sessions that day): its events are new, not `duplicate`, so its
        table is the first one's, the academy id aside."""
        server = await aiohttp_server(create_app(settings, clock=clock, database=database))

        async def run(academy_id: int) -> str:
            outcomes = await simulate(
                str(server.make_url("/")),
                sessions=5,
                seed=SEED,
                service_token=SERVICE_TOKEN,
                api_key=LIVEKIT_KEY,
                api_secret=LIVEKIT_SECRET,
                academy_id=academy_id,
                progress=None,
                yes=True,
            )
            return table(outcomes).replace(str(academy_id), "<academy>")

        first = await run(42)
        assert first == await run(43)
        assert "<academy>" in first


class TestPlan:
    def test_the_same_seed_plans_the_same_day(self) -> None:
        """Seed in, day out: nothing else decides it."""
        assert plan_day(seed=7, sessions=12, academy_id=1) == plan_day(
            seed=7, sessions=12, academy_id=1
        )
        assert plan_day(seed=7, sessions=12, academy_id=1) != plan_day(
            seed=8, sessions=12, academy_id=1
        )

    def test_no_teacher_or_student_is_in_two_lessons_at_once(self) -> None:
        """A plan a real academy could hold: nobody double-booked."""
        day = plan_day(seed=11, sessions=25, academy_id=1)
        for a in day.lessons:
            for b in day.lessons:
                if a.index < b.index and a.starts_at < b.ends_at and b.starts_at < a.ends_at:
                    assert a.teacher != b.teacher
                    assert not set(a.students) & set(b.students)


class TestCommand:
    def test_simulate_without_a_service_token_says_what_is_missing(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The command explains itself instead of failing with a 401 later."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("HUDUR_SERVICE_TOKEN", raising=False)
        # Keep structlog off pytest's captured stderr, which closes after this test.
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
        assert 2 == cli.main(["simulate"])
        assert "HUDUR_SERVICE_TOKEN" in capsys.readouterr().err

    def test_a_refused_simulation_exits_non_zero_saying_why(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Refused: exit 1 with the reason on stderr, no table; `--yes` reaches the run."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("HUDUR_SERVICE_TOKEN", SERVICE_TOKEN)
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
        told: list[bool] = []

        async def refusing(url: str, **kwargs: Any) -> list[LessonOutcome]:
            told.append(kwargs["yes"])
            raise Refused("other academies have sessions on 2031-03-03: pass --yes")

        monkeypatch.setattr(cli, "simulate", refusing)
        assert 1 == cli.main(["simulate"])
        assert 1 == cli.main(["simulate", "--yes"])
        out, err = capsys.readouterr()
        assert ("", [False, True]) == (out, told)
        assert "refused" in err and "--yes" in err

    @pytest.mark.parametrize("sessions", ["0", "-3", "ten"])
    def test_a_day_of_no_lessons_is_refused_by_argparse(
        self, sessions: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`--sessions` takes a whole number from 1 up: anything else is a usage error
        naming the option (exit 2), not a ValueError from deep in the plan."""
        with pytest.raises(SystemExit) as refused:
            cli.build_parser().parse_args(["simulate", "--sessions", sessions])
        assert 2 == refused.value.code
        assert "--sessions" in capsys.readouterr().err

    @pytest.mark.parametrize(
        ("dotenv", "environment", "expected"),
        [
            ("HUDUR_PORT=9123\n", {}, "http://127.0.0.1:9123"),
            ("HUDUR_PORT=9123\n", {"HUDUR_PORT": "9200"}, "http://127.0.0.1:9200"),
            ("HUDUR_HOST=0.0.0.0\nHUDUR_PORT=9123\n", {}, "http://127.0.0.1:9123"),
            ("", {"HUDUR_HOST": "::", "HUDUR_PORT": "9124"}, "http://[::1]:9124"),
            ("", {"HUDUR_HOST": "fd00::5"}, "http://[fd00::5]:8080"),
        ],
        ids=["dotenv-port", "environment-first", "wildcard-ipv4", "wildcard-ipv6", "ipv6"],
    )
    def test_simulate_finds_the_service_where_serve_listens(
        self,
        dotenv: str,
        environment: dict[str, str],
        expected: str,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Any,
    ) -> None:
        """No `--url`: HUDUR_HOST and HUDUR_PORT, from the environment or `.env` as
        `serve` reads them; a wildcard bind address is reached on loopback."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".env").write_text(f"HUDUR_SERVICE_TOKEN={SERVICE_TOKEN}\n{dotenv}")
        for name in ("HUDUR_HOST", "HUDUR_PORT", "HUDUR_SERVICE_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
        urls: list[str] = []

        async def unreachable(url: str, **kwargs: Any) -> list[LessonOutcome]:
            urls.append(url)
            raise OSError("connection refused")

        monkeypatch.setattr(cli, "simulate", unreachable)
        assert 1 == cli.main(["simulate"])
        assert [expected] == urls
