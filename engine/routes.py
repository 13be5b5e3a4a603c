"""The route registry: each endpoint declared once as a `Route`.

A route says its method, path, summary, who may call it (`rights`), the pydantic
models of its body, query and answer, its success status and the error statuses it
can give. `add_routes` registers the handlers with aiohttp; `rights_table` is what
`engine.auth.rights_middleware` checks before any handler runs; `engine.openapi`
builds `/openapi.json` from the same declarations, so none of them can drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

from engine.auth import EVERYONE, Rights

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Security = Literal["bearer", "livekit", None]

_PARAM = re.compile(r"\{(\w+)\}")
# An id as the platform writes it: ASCII digits, no leading zero. `\d` would take
# Arabic-Indic digits too, and `01` or `١` would then name session 1; no row has id 0.
ID_PATTERN = r"[1-9][0-9]*"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # OpenAPI form: `{id}` placeholders, all of them integer ids
    summary: str
    handler: Handler | None = None  # None: served elsewhere, documented here
    operation_id: str | None = None
    body: type[BaseModel] | None = None
    body_media_type: str = "application/json"
    body_required: bool = True
    query: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    answer_media_type: str = "application/json"
    # Other media types the same answer comes in (`Accept` or a query parameter chooses).
    answer_alternatives: tuple[str, ...] = ()
    status: int = 200
    successes: tuple[int, ...] = ()  # other success statuses, answering the same model
    errors: tuple[int, ...] = ()
    # False: `errors` is the whole list, nothing is implied by body, query or path.
    implied_errors: bool = True
    security: Security = "bearer"
    # Who may call a bearer route (the service always may). None: the handler takes
    # its credential elsewhere and checks it itself (the page's cookie or link).
    rights: Rights | None = EVERYONE
    database: bool = True
    tag: str = "sessions"
    description: str | None = None
    # Path parameters that are not integer ids: (name, regex), e.g. a secret token.
    string_params: tuple[tuple[str, str], ...] = ()

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def name(self) -> str:
        if self.operation_id:
            return self.operation_id
        assert self.handler is not None, f"{self.method} {self.path} needs an operation_id"
        return self.handler.__name__

    def statuses(self) -> list[int]:
        """Every status the endpoint can answer with, success first."""
        implied: set[int] = set(self.errors)
        if not self.implied_errors:
            return [self.status, *self.successes, *sorted(implied)]
        if self.security:
            implied.add(401)
        if self.database:
            implied.add(503)
        if self.path_params:
            implied.add(404)
        if self.body is not None:
            implied |= {400, 413, 422}
        if self.query is not None:
            implied.add(422)
        return [self.status, *self.successes, *sorted(implied)]


def add_routes(app: web.Application, routes: Iterable[Route]) -> None:
    for route in routes:
        if route.handler is not None:
            app.router.add_route(route.method, _aiohttp_path(route), route.handler)


def rights_table(routes: Iterable[Route]) -> dict[tuple[str, str], Rights]:
    """The declared rights of every bearer route, by method and path."""
    return {
        (route.method, route.path): route.rights
        for route in routes
        if route.security == "bearer" and route.rights is not None
    }


def _aiohttp_path(route: Route) -> str:
    """`{id}` becomes an `ID_PATTERN` match; a string parameter gets its own pattern."""
    patterns = dict(route.string_params)

    def placeholder(match: re.Match[str]) -> str:
        name = match[1]
        return "{" + name + ":" + patterns.get(name, ID_PATTERN) + "}"

    return _PARAM.sub(placeholder, route.path)
