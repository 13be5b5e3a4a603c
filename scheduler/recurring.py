"""Sessions from recurring schedules: `generate(db, now)`, run by every sweep.

One unlocked read finds the schedules with a slot due
(`engine.operations.schedules.due_schedules`); each of them is then generated
(`engine.operations.schedules.generate`) in its own transaction, so one schedule
that fails holds back none of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import structlog

from engine.operations import schedules
from engine.operations.schedules import GeneratedSlot, Generation, SkippedSlot, withdraw_upcoming
from engine.wire import iso_z
from store.database import Database

__all__ = ["GenerationReport", "generate", "withdraw_upcoming"]

log = structlog.get_logger("hudur.recurring")


@dataclass(slots=True)
class GenerationReport:
    """What one `generate` run did, across all schedules."""

    generated: list[GeneratedSlot] = field(default_factory=list)
    skipped: list[SkippedSlot] = field(default_factory=list)
    over_limit: int = 0
    failed: list[int] = field(default_factory=list)

    def add(self, generation: Generation) -> None:
        self.generated += generation.generated
        self.skipped += generation.skipped
        self.over_limit += generation.over_limit

    def as_dict(self) -> dict[str, object]:
        return {
            "generated": [
                {
                    "schedule_id": g.schedule_id,
                    "slot_start": iso_z(g.slot_start),
                    "session_id": g.session_id,
                    "session_code": g.session_code,
                }
                for g in self.generated
            ],
            "skipped": [
                {
                    "schedule_id": s.schedule_id,
                    "slot_start": iso_z(s.slot_start),
                    "reason": s.reason,
                    "conflicting_session_id": s.conflicting_session_id,
                }
                for s in self.skipped
            ],
            "over_limit": self.over_limit,
            "failed": list(self.failed),
        }


async def generate(
    database: Database, now: datetime, *, academy_id: int | None = None
) -> GenerationReport:
    """Create the due sessions of every active schedule (of `academy_id` only, when
    given) as of `now`. Safe to run any number of times, concurrently, on any number
    of replicas."""
    report = GenerationReport()
    async with database.uow() as uow:
        due = await schedules.due_schedules(uow, now, academy_id=academy_id)
    report.failed += due.unreadable
    report.over_limit += due.over_limit
    for schedule_id in due.due:
        try:
            async with database.uow() as uow:
                generation = await schedules.generate(uow, schedule_id, now)
                await uow.commit()
        except (OSError, ConnectionError):
            raise
        except Exception:
            log.exception("schedule_generation_failed", schedule_id=schedule_id)
            report.failed.append(schedule_id)
            continue
        report.add(generation)
    if report.generated or report.skipped:
        log.info(
            "schedules_generated",
            at=iso_z(now),
            generated=len(report.generated),
            skipped=len(report.skipped),
        )
    return report
