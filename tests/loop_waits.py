"""Run by tests/test_migrations.py in a process of its own (the loop must patch the standard
library before anything else is imported): while a PostgreSQL statement waits for the
server, the event loop runs its other green threads. Prints how many times another green
thread ran while the statement waited (0 when the wait blocked the loop).

Usage: python tests/loop_waits.py eventlet|gevent DATABASE_URL
"""

import sys

if sys.argv[1] == "eventlet":
    import eventlet

    eventlet.monkey_patch()
else:
    from gevent import monkey

    monkey.patch_all()

import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from facilitation.infrastructure.db import Database

db = Database(sys.argv[2], pool_size=4)
waiting = threading.Event()
done = threading.Event()
ran_meanwhile: list[int] = []


def other() -> None:
    while not done.is_set():
        if waiting.is_set():
            ran_meanwhile.append(1)
        time.sleep(0.01)


with db.read() as s:
    s.execute(text("SELECT 1"))  # connected before the wait that counts
    ticker = threading.Thread(target=other)
    ticker.start()
    waiting.set()
    s.execute(text("SELECT pg_sleep(0.5)"))
    waiting.clear()
done.set()
ticker.join()
db.dispose()
print(len(ran_meanwhile))
