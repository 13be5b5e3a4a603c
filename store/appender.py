"""SQLite's group-commit appends of the inbox, off the ORM: one plain `sqlite3`
connection to the intake's spool (store/spool.py), a whole batch committed by the
event loop itself (PostgreSQL's: store/postgres_appender.py).

Through SQLAlchemy-asyncio and aiosqlite a group commit took ~6.6 ms on the benchmark
machine against ~1.6 ms of fsync: every statement (BEGIN, INSERT, COMMIT) is a
round trip between the event loop and aiosqlite's thread, each waiting for a busy
loop. Handing the whole batch to a thread of its own once still cost ~1.3 ms a
commit under load against 0.4 ms alone: each sqlite3 call gives the GIL up and must
win it back from the loop, which holds it serving requests, and each crossing wakes
the other side. So SQLite's batch is committed where it forms, on the loop: BEGIN
IMMEDIATE, one multi-row `INSERT … SELECT … WHERE NOT EXISTS (in the inbox) ON
CONFLICT DO NOTHING RETURNING event_id`, COMMIT; the loop is blocked for that commit
(~0.4 ms, one fsync), and serves the requests that arrived meanwhile in the next
batch. The spool's lock is the intake's alone: the projector writes the database.

Two things must not block the loop, and go to the appender's thread instead:
  - waiting for the spool's write lock: the loop's connection never waits (its busy
    timeout is 0), so a batch that finds the spool locked (the thread tidying it,
    another process's intake) is committed by the thread's connection, which waits
    (`hudur_inbox_append_waits_total`);
  - tidying, every `TIDY_EVERY` commits: the moved rows deleted from the spool, and
    passive checkpoints of the spool and of the database (the loop's connections
    never checkpoint: SQLite would otherwise copy the WAL back into the file inside
    every thousandth-page commit, tens of ms on the loop; a passive checkpoint
    neither takes nor waits for the write lock).

Every connection is set up like the engine's (WAL, synchronous=FULL). They answer to
the database's `FileGuard` and to the spool's: they open only the files first
opened, they check before and after each commit that the paths still hold those
files, and a database file put back at its path (a new guard generation) makes them
reopen.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.dialects import sqlite as sqlite_dialect

from store.faults import sqlite_busy
from store.repositories.inbox import NewEvent
from store.spool import INBOX_AS, MARK_PREFIX, Spool, attach_read_only
from store.sqlite_file import FileGuard, set_loop_pragmas, set_pragmas
from store.types import UTCDateTime

_FIELDS = ("event_id", "event", "room_name", "room_sid", "occurred_at", "received_at", "body")
log = structlog.get_logger("hudur.store")

APPEND_WAITS = Counter(
    "hudur_inbox_append_waits_total",
    "SQLite spool batches that found its write lock taken and waited for it in the "
    "appender's thread (the event loop commits the others itself).",
)
_DIALECT = sqlite_dialect.dialect()
# The stored text of a datetime, exactly as the ORM writes it (store.types).
_DATETIME = UTCDateTime().bind_processor(_DIALECT)


def _append_sql(rows: int) -> str:
    """The spool's append of `rows` rows, positional parameters in _FIELDS order row
    after row: an id already in the spool (its unique key) or in the inbox is not
    stored again; RETURNING names the ids stored now."""
    row = "(" + ", ".join("?" * len(_FIELDS)) + ")"
    return (
        f"INSERT INTO spooled ({', '.join(_FIELDS)})"
        f" SELECT * FROM (VALUES {', '.join([row] * rows)}) AS v"
        f" WHERE NOT EXISTS (SELECT 1 FROM {INBOX_AS}.webhook_events AS w"
        " WHERE w.event_id = v.column1)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    )


# Rows the inbox already holds (the mark, kept in the database) leave the spool.
_DELETE_MOVED = (
    "DELETE FROM spooled WHERE id <= ("
    f" SELECT position FROM {INBOX_AS}.projection_positions"
    f" WHERE name = '{MARK_PREFIX}' || (SELECT name FROM spool_identity))"
)

# Commits between two tidyings: ~5 WAL pages a small commit (the row and two index
# leaves), so the WAL stays near 2 MB, below the 1,000 pages at which SQLite's own
# autocheckpoint (still on for the engine's threaded connections) would run.
TIDY_EVERY = 100


class SqliteAppender:
    """Appends batches of inbox rows to the spool of one SQLite file, committed on
    the event loop; waits for the spool's lock and tidies in a thread of its own."""

    def __init__(
        self,
        path: Path,
        guard: FileGuard | None,
        spool: Spool,
        busy_timeout_ms: int,
        *,
        tidy_every: int = TIDY_EVERY,
    ) -> None:
        self._path = path
        self._guard = guard
        self._spool = spool
        self._busy_timeout_ms = busy_timeout_ms
        self._tidy_every = tidy_every
        self._executor: ThreadPoolExecutor | None = None
        # How a connection is opened: a seam for tests that make the file unreachable.
        self.connect: Callable[..., sqlite3.Connection] = sqlite3.connect
        # The loop's spool connection, which never waits; the thread's; and the
        # thread's to the database itself, for its checkpoints.
        self._now = _Held()
        self._waiting = _Held()
        self._database = _Held()
        self._statements: dict[int, str] = {}
        self._commits = 0
        self.tidying: Future[None] | None = None  # the one running, if any

    async def append(self, events: Sequence[NewEvent], generation: int) -> set[str]:
        """Store each event whose id is new, in one transaction; the ids stored now.
        Ids must be distinct within `events` (the writer decides repeats in a batch)."""
        if not events:
            return set()
        assert _DATETIME is not None
        params: list[Any] = []
        for e in events:
            params += (
                e.event_id,
                e.event,
                e.room_name,
                e.room_sid,
                _DATETIME(e.occurred_at),
                _DATETIME(e.received_at),
                e.body,
            )
        try:
            stored = self._commit_now(len(events), params, generation)
        except _Locked:
            APPEND_WAITS.inc()
            loop = asyncio.get_running_loop()
            stored = await loop.run_in_executor(
                self._thread(), self._commit_waiting, len(events), params, generation
            )
        self._commits += 1
        if self._commits % self._tidy_every == 0:
            self.tidy(generation)
        return stored

    def reopen_with(self, connect: Callable[..., sqlite3.Connection]) -> None:
        """Open the next connections with `connect` (tests: a file that fails)."""
        self.connect = connect
        self._now.generation = self._waiting.generation = self._database.generation = -1

    async def close(self) -> None:
        """Close the connections and let the thread go (the next append reopens)."""
        self._now.close()
        executor, self._executor = self._executor, None
        if executor is not None:
            # After a tidying still running: the thread does one thing at a time.
            await asyncio.get_running_loop().run_in_executor(executor, self._close_thread_side)
            executor.shutdown(wait=True)

    def tidy(self, generation: int) -> None:
        """Delete the moved rows and checkpoint, in the thread (one at a time)."""
        if self.tidying is not None and not self.tidying.done():
            return
        self.tidying = self._thread().submit(self._tidy_waiting, generation)
        self.tidying.add_done_callback(_log_failure)

    def _thread(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hudur-inbox")
        return self._executor

    def _commit_now(self, rows: int, params: list[Any], generation: int) -> set[str]:
        """The batch committed on the calling thread, or `_Locked` (nothing written)
        if another connection holds the spool's write lock."""
        try:
            connection = self._now.at(generation, lambda: self._open_spool(set_loop_pragmas))
            return self._commit(connection, rows, params, generation)
        except sqlite3.OperationalError as exc:
            if sqlite_busy(exc):
                raise _Locked from exc
            raise

    # In the appender's thread only, from here on.

    def _commit_waiting(self, rows: int, params: list[Any], generation: int) -> set[str]:
        return self._commit(self._waiting_connection(generation), rows, params, generation)

    def _tidy_waiting(self, generation: int) -> None:
        self._check(generation)
        spool = self._waiting_connection(generation)
        spool.execute(_DELETE_MOVED)
        spool.execute("PRAGMA main.wal_checkpoint(PASSIVE)").fetchall()
        database = self._database.at(
            generation,
            lambda: self._open(
                self._path, lambda opened: set_pragmas(opened, self._busy_timeout_ms)
            ),
        )
        database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _waiting_connection(self, generation: int) -> sqlite3.Connection:
        return self._waiting.at(
            generation,
            lambda: self._open_spool(lambda opened: set_pragmas(opened, self._busy_timeout_ms)),
        )

    def _close_thread_side(self) -> None:
        self._waiting.close()
        self._database.close()

    # On either thread, with that thread's connection.

    def _commit(
        self, connection: sqlite3.Connection, rows: int, params: list[Any], generation: int
    ) -> set[str]:
        self._check(generation)
        try:
            connection.execute("BEGIN IMMEDIATE")
            stored: set[str] = set()
            done = 0
            # In chunks of a power of two rows: a handful of statements to compile
            # and cache, whatever the batch sizes.
            while done < rows:
                chunk = 1 << ((rows - done).bit_length() - 1)
                statement = self._statements.get(chunk)
                if statement is None:
                    statement = self._statements[chunk] = _append_sql(chunk)
                part = params[done * len(_FIELDS) : (done + chunk) * len(_FIELDS)]
                stored.update(row[0] for row in connection.execute(statement, part))
                done += chunk
            self._check(generation)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self._check(generation)  # displaced while committing: that commit will not last
        return stored

    def _check(self, generation: int) -> None:
        if self._guard is not None:
            self._guard.check(generation)
        self._spool.guard.check()

    def _open_spool(self, set_up: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
        """A connection to the spool with the database attached read-only (`inbox`)."""
        self._spool.ensure()

        def set_up_spool(connection: sqlite3.Connection) -> None:
            set_up(connection)
            if self._guard is not None:
                self._guard.before_connect()
            attach_read_only(connection, self._path, INBOX_AS)

        return self._open(self._spool.path, set_up_spool, guard=self._spool.guard)

    def _open(
        self,
        path: Path,
        set_up: Callable[[sqlite3.Connection], None],
        *,
        guard: FileGuard | None = None,
    ) -> sqlite3.Connection:
        guard = guard or self._guard
        if guard is not None:
            guard.before_connect()
        connection = self.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        try:
            set_up(connection)
        except BaseException:
            connection.close()
            raise
        if guard is not None:
            guard.connected()
        return connection


class _Locked(Exception):
    """The spool's write lock is held by another connection (nothing was written)."""


class _Held:
    """A connection and the guard generation of the file it was opened on."""

    def __init__(self) -> None:
        self.connection: sqlite3.Connection | None = None
        self.generation = -1

    def at(self, generation: int, open_: Callable[[], sqlite3.Connection]) -> sqlite3.Connection:
        """The connection to the file of `generation`: the held one, or a new one
        (`open_`) in place of one opened on another file or not at all."""
        if self.connection is None or self.generation != generation:
            self.close()
            self.connection = open_()
            self.generation = generation
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection, self.generation = None, -1


def _log_failure(done: Future[None]) -> None:
    # A failed tidying loses nothing (the WAL keeps every commit, and moved rows stay
    # in the spool until the next one); the next one takes it up again.
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.warning("inbox_tidy_failed", error=repr(exc)[:500])
