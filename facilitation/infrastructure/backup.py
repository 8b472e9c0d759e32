"""Backups of Samsyn's database, and putting one back.

Layer: infrastructure. Knows SQLite's and PostgreSQL's own tools, nothing of Flask.

- SQLite: the sqlite3 module's online backup API copies the database page by page and starts
  over when the app writes meanwhile, so the copy is the database as it was at one moment,
  taken while the app serves. Restoring copies the file back the same way.
- PostgreSQL: `pg_dump --format=custom`, one transaction's snapshot, consistent while the app
  writes; restored with `pg_restore`. Both need PostgreSQL's client programs of the server's
  major version or newer (Debian: postgresql-client).

A backup is written to a temporary file beside the target and renamed when complete, so a
failed run never leaves a half backup under the expected name.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import URL

from facilitation.infrastructure.db import Database, normalise_url


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why."""


def backup(database_url: str, target: Path) -> None:
    """Write a consistent copy of the database at `database_url` to `target`."""
    url = normalise_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_path(url), partial)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(partial)], url)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def restore(database_url: str, source: Path, *, replace: bool = False) -> None:
    """Put the backup `source` into the database at `database_url`, then migrate it to this
    release's schema. An empty database (a fresh instance) is the usual target; one that
    already holds tables is only overwritten with `replace`."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    url = normalise_url(database_url)
    db = Database(database_url)
    try:
        tables = set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
    if tables and not replace:
        raise BackupError(
            "the database already holds data; restore into an empty one, or replace it "
            "(--replace) with the app stopped"
        )
    if url.get_backend_name() == "sqlite":
        # The backup API replaces the whole database, whatever it held.
        _sqlite_copy(source, _sqlite_path(url))
    else:
        if tables:
            _empty(database_url)
        _run(
            ["pg_restore", "--no-owner", "--single-transaction", "--exit-on-error", str(source)],
            url,
        )
    db = Database(database_url)
    try:
        db.migrate()  # a backup from an earlier release gets this release's schema
    finally:
        db.dispose()


def _empty(database_url: str) -> None:
    """Drop every table of a PostgreSQL database (one transaction). pg_restore's own
    `--clean` would leave the tables a later release added, holding references to the
    tables it restores."""
    db = Database(database_url)
    try:
        metadata = MetaData()
        with db.engine.begin() as connection:
            metadata.reflect(connection)
            metadata.drop_all(connection)
    finally:
        db.dispose()


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the online backup API."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Opened read-only by URI: a backup must not create or change the source.
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as reading,
        sqlite3.connect(target) as writing,
    ):
        reading.execute("PRAGMA busy_timeout=5000")
        reading.backup(writing)
        writing.execute("PRAGMA journal_mode=WAL")
    reading.close()
    writing.close()


def _libpq_url(url: URL) -> str:
    """The URL as PostgreSQL's own programs read it: no SQLAlchemy driver name, and no
    password (it goes in the environment, where other users' `ps` does not show it)."""
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _run(arguments: list[str], url: URL) -> None:
    """Run one of PostgreSQL's client programs on `url`'s database; its error output
    becomes the error."""
    program = arguments[0]
    if shutil.which(program) is None:
        raise BackupError(
            f"{program} is not installed: install PostgreSQL's client programs "
            "(Debian: apt install postgresql-client) of the server's version or newer"
        )
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    arguments = [*arguments, "--dbname", _libpq_url(url)]
    finished = subprocess.run(
        arguments, capture_output=True, text=True, check=False, env=environment
    )
    if finished.returncode != 0:
        raise BackupError(f"{program} failed: {finished.stderr.strip()}")
