"""`PUT /v1/academies/{id}` and the academy's rule settings."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from engine.api.answers import AcademyOut, RulesOut
from engine.api.bodies import AcademyIn as AcademyBody
from engine.api.bodies import RulesIn
from engine.api.http import database, invalid, now, path_id, read_body, respond
from engine.api.shapes import RULE_LEVELS, academy_shape, rules_shape
from engine.auth import EVERYONE, authenticate, only
from engine.routes import Route
from rules.errors import NotFound
from rules.settings import resolve_settings
from store.schema import Academy
from store.uow import UnitOfWork

_PAIRS = (("partial_percent", "full_percent"), ("teacher_partial_percent", "teacher_full_percent"))


async def put_academy(request: web.Request) -> web.Response:
    principal = authenticate(request)
    academy_id = path_id(request)
    principal.check_academy(academy_id)
    body = await read_body(request, AcademyBody)
    async with database(request).uow() as uow:
        academy = await uow.academies.upsert(academy_id, now=now(request), **body.model_dump())
        await uow.commit()
    return respond(academy_shape(academy))


async def get_academy(request: web.Request) -> web.Response:
    principal = authenticate(request)
    academy_id = path_id(request)
    principal.check_academy(academy_id)
    async with database(request).uow() as uow:
        academy = await _existing(uow, academy_id)
        return respond(academy_shape(academy))


async def _existing(uow: UnitOfWork, academy_id: int) -> Academy:
    academy = await uow.academies.get(academy_id)
    if academy is None:
        raise NotFound(f"no such academy {academy_id}")
    return academy


def _rules_of(body: RulesIn) -> dict[str, dict[str, Any]]:
    rules = {}
    for level in RULE_LEVELS:
        settings = getattr(body, level)
        if settings is not None and (values := settings.model_dump(exclude_none=True)):
            rules[level] = values
    problems = []
    for level in RULE_LEVELS:
        resolved = resolve_settings(rules, level).to_dict()
        own = rules.get(level, {})
        for lower, upper in _PAIRS:
            # Blame the level that set one of the pair; a type that inherits both
            # from `default` is reported there once.
            blamed = level == "default" or bool({lower, upper} & own.keys())
            if resolved[lower] > resolved[upper] and blamed:
                problems.append(
                    {
                        "field": f"{level}.{lower}",
                        "message": f"{resolved[lower]:g} must not exceed {upper} "
                        f"({resolved[upper]:g}) in force for {level}",
                    }
                )
    if problems:
        raise invalid(*problems)
    return rules


async def put_rules(request: web.Request) -> web.Response:
    principal = authenticate(request)
    academy_id = path_id(request)
    principal.check_academy(academy_id)
    rules = _rules_of(await read_body(request, RulesIn))
    async with database(request).uow() as uow:
        academy = await _existing(uow, academy_id)
        academy.rules = rules
        academy.updated_at = now(request)
        await uow.commit()
    return respond(rules_shape(rules))


async def get_rules(request: web.Request) -> web.Response:
    principal = authenticate(request)
    academy_id = path_id(request)
    principal.check_academy(academy_id)
    async with database(request).uow() as uow:
        academy = await _existing(uow, academy_id)
        return respond(rules_shape(academy.rules or {}))


ROUTES = (
    Route(
        "PUT",
        "/v1/academies/{id}",
        "Create or update an academy",
        put_academy,
        rights=only("admin"),
        body=AcademyBody,
        answer=AcademyOut,
        errors=(403,),
        tag="academies",
    ),
    Route(
        "GET",
        "/v1/academies/{id}",
        "The academy (name, time zone, locale), as its PUT answers it",
        get_academy,
        rights=EVERYONE,
        answer=AcademyOut,
        tag="academies",
        description="Everyone reads its own academy; another academy is 404.",
    ),
    Route(
        "PUT",
        "/v1/academies/{id}/rules",
        "Replace the academy's rule settings",
        put_rules,
        rights=only("admin"),
        body=RulesIn,
        answer=RulesOut,
        errors=(403,),
        tag="academies",
    ),
    Route(
        "GET",
        "/v1/academies/{id}/rules",
        "The rule settings in force, per session type",
        get_rules,
        rights=only("admin"),
        answer=RulesOut,
        errors=(403,),
        tag="academies",
    ),
)
