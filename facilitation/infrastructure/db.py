"""The database connection: engines, transactions per use case, and migrations on start.

Layer: infrastructure. Knows SQLAlchemy and Alembic, nothing of Flask or Socket.IO.

Every use case runs in one transaction from `Database.write()` (or `read()`); sessions are
never shared between greenlets or threads. Writes are serialised per workshop: on PostgreSQL
by locking the workshop's row (`lock_workshop`), on SQLite by one process-wide lock around
`BEGIN IMMEDIATE` — a lock that yields to other greenlets, where SQLite's own busy wait would
block the whole event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import Engine, bindparam, create_engine, event, func, make_url, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from facilitation.infrastructure import models, pg_waits
from facilitation.infrastructure.config import ROOT

# The PostgreSQL advisory lock held while migrating (any number unique to Samsyn).
MIGRATION_LOCK = 0x5A35_1E01
# PostgreSQL connections one process keeps (the setting DATABASE_POOL_SIZE).
POOL_SIZE = 20
# Seconds PostgreSQL may take (the setting DATABASE_TIMEOUT): to connect, to lend a pooled
# connection, to run a statement, to grant a lock. A hung or overloaded database then
# costs a request seconds and a clear "busy", not minutes.
TIMEOUT = 5.0
# What the database raises when it is out of reach or has no connection free for now: the
# edges answer "busy, try again" (503 with Retry-After, or `busy` on a socket).
BUSY = (PoolTimeout, OperationalError, InterfaceError)


def normalise_url(url: str) -> URL:
    """A database URL with the driver Samsyn uses: plain `postgresql://` means psycopg2,
    which waits through the event loop (pg_waits.py). The driver of earlier versions,
    pg8000, named in a URL kept from then, is taken as psycopg2 too."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+pg8000"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


