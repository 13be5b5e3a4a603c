"""SQLite's intake spool: a file of its own beside the database (`hudur.db-spool`)
that the webhook intake appends to, so that acknowledging an event never waits for
the database's one write lock, which the projector holds for its turns.

On the ingest benchmark the intake and the projector took turns at that lock: a
delivery that arrived during a turn waited for it (half-rate p99 29–54 ms), and the
projector could not run in a process of its own without both waiting on each other.
With the spool the intake's group commits (store/appender.py) take only the spool's
lock, and the projector moves what the spool holds into the inbox
(`webhook_events`) in its own transactions on the database.

    spooled          the acknowledged events not yet moved (ids AUTOINCREMENT: an id
                     is never drawn twice, even once the rows below it are deleted)
    spool_identity   one random name, made with the file: where in the inbox the
                     moves have reached is kept in the database under it
                     (`projection_positions`, "spool:<name>"), so a spool made anew
                     (ids from 1 again) starts from its own zero

Exactly once, across two files that commit separately:
  - a move (repositories/inbox.py, `move_spooled`) copies the rows after the mark up
    to the spool's newest into the inbox and advances the mark, in ONE transaction
    of the database; a crash before its commit leaves both as they were;
  - the appender deletes from the spool only rows at or below the committed mark,
    and decides "seen before" by the spool's unique key and, in the same
    transaction, the inbox's (read from the database attached read-only): a row is
    in the inbox before it may leave the spool, so an id is always found in one of
    the two.

The database's connections attach the spool read-only (as `spool`): a read-only
attachment takes no lock at BEGIN IMMEDIATE (a writable one would, and every write
to the database would wait for the intake), and reads see committed spool rows.
Both need SQLite URI filenames (`mode=ro`), which Debian's SQLite has compiled in.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table

from store.sqlite_file import FileGuard
from store.types import UTCDateTime

ATTACHED_AS = "spool"  # the spool's name on the database's connections
INBOX_AS = "inbox"  # the database's name on the spool's connections (the appender's)
MARK_PREFIX = "spool:"

# The spool's tables as the database's connections see them (attached as `spool`).
_METADATA = MetaData(schema=ATTACHED_AS)
SPOOLED = Table(
    "spooled",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("event_id", String),
    Column("event", String),
    Column("room_name", String),
    Column("room_sid", String),
    Column("occurred_at", UTCDateTime),
    Column("received_at", UTCDateTime),
    Column("body", LargeBinary),
)
SPOOL_IDENTITY = Table("spool_identity", _METADATA, Column("name", String))

# Datetimes are kept as the inbox stores them (store.types.UTCDateTime's text), so a
# move copies them unchanged.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spooled ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " event_id VARCHAR NOT NULL UNIQUE,"
    " event VARCHAR NOT NULL,"
    " room_name VARCHAR,"
    " room_sid VARCHAR,"
    " occurred_at VARCHAR NOT NULL,"
    " received_at VARCHAR NOT NULL,"
    " body BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS spool_identity (name VARCHAR NOT NULL)",
)


def read_only_uri(path: Path) -> str:
    return f"file:{quote(str(path.absolute()))}?mode=ro"


def attach_read_only(connection: Any, path: Path, name: str) -> None:
    """ATTACH the SQLite file at `path` as `name`, read-only, to a DB-API connection
    (outside any transaction). Refuses a SQLite built without URI filenames: it
    would attach a new file named like the URI instead."""
    cursor = connection.cursor()
    try:
        cursor.execute(f"ATTACH DATABASE ? AS {name}", (read_only_uri(path),))
        cursor.execute("PRAGMA database_list")
        files = {row[1]: row[2] for row in cursor.fetchall()}
    finally:
        cursor.close()
    if Path(files.get(name) or "").resolve() != path.resolve():
        raise RuntimeError(f"SQLite did not attach {path} read-only (no URI filenames?)")


class Spool:
    """The spool file of one database file: made on first use, then guarded."""

    def __init__(self, database_file: Path) -> None:
        self.path = Path(f"{database_file}-spool")
        self.guard = FileGuard(self.path)
        self._made = False
        self._making = threading.Lock()  # engine connections open on several threads

    def ensure(self) -> None:
        """Make the spool file and its tables if they are not there yet, once per
        process; a spool that was there and is gone is not made again (`Displaced`:
        the events it held would be lost without a word)."""
        self.guard.before_connect()
        if self._made:
            return
        with self._making:
            if self._made:
                return
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO spool_identity (name) SELECT ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM spool_identity)",
                    (uuid.uuid4().hex[:16],),
                )
                connection.execute("COMMIT")
            finally:
                connection.close()
            self.guard.connected()
            self._made = True

    def attach(self, connection: Any) -> None:
        """Attach the spool read-only to one of the database's connections."""
        self.ensure()
        attach_read_only(connection, self.path, ATTACHED_AS)


# The key in a SQLAlchemy session's `info`: its connections have the spool attached.
SPOOLED_SESSION = "hudur_spooled"
