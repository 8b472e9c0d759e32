"""Backups that restore: `python -m facilitation backup PATH` taken from a running instance,
`restore PATH` into a fresh one, and every row of every table is there again, on SQLite and
PostgreSQL; a backup taken while the app writes is one consistent moment."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.orm import Session

from facilitation.edges.cli import main
from facilitation.infrastructure import models
from facilitation.infrastructure.db import Database, normalise_url
from tests.conftest import POSTGRES_URL, Room, unavailable

# Tables the app fills in a workshop run below, and must find again.
RUN_FILLS = (
    "workshops",
    "categories",
    "factors",
    "participants",
    "rounds",
    "ballots",
    "ballot_entries",
    "log_entries",
    "commands",
)


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind: the fresh instance a backup goes to."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/fresh/samsyn.db"
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        unavailable("pg_dump and pg_restore (postgresql-client)")
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"samsyn_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield (
        normalise_url(POSTGRES_URL)
        .set(database=name, drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _cli(url: str, *arguments: str) -> str:
    result = CliRunner().invoke(main, list(arguments), env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def _everything(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (Alembic's own too), in primary-key order."""
    db = Database(url)
    try:
        metadata = MetaData()
        with db.engine.connect() as connection:
            metadata.reflect(connection)
            return {
                name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for name, table in metadata.tables.items()
            }
    finally:
        db.dispose()


def _run_a_workshop(app: Any) -> None:
    """A workshop as a room makes it: factors, phones, a proposal, two revealed rounds."""
    response = app.test_client().post(
        "/api/workshops",
        json={
            "title": "Näringslivsstrategi 2030",
            "language": "sv",
            "factors": [
                {"title": "Urbanisering", "category": "Sociala"},
                {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
                {"title": "Elektrifiering av transporter", "category": "Teknologiska"},
            ],
        },
    )
    assert response.status_code == 201
    room = Room(app, response.json)
    room.phones = [room.phone()[1] for _ in range(3)]
    room.ok(room.console, "step.set", step="prioritise")
    factors = [room.factor("Urbanisering"), room.factor("Kompetensförsörjning")]
    room.run_round("rating", [{factors[0]: 4, factors[1]: 2}, {factors[0]: 5, factors[1]: 3}])
    room.run_round("dots", [{factors[0]: 2}, {factors[1]: 1}, {factors[0]: 1}], budget=3, cap=2)


def test_a_backup_restores_into_a_fresh_instance_with_every_row(
    make_app: Any, database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url)
    _run_a_workshop(app)
    before = _everything(database_url)
    for table in RUN_FILLS:
        assert before[table], f"the run left {table} empty"

    archive = tmp_path / "backups" / "samsyn.backup"
    assert "Backup written" in _cli(database_url, "backup", str(archive))
    assert "restored" in _cli(fresh_url, "restore", str(archive))

    assert _everything(fresh_url) == before
    # The restored instance serves: the workshop opens there.
    code = before["workshops"][0][1]
    restored = make_app(fresh_url)
    assert restored.test_client().get(f"/j/{code}").status_code == 200


def test_restore_refuses_a_database_that_holds_data(
    make_app: Any, database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url)
    _run_a_workshop(app)
    archive = tmp_path / "samsyn.backup"
    _cli(database_url, "backup", str(archive))
    result = CliRunner().invoke(main, ["restore", str(archive)], env={"DATABASE_URL": database_url})
    assert result.exit_code != 0
    assert "already holds data" in result.output


def test_a_backup_taken_while_the_app_writes_is_consistent(
    database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    """Each write adds a log entry and bumps its workshop's version in one transaction, as
    every command does; in the backup the two agree, whenever it was taken."""
    db = Database(database_url)
    db.migrate()
    with db.write() as session:
        workshop = models.Workshop(
            code="BKP123",
            title="Backup",
            language="sv",
            step="prioritise",
            facilitator_secret_hash="x" * 64,
        )
        session.add(workshop)
    stop = threading.Event()
    written = threading.Event()
    ticks = [0]

    def write() -> None:
        while not stop.is_set():
            with db.write() as session:
                row = session.get(models.Workshop, workshop.id)
                assert row is not None
                row.version += 1
                session.add(
                    models.LogEntry(workshop_id=row.id, actor="facilitator", action="test.tick")
                )
            ticks[0] += 1
            if ticks[0] == 20:
                written.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert written.wait(60)
        archive = tmp_path / "during.backup"
        _cli(database_url, "backup", str(archive))
        at_backup = ticks[0]
    finally:
        stop.set()
        writer.join()
    db.dispose()
    assert ticks[0] > 20  # the app went on writing

    _cli(fresh_url, "restore", str(archive))
    restored = Database(fresh_url)
    with Session(restored.engine) as session:
        version = session.scalar(select(models.Workshop.version))
        entries = session.scalar(
            select(text("count(*)"))
            .select_from(models.LogEntry)
            .where(models.LogEntry.action == "test.tick")
        )
    restored.dispose()
    assert entries is not None and entries >= 20
    assert version == 1 + entries  # one moment: every tick whole or not at all
    assert entries <= at_backup + 1


def test_replace_puts_the_backup_in_place_of_newer_data(
    make_app: Any, database_url: str, tmp_path: Path
) -> None:
    """Going back to last night: what was added since, a table of a later release too, is
    gone, and the backup is there as it was."""
    app = make_app(database_url)
    _run_a_workshop(app)
    archive = tmp_path / "night.backup"
    _cli(database_url, "backup", str(archive))
    before = _everything(database_url)
    _run_a_workshop(app)
    app.extensions["samsyn"].db.dispose()
    db = Database(database_url)
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE later_release (id INTEGER PRIMARY KEY,"
                " workshop_id INTEGER REFERENCES workshops (id))"
            )
        )
        connection.execute(text("INSERT INTO later_release VALUES (1, 1)"))
    db.dispose()

    _cli(database_url, "restore", "--replace", str(archive))
    assert _everything(database_url) == before


def test_the_nightly_unit_writes_a_backup_and_keeps_fourteen_days(tmp_path: Path) -> None:
    """deploy/systemd/samsyn-backup.service's commands, run as systemd would run them (its
    `%%` and `$$` unescaped), with this checkout and a temporary folder for /opt/samsyn and
    /var/backups/samsyn."""
    unit = (Path(__file__).parent.parent / "deploy/systemd/samsyn-backup.service").read_text()
    commands = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in unit.splitlines()
        if line.startswith("ExecStart")
    }
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / "samsyn-20200101T023000Z.backup"
    old.write_text("an old backup")
    os.utime(old, (0, 0))
    database = tmp_path / "instance" / "samsyn.db"
    Database(f"sqlite:///{database}").migrate()
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    checkout = Path(__file__).parent.parent
    for name in ("ExecStart", "ExecStartPost"):
        line = commands[name].replace("%%", "%").replace("$$", "$")
        line = line.replace("/opt/samsyn/.venv/bin/python", sys.executable)
        line = line.replace("/var/backups/samsyn", str(folder))
        subprocess.run(shlex.split(line), check=True, cwd=checkout, env=environment)
    (written,) = folder.glob("samsyn-*.backup")  # the old one is gone, tonight's is there
    assert written != old
    assert re.fullmatch(r"samsyn-\d{8}T\d{6}Z\.backup", written.name)
    with sqlite3.connect(written) as connection:
        assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    connection.close()
