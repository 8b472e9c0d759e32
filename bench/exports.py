"""How long the exports take for a big workshop: 200 factors, 1,000 participants, a round of
each of the five methods. Prints seconds and sizes per format.

    python -m bench.exports [--factors 200] [--participants 1000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from typing import Any

from flask import Flask
from flask_babel import force_locale, gettext

from facilitation.assembly import create_app
from facilitation.core.domain import Role, SeedFactor
from facilitation.infrastructure.config import Config
from facilitation.outputs import export, report, workbook
from facilitation.usecases import Actor, Services


def in_process(database_url: str) -> Flask:
    """The app in this process on `database_url`, to build workshops with its services: no
    event loop to patch in, no worker processes, no broadcasting, no secret key file."""
    config = Config()
    config.DATABASE_URL = database_url
    config.SECRET_KEY = "bench-secret"
    config.PUBLIC_URL = "http://samsyn.bench"
    config.ASYNC_MODE = "threading"
    config.CREATE_PASSWORD = None
    config.WORKERS = 0
    config.START_BROADCASTER = False
    return create_app(config)


def build(services: Services, factors: int, participants: int) -> tuple[str, str]:
    """A workshop with every kind of closed round; returns its code and facilitator secret."""
    rng = random.Random(7)
    seeds = [
        SeedFactor(f"Faktor {i}", ("Sociala", "Ekonomiska", "Teknologiska")[i % 3])
        for i in range(factors)
    ]
    code, secret = services.workshops.create(
        title="Bench", language="sv", categories=None, seeds=seeds
    )
    facilitator = Actor(Role.FACILITATOR, code, secret=secret)
    people = []
    for i in range(participants):
        services.workshops.join(code, f"p{i}")
        people.append(Actor(Role.PARTICIPANT, code, token=f"p{i}"))
    ids = [f["id"] for f in services.workshops.snapshot(facilitator, "console")["state"]["factors"]]
    n = 0

    def run(name: str, **payload: object) -> dict[str, Any]:
        nonlocal n
        n += 1
        answer = services.workshops.execute(facilitator, name, {"command_id": f"f{n}", **payload})
        assert answer["ok"], answer
        data: dict[str, Any] = answer["data"]
        return data

    def vote(method: str, answer: object, **settings: object) -> None:
        round_id = run("round.open", method=method, **settings)["round_id"]
        for i, person in enumerate(people):
            entries = answer()  # type: ignore[operator]
            reply = services.workshops.execute(
                person,
                "ballot.submit",
                {"command_id": f"{method}{i}", "round_id": round_id, "entries": entries},
            )
            assert reply["ok"], reply
        run("round.close", round_id=round_id)
        run("round.reveal", round_id=round_id)

    run("step.set", step="prune")
    vote(
        "keep_remove", lambda: {str(f): rng.choice(["keep", "remove"]) for f in rng.sample(ids, 20)}
    )
    run("step.set", step="prioritise")
    vote("dots", lambda: {str(f): 1 for f in rng.sample(ids, 5)}, budget=5, cap=2)
    vote("rating", lambda: {str(f): rng.randint(1, 5) for f in rng.sample(ids, 20)})
    vote("ranking", lambda: {str(f): p for p, f in enumerate(rng.sample(ids, 5), start=1)}, top_k=5)
    vote(
        "matrix",
        lambda: {str(f): [rng.randint(1, 5), rng.randint(1, 5)] for f in rng.sample(ids, 10)},
    )
    return code, secret


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", type=int, default=200)
    parser.add_argument("--participants", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        app = in_process(f"sqlite:///{tmp}/bench.db")
        services: Services = app.extensions["samsyn"].services
        started = time.perf_counter()
        code, _ = build(services, args.factors, args.participants)
        print(
            f"built {args.factors} factors × {args.participants} participants × 5 rounds "
            f"in {time.perf_counter() - started:.1f} s"
        )
        with app.test_request_context(), force_locale("sv"):
            started = time.perf_counter()
            record = services.workshops.record(code)
            print(f"{'record':>8} {time.perf_counter() - started:7.2f} s")
            for name, make in [
                ("json", lambda: export.to_json(record).encode()),
                ("csv", lambda: export.to_csv(record, gettext).encode()),
                ("xlsx", lambda: workbook.to_xlsx(record, gettext)),
                ("pdf", lambda: report.to_pdf(dict(record), gettext)),
            ]:
                started = time.perf_counter()
                size = len(make())
                print(f"{name:>8} {time.perf_counter() - started:7.2f} s {size / 1024:9.0f} KB")


if __name__ == "__main__":
    main()
