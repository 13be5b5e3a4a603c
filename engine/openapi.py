"""The OpenAPI 3.1 document, built from the route registry (`engine.routes`).

`document` builds `/openapi.json` from the very models the handlers validate and
answer with (each operation's rights as `x-hudur-roles`), so none of them can drift
apart. Endpoints served by other modules (the webhook, sweeps,
health) are declared here with `handler=None` so the document covers the whole app,
and a sweep's rights are checked like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import models_json_schema

from engine.api.answers import ErrorBody
from engine.api.types import Id, Moment
from engine.auth import SERVICE_ONLY
from engine.pages.forms import MarkAllForm, OverrideForm, PageQuery
from engine.routes import Route

ERRORS = {
    400: "Malformed request: the body is not JSON (or not a WebhookEvent)",
    401: "No valid credential",
    403: "Outside the caller's rights",
    404: "No such object, or one of another academy",
    409: "Conflicts with the current state; `details.current_status` names it",
    413: "Body over 1 MiB",
    422: "Valid JSON with invalid values; `details` names every bad field",
    503: "The database cannot be reached; retry later",
}

# --- endpoints served by other modules ----------------------------------------------


class WebhookEventBody(RootModel[dict[str, Any]]):
    """LiveKit's `WebhookEvent` in protobuf JSON, verified on the raw bytes."""


class WebhookAnswer(BaseModel):
    status: Literal["accepted", "duplicate"]


class SweepIn(BaseModel):
    """Optional; `as_of` only where `HUDUR_ALLOW_AS_OF` is true, else 403;
    `academy_id` sweeps that academy's schedules, sessions and rooms only."""

    model_config = ConfigDict(extra="forbid")
    as_of: Moment | None = None
    academy_id: Id | None = None


class SweepTransition(BaseModel):
    """One transition a sweep made."""

    session_id: int
    session_code: str
    from_: str = Field(alias="from")
    to: str
    at: datetime


class SweepAnswer(BaseModel):
    transitions: list[SweepTransition]


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]


ELSEWHERE = (
    Route(
        "POST",
        "/webhooks/livekit",
        "LiveKit webhook intake",
        operation_id="livekit_webhook",
        body=WebhookEventBody,
        body_media_type="application/webhook+json",
        answer=WebhookAnswer,
        errors=(400, 401, 413, 503),
        implied_errors=False,
        security="livekit",
        tag="webhooks",
        description="`Authorization: <JWT>` (with or without `Bearer `) signed HS256 with the "
        "LiveKit API secret, `iss` = API key, claim `sha256` = base64 SHA-256 of the raw "
        "body. A repeated event id answers `duplicate` and stores nothing new.",
    ),
    Route(
        "POST",
        "/v1/sweeps",
        "Run one sweep now (service only)",
        operation_id="run_sweep",
        body=SweepIn,
        body_required=False,
        answer=SweepAnswer,
        errors=(403,),
        rights=SERVICE_ONLY,
        tag="operations",
    ),
    Route(
        "GET",
        "/sessions/{id}/attendance",
        "The teacher's attendance page (HTML)",
        operation_id="attendance_page",
        query=PageQuery,
        answer_media_type="text/html",
        errors=(401, 403, 404),
        rights=None,  # any role; the page reads its token from the cookie or `?token=`
        tag="pages",
        description="Same rights as the API. The token comes in the `Authorization` header, "
        "in the cookie this page sets, or once as `?token=` (answered with a 303 to the "
        "clean address and an HttpOnly, SameSite=Lax cookie, Secure over HTTPS). Every answer "
        "carries a Content-Security-Policy, `X-Frame-Options: DENY` and "
        "`Cache-Control: no-store`; its errors are HTML pages saying what to do, unless the "
        "request asks for `application/json`.",
    ),
    Route(
        "POST",
        "/sessions/{id}/attendance",
        "Override one student's verdict from the page's form",
        operation_id="attendance_page_override",
        body=OverrideForm,
        body_media_type="application/x-www-form-urlencoded",
        status=303,
        answer_media_type="text/plain",
        errors=(401, 403, 404, 409, 422),
        rights=None,  # admin or teacher, checked by the page (its token is a cookie)
        tag="pages",
        description="The same report logic as `PUT /v1/sessions/{id}/reports/{student_id}`, "
        "changing only `attendance_status`; answers 303 back to the page. Refused with 403 "
        "when `Origin` (or, lacking it, `Referer`) names another site, or when the form's "
        "`csrf_token` is missing or not this caller's for this session.",
    ),
    Route(
        "POST",
        "/sessions/{id}/attendance/present",
        "Mark every student of the lesson present from the page's form",
        operation_id="attendance_page_mark_all",
        body=MarkAllForm,
        body_media_type="application/x-www-form-urlencoded",
        status=303,
        answer_media_type="text/plain",
        errors=(401, 403, 404, 409, 422),
        rights=None,  # admin or teacher, checked by the page (its token is a cookie)
        tag="pages",
        description="The bulk reports operation of `PUT /v1/sessions/{id}/reports` with "
        "`attendance_status: present` for every roster student (the rest of each report "
        "kept) and the form's `reason`; answers 303 back to the page. Refused as the "
        "override form is.",
    ),
    Route(
        "GET",
        "/healthz",
        "Liveness",
        operation_id="healthz",
        answer=Liveness,
        security=None,
        database=False,
        tag="operations",
    ),
    Route(
        "GET",
        "/readyz",
        "Readiness: the database is reachable",
        operation_id="readyz",
        answer=Readiness,
        security=None,
        tag="operations",
    ),
)


