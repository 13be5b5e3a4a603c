"""The charges: at most one row per (session, student), ever."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.charging import ChargeDecision
from store.repositories.base import insert_ignore, table_of
from store.schema import Charge

CHARGES = table_of(Charge)  # Core statements on the table: no ORM bulk pass per row


class ChargeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_session(self, session_id: int) -> dict[int, Charge]:
        rows = await self.session.scalars(select(Charge).where(Charge.session_id == session_id))
        return {r.student_id: r for r in rows}

    async def for_sessions(self, session_ids: Sequence[int]) -> dict[int, dict[int, Charge]]:
        """The ledger rows of each of `session_ids` (one query), by student id."""
        result: dict[int, dict[int, Charge]] = {sid: {} for sid in session_ids}
        if not session_ids:
            return result
        for row in await self.session.scalars(
            select(Charge).where(Charge.session_id.in_(session_ids))
        ):
            result[row.session_id][row.student_id] = row
        return result

    async def charge_many(
        self, decisions: Sequence[tuple[int, ChargeDecision]], *, now: datetime
    ) -> set[tuple[int, int]]:
        """Write the ledger rows `(session_id, decision)` in one statement; the
        (session, student) pairs actually written (the unique key refuses a pair that
        already has its row, so this is exactly-once under any race or replica)."""
        if not decisions:
            return set()
        rows = [
            {
                "session_id": session_id,
                "student_id": d.student_id,
                "subscription_id": d.subscription_id,
                "status": d.status.value,
                "reason": d.reason,
                "verdict": d.verdict.value,
                "hand_set": False,
                "created_at": now,
                "updated_at": now,
            }
            for session_id, d in decisions
        ]
        # One cached statement, its rows sent as one "insertmanyvalues" batch: a
        # multi-row VALUES would be compiled anew for every batch size.
        written = await self.session.execute(
            insert_ignore(self.session, CHARGES, ["session_id", "student_id"])
            .returning(CHARGES.c.session_id, CHARGES.c.student_id)
            .execution_options(render_nulls=True),
            rows,
        )
        return {(s, u) for s, u in written}

    async def for_subscription(self, subscription_id: int) -> list[Charge]:
        rows = await self.session.scalars(
            select(Charge).where(Charge.subscription_id == subscription_id).order_by(Charge.id)
        )
        return list(rows)

    async def charge(
        self, session_id: int, decision: ChargeDecision, *, now: datetime, hand_set: bool = False
    ) -> bool:
        """Write one ledger row; False when the pair already had one (the unique key
        makes this exactly-once under any race, retry or replica)."""
        inserted = await self.session.scalar(
            insert_ignore(self.session, Charge, ["session_id", "student_id"])
            .values(
                session_id=session_id,
                student_id=decision.student_id,
                subscription_id=decision.subscription_id,
                status=decision.status.value,
                reason=decision.reason,
                verdict=decision.verdict.value,
                hand_set=hand_set,
                created_at=now,
                updated_at=now,
            )
            .returning(Charge.id)
        )
        return inserted is not None

    def update(
        self, row: Charge, decision: ChargeDecision, *, at: datetime, hand_set: bool = False
    ) -> None:
        """Rewrite a row in place with `decision` (flushed with the transaction);
        `hand_set` marks it as a person's, which the rules never touch again."""
        row.status = decision.status.value
        row.reason = decision.reason
        row.subscription_id = decision.subscription_id
        row.verdict = decision.verdict.value
        if hand_set:
            row.hand_set = True
        row.updated_at = at
