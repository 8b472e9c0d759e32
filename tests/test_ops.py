"""For the people who run Samsyn: health, metrics, logs without content, and retention."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Room, metric
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from facilitation.assembly import Samsyn
from facilitation.edges.cli import main as cli
from facilitation.edges.limits import TokenBucket
from facilitation.infrastructure import logs, models
from facilitation.infrastructure.config import Config
from facilitation.infrastructure.version import VERSION

# --- Health and metrics ---------------------------------------------------------------------


def test_healthz_says_whether_the_database_answers(
    app: Flask, samsyn: Samsyn, monkeypatch: Any
) -> None:
    client = app.test_client()
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "database": True, "version": VERSION}

    def unreachable() -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(samsyn.db, "read", unreachable)
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.json == {"status": "unavailable", "database": False, "version": VERSION}


def test_metrics_count_connections_commands_and_broadcast_lag(room: Room) -> None:
    _, phone = room.phone()
    room.ok(phone, "participant.rename", nickname="Anna")
    room.send(phone, "step.set", step="complete")  # refused: not the facilitator's phone
    room.flush()
    response = room.app.test_client().get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert metric(text, 'samsyn_connections{view="phone"}') == 1
    assert metric(text, 'samsyn_connections{view="console"}') == 1
    assert metric(text, 'samsyn_commands_total{command="participant.rename",outcome="ok"}') == 1
    assert metric(text, 'samsyn_commands_total{command="step.set",outcome="refused"}') == 1
    assert metric(text, "samsyn_command_seconds_count") == 2
    # The phone's join and the rename, each a batch of one; the refused step.set never
    # reached a transaction.
    assert metric(text, "samsyn_command_batch_size_count") == 2
    assert metric(text, "samsyn_command_batch_size_sum") == 2
    # Each batch waited once for its workshop's lock.
    assert metric(text, "samsyn_workshop_lock_wait_seconds_count") == 2
    assert metric(text, "samsyn_broadcast_lag_seconds_count") >= 1
    # Nothing of the workshop: no code, no name, no title.
    assert room.code not in text and "Anna" not in text and "Näringsliv" not in text


def test_rate_limited_commands_are_counted(room: Room) -> None:
    room.app.extensions["samsyn"].command_limit = TokenBucket(rate=0.001, burst=1)
    _, phone = room.phone()
    room.send(phone, "participant.rename", nickname="A")
    room.send(phone, "participant.rename", nickname="B")
    text = room.app.test_client().get("/metrics").get_data(as_text=True)
    assert metric(text, "samsyn_rate_limited_total") == 1


# --- Logs ------------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Any:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    looked_up = logging.logThreads, logging.logProcesses, logging.logMultiprocessing
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.logThreads, logging.logProcesses, logging.logMultiprocessing = looked_up


def test_json_logs_are_one_object_per_line(
    monkeypatch: Any, capsys: Any, restore_logging: Any
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    logs.configure(Config())
    logging.getLogger("samsyn.commands").info("%s %s", "ballot.submit", "ok")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["logger"] == "samsyn.commands" and record["level"] == "INFO"
    assert record["message"] == "ballot.submit ok" and record["time"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_log_line_looks_up_no_thread_or_process_it_does_not_show(
    monkeypatch: Any, capsys: Any, restore_logging: Any, log_format: str
) -> None:
    """Under eventlet, naming the current thread makes an object for every green thread
    that logs: a record leaves out what no line shows."""
    monkeypatch.setenv("LOG_FORMAT", log_format)
    logs.configure(Config())
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    logging.getLogger("samsyn.access").info("%s %s", "GET", "/j/<code>")
    assert "GET /j/<code>" in capsys.readouterr().err
    (record,) = records
    assert (record.thread, record.threadName, record.process, record.processName) == (None,) * 4


def test_command_logs_name_the_command_and_outcome_only(room: Room, caplog: Any) -> None:
    caplog.set_level("INFO", logger="samsyn.commands")
    _, phone = room.phone()
    room.ok(room.console, "step.set", step="complete")
    room.ok(phone, "factor.propose", title="Hemligt förslag", category_id=room.category("Sociala"))
    room.ok(phone, "participant.rename", nickname="Anna Andersson")
    lines = [r.getMessage() for r in caplog.records if r.name == "samsyn.commands"]
    assert lines == ["step.set ok", "factor.propose ok", "participant.rename ok"]
    assert "Hemligt" not in caplog.text and "Anna" not in caplog.text


# --- Retention -------------------------------------------------------------------------------


def finished_workshop(room: Room) -> FlaskClient:
    """A workshop with a nickname, a proxy, votes and a closed round, then closed; returns
    the browser of the participant who voted."""
    room.ok(room.console, "step.set", step="prioritise")
    round_id = room.ok(room.console, "round.open", method="dots", budget=2, cap=2)["round_id"]
    room.ok(room.console, "proxy.add", label="Bertil utan telefon")
    http, phone = room.phone()
    room.ok(phone, "participant.rename", nickname="Anna")
    factor = room.factor("Urbanisering")
    room.ok(phone, "ballot.submit", round_id=round_id, entries={str(factor): 2})
    room.ok(room.console, "round.close", round_id=round_id)
    room.ok(room.console, "step.set", step="closed")
    return http


def age(samsyn: Samsyn, code: str, days: int) -> None:
    """Pretend nothing happened in the workshop for `days` days."""
    with samsyn.db.write() as s:
        workshop = s.scalar(select(models.Workshop).where(models.Workshop.code == code))
        assert workshop is not None
        workshop.updated_at = models.utcnow() - timedelta(days=days)


def count(samsyn: Samsyn, model: Any, code: str) -> int:
    with samsyn.db.read() as s:
        query = select(func.count()).select_from(model).join(models.Workshop)
        return int(s.scalar(query.where(models.Workshop.code == code)) or 0)


def codes(samsyn: Samsyn) -> set[str]:
    with samsyn.db.read() as s:
        return set(s.scalars(select(models.Workshop.code)))


def test_anonymising_keeps_the_results_and_nothing_that_tells_who(make_room: Any) -> None:
    old, recent, open_ = make_room(), make_room(), make_room()
    samsyn: Samsyn = old.app.extensions["samsyn"]
    browsers = {room.code: finished_workshop(room) for room in (old, recent)}
    age(samsyn, old.code, 100)
    age(samsyn, open_.code, 100)  # old but never closed: kept as it is
    before = samsyn.services.workshops.record(old.code)
    with samsyn.db.read() as s:
        tokens = set(s.scalars(select(models.Participant.token)))
    cutoff = models.utcnow() - timedelta(days=90)

    assert samsyn.services.operations.apply_retention(cutoff, "anonymise", dry_run=True) == 1
    assert samsyn.services.operations.apply_retention(cutoff, "anonymise") == 1
    assert samsyn.services.operations.apply_retention(cutoff, "anonymise") == 0  # once is enough

    after = samsyn.services.workshops.record(old.code)
    assert after["rounds"] == before["rounds"] and after["factors"] == before["factors"]
    with samsyn.db.read() as s:
        people = s.scalars(
            select(models.Participant).join(models.Workshop).where(models.Workshop.code == old.code)
        ).all()
        assert people and all(p.nickname is None for p in people)
        assert not tokens & {p.token for p in people}
    assert count(samsyn, models.CommandRecord, old.code) == 0
    assert count(samsyn, models.CommandRecord, recent.code) > 0
    assert after["log"][-1]["action"] == "workshop.anonymised"
    # The browser that took part is no longer recognised by the anonymised workshop.
    assert not old.connect(browsers[old.code], "phone").is_connected()
    assert recent.connect(browsers[recent.code], "phone").is_connected()


def test_deleting_leaves_only_the_line_that_says_so(make_room: Any) -> None:
    old, recent = make_room(), make_room()
    samsyn: Samsyn = old.app.extensions["samsyn"]
    for room in (old, recent):
        finished_workshop(room)
    age(samsyn, old.code, 100)
    assert (
        samsyn.services.operations.apply_retention(models.utcnow() - timedelta(days=90), "delete")
        == 1
    )
    assert codes(samsyn) == {recent.code}
    with samsyn.db.read() as s:
        deletion = s.scalars(select(models.Deletion)).one()
    assert (deletion.actor, deletion.participants, deletion.rounds) == ("retention", 2, 1)


def test_the_retention_command_reads_its_settings(
    make_room: Any, monkeypatch: Any, restore_logging: Any
) -> None:
    room = make_room()
    finished_workshop(room)
    samsyn: Samsyn = room.app.extensions["samsyn"]
    age(samsyn, room.code, 40)
    monkeypatch.setenv("DATABASE_URL", str(samsyn.db.engine.url))
    monkeypatch.setenv("RETENTION_DAYS", "30")
    runner = CliRunner()
    dry = runner.invoke(cli, ["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 closed workshop unchanged for 30 days would be anonymised" in dry.output
    kept = runner.invoke(cli, ["retention", "--days", "60", "--action", "delete"])
    assert "0 closed workshops unchanged for 60 days deleted" in kept.output
    done = runner.invoke(cli, ["retention", "--action", "delete"])
    assert done.exit_code == 0 and "1 closed workshop unchanged for 30 days deleted" in done.output
    assert codes(samsyn) == set()
    monkeypatch.setenv("RETENTION_ACTION", "shred")
    wrong = runner.invoke(cli, ["retention"])
    assert wrong.exit_code == 2 and "anonymise, delete" in wrong.output
