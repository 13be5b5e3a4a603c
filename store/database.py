"""`Database`, the one long-lived handle on the store (owned by the app's cleanup_ctx),
and the engines, connection set-up and migrations behind it for SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolResetState
from sqlalchemy.util import greenlet_spawn

from store.appender import SqliteAppender
from store.faults import DATABASE_FAULTS, sqlite_busy
from store.metrics import ON_LOOP_FALLBACKS
from store.postgres_appender import PostgresAppender
from store.repositories.inbox import NewEvent
from store.spool import SPOOLED_SESSION, Spool
from store.sqlite_file import FileGuard, set_loop_pragmas, set_pragmas
from store.sqlite_on_loop import on_loop_creator
from store.uow import UnitOfWork

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# A PostgreSQL connection back from the pool after this long unused is pinged first.
PING_AFTER_IDLE_SECONDS = 10.0


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_file(url: str) -> Path | None:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if path.startswith("file:"):  # a URI filename (`?uri=true`, e.g. `mode=ro`)
        path = path.removeprefix("file:")
    if not path or path == ":memory:":
        return None
    return Path(path)


def create_engine(
    url: str,
    *,
    guard: FileGuard | None = None,
    ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
    on_loop: bool = False,
    spool: Spool | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """An engine set up for concurrent use: WAL and write-lock-up-front on SQLite;
    `guard` watches that its connections open the file at the configured path, and
    each attaches the intake's `spool` (read-only) if there is one. On
    PostgreSQL a connection idle for `ping_after_idle` seconds is pinged when taken
    from the pool."""
    if is_sqlite(url):
        db_file = _sqlite_file(url)
        if db_file is not None:
            db_file.parent.mkdir(parents=True, exist_ok=True)
        # The pool's reset on return is `_on_reset`'s (below).
        kwargs.setdefault("pool_reset_on_return", None)
        if on_loop:
            assert db_file is not None
            kwargs["async_creator"] = on_loop_creator(db_file)
        engine = create_async_engine(url, **kwargs)
        _prepare_sqlite(engine, guard, on_loop=on_loop, spool=spool)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle)
    return engine


_IDLE_SINCE = "hudur_idle_since"  # the pool record's key: when it was last checked in


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """`pool_pre_ping`, only for connections that sat unused: the driver's ping is a
    BEGIN, a statement and a ROLLBACK, three round trips on every checkout, and cost a
    verdict read a sixth of its time. A connection in steady use is not pinged; if
    the server dropped it all the same, its first statement fails (a 503 the caller
    retries) and SQLAlchemy replaces every connection of the pool opened before."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < after:
            return  # just opened, or in steady use
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool throws this connection away and hands out another.
            raise exc.DisconnectionError(str(error)) from error


def _prepare_sqlite(
    engine: AsyncEngine, guard: FileGuard | None, *, on_loop: bool, spool: Spool | None
) -> None:
    if guard is not None:

        @event.listens_for(engine.sync_engine, "do_connect")
        def _before_connect(*_args: Any) -> None:
            guard.before_connect()

        @event.listens_for(engine.sync_engine, "connect")
        def _opened(*_args: Any) -> None:
            guard.connected()

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's implicit one.
        dbapi_connection.isolation_level = None
        if on_loop:
            set_loop_pragmas(dbapi_connection)
        else:
            set_pragmas(dbapi_connection, SQLITE_BUSY_TIMEOUT_MS)
        if spool is not None:
            spool.attach(dbapi_connection)

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        # A unit of work rolls its transaction back, then closes its session, and the
        # pool would roll back once more: each a round trip to the driver's thread, on
        # every request. Roll back only a connection that is still in a transaction.
        # (Not asyncio-safe: a connection dropped by the garbage collector is closed.)
        if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Take the write lock at BEGIN: a deferred transaction that later wants to
        # write can fail with SQLITE_BUSY without waiting for the busy timeout. A
        # read-only unit of work (`Database.reading`) begins deferred: in WAL mode it
        # reads the last committed snapshot without waiting behind a writer.
        # A single-statement read (`Database.reading(snapshot=False)`) needs no BEGIN
        # at all: its one SELECT is a transaction of its own.
        read_only = connection.get_execution_options().get(READ_ONLY)
        if read_only == SINGLE_STATEMENT:
            return
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY = "hudur_read_only"  # the execution option of `Database.reading`'s connections
SINGLE_STATEMENT = "single_statement"  # its value for a read of one statement


