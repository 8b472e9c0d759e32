"""A live room on a database that has held many workshops: what a join, a ballot, a tick's
read and deleting a past workshop cost there, beside the same on a database holding only a
few (the baseline, in the same run). A municipality's server keeps its past workshops until
retention removes them; a room's hot path must not slow down as they pile up.

    python -m bench.history [--workshops 200] [--people 100] [--database sqlite|URL]

With a PostgreSQL URL, two databases are made on that server beside the one named (and
dropped at the end), one for each.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from facilitation.core.domain import Role, SeedFactor
from facilitation.infrastructure import models
from facilitation.infrastructure.db import Database, normalise_url
from facilitation.usecases import Actor, Change, Services
from facilitation.usecases.base import hash_secret

FACTORS = 20
# The room measured: its people join one by one, then each votes.
ROOM = 300
# Past workshops are given ids from here on, clear of those the database hands out.
FIRST_ID = 1_000_000
SECRET = "past-workshop-secret"
# The baseline's database holds this many past workshops (the three deleted).
FEW = 3


class Nobody:
    def publish(self, change: Change) -> None:
        pass


@dataclass
class Figures:
    join: float
    ballot: float
    tick: float
    delete: float


def fill(db: Database, workshops: int, people: int) -> None:
    """Past workshops, each with its factors, `people` participants, two revealed dots
    rounds everyone voted in, a log line a factor and a reason a participant."""
    rng = random.Random(1)
    ids = iter(range(FIRST_ID, FIRST_ID + 100 * workshops * people))
    with db.engine.begin() as c:
        for w in range(workshops):
            rows: dict[type[models.Base], list[dict[str, object]]] = {}
            workshop_id = next(ids)
            rows[models.Workshop] = [
                {
                    "id": workshop_id,
                    "code": f"P{w:07d}",
                    "title": f"Past {w}",
                    "language": "sv",
                    "step": "closed",
                    "facilitator_secret_hash": hash_secret(SECRET),
                }
            ]
            category = next(ids)
            rows[models.Category] = [
                {"id": category, "workshop_id": workshop_id, "position": 0, "name": "Sociala"}
            ]
            factors = [next(ids) for _ in range(FACTORS)]
            rows[models.Factor] = [
                {
                    "id": f,
                    "workshop_id": workshop_id,
                    "category_id": category,
                    "title": f"Faktor {f}",
                    "origin": "seed",
                    "status": "active",
                }
                for f in factors
            ]
            participants = [next(ids) for _ in range(people)]
            rows[models.Participant] = [
                {"id": p, "workshop_id": workshop_id, "token": uuid.uuid4().hex, "number": n}
                for n, p in enumerate(participants, 1)
            ]
            rounds = [next(ids) for _ in range(2)]
            rows[models.Round] = [
                {
                    "id": r,
                    "workshop_id": workshop_id,
                    "number": n,
                    "method": "dots",
                    "state": "revealed",
                    "settings": {"budget": 5, "cap": 3},
                }
                for n, r in enumerate(rounds, 1)
            ]
            ballots = [(next(ids), r, p) for r in rounds for p in participants]
            rows[models.Ballot] = [
                {"id": b, "round_id": r, "participant_id": p} for b, r, p in ballots
            ]
            rows[models.BallotEntry] = [
                {"ballot_id": b, "factor_id": f, "value": 1}
                for b, _, _ in ballots
                for f in rng.sample(factors, 5)
            ]
            rows[models.LogEntry] = [
                {
                    "workshop_id": workshop_id,
                    "actor": "facilitator",
                    "action": "factor.added",
                    "factor_id": f,
                }
                for f in factors
            ]
            rows[models.Reason] = [
                {
                    "workshop_id": workshop_id,
                    "round_id": rounds[0],
                    "factor_id": rng.choice(factors),
                    "participant_id": p,
                    "text": "Därför",
                    "status": "shown",
                }
                for p in participants
            ]
            for model, values in rows.items():
                c.execute(insert(model), values)
    if db.engine.dialect.name == "postgresql":
        # Statistics as autovacuum keeps them on a server in use: without them, PostgreSQL
        # plans for the nearly empty tables it last saw.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))


def measure(url: str, workshops: int, people: int) -> Figures:
    """A room of ROOM people joining and voting on the database at `url`, which first gets
    `workshops` past workshops of `people` each; then three of those are deleted."""
    db = Database(url)
    db.migrate()
    fill(db, workshops, people)
    services = Services(db, Nobody())
    desk = services.workshops
    seeds = [SeedFactor(f"Faktor {i}", "Sociala") for i in range(FACTORS)]
    code, secret = desk.create(title="Bench", language="sv", categories=None, seeds=seeds)
    facilitator = Actor(Role.FACILITATOR, code, secret=secret)
    desk.execute(facilitator, "step.set", {"command_id": "s", "step": "prioritise"})
    round_id = desk.execute(
        facilitator, "round.open", {"command_id": "o", "method": "dots", "budget": 5, "cap": 3}
    )["data"]["round_id"]
    factor_ids = [f["id"] for f in desk.snapshot(facilitator, "console")["state"]["factors"]]
    joins: list[float] = []
    ballots: list[float] = []
    room: list[int] = []
    for i in range(ROOM):
        started = time.perf_counter()
        _, participant_id = desk.join(code, f"p{i}")
        joins.append(time.perf_counter() - started)
        room.append(participant_id)
    rng = random.Random(2)
    for i in range(ROOM):
        entries = {str(f): 1 for f in rng.sample(factor_ids, 5)}
        started = time.perf_counter()
        answer = desk.execute(
            Actor(Role.PARTICIPANT, code, token=f"p{i}"),
            "ballot.submit",
            {"command_id": f"b{i}", "round_id": round_id, "entries": entries},
        )
        ballots.append(time.perf_counter() - started)
        assert answer["ok"], answer
    workshop_id = desk.find_workshop(code).id
    voters = set(rng.sample(room, 100))
    reads = []
    for _ in range(20):
        started = time.perf_counter()
        desk.screens(workshop_id, console=True, people=voters)
        reads.append(time.perf_counter() - started)
    deletes = []
    for w in range(FEW):
        started = time.perf_counter()
        desk.delete(f"P{w:07d}", SECRET)
        deletes.append(time.perf_counter() - started)
    db.dispose()
    median = statistics.median
    return Figures(median(joins), median(ballots), median(reads), median(deletes))


@contextlib.contextmanager
def databases(where: str) -> Iterator[tuple[str, str]]:
    """Two empty databases: SQLite files, or databases made on the PostgreSQL server."""
    if where == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/few.db", f"sqlite:///{tmp}/many.db"
        return
    admin = create_engine(normalise_url(where), isolation_level="AUTOCOMMIT")
    names = [f"bench_history_{uuid.uuid4().hex[:8]}_{kind}" for kind in ("few", "many")]
    with admin.connect() as c:
        for name in names:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(where)
        few, many = (url.set(database=n).render_as_string(hide_password=False) for n in names)
        yield few, many
    finally:
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workshops", type=int, default=200)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args(argv)
    with databases(args.database) as (few, many):
        baseline = measure(few, FEW, args.people)
        figures = measure(many, args.workshops, args.people)
    print(
        f"A room of {ROOM} on a database holding {FEW} past workshops (baseline) and on one "
        f"holding {args.workshops}, each of {args.people} people who voted in two rounds; "
        "medians:"
    )
    print(f"{'':>22} {'baseline':>10} {'history':>10} {'ratio':>6}")
    for label, key in (
        ("a join", "join"),
        ("a ballot", "ballot"),
        ("a tick's read", "tick"),
        ("deleting a workshop", "delete"),
    ):
        base, full = getattr(baseline, key), getattr(figures, key)
        print(f"{label:>22} {base * 1000:>8.2f}ms {full * 1000:>8.2f}ms {full / base:>6.2f}")


if __name__ == "__main__":
    main()
