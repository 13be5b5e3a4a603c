"""The outbox backlog gauge (`hudur_notification_backlog`): the notify worker reads
it every second, and that read must not take SQLite's write lock (it made the
projector child's turns find the file locked and fall back to a thread)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from engine.notify.worker import Notifier
from tests.support.clock import ManualClock
from tests.support.databases import fresh_sqlite, write_lock_held


async def test_the_backlog_is_read_while_another_connection_holds_the_write_lock(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = await fresh_sqlite(sqlite_template, tmp_path)
    notifier = Notifier(lambda: database, clock=ManualClock())
    try:
        with write_lock_held(tmp_path / "hudur.db"):
            await notifier._measure()  # a write unit of work would wait here, then fail
            assert 0.0 == REGISTRY.get_sample_value("hudur_notification_backlog")
    finally:
        await notifier.stop()
        await database.dispose()
