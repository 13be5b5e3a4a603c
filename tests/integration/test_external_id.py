"""The platform's own id on `POST /v1/sessions` (CONTRACT 5): a retry finds the session
it made, another request under the same id is refused, and racing creates make one."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from rules.codes import SessionType
from store.database import Database
from store.faults import Taken
from tests.integration.api_world import NOW, call, headers_of, seed_two_academies, snapshot

N = 20


def new_session(**changes: object) -> dict[str, Any]:
    return {
        "academy_id": 1,
        "type": "academic_individual",
        "title": "Fractions",
        "duration_minutes": 30,
        "teacher_id": 5,
        "student_id": 10,
        "external_id": "lesson-42",
        **changes,
    }


def circle(**changes: object) -> dict[str, Any]:
    body = new_session(type="quran_circle", title="Circle", **changes)
    body.pop("student_id")
    return {"student_ids": [10, 11, 12], **body}


def fields_of(body: dict[str, Any]) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


async def post_text(client: TestClient, text: str) -> tuple[int, Any]:
    """A create sent as this exact JSON text, as the platform's own encoder may write it."""
    response = await client.post(
        "/v1/sessions",
        data=text.encode(),
        headers={**headers_of("service"), "Content-Type": "application/json"},
    )
    return response.status, await response.json()


class TestFirstCreate:
    async def test_a_session_created_with_an_external_id_answers_it_in_its_shape(
        self, client: TestClient, database: Database
    ) -> None:
        """201, and `external_id` is part of the session shape (null when none was given)."""
        await seed_two_academies(database)
        status, body = await call(client, "POST", "/v1/sessions", json=new_session())
        assert (201, "lesson-42") == (status, body["external_id"])
        status, body = await call(client, "GET", f"/v1/sessions/{body['id']}")
        assert (200, "lesson-42") == (status, body["external_id"])
        status, body = await call(
            client, "POST", "/v1/sessions", json=new_session(external_id=None)
        )
        assert (201, None) == (status, body["external_id"])

    async def test_without_an_external_id_two_identical_creates_make_two_sessions(
        self, client: TestClient, database: Database
    ) -> None:
        """Nothing changes for a platform that sends no id of its own."""
        await seed_two_academies(database)
        body = new_session()
        body.pop("external_id")
        first = await call(client, "POST", "/v1/sessions", json=body)
        second = await call(client, "POST", "/v1/sessions", json=body)
        assert (201, 201) == (first[0], second[0])
        assert first[1]["id"] != second[1]["id"]


class TestRepeat:
    async def test_the_same_request_again_answers_200_with_the_session_it_made(
        self, client: TestClient, database: Database
    ) -> None:
        """A retry gets the existing session, unchanged, and nothing is written."""
        await seed_two_academies(database)
        _, made = await call(client, "POST", "/v1/sessions", json=new_session())
        before = await snapshot(database)
        status, again = await call(client, "POST", "/v1/sessions", json=new_session())
        assert (200, made) == (status, again)
        assert before == await snapshot(database)

    async def test_key_order_spacing_nulls_and_roster_order_do_not_make_another_request(
        self, client: TestClient, database: Database
    ) -> None:
        """The same fields and values are the same request, however the JSON is written."""
        await seed_two_academies(database)
        _, made = await call(client, "POST", "/v1/sessions", json=circle(lesson_content="Juz 1"))
        reordered = dict(reversed(list(circle(lesson_content="Juz 1").items())))
        reordered |= {"student_ids": [12, 10, 11], "description": None, "surah_number": None}
        status, again = await post_text(client, json.dumps(reordered, indent=3))
        assert (200, made["id"]) == (status, again["id"])

    async def test_the_same_external_id_in_another_academy_is_another_session(
        self, client: TestClient, database: Database
    ) -> None:
        """Ids are the platform's per academy: academy 2 may use academy 1's."""
        await seed_two_academies(database)
        _, ours = await call(client, "POST", "/v1/sessions", json=new_session())
        status, theirs = await call(
            client,
            "POST",
            "/v1/sessions",
            json=new_session(academy_id=2, teacher_id=7, student_id=20),
        )
        assert (201, 2, "lesson-42") == (status, theirs["academy_id"], theirs["external_id"])
        assert ours["id"] != theirs["id"]

    async def test_a_repeat_after_the_session_moved_on_still_finds_it(
        self, client: TestClient, database: Database
    ) -> None:
        """A repeat is compared with the request that made the session, not with what the
        session has become since (here: scheduled)."""
        await seed_two_academies(database)
        _, made = await call(client, "POST", "/v1/sessions", json=new_session())
        status, _ = await call(
            client,
            "POST",
            f"/v1/sessions/{made['id']}/schedule",
            json={"scheduled_at": "2025-12-03T10:00:00Z"},
        )
        assert 200 == status
        status, again = await call(client, "POST", "/v1/sessions", json=new_session())
        assert (200, made["id"], "scheduled") == (status, again["id"], again["status"])


