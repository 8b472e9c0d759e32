"""Upgrades keep every row: a database made by any earlier revision, holding a workshop's
worth of data, is upgraded to the newest schema the way the app does it on start, and every
row it held is still there with the values it had, on SQLite and PostgreSQL.

The data is written with plain SQL against the schema as it was at that revision (read back
from the database itself), so the test follows the schema's history without a model per
revision: each table gets a few rows, every column filled, foreign keys pointing at rows of
the parent tables, and values a real workshop would hold where a column's name says what it
holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, Table, select
from sqlalchemy.engine import Connection

from facilitation.infrastructure.db import Database, MigrationError, alembic_config
from facilitation.infrastructure.models import Base

ROWS = 3

# What a real workshop holds in the columns whose names say it, one value per row.
REALISTIC: dict[str, list[Any]] = {
    "workshops.code": ["K7Q2MX", "P4W9RT", "Z3N8HB"],
    "workshops.title": [
        "Näringslivsstrategi 2030: omvärldsanalys",
        "Regional partners, spring round",
        "Företagarfrukost – vad saknas?",
    ],
    "language": ["sv", "en", "sv"],
    "workshops.step": ["prioritise", "close", "prune"],
    "rounds.method": ["dots", "rating", "matrix"],
    "rounds.state": ["revealed", "closed", "open"],
    "rounds.settings": [{"budget": 5, "cap": 2}, {"scale": 5}, {"axes": ["impact", "uncertainty"]}],
    "rounds.results": [{"agreement": 0.82}, {"iqr": 1.0}, None],
    "factors.title": [
        "Kompetensförsörjning",
        "Elektrifiering av transporter",
        "Ökad distansarbete",
    ],
    "factors.origin": ["seeded", "participant", "facilitator"],
    "factors.status": ["active", "removed", "merged"],
    "factors.removal_reason": [None, "Bortröstad i omgång 1: 82 % röstade för att ta bort", None],
    "library_factors.origin": ["seeded", "promoted", "seeded"],
    "categories.name": ["Politiska", "Ekonomiska", "Sociala"],
    "library_categories.name": ["Political", "Economic", "Social"],
    "participant_groups.name": ["Företag", "Kommunen", "Regionala partners"],
    "participants.nickname": ["Anna", None, "Företagare på Norrmalm"],
    "actor": ["facilitator", "participant", "organizer"],
    "log_entries.action": ["factor.added", "round.opened", "factor.removed"],
    "series_log.action": ["series.created", "workshop.added", "library.promoted"],
    "log_entries.details": [{"factor": 1, "title": "Kompetensförsörjning"}, {"round": 1}, {}],
    "reasons.status": ["shown", "hidden", "shown"],
    "reasons.text": ["Vi ser redan bristen i rekryteringen.", "Off topic", "Självklart viktig."],
    "ballot_entries.value": [3, 5, 1],
    "ballot_entries.value2": [None, 2, 4],
    "organizers.username": ["strateg@kommun.se", "konsult@byra.se", "it@kommun.se"],
    "organizers.login": ["strateg@kommun.se", "konsult@byra.se", "it@kommun.se"],
    "organizers.first_run": [True, None, None],  # one first account at most (unique)
    "series.title": ["Omvärldsanalys 2026", "Regional strategy", "Besöksnäring"],
    "time_zone": ["Europe/Stockholm", "Europe/Helsinki", "UTC"],
    "consensus": [{}, {"threshold": 0.75}, {"threshold": 0.8, "min_answers": 5}],
}


def _value(table: Table, column: Any, row: int) -> Any:
    """The value row number `row` (1-based) gets in `column`."""
    for key in (f"{table.name}.{column.name}", column.name):
        if key in REALISTIC:
            return REALISTIC[key][row - 1]
    kind = column.type
    if isinstance(kind, Boolean):
        return row % 2 == 1
    if isinstance(kind, Integer):
        return row * 10 + len(column.name)  # distinct per row, for unique columns
    if isinstance(kind, DateTime):
        return datetime(2026, 3, row, 9 + row, 15, 30)
    if isinstance(kind, JSON):
        return {"row": row, "note": f"{column.name} åäö"}
    length = getattr(kind, "length", None) or 200
    return f"{column.name} {row} åäö"[:length]


def _seed(connection: Connection, metadata: MetaData) -> dict[str, list[dict[str, Any]]]:
    """Fill every table (but Alembic's own) with ROWS rows; what went in, by table."""
    seeded: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        rows = []
        for number in range(1, ROWS + 1):
            row: dict[str, Any] = {}
            for column in table.columns:
                if column.foreign_keys:
                    (key,) = column.foreign_keys
                    if key.column.table.name == table.name:
                        # Points at an earlier row of its own table (a merge).
                        row[column.name] = number - 1 if number > 1 else None
                    else:
                        row[column.name] = number
                elif column.primary_key:
                    row[column.name] = number
                else:
                    row[column.name] = _value(table, column, number)
            rows.append(row)
        connection.execute(table.insert(), rows)
        seeded[table.name] = rows
    return seeded


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def _at_revision(db: Database, revision: str) -> dict[str, list[dict[str, Any]]]:
    """Make the empty database `revision`'s schema and seed it; what was seeded."""
    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    with db.engine.begin() as connection:
        metadata = MetaData()
        metadata.reflect(connection)
        return _seed(connection, metadata)


def _lost(db: Database, seeded: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What of `seeded` the database no longer holds as it was."""
    lost = []
    metadata = MetaData()
    with db.engine.connect() as connection:
        metadata.reflect(connection)
        for name, rows in seeded.items():
            table = metadata.tables[name]
            key = [column.name for column in table.primary_key.columns]
            found = {
                tuple(row[name] for name in key): row
                for row in connection.execute(select(table)).mappings()
            }
            for row in rows:
                which = tuple(row[name] for name in key)
                now = found.get(which)
                if now is None:
                    lost.append(f"{name} row {which} is gone")
                    continue
                for column, value in row.items():
                    if now[column] != value:
                        lost.append(f"{name}.{column} row {which}: {value!r} → {now[column]!r}")
    return lost


@pytest.mark.parametrize("revision", _revisions()[:-1])
def test_an_upgrade_from_every_revision_keeps_every_row(database_url: str, revision: str) -> None:
    db = Database(database_url)
    try:
        seeded = _at_revision(db, revision)
        assert len(seeded) >= 8  # workshops, categories, factors, participants, rounds, ...
        db.migrate()  # as the app does on start
        assert _lost(db, seeded) == []
        # The app reads what the upgrade left: every row of every model loads.
        with db.read() as session:
            for mapper in Base.registry.mappers:
                rows = session.scalars(select(mapper.class_)).all()
                assert len(rows) == len(seeded.get(mapper.local_table.name, []))
    finally:
        db.dispose()


def test_the_newest_schema_takes_the_seed_too(database_url: str) -> None:
    """The seeding itself is sound: at head, what went in comes out."""
    db = Database(database_url)
    try:
        seeded = _at_revision(db, "head")
        assert "reasons" in seeded and "series_commands" in seeded
        db.migrate()
        assert _lost(db, seeded) == []
    finally:
        db.dispose()


def test_an_upgrade_that_leaves_a_broken_reference_fails_and_changes_nothing(
    tmp_path: object,
) -> None:
    """SQLite migrates with foreign keys off; what they would have caught is checked before
    the commit, and the upgrade fails loudly instead of committing orphans."""
    db = Database(f"sqlite:///{tmp_path}/orphans.db")
    try:
        _at_revision(db, "0015")
        with db.engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.execute("UPDATE ballots SET participant_id = 99 WHERE id = 2")
            raw.execute("PRAGMA foreign_keys=ON")
        with pytest.raises(MigrationError, match="ballots"):
            db.migrate()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar() == ("0015")
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()
