"""The academy and people a new session or schedule names, checked against the directory."""

from __future__ import annotations

from rules.errors import NotFound, ValidationFailed
from store.schema import Academy
from store.uow import UnitOfWork


def _bad_field(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"invalid values: {field}", details=[{"field": field, "message": message}]
    )


async def academy_named(uow: UnitOfWork, academy_id: int) -> Academy:
    """The academy a body names in `academy_id`, else 404 naming that field."""
    academy = await uow.academies.get(academy_id)
    if academy is None:
        raise NotFound(f"no such academy {academy_id}", details={"field": "academy_id"})
    return academy


async def check_people(
    uow: UnitOfWork,
    academy_id: int,
    teacher_id: int,
    student_ids: list[int],
    *,
    roster_field: str,
) -> None:
    """A teacher and students of `academy_id` with those roles, for a new session or
    schedule: 404 for anyone missing or of another academy, 422 for a wrong role."""
    users = await uow.users.get_many([teacher_id, *student_ids])
    teacher = users.get(teacher_id)
    if teacher is None or teacher.academy_id != academy_id:
        raise NotFound(
            f"no such teacher {teacher_id} in academy {academy_id}",
            details={"field": "teacher_id"},
        )
    if teacher.role != "teacher":
        raise _bad_field("teacher_id", f"user {teacher.id} is a {teacher.role}, not a teacher")
    unknown = [s for s in student_ids if s not in users or users[s].academy_id != academy_id]
    if unknown:
        raise NotFound(
            f"no such student in academy {academy_id}: {unknown}",
            details={"field": roster_field, "ids": unknown},
        )
    wrong = [s for s in student_ids if users[s].role != "student"]
    if wrong:
        raise _bad_field(roster_field, f"not students: {wrong}")
