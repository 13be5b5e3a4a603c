"""`PUT`, `GET`, `DELETE /v1/webhook-endpoints/{id}` and `GET …/deliveries`: where the
platform hears of changes (CONTRACT 6), through `engine.operations.endpoints`.

Admin (of its academy) or service. An endpoint of every academy (`academy_id`
null) is the service's alone: an admin cannot make one (403) and does not see one
(404). The secret is write-only: answers say `secret_set`, logs never carry it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from engine.api.http import bad_field, database, now, path_id, read_body, read_query, respond
from engine.api.types import BODY_CONFIG, MAX_ID, Id
from engine.auth import Principal, authenticate, only
from engine.operations import endpoints
from engine.operations.endpoints import PutEndpoint
from engine.routes import Route
from rules.errors import Forbidden, NotFound
from rules.notify import ALL_EVENTS, EventType
from store.repositories.notifications import AttemptRow
from store.schema import NotificationEndpoint
from store.uow import UnitOfWork

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)
EVENT_NAMES = (ALL_EVENTS, *(e.value for e in EventType))


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError for a port out of range or not a number
    except ValueError:
        raise ValueError("must be an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not carry a user or password")
    if port == 0:
        raise ValueError("must not name port 0")
    return value


def _secret(value: str) -> str:
    # The message never repeats the value: a wrong secret is a secret all the same.
    problem = f"must be {SECRET_PREFIX} followed by the base64 of 24 to 64 random bytes"
    if not value.startswith(SECRET_PREFIX):
        raise ValueError(problem)
    try:
        raw = base64.b64decode(value.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(problem) from None
    if not SECRET_BYTES[0] <= len(raw) <= SECRET_BYTES[1]:
        raise ValueError(problem)
    return value


def _events(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an item")
    unknown = sorted(v for v in values if v not in EVENT_NAMES)
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)[:200]}")
    return values


class WebhookEndpointIn(BaseModel):
    """An endpoint: `academy_id` null hears of every academy (service only); `events`
    lists the message types it wants, or `["*"]` for all; `secret` is Standard
    Webhooks' `whsec_` + base64 of 24 to 64 random bytes."""

    model_config = BODY_CONFIG
    academy_id: Id | None = None
    url: Annotated[
        str,
        Field(
            min_length=8,
            max_length=2000,
            pattern=r"^[hH][tT][tT][pP][sS]?://\S+$",
            examples=["https://platform.example/hooks/hudur"],
        ),
        AfterValidator(_http_url),
    ]
    secret: Annotated[
        str,
        Field(
            min_length=38,
            max_length=100,
            pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
            json_schema_extra={"writeOnly": True},
        ),
        AfterValidator(_secret),
    ]
    events: Annotated[
        list[Annotated[str, Field(json_schema_extra={"enum": list(EVENT_NAMES)})]],
        Field(min_length=1, max_length=len(EVENT_NAMES), json_schema_extra={"uniqueItems": True}),
        AfterValidator(_events),
    ]
    enabled: bool = True

    def __repr__(self) -> str:
        return f"WebhookEndpointIn(url={self.url!r}, secret=<set>, events={self.events})"


class WebhookEndpointOut(BaseModel):
    id: int
    academy_id: int | None
    url: str
    events: list[str]
    enabled: bool
    secret_set: bool = Field(description="the secret is never shown; this says one is set")
    created_at: datetime
    updated_at: datetime


class DeliveryOut(BaseModel):
    id: int
    message_id: str = Field(description="the `webhook-id` of the message")
    type: str
    session_id: int
    attempt: int = Field(description="1 for the first attempt of the message")
    at: datetime
    status_code: int | None = Field(description="the endpoint's answer; null: none came")
    error: str | None
    duration_ms: int
    message_state: str = Field(description="pending, delivered or failed (given up)")


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


class DeliveriesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = Field(default=None, min_length=1, max_length=20, pattern=r"^[1-9][0-9]*$")


def endpoint_shape(endpoint: NotificationEndpoint) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=endpoint.id,
        academy_id=endpoint.academy_id,
        url=endpoint.url,
        events=list(endpoint.events.get("types", [])),
        enabled=endpoint.enabled,
        secret_set=bool(endpoint.secret),
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def _attempt_shape(row: AttemptRow) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        message_id=row.message_id,
        type=row.type,
        session_id=row.session_id,
        attempt=row.attempt,
        at=row.at,
        status_code=row.status_code,
        error=row.error,
        duration_ms=row.duration_ms,
        message_state=row.state,
    )


