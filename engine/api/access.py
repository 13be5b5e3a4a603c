"""Who may touch which session (the table in `engine.api`'s docstring).

Order of the checks, everywhere: the role (403, says nothing about any object),
then the object's academy (404, as if it did not exist), then ownership within
the academy (403: a teacher's other sessions, a student off the roster). The role
is the route's declared `rights`, checked before the handler runs
(`engine.auth.rights_middleware`); the object checks are here, once the handler has
the object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from engine.api.http import bad_field
from engine.auth import Principal
from rules.errors import Forbidden, NotFound
from store.schema import Session, User
from store.uow import UnitOfWork


class Owned(Protocol):
    """What the checks read of a session: a mapped row or the columns a finished
    read selects alone (`SessionFacts`)."""

    @property
    def academy_id(self) -> int: ...

    @property
    def teacher_id(self) -> int: ...


S = TypeVar("S", bound=Owned)


async def visible_session(
    uow: UnitOfWork, principal: Principal, session_id: int, *, for_update: bool = False
) -> Session:
    """The session if it exists in the caller's academy, else 404."""
    session = await uow.sessions.get(session_id, for_update=for_update)
    return check_visible(principal, session, session_id)


def check_visible(principal: Principal, session: S | None, session_id: int) -> S:
    """`visible_session` with the session (or its absence) in hand."""
    if session is None or not principal.sees(session.academy_id):
        raise NotFound(f"no such session {session_id}")
    return session


def check_own_teaching(principal: Principal, session: Owned) -> None:
    """A teacher acts only on the sessions it teaches."""
    if principal.role == "teacher" and session.teacher_id != principal.user_id:
        raise Forbidden("a teacher may only act on its own sessions")


async def check_reader(uow: UnitOfWork, principal: Principal, session: Session) -> list[int]:
    """May the caller read this session? Answers its roster, which every reader needs."""
    roster = await uow.sessions.roster(session.id)
    check_reads(principal, session, roster)
    return roster


def check_reads(principal: Principal, session: Owned, roster: Sequence[int]) -> None:
    """`check_reader` with the roster in hand (a finished session's written verdicts
    name it)."""
    check_own_teaching(principal, session)
    if principal.role == "student" and principal.user_id not in roster:
        raise Forbidden("a student may only see sessions it is on the roster of")


async def visible_user(
    uow: UnitOfWork, principal: Principal, user_id: int, *, students_taught: bool
) -> User:
    """The user if the caller may read it: the service anyone, an admin its academy's,
    anyone else itself, and with `students_taught` a teacher also the students on the
    roster of a session it teaches. Another academy's user is 404, someone else in
    one's own academy 403."""
    user = await uow.users.get(user_id)
    if user is None or not principal.sees(user.academy_id):
        raise NotFound(f"no such user {user_id}")
    if principal.is_service or principal.role == "admin" or principal.user_id == user.id:
        return user
    if (
        students_taught
        and principal.role == "teacher"
        and principal.user_id is not None
        and user.role == "student"
        and await uow.users.is_taught_by(user.id, principal.user_id)
    ):
        return user
    raise Forbidden(f"a {principal.role} may not read user {user_id}")


def check_on_roster(student_id: int, roster: list[int], session_id: int) -> None:
    """404 for a student who is not on the session's roster."""
    if student_id not in roster:
        raise NotFound(f"student {student_id} is not on the roster of session {session_id}")


def acting_user(principal: Principal, named: int | None, field: str) -> int | None:
    """The person an action is recorded under: the caller itself, or for the
    platform's service token the user it names in `field` (or nobody)."""
    if principal.is_service:
        return named
    if named is not None and named != principal.user_id:
        raise bad_field(field, "only the service token may act for another user")
    return principal.user_id
