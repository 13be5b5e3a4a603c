"""Verdicts, teacher reports and overrides in the history, over HTTP."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from rules.codes import SessionType
from store.database import Database
from store.schema import Academy
from tests.integration.api_world import START, call, make_session, presence, seed_two_academies
from tests.integration.attendance_world import CIRCLE, S, finish, ledger_rows, no_tracks, report
from tests.support.clock import ManualClock


class TestAttendance:
    async def test_the_attendance_document_has_the_contract_shape(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Teacher and student figures, merged intervals, an explanation and the charge."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=60))
        await presence(
            database, ids.ready, 10, S + timedelta(minutes=12), S + timedelta(minutes=30)
        )
        await presence(
            database, ids.ready, 10, S + timedelta(minutes=31), S + timedelta(minutes=60)
        )
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        status, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")
        assert 200 == status
        assert {
            "session_id": ids.ready,
            "status": "completed",
            "counts_for_teacher": True,
            "teacher": {
                "user_id": 5,
                "attendance_status": "attended",
                "attended_seconds": 3600,
                "attendance_percentage": 100.0,
                "first_join_at": "2025-12-01T12:00:00Z",
                "last_leave_at": "2025-12-01T13:00:00Z",
                "join_count": 1,
                "intervals": [
                    {"joined_at": "2025-12-01T12:00:00Z", "left_at": "2025-12-01T13:00:00Z"}
                ],
            },
            "students": [
                {
                    "user_id": 10,
                    "attendance_status": "late",
                    "source": "meeting",
                    "attended_seconds": 2880,
                    "attendance_percentage": 80.0,
                    "copresent_seconds": 2880,
                    "first_join_at": "2025-12-01T12:12:00Z",
                    "last_leave_at": "2025-12-01T13:00:00Z",
                    "join_count": 2,
                    "intervals": [
                        {"joined_at": "2025-12-01T12:12:00Z", "left_at": "2025-12-01T13:00:00Z"}
                    ],
                    # Academy A reads Arabic (CONTRACT 4.3); the code is the same anywhere.
                    "explanation": "متأخر: انضم بعد البداية بـ 12 دقيقة، 48 من 60 دقيقة",
                    "explanation_code": {
                        "code": "late",
                        "late_minutes": 12,
                        "attended_minutes": 48,
                        "of_minutes": 60,
                        "attended_seconds": 2880,
                        "of_seconds": 3600,
                        "attendance_percentage": 80.0,
                        "joined_offset_seconds": 720,
                        "anchor": "start",
                    },
                    **no_tracks(attended_seconds=2880),
                    "manually_overridden": False,
                    "overridden_by": None,
                    "charge": {"status": "charged", "reason": "late", "subscription_id": 110},
                }
            ],
        } == body

    async def test_an_arabic_academy_reads_arabic_with_the_same_codes(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The explanation is in the academy's locale, rendered when read: the same
        finished session reads Arabic for an `ar` academy and English for an `en`
        one, with the same `explanation_code` (issue 15 item 3)."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=60))
        await presence(database, ids.ready, 10, S, S + timedelta(minutes=45))
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        path = f"/v1/sessions/{ids.ready}/attendance"
        _, arabic = await call(client, "GET", path)
        async with database.engine.begin() as conn:
            await conn.execute(update(Academy).values(locale="en"))
        _, english = await call(client, "GET", path)
        [ar_student], [en_student] = arabic["students"], english["students"]
        assert (
            "غادر مبكرًا: غادر قبل النهاية بـ 15 دقيقة، 45 من 60 دقيقة" == ar_student["explanation"]
        )
        assert "left_early: left 15 min before end, 45 of 60 min" == en_student["explanation"]
        assert ar_student["explanation_code"] == en_student["explanation_code"]
        assert {"code": "left_early", "left_early_minutes": 15}.items() <= ar_student[
            "explanation_code"
        ].items()

    async def test_before_the_end_verdicts_are_pending_and_nothing_is_charged(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A live session's verdict may still change; `charge.status` is `none`."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 10, S, None)
        clock.set(S + timedelta(minutes=20))
        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")
        student = body["students"][0]
        assert ("pending", "meeting", 1200) == (
            student["attendance_status"],
            student["source"],
            student["attended_seconds"],
        )
        assert {"status": "none", "reason": None, "subscription_id": None} == student["charge"]
        assert (None, "pending") == (
            body["counts_for_teacher"],
            body["teacher"]["attendance_status"],
        )

    async def test_a_student_sees_only_its_own_verdict(
        self, client: TestClient, database: Database
    ) -> None:
        """Classmates' attendance is not a student's business."""
        ids = await seed_two_academies(database)
        _, as_student = await call(
            client, "GET", f"/v1/sessions/{ids.circle}/attendance", role="student_on"
        )
        _, as_teacher = await call(
            client, "GET", f"/v1/sessions/{ids.circle}/attendance", role="teacher_own"
        )
        assert [10] == [s["user_id"] for s in as_student["students"]]
        assert [10, 11, 12] == [s["user_id"] for s in as_teacher["students"]]


class TestReports:
    async def test_a_report_flips_a_completed_session_to_absent_and_back_with_one_ledger_row(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """COMPLETED -> ABSENT -> COMPLETED by reports; the one ledger row follows the verdict."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=60))
        await presence(database, ids.ready, 10, S, S + timedelta(minutes=60))
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        assert [(10, "charged", "present", False)] == await ledger_rows(database, ids.ready)

        clock.set(S + timedelta(hours=2))
        status, absent = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            role="teacher_own",
            json=report(attendance_status="absent", reason="was a sibling on camera"),
        )
        assert (200, "absent") == (status, absent["session_status"])
        assert ("absent", "teacher_report", True, 5) == (
            absent["verdict"]["attendance_status"],
            absent["verdict"]["source"],
            absent["verdict"]["manually_overridden"],
            absent["verdict"]["overridden_by"],
        )
        assert [(10, "charged", "absent", False)] == await ledger_rows(database, ids.ready)

        clock.set(S + timedelta(hours=3))
        status, back = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            role="teacher_own",
            json=report(reason="it was the student after all"),
        )
        assert (200, "completed", "meeting") == (
            status,
            back["session_status"],
            back["verdict"]["source"],
        )
        assert [(10, "charged", "present", False)] == await ledger_rows(database, ids.ready)
        _, session = await call(client, "GET", f"/v1/sessions/{ids.ready}")
        _, sub = await call(client, "GET", "/v1/subscriptions/110")
        assert "completed" == session["status"]
        assert (1, 7) == (sub["used_sessions"], sub["remaining_sessions"])

    async def test_every_override_is_in_the_history_with_who_when_why_before_and_after(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Oldest first: the report, then the move it caused, then the next report and move."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=60))
        await presence(database, ids.ready, 10, S, S + timedelta(minutes=60))
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        clock.set(S + timedelta(hours=2))
        await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            role="teacher_own",
            json=report(attendance_status="absent", reason="camera off", participation_score=0),
        )
        clock.set(S + timedelta(hours=3))
        await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            role="admin_a",
            json=report(reason="appeal accepted"),
        )
        status, history = await call(
            client, "GET", f"/v1/sessions/{ids.ready}/history", role="teacher_own"
        )
        assert 200 == status
        assert [
            ("transition", "2025-12-01T09:00:00Z", "service", {"status": "scheduled"}),
            ("transition", "2025-12-01T09:00:00Z", "service", {"status": "ready"}),
            ("transition", "2025-12-01T13:10:00Z", "service", {"status": "completed"}),
            ("report", "2025-12-01T14:00:00Z", "user:5", None),
            ("transition", "2025-12-01T14:00:00Z", "user:5", {"status": "absent"}),
            ("report", "2025-12-01T15:00:00Z", "user:1", None),
            ("transition", "2025-12-01T15:00:00Z", "user:1", {"status": "completed"}),
        ] == [
            (e["kind"], e["at"], e["actor"], e["after"] if e["kind"] == "transition" else None)
            for e in history["data"]
        ]
        first, second = (e for e in history["data"] if e["kind"] == "report")
        assert ("camera off", 10) == (first["reason"], first["student_id"])
        assert {
            "report": None,
            "attendance_status": "present",
            "source": "meeting",
            "charge": {"status": "charged", "reason": "present", "subscription_id": 110},
        } == first["before"]
        assert {
            "attendance_status": "absent",
            "source": "teacher_report",
            "charge": {"status": "charged", "reason": "absent", "subscription_id": 110},
        }.items() <= first["after"].items()
        assert {
            "attendance_status": "absent",
            "actual_attendance_minutes": None,
            "participation_score": 0.0,
            "notes": None,
            "reported_by": 5,
        } == first["after"]["report"]
        assert first["after"] == second["before"]
        assert ("appeal accepted", "present") == (
            second["reason"],
            second["after"]["attendance_status"],
        )

    async def test_a_null_status_hands_the_verdict_back_to_the_evidence(
        self, client: TestClient, database: Database
    ) -> None:
        """A report without `attendance_status` keeps its notes but decides nothing."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            json=report(
                notes="memorised two pages", papers_memorized_today=2, recitation_quality=8.5
            ),
        )
        assert 200 == status
        assert ("pending", "none", False) == (
            body["verdict"]["attendance_status"],
            body["verdict"]["source"],
            body["verdict"]["manually_overridden"],
        )
        assert (2.0, 8.5, "memorised two pages") == (
            body["papers_memorized_today"],
            body["recitation_quality"],
            body["notes"],
        )

    async def test_a_report_on_a_live_session_decides_without_moving_or_charging(
        self, client: TestClient, database: Database
    ) -> None:
        """Before the end a report is stored and wins the verdict; nothing is charged yet."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.circle}/reports/11",
            json=report(attendance_status="late"),
        )
        assert (200, "ready", "late") == (
            status,
            body["session_status"],
            body["verdict"]["attendance_status"],
        )
        assert [] == await ledger_rows(database, ids.circle)

    async def test_on_a_group_session_a_report_changes_the_charge_not_the_status(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A circle stays COMPLETED; the student's row is rewritten in place."""
        ids = await seed_two_academies(database)
        await finish(client, clock, ids.circle, CIRCLE + timedelta(minutes=70))
        assert [
            (10, "charged", "absent", False),
            (11, "charged", "absent", False),
            (12, "charged", "absent", False),
        ] == await ledger_rows(database, ids.circle)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.circle}/reports/11",
            json=report(attendance_status="present"),
        )
        assert (200, "completed") == (status, body["session_status"])
        assert (11, "charged", "present", False) == (await ledger_rows(database, ids.circle))[1]

    async def test_fields_out_of_range_or_of_another_type_are_each_named(
        self, client: TestClient, database: Database
    ) -> None:
        """Scores are 0-10; a Quran session has no grade; statuses are the five of CONTRACT 4.2."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            json=report(
                attendance_status="excused",
                participation_score=11,
                recitation_quality=-1,
                actual_attendance_minutes=2000,
            ),
        )
        assert 422 == status
        assert {
            "attendance_status",
            "participation_score",
            "recitation_quality",
            "actual_attendance_minutes",
        } == {d["field"] for d in body["error"]["details"]}
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            json=report(session_grade=9.5, learning_outcomes="fractions"),
        )
        assert (422, ["session_grade", "learning_outcomes"]) == (
            status,
            [d["field"] for d in body["error"]["details"]],
        )

    async def test_academic_sessions_take_grades(
        self, client: TestClient, database: Database
    ) -> None:
        """`session_grade` 0.0-10.0 and `learning_outcomes` belong to academic types."""
        await seed_two_academies(database)
        async with database.uow() as uow:
            session = await make_session(
                uow,
                starts_at=START + timedelta(days=1),
                session_type=SessionType.ACADEMIC_INDIVIDUAL,
            )
            await uow.commit()
        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{session.id}/reports/10",
            json=report(session_grade=9.5, learning_outcomes=["fractions"]),
        )
        bad = await call(
            client,
            "PUT",
            f"/v1/sessions/{session.id}/reports/10",
            json=report(session_grade=10.5, recitation_quality=5),
        )
        assert (200, 9.5, ["fractions"]) == (
            status,
            body["session_grade"],
            body["learning_outcomes"],
        )
        assert {"session_grade", "recitation_quality"} == {
            d["field"] for d in bad[1]["error"]["details"]
        }

    async def test_a_student_off_the_roster_is_404_and_a_cancelled_session_409(
        self, client: TestClient, database: Database
    ) -> None:
        """Reports are about roster students of sessions that happen."""
        ids = await seed_two_academies(database)
        off = await call(client, "PUT", f"/v1/sessions/{ids.ready}/reports/11", json=report())
        await call(client, "POST", f"/v1/sessions/{ids.ready}/cancel", json={"reason": "x"})
        cancelled = await call(client, "PUT", f"/v1/sessions/{ids.ready}/reports/10", json=report())
        assert 404 == off[0]
        assert (409, "cancelled") == (
            cancelled[0],
            cancelled[1]["error"]["details"]["current_status"],
        )