class TestAnotherRequest:
    @pytest.mark.parametrize(
        "change",
        [
            {"title": "Decimals"},
            {"duration_minutes": 45},
            {"student_id": 11},
            {"subject": "Maths"},
            {"description": "Bring a ruler"},
        ],
    )
    async def test_another_request_under_the_same_external_id_is_a_409_naming_the_session(
        self, client: TestClient, database: Database, change: dict[str, Any]
    ) -> None:
        """409 with the existing session's id and code, and nothing is written."""
        await seed_two_academies(database)
        _, made = await call(client, "POST", "/v1/sessions", json=new_session())
        before = await snapshot(database)
        status, body = await call(client, "POST", "/v1/sessions", json=new_session(**change))
        assert 409 == status
        assert "conflict" == body["error"]["code"]
        assert {
            "session_id": made["id"],
            "session_code": made["session_code"],
            "external_id": "lesson-42",
        } == body["error"]["details"]
        assert before == await snapshot(database)

    async def test_another_type_under_the_same_external_id_is_a_409(
        self, client: TestClient, database: Database
    ) -> None:
        """A group session may not take an individual session's id."""
        await seed_two_academies(database)
        _, made = await call(client, "POST", "/v1/sessions", json=new_session())
        status, body = await call(client, "POST", "/v1/sessions", json=circle())
        assert (409, made["id"]) == (status, body["error"]["details"]["session_id"])


class TestValidation:
    @pytest.mark.parametrize(
        "external_id",
        ["", "x" * 129, " lesson", "lesson ", "les\tson", "les\nson", "les\x00son", "\u200b", 42],
    )
    async def test_an_external_id_that_is_empty_long_unprintable_or_padded_is_a_422(
        self, client: TestClient, database: Database, external_id: object
    ) -> None:
        """1 to 128 printable characters with no whitespace at either end, or 422 naming
        the field; nothing is written."""
        await seed_two_academies(database)
        before = await snapshot(database)
        status, body = await call(
            client, "POST", "/v1/sessions", json=new_session(external_id=external_id)
        )
        assert (422, ["external_id"]) == (status, fields_of(body))
        assert before == await snapshot(database)

    @pytest.mark.parametrize("external_id", ["x" * 128, "7", "درس ٤٢", "urn:uuid:1b4e-28ba"])
    async def test_printable_ids_up_to_128_characters_are_taken_as_they_are(
        self, client: TestClient, database: Database, external_id: str
    ) -> None:
        """Inner spaces and any script are fine."""
        await seed_two_academies(database)
        status, body = await call(
            client, "POST", "/v1/sessions", json=new_session(external_id=external_id)
        )
        assert (201, external_id) == (status, body["external_id"])


