"""`PUT`, `GET` and `DELETE /v1/schedules/{id}`: recurring schedules of circles and courses.

The sweeper generates their sessions (`scheduler.recurring`); these endpoints only
keep the pattern, through `engine.operations.schedules`. A PUT that changes *when*
or *for whom* sessions happen (type, teacher, roster, weekdays, start time,
duration, dates) withdraws the generated sessions that have not started yet, so
the next sweep generates them again from the new pattern; a change of title,
monthly limit or days ahead applies to sessions generated from then on. DELETE
stops generation and cancels the not-yet-started generated sessions with the
reason "schedule deleted".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from engine.api.http import database, invalid, now, path_id, read_body, respond
from engine.api.types import BODY_CONFIG, Id, Title
from engine.auth import Principal, authenticate, only
from engine.operations import schedules
from engine.operations.schedules import PutSchedule
from engine.routes import Route
from rules.codes import SessionType, is_individual
from rules.errors import NotFound
from rules.recurrence import WEEKDAYS
from store.schema import Schedule
from store.uow import UnitOfWork

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an item")
    return values


class RecurringScheduleIn(BaseModel):
    """A weekly pattern: `weekdays` at `start_time` in the academy's time zone, from
    `starts_on` to `ends_on` (inclusive, optional), at most `monthly_session_limit`
    sessions per calendar month (academy time; null: no limit), generated
    `generate_days_ahead` days in advance. Any session type; individual ones take
    exactly one student in `student_ids`."""

    model_config = BODY_CONFIG
    academy_id: Id
    type: SessionType
    title: Title
    teacher_id: Id
    student_ids: Annotated[
        list[Id],
        Field(min_length=1, max_length=500, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ]
    weekdays: Annotated[
        list[Weekday],
        Field(min_length=1, max_length=7, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ]
    start_time: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        examples=["18:00"],
        description="HH:MM, 24-hour, in the academy's time zone",
    )
    duration_minutes: int = Field(ge=1, le=1440)
    starts_on: date
    ends_on: date | None = None
    monthly_session_limit: Annotated[int, Field(ge=0, le=1000)] | None = None
    generate_days_ahead: int = Field(default=14, ge=0, le=366)


def _check_consistent(body: RecurringScheduleIn) -> None:
    """What a single field cannot say: 422 naming each field at fault."""
    problems = []
    if body.ends_on is not None and body.ends_on < body.starts_on:
        problems.append({"field": "ends_on", "message": "must not be before starts_on"})
    if is_individual(body.type) and len(body.student_ids) != 1:
        problems.append(
            {"field": "student_ids", "message": f"a {body.type.value} has exactly one student"}
        )
    if problems:
        raise invalid(*problems)


class ScheduleOut(BaseModel):
    id: int
    academy_id: int
    type: SessionType
    title: str
    teacher_id: int
    student_ids: list[int]
    weekdays: list[Weekday]
    start_time: str = Field(examples=["18:00"])
    timezone: str = Field(description="the academy's IANA zone the start time is in")
    duration_minutes: int
    starts_on: date
    ends_on: date | None
    monthly_session_limit: int | None
    generate_days_ahead: int
    active: bool
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime


def schedule_shape(schedule: Schedule, timezone: str) -> ScheduleOut:
    days = schedule.weekdays.get("days", [])
    return ScheduleOut(
        id=schedule.id,
        academy_id=schedule.academy_id,
        type=SessionType(schedule.type),
        title=schedule.title,
        teacher_id=schedule.teacher_id,
        student_ids=list(schedule.student_ids.get("ids", [])),
        weekdays=sorted(days, key=WEEKDAYS.index),
        start_time=schedule.start_time,
        timezone=timezone,
        duration_minutes=schedule.duration_minutes,
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        monthly_session_limit=schedule.monthly_session_limit,
        generate_days_ahead=schedule.generate_days_ahead,
        active=schedule.active,
        deleted_at=schedule.deleted_at,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    )


async def _shape(uow: UnitOfWork, schedule: Schedule) -> ScheduleOut:
    academy = await uow.academies.get(schedule.academy_id)
    return schedule_shape(schedule, academy.timezone if academy else "UTC")


async def _visible(
    uow: UnitOfWork, principal: Principal, schedule_id: int, *, for_update: bool = False
) -> Schedule:
    schedule = await uow.schedules.get(schedule_id, for_update=for_update)
    if schedule is None or not principal.sees(schedule.academy_id):
        raise NotFound(f"no such schedule {schedule_id}")
    return schedule


async def put_schedule(request: web.Request) -> web.Response:
    principal = authenticate(request)
    schedule_id = path_id(request)
    body = await read_body(request, RecurringScheduleIn)
    _check_consistent(body)
    principal.check_academy(body.academy_id)
    moment = now(request)
    command = PutSchedule(
        actor=principal.actor,
        schedule_id=schedule_id,
        academy_id=body.academy_id,
        session_type=body.type,
        title=body.title,
        teacher_id=body.teacher_id,
        student_ids=tuple(body.student_ids),
        weekdays=tuple(body.weekdays),
        start_time=body.start_time,
        duration_minutes=body.duration_minutes,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        monthly_session_limit=body.monthly_session_limit,
        generate_days_ahead=body.generate_days_ahead,
    )
    async with database(request).uow() as uow:
        existing = await uow.schedules.get(schedule_id, for_update=True)
        if existing is not None:
            principal.check_academy(existing.academy_id)
        schedule = await schedules.put(uow, existing, command, at=moment)
        shape = await _shape(uow, schedule)
        await uow.commit()
    return respond(shape)


async def get_schedule(request: web.Request) -> web.Response:
    principal = authenticate(request)
    schedule_id = path_id(request)
    async with database(request).uow() as uow:
        schedule = await _visible(uow, principal, schedule_id)
        shape = await _shape(uow, schedule)
    return respond(shape)


async def delete_schedule(request: web.Request) -> web.Response:
    principal = authenticate(request)
    schedule_id = path_id(request)
    moment = now(request)
    async with database(request).uow() as uow:
        schedule = await _visible(uow, principal, schedule_id, for_update=True)
        await schedules.delete(uow, schedule, at=moment, actor=principal.actor)
        shape = await _shape(uow, schedule)
        await uow.commit()
    return respond(shape)


ROUTES = (
    Route(
        "PUT",
        "/v1/schedules/{id}",
        "Create or replace a recurring schedule",
        put_schedule,
        rights=only("admin"),
        body=RecurringScheduleIn,
        answer=ScheduleOut,
        errors=(403, 409),
        tag="schedules",
        description="Admin of the academy or the service. The sweeper generates SCHEDULED "
        "sessions up to `generate_days_ahead` days ahead, at most `monthly_session_limit` "
        "per calendar month of the academy, each slot once, skipping (and recording) slots "
        "in which the teacher already has a session. Changing type, teacher, roster, "
        "weekdays, start time, duration or dates cancels the generated sessions that have "
        "not started (reason `schedule changed`) and generates them again from the new "
        "pattern. A PUT of a deleted schedule makes it active again.",
    ),
    Route(
        "GET",
        "/v1/schedules/{id}",
        "A recurring schedule",
        get_schedule,
        rights=only("admin"),
        answer=ScheduleOut,
        errors=(403,),
        tag="schedules",
    ),
    Route(
        "DELETE",
        "/v1/schedules/{id}",
        "Stop a recurring schedule",
        delete_schedule,
        rights=only("admin"),
        answer=ScheduleOut,
        errors=(403,),
        tag="schedules",
        description="Stops generation and cancels the generated sessions that have not "
        "started yet (SCHEDULED or READY, starting after now) with the reason "
        "`schedule deleted`. Started and finished sessions stay. Deleting twice is harmless.",
    ),
)