class Database:
    """The engines and the two kinds of transaction the services use."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = POOL_SIZE,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url = normalise_url(url)
        self.timeout = timeout
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = self.read_engine = self._sqlite_engine(echo)
        else:
            # Writes (commands run in batches, one at a time per process) need fewer
            # connections than reads (every page and every joining phone).
            writers = max(2, pool_size // 4)
            self.engine = self._postgresql_engine(echo, writers)
            # A read needs no transaction of its own: under READ COMMITTED each statement
            # sees what was committed when it began either way, and without BEGIN and
            # ROLLBACK it costs two round trips less.
            self.read_engine = self._postgresql_engine(
                echo, pool_size - writers, isolation_level="AUTOCOMMIT"
            )
        self._reads = sessionmaker(self.read_engine, expire_on_commit=False)
        self._writes = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"),
            expire_on_commit=False,
        )
        self._sqlite_write_lock = threading.Lock()

    def _postgresql_engine(self, echo: bool, pool_size: int, **options: Any) -> Engine:
        # A fixed set of connections, kept: a pool that opens extra ones at a peak and
        # closes them after churns through connects (milliseconds of CPU each) just when a
        # crowd joins. Beyond it, transactions wait their turn for a connection,
        # DATABASE_TIMEOUT at most. A connection is not pinged before each use: that is a
        # round trip for every transaction, and on a busy event loop a wait for the loop as
        # well. One that PostgreSQL closed fails its first use, which is answered busy, and
        # the pool then replaces all it kept from before (SQLAlchemy's handling of a
        # disconnect; a wait given up on closes its connection too, pg_waits.py).
        engine = create_engine(
            self.url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=self.timeout,
            connect_args=self._postgresql_timeouts(),
            **options,
        )
        return engine

    def _postgresql_timeouts(self) -> dict[str, Any]:
        """The connection's arguments that bound every wait. The server cancels a
        statement or a lock wait after DATABASE_TIMEOUT and ends a transaction left idle;
        the connection gives up on a server that answers nothing at all (hung, or its
        network gone) a second later, so that a live server's own cancel comes first."""
        milliseconds = int(self.timeout * 1000)
        return {
            "connection_factory": pg_waits.connection_factory(self.timeout + 1),
            "options": (
                f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
                " -c idle_in_transaction_session_timeout=60000"
            ),
        }

    def _sqlite_engine(self, echo: bool) -> Engine:
        if self.url.database and self.url.database != ":memory:":
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, echo=echo, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def configure(dbapi_connection: Any, _record: Any) -> None:
            # Transactions are begun explicitly below, not by the sqlite3 module.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def begin(connection: Any) -> None:
            mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine

    def warm_up(self) -> None:
        """Open the PostgreSQL pools' connections now, before a crowd needs them: each costs
        milliseconds of CPU (a TLS offer, authentication, the dialect's first questions),
        which the first room joining would otherwise pay, all on the event loop, just as it
        arrives. Connections that cannot be opened now are opened when needed, as before."""
        if self.is_sqlite:
            return
        for engine in (self.engine, self.read_engine):
            pool = engine.pool
            assert isinstance(pool, QueuePool)
            opened = []
            try:
                for _ in range(pool.size()):
                    opened.append(engine.connect())
            except BUSY:
                pass
            finally:
                for connection in opened:
                    connection.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (on PostgreSQL, statements in autocommit), ended with a
        rollback: nothing written in it is kept."""
        with self._reads() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends without an exception."""
        if self.is_sqlite:
            with self._sqlite_write_lock, self._writes() as session, session.begin():
                yield session
        else:
            with self._writes() as session, session.begin():
                yield session

    def migrate(self) -> None:
        """Bring the schema up to date (Alembic `upgrade head`). Processes starting together
        take turns: the first migrates, the others then find it done. On PostgreSQL through
        a connection of its own without the timeouts: a migration, and the wait for the
        turn, may take longer than any request may."""
        if self.is_sqlite:
            self._migrate_sqlite()
            return
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
                _upgrade(connection)
        finally:
            engine.dispose()

    def _migrate_sqlite(self) -> None:
        """Migrate with foreign keys off. SQLite alters a table by building a new one and
        dropping the old, and with foreign keys on, dropping it deletes (ON DELETE CASCADE)
        or empties (SET NULL) every row that refers to it: an upgrade would lose workshops'
        ballots and logs without a word. The references are checked before the commit
        instead, and a migration that broke one fails and changes nothing."""
        with self.engine.connect() as connection:
            # A pragma that cannot change inside a transaction: set before BEGIN, on the
            # driver's connection (SQLAlchemy would begin one first).
            raw = connection.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.execution_options(sqlite_begin="IMMEDIATE").begin():
                    before = MigrationContext.configure(connection).get_current_revision()
                    _upgrade(connection)
                    if MigrationContext.configure(connection).get_current_revision() == before:
                        return  # nothing migrated: nothing to check (a scan of every table)
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(
                            "the migration left rows referring to rows that are not there "
                            f"(table, row, parent): {[tuple(row[:3]) for row in broken[:10]]}"
                        )
            finally:
                raw.execute("PRAGMA foreign_keys=ON")

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


class MigrationError(RuntimeError):
    """A migration would have left the database inconsistent; it was rolled back."""


def _upgrade(connection: Any) -> None:
    """Alembic's `upgrade head` on `connection`, inside its transaction."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def alembic_config(url: str | None = None) -> AlembicConfig:
    """Alembic's configuration for this project, without an alembic.ini file."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


# Built once: every write transaction starts with it.
_LOCK_WORKSHOP = (
    select(models.Workshop).where(models.Workshop.code == bindparam("code")).with_for_update()
)


def lock_workshop(session: Session, code: str) -> models.Workshop | None:
    """The workshop, its row locked until the transaction ends (PostgreSQL; on SQLite the
    transaction already holds the database's write lock)."""
    return session.scalars(_LOCK_WORKSHOP, {"code": code}).one_or_none()