def _check_scope(principal: Principal, academy_id: int | None) -> None:
    if academy_id is None:
        if not principal.is_service:
            raise Forbidden("only the platform's service token may hear of every academy")
        return
    principal.check_academy(academy_id)


async def _visible(
    uow: UnitOfWork, principal: Principal, endpoint_id: int, *, for_update: bool = False
) -> NotificationEndpoint:
    endpoint = await uow.endpoints.get(endpoint_id, for_update=for_update)
    if endpoint is None or not (
        principal.is_service
        or (endpoint.academy_id is not None and principal.sees(endpoint.academy_id))
    ):
        raise NotFound(f"no such webhook endpoint {endpoint_id}")
    return endpoint


async def put_endpoint(request: web.Request) -> web.Response:
    principal = authenticate(request)
    endpoint_id = path_id(request)
    body = await read_body(request, WebhookEndpointIn)
    _check_scope(principal, body.academy_id)
    command = PutEndpoint(
        endpoint_id=endpoint_id,
        academy_id=body.academy_id,
        url=body.url,
        secret=body.secret,
        events=tuple(body.events),
        enabled=body.enabled,
    )
    async with database(request).uow() as uow:
        existing = await uow.endpoints.get(endpoint_id, for_update=True)
        if existing is not None:
            await _visible(uow, principal, endpoint_id)
        endpoint = await endpoints.put(uow, command, at=now(request), actor=principal.actor)
        shape = endpoint_shape(endpoint)
        await uow.commit()
    return respond(shape)


async def get_endpoint(request: web.Request) -> web.Response:
    principal = authenticate(request)
    endpoint_id = path_id(request)
    async with database(request).uow() as uow:
        shape = endpoint_shape(await _visible(uow, principal, endpoint_id))
    return respond(shape)


async def delete_endpoint(request: web.Request) -> web.Response:
    principal = authenticate(request)
    endpoint_id = path_id(request)
    async with database(request).uow() as uow:
        endpoint = await _visible(uow, principal, endpoint_id, for_update=True)
        shape = endpoint_shape(endpoint)
        await endpoints.delete(uow, endpoint, actor=principal.actor)
        await uow.commit()
    return respond(shape)


async def get_deliveries(request: web.Request) -> web.Response:
    principal = authenticate(request)
    endpoint_id = path_id(request)
    query = read_query(request, DeliveriesQuery)
    before = int(query.cursor) if query.cursor else None
    if before is not None and before > MAX_ID:
        raise bad_field("cursor", "not a cursor this service handed out")
    async with database(request).uow() as uow:
        await _visible(uow, principal, endpoint_id)
        rows = await uow.outbox.attempts(endpoint_id, before=before, limit=query.limit + 1)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return respond(
        DeliveryList(
            data=[_attempt_shape(r) for r in page],
            next_cursor=str(page[-1].id) if more else None,
        )
    )


ROUTES = (
    Route(
        "PUT",
        "/v1/webhook-endpoints/{id}",
        "Create or replace an endpoint for outgoing notifications",
        put_endpoint,
        rights=only("admin"),
        body=WebhookEndpointIn,
        answer=WebhookEndpointOut,
        errors=(403,),
        tag="notifications",
        description="Admin of the academy or the service; `academy_id` null (every "
        "academy) is the service's alone. Messages written from then on are POSTed to "
        "`url`, signed with `secret` (Standard Webhooks), at least once and in order per "
        "session. The secret is never shown again.",
    ),
    Route(
        "GET",
        "/v1/webhook-endpoints/{id}",
        "An endpoint for outgoing notifications",
        get_endpoint,
        rights=only("admin"),
        answer=WebhookEndpointOut,
        errors=(403,),
        tag="notifications",
    ),
    Route(
        "DELETE",
        "/v1/webhook-endpoints/{id}",
        "Remove an endpoint, with its undelivered messages",
        delete_endpoint,
        rights=only("admin"),
        answer=WebhookEndpointOut,
        errors=(403,),
        tag="notifications",
    ),
    Route(
        "GET",
        "/v1/webhook-endpoints/{id}/deliveries",
        "The endpoint's recent delivery attempts, newest first",
        get_deliveries,
        rights=only("admin"),
        query=DeliveriesQuery,
        answer=DeliveryList,
        errors=(403,),
        tag="notifications",
    ),
)
