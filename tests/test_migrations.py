"""The schema is owned by the migrations: they build exactly what the models describe, on
SQLite and PostgreSQL, and they can be undone."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from facilitation.infrastructure import models, pg_waits
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


def test_plain_postgres_urls_use_the_driver_that_waits_through_the_event_loop() -> None:
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg2"
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg2"
    assert normalise_url("postgresql+pg8000://u@h/db").drivername == "postgresql+psycopg2"
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
    """Opening a connection costs milliseconds of CPU (a TLS offer, authentication, the
    dialect's first questions): a serving process opens its pools' connections as it
    starts, not while the first room joins."""
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


class Unsendable:
    """A value the driver cannot turn into SQL."""


@pytest.mark.postgres
def test_every_wait_goes_through_the_event_loop_and_an_error_leaves_the_connection_usable(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement waits for PostgreSQL through `pg_waits.wait`, which waits with
    `select` (cooperative under eventlet and gevent), never inside libpq. Rows, counts,
    NULLs and text come back; an error the server or the driver raises leaves the
    connection ready for the next statement."""
    waits: list[int] = []
    wait = pg_waits.select.select

    def counted(*args: Any) -> Any:
        waits.append(1)
        return wait(*args)

    def waited(statement: Any, values: Any = None) -> Any:
        before = len(waits)
        result = connection.execute(statement, values)
        assert len(waits) > before
        return result

    db = Database(postgres_database, pool_size=4)
    with db.engine.connect() as opened:
        # Each statement on its own: an error ends no transaction the next one is in.
        connection = opened.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("CREATE TEMPORARY TABLE trips (n integer, s text)")
        monkeypatch.setattr(pg_waits.select, "select", counted)
        inserted = waited(
            text("INSERT INTO trips VALUES (:n, :s), (:m, NULL) RETURNING n"),
            {"n": 1, "s": "å ä ö", "m": 2},
        ).all()
        assert inserted == [(1,), (2,)]
        assert waited(text("UPDATE trips SET n = n + 10")).rowcount == 2
        with pytest.raises(DBAPIError):
            waited(text("SELEKT 1"))
        with pytest.raises(DBAPIError):
            waited(text("SELECT CAST(:x AS integer)"), {"x": "not a number"})
        sent = len(waits)
        with pytest.raises(DBAPIError):  # the driver cannot send it: nothing is sent
            connection.execute(text("SELECT :x"), {"x": Unsendable()})
        assert len(waits) == sent
        rows = waited(text("SELECT n, s FROM trips ORDER BY n")).all()
        assert rows == [(11, "å ä ö"), (12, None)]
    db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("loop", ["eventlet", "gevent"])
def test_a_statement_waiting_for_postgresql_lets_the_event_loop_run(
    postgres_database: str, loop: str
) -> None:
    """libpq would wait for the server inside C, freezing every phone on the process; with
    the wait handed to the loop (pg_waits), other green threads run meanwhile, under
    eventlet and gevent alike."""
    run = subprocess.run(
        [sys.executable, Path(__file__).with_name("loop_waits.py"), loop, postgres_database],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) > 0


@pytest.mark.postgres
def test_the_urls_connection_parameters_reach_libpq(postgres_database: str) -> None:
    """An operator asks for verified TLS in DATABASE_URL (libpq's `sslmode`, `sslrootcert`):
    the driver is given them, and refuses a server it cannot verify rather than connect
    without."""
    db = Database(f"{postgres_database}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
    with pytest.raises(BUSY) as refused, db.read() as s:
        s.scalar(select(1))
    # "SSL was required" from a server without TLS, "root certificate file … does not
    # exist" from one with it: either way libpq had the URL's parameters.
    assert "ssl" in str(refused.value).lower()
    db.dispose()
