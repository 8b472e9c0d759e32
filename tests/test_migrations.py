"""The schema is owned by the migrations: they build exactly what the models describe, on
SQLite and PostgreSQL, and they can be undone."""

from __future__ import annotations

import multiprocessing
from contextlib import ExitStack
from typing import Any

import pg8000.core
import pg8000.dbapi
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from facilitation.infrastructure import models, pg8000_driver
from facilitation.infrastructure.db import (
    BUSY,
    Database,
    alembic_config,
    lock_workshop,
    normalise_url,
)
from facilitation.infrastructure.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    db.dispose()


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.migrate()
    db.migrate()  # a second start finds nothing to do
    assert "workshops" in inspect(db.engine).get_table_names()
    db.dispose()


def test_every_foreign_key_leads_an_index(database_url: str) -> None:
    """A reference is looked up by its column: a participant's ballots and proposals (read
    for every join batch and every tick with voters), a factor's log entries and reasons
    (updated or deleted with it). Without an index PostgreSQL scans the whole table, every
    workshop ever held, so a live room would grow slower as the database fills."""
    db = Database(database_url)
    db.migrate()
    schema = inspect(db.engine)
    unindexed = []
    for table in schema.get_table_names():
        leads = [tuple(schema.get_pk_constraint(table)["constrained_columns"])]
        leads += [tuple(i["column_names"]) for i in schema.get_indexes(table)]
        leads += [tuple(u["column_names"]) for u in schema.get_unique_constraints(table)]
        for key in schema.get_foreign_keys(table):
            columns = tuple(key["constrained_columns"])
            if not any(lead[: len(columns)] == columns for lead in leads):
                unindexed.append(f"{table}.{','.join(columns)}")
    db.dispose()
    assert unindexed == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/wal.db")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    db.dispose()


def test_plain_postgres_urls_use_the_cooperative_driver() -> None:
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+pg8000"
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+pg8000"
    assert normalise_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"


def _migrate(url: str) -> None:
    Database(url).migrate()


def test_processes_starting_together_migrate_once(database_url: str) -> None:
    """Several app processes started at once (scale-out) all migrate on start: they take
    turns, so none fails on a table another one is creating."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(4) as pool:
        pool.map(_migrate, [database_url] * 4)  # raises what any of them raised
    db = Database(database_url)
    assert "workshops" in inspect(db.engine).get_table_names()
    db.dispose()


@pytest.mark.postgres
def test_a_lock_not_granted_in_time_is_busy_not_a_bug(postgres_database: str) -> None:
    """Another transaction holding a workshop's row past the database's timeout makes the
    waiting one give up: answered "busy, try again" (an OperationalError, BUSY), as a
    hung database is, not a server error."""
    db = Database(postgres_database, timeout=0.3)
    db.migrate()
    with db.write() as s:
        s.add(
            models.Workshop(
                code="LOCKED", title="T", language="sv", step="prepare", facilitator_secret_hash="x"
            )
        )
    with db.write() as holder:
        assert lock_workshop(holder, "LOCKED") is not None
        with pytest.raises(BUSY), db.write() as waiter:
            lock_workshop(waiter, "LOCKED")


@pytest.mark.postgres
def test_connections_postgresql_closed_cost_one_busy_answer_and_are_all_replaced(
    postgres_database: str,
) -> None:
    """A pooled connection is not pinged before each use (a round trip for every
    transaction, on a busy event loop a wait for the loop too): a connection that PostgreSQL
    closed (a restart, a failover) is found by its first use, which is answered busy (the
    phone sends again by itself); the pool then replaces every connection it kept from
    before, so that the next uses do not fail one after the other."""
    db = Database(postgres_database, pool_size=8)  # 6 connections for reads
    with ExitStack() as held:  # fill the read pool: each session holds its own connection
        sessions = [held.enter_context(db.read()) for _ in range(6)]
        pids = [s.scalar(select(func.pg_backend_pid())) for s in sessions]
    admin = create_engine(normalise_url(postgres_database), poolclass=NullPool)
    with admin.connect() as connection:
        for pid in pids:
            # Waits until the backend is gone (up to 5 s), not only asked to go.
            connection.execute(select(func.pg_terminate_backend(pid, 5000)))
    admin.dispose()
    failures = 0
    for _ in range(6):
        try:
            with db.read() as s:
                assert s.scalar(select(func.pg_backend_pid())) not in pids
        except BUSY:
            failures += 1
    assert failures == 1


@pytest.mark.postgres
def test_a_serving_process_opens_its_connections_before_the_first_crowd(
    postgres_database: str,
) -> None:
    """pg8000 spends tens of milliseconds of CPU opening a connection: a serving process
    opens its pools' connections as it starts, not while the first room joins."""
    db = Database(postgres_database, pool_size=8)
    opened: list[object] = []
    for engine in (db.engine, db.read_engine):
        event.listen(engine, "connect", lambda *_: opened.append(1))
    db.warm_up()
    assert len(opened) == 8
    with ExitStack() as held:  # as many at once as the pools hold: none opened now
        for _ in range(6):
            held.enter_context(db.read()).scalar(select(1))
        for _ in range(2):
            held.enter_context(db.write()).scalar(select(1))
    assert len(opened) == 8


