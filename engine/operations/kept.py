"""A finished session's answer as kept on its written verdicts: served in one query
without reading evidence, reports or settings again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from rules.lifecycle import is_finished
from store.repositories.assessing import Inputs
from store.repositories.verdicts import Served, SessionFacts, WrittenVerdict
from store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Kept:
    """A finished session's answer as kept on its written verdicts: no evidence,
    report or settings read, the charges joined."""

    session: SessionFacts
    teacher: WrittenVerdict
    students: tuple[Served, ...]

    @property
    def student_ids(self) -> list[int]:
        return [s.verdict.user_id for s in self.students]


class KeptRead(NamedTuple):
    session: SessionFacts | None
    kept: Kept | None
    locale: str | None
    fresh: bool  # the projection was up to date in the snapshot read
    inputs: Inputs | None  # an unfinished session's assessment inputs, read with it


async def kept_attendance(uow: UnitOfWork, session_id: int) -> KeptRead:
    """The session (None if there is none), its academy's locale and, when it is
    finished and its answer is kept whole on its written verdicts, that answer with
    the charges joined; while it is unfinished, the inputs of its assessment: one
    query, which also tells whether the projection was up to date. Otherwise (a
    finished answer not kept whole) neither, and the caller reads the inputs."""
    (session, served, locale, fresh), inputs = await uow.assessing.attendance(session_id)
    if session is None or not is_finished(session.status):
        return KeptRead(session, None, locale, fresh, inputs)
    teachers = [s for s in served if s.verdict.role == "teacher"]
    if (
        len(teachers) != 1
        or teachers[0].verdict.user_id != session.teacher_id
        or any(s.verdict.snapshot is None for s in served)
        # Kept before engagement was: its figures come from the evidence instead.
        or any(
            "engagement_explanation_code" not in (s.verdict.snapshot or {})
            for s in served
            if s.verdict.role == "student"
        )
    ):
        return KeptRead(session, None, locale, fresh, None)
    students = tuple(s for s in served if s.verdict.role == "student")
    return KeptRead(session, Kept(session, teachers[0].verdict, students), locale, fresh, None)
