"""Run by tests/test_services.py in a process of its own (gevent must patch the standard
library before anything else is imported): rounds of ten phones, three tabs each, joining
at once under gevent, as a room arrives. Exits 1 when a join never returns.

Usage: python tests/gevent_joins.py ROUNDS SEED
"""

from gevent import monkey

monkey.patch_all()

import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facilitation.core.domain import SeedFactor  # noqa: E402
from facilitation.infrastructure.db import Database  # noqa: E402
from facilitation.usecases import Change, Services  # noqa: E402


class Nobody:
    def publish(self, change: Change) -> None:
        pass


def main(rounds: int, seed: int) -> int:
    db = Database(f"sqlite:///{Path(tempfile.mkdtemp()) / 'samsyn.db'}")
    db.migrate()
    services = Services(db, Nobody())
    code, _ = services.workshops.create(
        title="Omvärld", language="sv", categories=None, seeds=[SeedFactor("Klimat", "Miljö")]
    )
    rng = random.Random(seed)

    def tab(token: str, late: int) -> None:
        for _ in range(late):  # tabs connect a moment apart
            gevent.sleep(0)
        services.workshops.join(code, token)

    for number in range(rounds):
        tabs = [
            gevent.spawn(tab, f"r{number}p{person}", rng.randrange(6))
            for person in range(10)
            for _ in range(3)
        ]
        returned = gevent.joinall(tabs, timeout=10)
        if len(returned) != len(tabs):
            print(
                f"round {number}: {len(tabs) - len(returned)} of {len(tabs)} joins never returned"
            )
            return 1
    print(f"{rounds} rounds, every join returned")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