class TestRacingCreates:
    async def test_identical_creates_at_once_make_one_session_and_keep_codes_gap_free(
        self, client: TestClient, database: Database
    ) -> None:
        """One 201, the others 200 with the same session; the next session's code follows
        it directly (a loser's code number is given back)."""
        await seed_two_academies(database)
        answers = await asyncio.gather(
            *(call(client, "POST", "/v1/sessions", json=new_session()) for _ in range(N))
        )
        assert {201: 1, 200: N - 1} == Counter(status for status, _ in answers)
        assert 1 == len({body["id"] for _, body in answers})
        assert {"ASE-1-000001"} == {body["session_code"] for _, body in answers}
        _, following = await call(
            client, "POST", "/v1/sessions", json=new_session(external_id="lesson-43")
        )
        assert "ASE-1-000002" == following["session_code"]

    async def test_different_creates_racing_for_one_external_id_leave_one_winner(
        self, client: TestClient, database: Database
    ) -> None:
        """Of an individual and a group request racing under one id, one makes the session;
        repeats of it answer 200, the other request's copies 409 naming it."""
        await seed_two_academies(database)
        bodies = [new_session() if i % 2 else circle() for i in range(N)]
        answers = await asyncio.gather(
            *(call(client, "POST", "/v1/sessions", json=body) for body in bodies)
        )
        made = [body for status, body in answers if status == 201]
        assert 1 == len(made)
        winner = made[0]
        expected = [(200 if body["type"] == winner["type"] else 409) for body in bodies]
        expected[next(i for i, (s, _) in enumerate(answers) if s == 201)] = 201
        assert expected == [status for status, _ in answers]
        ids = {
            body["id"] if status != 409 else body["error"]["details"]["session_id"]
            for status, body in answers
        }
        assert {winner["id"]} == ids


class TestSavepoint:
    async def test_a_row_the_unique_index_refuses_undoes_only_its_savepoint(
        self, database: Database
    ) -> None:
        """`Taken` is raised, the session already there stays, and the refused insert's
        code number is given back, so the transaction commits as if it never ran."""
        await seed_two_academies(database)
        fields: dict[str, Any] = {
            "academy_id": 1,
            "session_type": SessionType.ACADEMIC_INDIVIDUAL,
            "title": "Fractions",
            "duration_minutes": 30,
            "teacher_id": 5,
            "student_ids": [10],
            "now": NOW,
            "status": "unscheduled",
            "external_id": "lesson-42",
        }
        async with database.uow() as uow:
            first_id = (await uow.sessions.create(**fields)).id
            with pytest.raises(Taken):
                async with uow.savepoint():
                    await uow.sessions.create(**fields)
            found = await uow.sessions.by_external_id(1, "lesson-42")
            assert found is not None
            assert first_id == found.id
            assert "ASE-1-000002" == await uow.sessions.next_code(
                SessionType.ACADEMIC_INDIVIDUAL, 1
            )
            await uow.commit()


class TestListFilter:
    async def test_external_id_filters_the_list_within_the_callers_academy(
        self, client: TestClient, database: Database
    ) -> None:
        """`?external_id=` finds the session; another academy's admin does not see it."""
        await seed_two_academies(database)
        _, made = await call(client, "POST", "/v1/sessions", json=new_session())
        await call(client, "POST", "/v1/sessions", json=new_session(external_id="lesson-43"))
        status, page = await call(client, "GET", "/v1/sessions?external_id=lesson-42")
        assert (200, [made["id"]]) == (status, [s["id"] for s in page["data"]])
        status, page = await call(
            client, "GET", "/v1/sessions?external_id=lesson-42", role="admin_b"
        )
        assert (200, []) == (status, page["data"])
        status, body = await call(client, "GET", "/v1/sessions?external_id=%20x")
        assert (422, ["external_id"]) == (status, fields_of(body))


class TestDocument:
    async def test_the_openapi_document_declares_the_repeat_and_the_conflict(
        self, client: TestClient
    ) -> None:
        """`POST /v1/sessions` answers 201 or 200 with the session, or 409; the body and the
        session shape carry `external_id`."""
        response = await client.get("/openapi.json")
        document = await response.json()
        operation = document["paths"]["/v1/sessions"]["post"]
        created, repeated = operation["responses"]["201"], operation["responses"]["200"]
        assert created["content"] == repeated["content"]
        assert "409" in operation["responses"]
        schemas = document["components"]["schemas"]
        assert {"minLength": 1, "maxLength": 128}.items() <= (
            schemas["NewAcademicIndividual"]["properties"]["external_id"]["anyOf"][0].items()
        )
        assert "external_id" in schemas["AcademicIndividualSession"]["properties"]
