"""Reading requests and writing answers: the only place JSON meets the models.

body = await read_body(request, ScheduleIn)       # 400 malformed, 422 invalid
query = read_query(request, SessionQuery)         # 422 naming each bad parameter
session_id = path_id(request)                     # 404 for ids no row can have
return respond(shape)                             # a response model as JSON
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, RootModel, ValidationError

from engine.api.types import MAX_ID
from engine.keys import CLOCK, DATABASE
from engine.routes import ID_PATTERN
from rules.errors import BadRequest, NotFound, ValidationFailed
from store.database import Database

M = TypeVar("M", bound=BaseModel)
_ID = re.compile(ID_PATTERN, re.ASCII)


def field_errors(exc: ValidationError, *, tagged: bool = False) -> list[dict[str, str]]:
    """pydantic's errors as `[{field, message}]`, one per bad field.

    `tagged` drops the discriminator tag pydantic puts first in the location of a
    tagged union's errors (`quran_individual.student_id` -> `student_id`).
    """
    details = []
    for error in exc.errors(include_url=False):
        loc: Sequence[Any] = error["loc"]
        if tagged and loc:
            loc = loc[1:]
        if error["type"].startswith("union_tag"):
            loc = ("type",)
        field = ".".join(str(part) for part in loc) or "body"
        message = error["msg"].removeprefix("Value error, ")
        details.append({"field": field, "message": message})
    return details


def invalid(*details: dict[str, str]) -> ValidationFailed:
    names = ", ".join(d["field"] for d in details)
    return ValidationFailed(f"invalid values: {names}", details=list(details))


def bad_field(field: str, message: str) -> ValidationFailed:
    return invalid({"field": field, "message": message})


async def read_body(request: web.Request, model: type[M]) -> M:
    """The request body as `model`: 400 when it is not JSON, 422 naming every bad field."""
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("a JSON body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest("the body is not valid JSON") from None
        raise invalid(*field_errors(exc, tagged=issubclass(model, RootModel))) from None


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`. A parameter the model lists in `REPEATABLE` takes
    every value given; any other given twice is refused, not silently one of them."""
    repeatable: frozenset[str] = getattr(model, "REPEATABLE", frozenset())
    repeated = sorted(
        {k for k in request.query if k not in repeatable and len(request.query.getall(k)) > 1}
    )
    if repeated:
        raise invalid(*({"field": k, "message": "given more than once"} for k in repeated))
    values: dict[str, Any] = {
        k: request.query.getall(k) if k in repeatable else request.query[k] for k in request.query
    }
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        details = field_errors(exc)
        for detail in details:  # `status.1` is the second `status=`: name the parameter
            name = detail["field"].split(".", 1)[0]
            if name in repeatable:
                detail["field"] = name
        raise invalid(*details) from None


def path_id(request: web.Request, name: str = "id") -> int:
    """An integer path parameter; one no row can have is simply not found. Checked
    here too, not only by the route's pattern: `int()` reads `١` and `01` as 1, and a
    route registered with a looser pattern (the page's) must not make them session 1."""
    raw = request.match_info[name]
    thing = name.removesuffix("_id") or "object"
    if not _ID.fullmatch(raw) or int(raw) > MAX_ID:
        raise NotFound(f"no such {thing} {raw}")
    return int(raw)


def respond(shape: BaseModel, *, status: int = 200) -> web.Response:
    # Serialized to JSON bytes by pydantic-core at once: no dict of plain values for
    # the json module to walk again.
    return respond_json(shape.__pydantic_serializer__.to_json(shape, by_alias=True), status=status)


def respond_json(body: bytes, *, status: int = 200) -> web.Response:
    """`respond` with the answer's bytes already written."""
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


def database(request: web.Request) -> Database:
    return request.app[DATABASE]


def now(request: web.Request) -> datetime:
    moment: datetime = request.app[CLOCK]()
    return moment
