"""The cost of the hot path inside one process, without the network: ballots through
`Services.execute` (validation, transaction, rule, commit, answer record) and the views the
broadcaster builds per tick, for growing rooms. A bare baseline in the same run — the same
ballot written with one plain INSERT per transaction — shows what the layers cost.

    python -m bench.services [--participants 200 1000] [--database sqlite|URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

from sqlalchemy import text

from facilitation.core.domain import Role, SeedFactor
from facilitation.infrastructure.db import Database
from facilitation.queries import state as views
from facilitation.usecases import Actor, Change, Services, workshops

FACTORS = 30


class Nobody:
    def publish(self, change: Change) -> None:
        pass


def prepare(url: str, participants: int) -> tuple[Services, Actor, int, list[int], list[Actor]]:
    db = Database(url)
    db.migrate()
    services = Services(db, Nobody())
    seeds = [SeedFactor(f"Faktor {i}", "Sociala") for i in range(FACTORS)]
    code, secret = services.workshops.create(
        title="Bench", language="sv", categories=None, seeds=seeds
    )
    facilitator = Actor(Role.FACILITATOR, code, secret=secret)
    services.workshops.execute(facilitator, "step.set", {"command_id": "s", "step": "prioritise"})
    answer = services.workshops.execute(
        facilitator, "round.open", {"command_id": "o", "method": "dots", "budget": 5, "cap": 3}
    )
    round_id = answer["data"]["round_id"]
    factor_ids = [
        f["id"] for f in services.workshops.snapshot(facilitator, "console")["state"]["factors"]
    ]
    people = []
    for i in range(participants):
        services.workshops.join(code, f"p{i}")
        people.append(Actor(Role.PARTICIPANT, code, token=f"p{i}"))
    return services, facilitator, round_id, factor_ids, people


def ballots(
    services: Services, round_id: int, factor_ids: list[int], people: list[Actor]
) -> list[float]:
    rng = random.Random(1)
    latencies = []
    for i, actor in enumerate(people):
        entries = {str(f): 1 for f in rng.sample(factor_ids, 5)}
        started = time.perf_counter()
        answer = services.workshops.execute(
            actor,
            "ballot.submit",
            {"command_id": f"b{i}", "round_id": round_id, "entries": entries},
        )
        latencies.append(time.perf_counter() - started)
        assert answer["ok"], answer
    return latencies


def baseline(url: str, participants: int) -> list[float]:
    """The floor: one INSERT of a five-entry ballot per transaction, nothing else."""
    db = Database(url)
    with db.engine.begin() as c:
        c.execute(text("CREATE TABLE IF NOT EXISTS bare (p INTEGER, f INTEGER, v INTEGER)"))
    latencies = []
    for p in range(participants):
        started = time.perf_counter()
        with db.write() as s:
            s.execute(
                text("INSERT INTO bare VALUES (:p, :f, 1)"), [{"p": p, "f": f} for f in range(5)]
            )
        latencies.append(time.perf_counter() - started)
    db.dispose()
    return latencies


def view_cost(services: Services, code: str, repeat: int = 20) -> float:
    """What one broadcaster tick reads for a changed workshop: the room's and console's views."""
    with services.db.read() as s:
        workshop = workshops.find(s, code)
        started = time.perf_counter()
        for _ in range(repeat):
            views.console_view(s, workshop, views.room_view(s, workshop))
        return (time.perf_counter() - started) / repeat


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args(argv)
    print(
        f"{'participants':>12} {'ballot p50':>11} {'p95':>8} {'baseline p50':>13} "
        f"{'ratio':>6} {'ballots/s':>10} {'views/tick':>11}"
    )
    for n in args.participants:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db" if args.database == "sqlite" else args.database
            services, facilitator, round_id, factor_ids, people = prepare(url, n)
            started = time.perf_counter()
            lat = ballots(services, round_id, factor_ids, people)
            rate = n / (time.perf_counter() - started)
            base = baseline(f"sqlite:///{tmp}/bare.db" if args.database == "sqlite" else url, n)
            tick = view_cost(services, facilitator.code)
            services.db.dispose()
        p50, b50 = statistics.median(lat), statistics.median(base)
        print(
            f"{n:>12} {p50 * 1000:>9.2f}ms {pct(lat, 95) * 1000:>6.2f}ms "
            f"{b50 * 1000:>11.2f}ms {p50 / b50:>6.1f} {rate:>10.0f} {tick * 1000:>9.2f}ms"
        )


if __name__ == "__main__":
    main()