# --- the document -------------------------------------------------------------------


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        # Optional query parameters are simply left out, never sent as null.
        options = [p for p in prop.pop("anyOf", []) if p != {"type": "null"}]
        if len(options) == 1:
            prop = {**options[0], **prop}
        if prop.get("default") is None:
            prop.pop("default", None)
        params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def _content(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {media_type: {"schema": schema}}


def document(
    routes: Sequence[Route], *, title: str = "Hudur", version: str = "1"
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`."""
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (ErrorBody, "serialization")
    ]
    for route in routes:
        models += [(m, "validation") for m in (route.body, route.query) if m is not None]
        if route.answer is not None:
            models.append((route.answer, "serialization"))
    refs, defs = models_json_schema(
        list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}"
    )
    schemas = defs.get("$defs", {})

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {
            "operationId": route.name,
            "summary": route.summary,
            "tags": [route.tag],
            "security": [{route.security: []}] if route.security else [],
        }
        if route.description:
            op["description"] = route.description
        if route.security == "bearer" and route.rights is not None:
            op["x-hudur-roles"] = route.rights.names
        strings = dict(route.string_params)
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": f"^{strings[name]}$"}
                if name in strings
                else {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            }
            for name in route.path_params
        ]
        if route.query is not None:
            query_name = refs[(route.query, "validation")]["$ref"].rsplit("/", 1)[1]
            params += _query_parameters(schemas[query_name])
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {
                "required": route.body_required,
                "content": _content(route.body_media_type, refs[(route.body, "validation")]),
            }
        responses: dict[str, Any] = {}
        for status in route.statuses():
            if status >= 400 and route.answer_media_type == "text/html":
                # The page's errors are HTML for people, JSON for clients that ask for it.
                responses[str(status)] = {
                    "description": ERRORS.get(status, "Error"),
                    "content": {
                        **_content("text/html", {"type": "string"}),
                        **_content("application/json", {"$ref": "#/components/schemas/ErrorBody"}),
                    },
                }
            elif status >= 400:
                responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
            elif route.answer is not None:
                responses[str(status)] = {
                    "description": route.summary,
                    "content": {
                        **_content(route.answer_media_type, refs[(route.answer, "serialization")]),
                        # The same answer in another form (a CSV export), as text.
                        **{
                            other: {"schema": {"type": "string"}}
                            for other in route.answer_alternatives
                        },
                    },
                }
            else:
                responses[str(status)] = {
                    "description": route.summary,
                    "content": _content(route.answer_media_type, {"type": "string"}),
                }
        op["responses"] = responses
        paths.setdefault(route.path, {})[route.method.lower()] = op

    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Sessions and attendance over LiveKit. Errors answer "
            '`{"error": {"code", "message", "details"}}` (the attendance page answers '
            "browsers with an HTML page instead); times are ISO 8601 UTC with `Z`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                f"E{status}": {
                    "description": text,
                    "content": _content("application/json", error_ref),
                }
                for status, text in ERRORS.items()
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`HUDUR_SERVICE_TOKEN` (the platform), or a user's HS256 "
                    "JWT with `sub`, `role`, `academy_id`, `exp`.",
                },
                "livekit": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "LiveKit's webhook JWT, signed with the API secret.",
                },
            },
        },
    }


class OpenAPIDocument(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""

    root: dict[str, Any] = Field(examples=[{"openapi": "3.1.0"}])


def document_route(routes: Sequence[Route]) -> Route:
    """`GET /openapi.json`, answering the document of `routes` and of itself."""
    built: dict[str, Any] = {}

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(built)

    route = Route(
        "GET",
        "/openapi.json",
        "This document",
        handler=openapi_json,
        answer=OpenAPIDocument,
        security=None,
        database=False,
        tag="operations",
    )
    built.update(document([*routes, route]))
    return route