@pytest.mark.postgres
def test_a_statement_run_again_is_not_scanned_for_placeholders_again(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg8000 numbers a statement's placeholders by scanning it in Python: each statement is
    scanned once, and runs again with its new values as numbered then."""
    scanned: list[str] = []
    scan = pg8000_driver._scan_placeholders

    def counted(style: str, statement: str, values: object) -> object:
        scanned.append(statement)
        return scan(style, statement, values)

    monkeypatch.setattr(pg8000_driver, "_scan_placeholders", counted)
    pg8000_driver._numbered.cache_clear()
    db = Database(postgres_database, pool_size=4)
    query = text("SELECT CAST(:a AS integer) + CAST(:b AS integer), 'n' || :c")
    with db.read() as s:
        answers = [s.execute(query, {"a": a, "b": 1, "c": str(a)}).one() for a in (1, 2, 3)]
    db.dispose()
    assert answers == [(2, "n1"), (3, "n2"), (4, "n3")]
    assert sum("'n' ||" in statement for statement in scanned) == 1


def test_placeholders_are_numbered_as_pg8000_numbers_them() -> None:
    """The kept numbering is pg8000's own, for the statements SQLAlchemy writes ("format")
    and any other style passed through."""
    for statement in (
        "SELECT %s, %s FROM t WHERE a = %s",
        "SELECT '%s' || %s, 5 %% 3, \"a%s\" -- %s\n, %s",
        "INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s)",
    ):
        assert pg8000_driver.convert_paramstyle("format", statement, (1, 2)) == (
            pg8000.dbapi.convert_paramstyle("format", statement, (1, 2))
        )
    named = ("SELECT :a, :b, :a", {"a": 1, "b": 2})
    assert pg8000_driver.convert_paramstyle("named", *named) == pg8000.dbapi.convert_paramstyle(
        "named", *named
    )


class Unsendable:
    """A value pg8000 cannot turn into text."""

    def __str__(self) -> str:
        raise ValueError("no text for this")


@pytest.mark.postgres
def test_a_statement_is_one_round_trip_and_an_error_leaves_the_connection_usable(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg8000 ran a statement in three round trips (Parse, Describe, then Bind and Execute),
    each a wait for the server and, under an event loop, for the loop: they go in one. Rows,
    counts, NULLs and text come back as before; an error the server or the driver raises
    leaves the connection ready for the next statement."""
    flushes: list[int] = []
    flush = pg8000.core._flush

    def counted(sock: Any) -> Any:
        flushes.append(1)
        return flush(sock)

    db = Database(postgres_database, pool_size=4)
    with db.engine.connect() as opened:
        # Each statement on its own: an error ends no transaction the next one is in.
        connection = opened.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("CREATE TEMPORARY TABLE trips (n integer, s text)")
        monkeypatch.setattr(pg8000.core, "_flush", counted)
        inserted = connection.execute(
            text("INSERT INTO trips VALUES (:n, :s), (:m, NULL) RETURNING n"),
            {"n": 1, "s": "å ä ö", "m": 2},
        ).all()
        assert len(flushes) == 1
        assert inserted == [(1,), (2,)]
        assert connection.execute(text("UPDATE trips SET n = n + 10")).rowcount == 2
        with pytest.raises(DBAPIError):
            connection.execute(text("SELEKT 1"))
        with pytest.raises(DBAPIError):
            connection.execute(text("SELECT CAST(:x AS integer)"), {"x": "not a number"})
        with pytest.raises(ValueError):  # the driver cannot send it: nothing is sent
            connection.execute(text("SELECT :x"), {"x": Unsendable()})
        rows = connection.execute(text("SELECT n, s FROM trips ORDER BY n")).all()
        assert rows == [(11, "å ä ö"), (12, None)]
        assert len(flushes) == 5  # one for each of the five statements sent
    db.dispose()
