"""Request context, the error shape of CONTRACT 5, and one summary line per request.

Errors become answers here, by the one table of `engine.api.errors`; a database
fault (`store.faults.DATABASE_FAULTS`) is a 503 the caller may retry.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import Histogram

from engine.api.errors import HTTP_CODES, http_error
from rules.errors import HudurError
from store.faults import DATABASE_FAULTS

log = structlog.get_logger("hudur.http")

REQUEST_DURATION = Histogram(
    "hudur_http_request_duration_seconds",
    "HTTP request latency, by the matched route's template (never the raw path).",
    ["route", "method", "status"],
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, code: str, message: str, details: object = None) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message, "details": details}}, status=status
    )


# A calendar feed's address holds its secret token: never write it to the logs.
_CALENDAR_TOKEN = re.compile(r"^/v1/calendar/[^/]+\.ics$")


def loggable_path(path: str) -> str:
    return "/v1/calendar/<token>.ics" if _CALENDAR_TOKEN.match(path) else path


def route_label(request: web.Request) -> str:
    """The route's template (`/v1/sessions/{id}`), so the labels stay a bounded set;
    `unmatched` for a path no route takes (404, 405)."""
    resource = request.match_info.route.resource
    return "unmatched" if resource is None else resource.canonical


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(request: web.Request) -> str:
    """A caller may send any token as a method: keep the label's values bounded."""
    return request.method if request.method in _METHODS else "other"


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    structlog.contextvars.clear_contextvars()
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:  # redirects are raised, and are not failures
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        labels = (route_label(request), method_label(request), str(status))
        REQUEST_DURATION.labels(*labels).observe(elapsed)
        log.info(
            "request",
            method=request.method,
            path=loggable_path(request.path),
            status=status,
            ms=round(elapsed * 1000, 2),
        )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HudurError as exc:
        status, code = http_error(exc)
        return error_response(status, code, exc.message, exc.details)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "http_error")
        response = error_response(exc.status, code, exc.reason)
        if "Allow" in exc.headers:  # a 405 must say which methods are allowed (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except DATABASE_FAULTS as exc:
        log.error("database_unavailable", error=str(exc))
        return error_response(503, "unavailable", "the database cannot be reached; retry later")