def sessionmaker(engine: AsyncEngine, *, spooled: bool = False) -> async_sessionmaker[Any]:
    """Sessions of `engine`; `spooled`: its connections have the spool attached
    (the repositories read it then, `SPOOLED_SESSION`)."""
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, info={SPOOLED_SESSION: spooled}
    )


def alembic_config(url: str) -> Config:
    # Imported here: Alembic is some 10 MB that only migrating needs (the projector's
    # child process never migrates).
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision (Alembic `upgrade head`)."""

    def _upgrade(connection: Connection) -> None:
        from alembic import command

        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# A write that changes nothing, rolled back: it needs the write lock and a writable
# file (SQLite's read-only modes refuse it), and costs no I/O.
_SQLITE_WRITE_PROBE = "UPDATE alembic_version SET version_num = version_num WHERE 0"
_POSTGRES_READ_ONLY = (
    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'"
)


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        db_file = _sqlite_file(url) if is_sqlite(url) else None
        self._guard = FileGuard(db_file) if db_file is not None else None
        # A plain file (no URI options): the intake appends to a spool beside it,
        # off the engine and off the database's write lock (store/spool.py).
        self.spool = Spool(db_file) if db_file is not None and "?" not in url else None
        self.appender = (
            SqliteAppender(db_file, self._guard, self.spool, SQLITE_BUSY_TIMEOUT_MS)
            if self.spool is not None and db_file is not None
            else None
        )
        spooled = self.spool is not None
        self.engine: AsyncEngine = create_engine(
            url, guard=self._guard, spool=self.spool, **engine_kwargs
        )
        self._maker = sessionmaker(self.engine, spooled=spooled)
        self._pg_appender = PostgresAppender(self.engine) if self.dialect == "postgresql" else None
        self._reader = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), spooled=spooled
        )
        # On PostgreSQL such a read runs in autocommit: no BEGIN and ROLLBACK round
        # trips around its statements (asyncpg starts no transaction at all).
        one_read = {READ_ONLY: SINGLE_STATEMENT}
        if self.dialect == "postgresql":
            one_read["isolation_level"] = "AUTOCOMMIT"
        self._one_reader = sessionmaker(self.engine.execution_options(**one_read), spooled=spooled)
        # A plain file: short units of work (the projector's) may run on the loop.
        self.on_loop: AsyncEngine | None = None
        if self.appender is not None:
            self.on_loop = create_engine(
                url, guard=self._guard, on_loop=True, spool=self.spool, pool_size=1
            )
            self._on_loop_maker = sessionmaker(self.on_loop, spooled=True)
            self._on_loop_reader = sessionmaker(
                self.on_loop.execution_options(**{READ_ONLY: True}), spooled=True
            )
            self._on_loop_one_reader = sessionmaker(
                self.on_loop.execution_options(**{READ_ONLY: SINGLE_STATEMENT}), spooled=True
            )
        # Woken after every commit that wrote to the outbox (the notify workers).
        self.outbox_listeners: set[Callable[[], None]] = set()

    def _outbox_written(self) -> None:
        for listener in list(self.outbox_listeners):
            listener()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file at the configured path (None: PostgreSQL, or in memory)."""
        return _sqlite_file(self.url) if is_sqlite(self.url) else None

    async def on_loop_first(self, work: Callable[[bool], Awaitable[T]], *, name: str) -> T:
        """`work(True)`, whose units of work (`uow`, `reading`) pass `on_loop` on: on a
        SQLite file their statements then run on the event loop's thread
        (store/sqlite_on_loop.py) and never wait for a lock. If SQLite answers BUSY
        (another process holds a lock they need), `work(False)`: the same again
        through the threaded engine, which waits. Only for short work that writes
        nothing before its first statement can be refused (a read, or a write whose
        BEGIN IMMEDIATE comes first). Without an on-loop engine: `work(False)`."""
        if self.on_loop is None:
            return await work(False)
        try:
            return await work(True)
        except DATABASE_FAULTS as exc:
            if not sqlite_busy(exc):
                raise
        ON_LOOP_FALLBACKS.labels(name).inc()
        return await work(False)

    def uow(self, *, on_loop: bool = False) -> UnitOfWork:
        """A unit of work; `on_loop`: see `on_loop_first`."""
        maker = self._on_loop_maker if on_loop and self.on_loop is not None else self._maker
        if self._guard is None:
            return UnitOfWork(maker, self.dialect, outbox_written=self._outbox_written)
        return UnitOfWork(
            maker,
            self.dialect,
            admit=self._admit,
            confirm=self._guard.check,
            outbox_written=self._outbox_written,
        )

    def reading(self, *, snapshot: bool = True, on_loop: bool = False) -> UnitOfWork:
        """A unit of work that only reads (a GET): on SQLite it begins deferred instead
        of taking the write lock, and sees every transaction committed before its first
        read. It must not write. Without `snapshot` it sends a single statement, which
        on SQLite then runs with no BEGIN at all (its own implicit transaction: fewer
        round trips to the driver's thread); a few statements then each see the
        commits before them, as on PostgreSQL's READ COMMITTED. `on_loop`: see
        `on_loop_first`."""
        maker = self._reader if snapshot else self._one_reader
        if on_loop and self.on_loop is not None:
            maker = self._on_loop_reader if snapshot else self._on_loop_one_reader
        if self._guard is None:
            return UnitOfWork(maker, self.dialect)
        return UnitOfWork(maker, self.dialect, admit=self._admit, confirm=self._guard.check)

    async def append_inbox(self, events: Sequence[NewEvent]) -> set[str]:
        """Store each event whose id is new, all in one durable transaction; the event
        ids stored now. Ids must be distinct within `events`. SQLite: committed to the
        spool on the event loop (a thread only to wait for its lock); PostgreSQL: one
        statement over a held connection (store/appender.py)."""
        if self.appender is not None:
            generation = await self._admit()
            return await self.appender.append(events, generation)
        if self._pg_appender is not None:
            return await self._pg_appender.append(events)
        async with self.uow() as uow:
            stored = await uow.inbox.append(events)
            await uow.commit()
        return stored

    async def _admit(self) -> int:
        """The generation of the pool a new unit of work draws from; a file put back at
        the path first gets a new pool, so new connections open it."""
        guard = self._guard
        assert guard is not None
        if guard.needs_reopen():
            engines = [e for e in (self.engine, self.on_loop) if e is not None]
            old = [e.sync_engine.pool for e in engines]
            # Swap the pools at once (no await in between), then close the old ones.
            for engine in engines:
                engine.sync_engine.dispose(close=False)
            guard.reopened()
            for pool in old:
                await greenlet_spawn(pool.dispose)
        return guard.generation

    async def ready(self) -> None:
        """Raise unless the database can take a write now: on SQLite the file at the
        path is the one opened and writable, and a write that changes nothing is
        allowed (then rolled back); on PostgreSQL the server is not a read-only one."""
        if self._guard is not None:
            await self._admit()
            self._guard.check()
            if not self._guard.writable():
                raise PermissionError(f"the database file {self._guard.path} is not writable")
        async with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                async with connection.begin() as transaction:
                    await connection.execute(text(_SQLITE_WRITE_PROBE))
                    await transaction.rollback()
            elif (await connection.execute(text(_POSTGRES_READ_ONLY))).scalar():
                raise PermissionError("the database is read-only (a standby, or read-only mode)")

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def ping(self) -> None:
        await ping(self.engine)

    async def dispose(self) -> None:
        if self.appender is not None:
            await self.appender.close()
        if self._pg_appender is not None:
            await self._pg_appender.close()
        if self.on_loop is not None:
            await self.on_loop.dispose()
        await self.engine.dispose()
