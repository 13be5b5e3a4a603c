"""Every API route (CONTRACT 5) mounted on the app, with `GET /openapi.json` and the
rights table. Apart from the package's `__init__`, so that importing one module of
engine/api (the outbox imports its shapes) loads no other route's module."""

from __future__ import annotations

from aiohttp import web

from engine.api import (
    academies,
    actions,
    attendance,
    attendance_report,
    calendar,
    charges,
    makeup,
    metrics,
    progress,
    report_reads,
    reports,
    schedules,
    sessions,
    subscriptions,
    users,
    webhook_endpoints,
)
from engine.auth import RIGHTS
from engine.openapi import ELSEWHERE, document_route
from engine.routes import Route, add_routes, rights_table

ROUTES: tuple[Route, ...] = (
    *academies.ROUTES,
    *users.ROUTES,
    *subscriptions.ROUTES,
    *sessions.ROUTES,
    *actions.ROUTES,
    *attendance.ROUTES,
    *attendance_report.ROUTES,
    *reports.ROUTES,
    *report_reads.ROUTES,
    *progress.ROUTES,
    *charges.ROUTES,
    *metrics.ROUTES,
    *schedules.ROUTES,
    *makeup.ROUTES,
    *calendar.ROUTES,
    *webhook_endpoints.ROUTES,
)


def setup(app: web.Application) -> None:
    """Register every API route and `GET /openapi.json` describing the whole app, and
    the declared rights of every route (these and the ones served elsewhere) that
    `engine.auth.rights_middleware` checks."""
    served = [*ROUTES, document_route([*ROUTES, *ELSEWHERE])]
    add_routes(app, served)
    app[RIGHTS] = rights_table([*served, *ELSEWHERE])
