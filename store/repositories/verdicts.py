"""Written verdicts: what a finished session decided for each of its users."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.base import table_of
from store.schema import Charge, Session, StoredVerdict


@dataclass(frozen=True, slots=True)
class WrittenVerdict:
    """One user's verdict as written; `source` is None for the teacher."""

    user_id: int
    role: str
    status: str
    source: str | None
    explanation: str | None
    snapshot: dict[str, Any] | None = None  # the rest of the user's answer entry


@dataclass(frozen=True, slots=True)
class Served:
    """A written verdict as a finished session's answer serves it, with the student's
    charge (its status, reason and subscription; None before there is one)."""

    verdict: WrittenVerdict
    charge: tuple[str, str | None, int | None] | None


class SessionFacts(NamedTuple):
    """The columns of a session a kept answer and the access checks need."""

    id: int
    academy_id: int
    teacher_id: int
    status: str
    counts_for_teacher: bool | None


class SessionRead(NamedTuple):
    """What an attendance read found of the session (`AssessingRepository.attendance`),
    and whether the projection was up to date in the snapshot it read from (False
    also when there is no such session)."""

    session: SessionFacts | None
    served: list[Served]
    locale: str | None
    fresh: bool


# The fields of a written verdict and its charge, in the order `_served` reads them.
_FIELDS = (
    StoredVerdict.user_id,
    StoredVerdict.role,
    StoredVerdict.status,
    StoredVerdict.source,
    StoredVerdict.explanation,
    StoredVerdict.snapshot,
    Charge.status,
    Charge.reason,
    Charge.subscription_id,
    Charge.id,
)


def verdicts_of_session(dialect: str) -> Any:
    """A session's written verdicts with their charges as the text of one JSON array
    of arrays (a scalar subquery correlated to the outer `Session`): the session's row
    comes once, not once per verdict with its columns decoded again each time, and
    the text is decoded by pydantic-core's parser, not the json module's."""
    if dialect == "postgresql":
        entry = func.json_build_array(*_FIELDS)
        aggregate = func.json_agg(aggregate_order_by(entry, StoredVerdict.user_id))
    else:
        # `json()` embeds the stored snapshot text as JSON, not as a string.
        entry = func.json_array(*_FIELDS[:5], func.json(StoredVerdict.snapshot), *_FIELDS[6:])
        aggregate = func.json_group_array(entry)
    return (
        select(cast(aggregate, Text))
        .select_from(StoredVerdict)
        .outerjoin(
            Charge,
            and_(
                Charge.session_id == StoredVerdict.session_id,
                Charge.student_id == StoredVerdict.user_id,
            ),
        )
        .where(StoredVerdict.session_id == Session.id)
        .correlate(Session)
        .scalar_subquery()
    )


def served_of(entry: Sequence[Any]) -> Served:
    (user_id, role, status, source, explanation, snapshot) = entry[:6]
    charge_status, reason, subscription_id, charge_id = entry[6:]
    return Served(
        WrittenVerdict(user_id, role, status, source, explanation, snapshot),
        None if charge_id is None else (charge_status, reason, subscription_id),
    )


class VerdictRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_session(self, session_id: int) -> dict[int, WrittenVerdict]:
        """The written verdicts of a session, by user id (empty until it finished)."""
        rows = await self.session.scalars(
            select(StoredVerdict).where(StoredVerdict.session_id == session_id)
        )
        return {
            row.user_id: WrittenVerdict(
                row.user_id, row.role, row.status, row.source, row.explanation
            )
            for row in rows
        }

    async def for_sessions(
        self, session_ids: Sequence[int]
    ) -> dict[int, dict[int, WrittenVerdict]]:
        """The written verdicts of each of `session_ids` (one query), by user id."""
        result: dict[int, dict[int, WrittenVerdict]] = {sid: {} for sid in session_ids}
        if not session_ids:
            return result
        for row in await self.session.scalars(
            select(StoredVerdict).where(StoredVerdict.session_id.in_(session_ids))
        ):
            result[row.session_id][row.user_id] = WrittenVerdict(
                row.user_id, row.role, row.status, row.source, row.explanation
            )
        return result

    async def write(
        self,
        session_id: int,
        verdicts: Iterable[WrittenVerdict],
        *,
        at: datetime,
    ) -> None:
        """Make the written verdicts of a session exactly `verdicts`."""
        await self.write_many({session_id: verdicts}, at=at)

    async def write_many(
        self, by_session: Mapping[int, Iterable[WrittenVerdict]], *, at: datetime
    ) -> None:
        """Make the written verdicts of each session exactly its `verdicts` (one
        statement to clear, one to insert, however many sessions)."""
        if not by_session:
            return
        await self.session.execute(
            delete(StoredVerdict).where(StoredVerdict.session_id.in_(list(by_session)))
        )
        rows = [
            {
                "session_id": session_id,
                "user_id": v.user_id,
                "role": v.role,
                "status": v.status,
                "source": v.source,
                "explanation": v.explanation,
                "snapshot": v.snapshot,
                "updated_at": at,
            }
            for session_id, verdicts in by_session.items()
            for v in verdicts
        ]
        if rows:
            await self.session.execute(
                insert(table_of(StoredVerdict)).execution_options(render_nulls=True), rows
            )

    async def forget_snapshots(self, session_id: int) -> None:
        """The session's intervals changed: its kept answer no longer holds (its
        verdicts stay as written)."""
        await self.session.execute(
            update(table_of(StoredVerdict))
            .where(
                table_of(StoredVerdict).c.session_id == session_id,
                table_of(StoredVerdict).c.snapshot.is_not(None),
            )
            .values(snapshot=null())
        )
