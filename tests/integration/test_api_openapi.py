"""`/openapi.json`: generated from the models that validate requests, covering the app."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from engine.api.answers import ErrorBody, SessionOut
from engine.api.bodies import ReportIn, ScheduleIn
from engine.auth import RIGHTS

REF = "#/components/schemas/{model}"


async def fetch(client: TestClient) -> dict:
    response = await client.get("/openapi.json")
    assert 200 == response.status
    return await response.json()


class TestDocument:
    async def test_every_route_of_the_app_is_documented(self, client: TestClient) -> None:
        """Whatever the app serves (HEAD aside) appears under `paths`, with no token needed."""
        document = await fetch(client)
        served = {
            (route.method.lower(), route.resource.canonical)
            for route in client.app.router.routes()
            if route.method != "HEAD" and route.resource is not None
        }
        documented = {(method, path) for path, item in document["paths"].items() for method in item}
        assert "3.1.0" == document["openapi"]
        assert served <= documented

    async def test_schemas_are_the_request_and_response_models(self, client: TestClient) -> None:
        """Components are `model_json_schema()` of the very classes the handlers use."""
        schemas = (await fetch(client))["components"]["schemas"]
        assert ScheduleIn.model_json_schema(ref_template=REF) == schemas["ScheduleIn"]
        report = ReportIn.model_json_schema(ref_template=REF)
        # A nested model is a component of its own, not a `$defs` of its parent.
        assert report.pop("$defs")["HomeworkIn"] == schemas["HomeworkIn"]
        assert report == schemas["ReportIn"]
        assert (
            ErrorBody.model_json_schema(ref_template=REF, mode="serialization")["properties"]
            == schemas["ErrorBody"]["properties"]
        )
        assert "discriminator" in schemas[SessionOut.__name__]

    async def test_an_operation_names_its_body_answer_errors_and_security(
        self, client: TestClient
    ) -> None:
        """The schedule endpoint: bearer auth, ScheduleIn in, a session out, its error statuses."""
        operation = (await fetch(client))["paths"]["/v1/sessions/{id}/schedule"]["post"]
        assert [{"bearer": []}] == operation["security"]
        assert {"$ref": "#/components/schemas/ScheduleIn"} == operation["requestBody"]["content"][
            "application/json"
        ]["schema"]
        assert {"200", "400", "401", "403", "404", "409", "413", "422", "503"} == set(
            operation["responses"]
        )
        assert {"$ref": "#/components/responses/E409"} == operation["responses"]["409"]

    async def test_the_webhook_sweeps_and_probes_are_documented(self, client: TestClient) -> None:
        """Endpoints served by other modules are part of the same document."""
        document = await fetch(client)
        webhook = document["paths"]["/webhooks/livekit"]["post"]
        assert [{"livekit": []}] == webhook["security"]
        assert {"200", "400", "401", "413", "503"} == set(webhook["responses"])
        assert "application/webhook+json" in webhook["requestBody"]["content"]
        assert [] == document["paths"]["/healthz"]["get"]["security"]
        assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
        sweeps = document["paths"]["/v1/sweeps"]["post"]
        assert sweeps["requestBody"]["required"] is False
        assert {"200", "401", "403"} <= set(sweeps["responses"])
        assert {"type": "http", "scheme": "bearer"}.items() <= document["components"][
            "securitySchemes"
        ]["bearer"].items()

    async def test_query_parameters_come_from_the_query_model(self, client: TestClient) -> None:
        """`GET /v1/sessions` lists each filter once, optional, without a null variant."""
        operation = (await fetch(client))["paths"]["/v1/sessions"]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert {
            "status",
            "teacher_id",
            "student_id",
            "academy_id",
            "type",
            "scope",
            "from",
            "to",
            "limit",
            "cursor",
            "external_id",
        } == set(params)
        assert {"type": "integer", "minimum": 1, "maximum": 200, "default": 50} == params["limit"][
            "schema"
        ]
        assert not any(p["required"] for p in params.values())


class TestRights:
    async def test_every_bearer_route_served_has_declared_rights(self, client: TestClient) -> None:
        """Each route the app serves with a bearer token is checked by its declared
        rights, except the page, which reads its token from a cookie or its link."""
        document = await fetch(client)
        bearer = {
            (method.upper(), path)
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if operation["security"] == [{"bearer": []}]
        }
        page = {
            ("GET", "/sessions/{id}/attendance"),
            ("POST", "/sessions/{id}/attendance"),
            ("POST", "/sessions/{id}/attendance/present"),
        }
        assert bearer - page == set(client.app[RIGHTS])

    async def test_an_operation_shows_its_rights(self, client: TestClient) -> None:
        """`x-hudur-roles` lists who may call: the service first, then the roles."""
        paths = (await fetch(client))["paths"]
        assert (
            ["service", "teacher"],
            ["service", "admin", "teacher", "student"],
            ["service"],
        ) == (
            paths["/v1/sessions/{id}/complete"]["post"]["x-hudur-roles"],
            paths["/v1/sessions/{id}"]["get"]["x-hudur-roles"],
            paths["/v1/sweeps"]["post"]["x-hudur-roles"],
        )
        assert "x-hudur-roles" not in paths["/healthz"]["get"]
