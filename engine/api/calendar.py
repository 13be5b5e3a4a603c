"""Calendar feeds: `POST /v1/users/{id}/calendar-token` and `GET /v1/calendar/{token}.ics`.

A user's feed address holds a secret token (`secrets.token_urlsafe`, 256 bits);
the token is the only credential of the feed, so calendar apps can subscribe to
it. Issuing a new token replaces the old one, which stops working at once.

The feed (RFC 5545, written by the `icalendar` library) lists every scheduled
session of the user, as teacher or on the roster, one VEVENT each: UID
`<session_code>@hudur` (stable for the session's life), SUMMARY the title,
DTSTART/DTEND in UTC, URL the session's attendance page on this service,
SEQUENCE the session's revision (raised by every visible change, so calendar
apps pick up a reschedule or a cancellation) and STATUS CANCELLED or CONFIRMED.
Sessions without a time (UNSCHEDULED) are left out. Absolute links are built
from the address the request came to (scheme and Host header).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from aiohttp import web
from icalendar import Calendar, Event
from pydantic import BaseModel, Field

from engine.api.http import database, now, path_id, respond
from engine.auth import authenticate
from engine.display import LOOKS
from engine.routes import Route
from rules.codes import SessionType
from rules.errors import Forbidden, NotFound
from rules.lifecycle import Status, is_cancelled
from store.schema import Session, User

PRODID = "-//Hudur//Sessions and attendance//EN"
TOKEN_BYTES = 32
TOKEN_PATTERN = r"[A-Za-z0-9_-]{16,64}"
MEDIA_TYPE = "text/calendar"
TYPE_NAMES = {
    SessionType.QURAN_INDIVIDUAL: "Quran, individual",
    SessionType.QURAN_CIRCLE: "Quran circle",
    SessionType.ACADEMIC_INDIVIDUAL: "Academic, individual",
    SessionType.ACADEMIC_COURSE: "Academic course",
    SessionType.INTERACTIVE_COURSE: "Interactive course",
}


class CalendarTokenOut(BaseModel):
    token: str = Field(description="the feed's secret; a new one replaces the old one")
    url: str = Field(
        examples=["https://hudur.example.org/v1/calendar/3q2-7wEv1kW0b8nE1Y.ics"],
        description="the feed's address, to subscribe to in a calendar app",
    )


def origin(request: web.Request) -> str:
    return str(request.url.origin())


def feed_url(request: web.Request, token: str) -> str:
    return f"{origin(request)}/v1/calendar/{token}.ics"


def page_url(request: web.Request, session: Session) -> str:
    return f"{origin(request)}/sessions/{session.id}/attendance"


async def issue_calendar_token(request: web.Request) -> web.Response:
    principal = authenticate(request)
    user_id = path_id(request)
    async with database(request).uow() as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound(f"no such user {user_id}")
        principal.check_academy(user.academy_id)
        if not (principal.is_service or principal.role == "admin" or principal.user_id == user.id):
            raise Forbidden("only the user itself, an admin of its academy or the service")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        user.calendar_token = token
        user.updated_at = now(request)
        await uow.commit()
    return respond(CalendarTokenOut(token=token, url=feed_url(request, token)))


async def calendar_feed(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    async with database(request).uow() as uow:
        user = await uow.users.by_calendar_token(token)
        if user is None:
            raise NotFound("no such calendar")
        sessions = await uow.sessions.on_calendar_of(user.id, user.academy_id)
        body = build_feed(user, sessions, lambda s: page_url(request, s))
    return web.Response(
        body=body,
        content_type=MEDIA_TYPE,
        charset="utf-8",
        headers={
            "Cache-Control": "private, no-cache",
            "Content-Disposition": 'inline; filename="hudur.ics"',
        },
    )


def build_feed(user: User, sessions: list[Session], link: Callable[[Session], str]) -> bytes:
    """The iCalendar document of `sessions` for `user`; `link(session)` is its page."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Hudur: {user.name}")
    for session in sessions:
        calendar.add_component(_event(session, link(session)))
    return bytes(calendar.to_ical())


def _event(session: Session, url: str) -> Event:
    status = Status(session.status)
    event = Event()
    event.add("uid", f"{session.session_code}@hudur")
    event.add("dtstamp", session.updated_at)
    event.add("created", session.created_at)
    event.add("last-modified", session.updated_at)
    event.add("sequence", session.revision)
    event.add("summary", session.title)
    event.add("dtstart", session.scheduled_at)
    if session.ends_at is not None:
        event.add("dtend", session.ends_at)
    event.add("status", "CANCELLED" if is_cancelled(status) else "CONFIRMED")
    event.add("url", url)
    kind = TYPE_NAMES.get(SessionType(session.type), session.type)
    lines = [
        f"{kind} · {session.session_code} · {LOOKS[status].label_en}",
        f"Join page: {url}",
    ]
    if is_cancelled(status) and session.cancellation_reason:
        lines.append(f"Cancelled: {session.cancellation_reason}")
    event.add("description", "\n".join(lines))
    return event


ROUTES = (
    Route(
        "POST",
        "/v1/users/{id}/calendar-token",
        "Issue the user's secret calendar address",
        issue_calendar_token,
        answer=CalendarTokenOut,
        errors=(403,),
        tag="calendar",
        description="The user itself, an admin of its academy, or the service. A fresh "
        "token replaces the old one, which stops working.",
    ),
    Route(
        "GET",
        "/v1/calendar/{token}.ics",
        "The user's sessions as an iCalendar feed",
        calendar_feed,
        answer_media_type=MEDIA_TYPE,
        security=None,
        tag="calendar",
        string_params=(("token", TOKEN_PATTERN),),
        description="No other credential: the token in the address is one. Every scheduled "
        "session of the user (teacher or roster), UID `<session_code>@hudur`, SEQUENCE the "
        "session's revision, STATUS:CANCELLED for cancelled sessions; 404 for an unknown "
        "token.",
    ),
)
