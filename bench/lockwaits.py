"""PostgreSQL's own account of lock waits during a benchmark run (issue #20: no wait for a
workshop's lock over 100 ms).

The app times how long a batch of commands took to get its workshop's row lock (its
/metrics), but on its own clock: that includes the statement's round trip and, when the
process is saturated, the time until the event loop runs the batch's greenlet again, which
one process alone shows as much as two. PostgreSQL knows when a backend waits for a lock
(`pg_stat_activity.wait_event_type` is 'Lock'); sampled every SAMPLE seconds from a
connection of the benchmark's own, every wait longer than that is seen, and how long it
has lasted (to within SAMPLE).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import psycopg2
from sqlalchemy.engine import make_url

SAMPLE = 0.01

WAITING = """
    SELECT pid, query_start, EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8
    FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


class LockWaits:
    """While entered, samples the database's backends waiting for a lock."""

    def __init__(self, database_url: str) -> None:
        self.url = make_url(database_url)
        # How long each wait (a backend's statement) had lasted when last seen.
        self.waits: dict[tuple[int, Any], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="lock waits", daemon=True)
        self.error: Exception | None = None

    def __enter__(self) -> LockWaits:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        try:
            connection = psycopg2.connect(
                user=self.url.username or "postgres",
                password=self.url.password,
                host=self.url.host or "127.0.0.1",
                port=self.url.port or 5432,
                dbname=self.url.database,
            )
        except Exception as error:  # said in the figures' notes
            self.error = error
            return
        # Each statement its own transaction: pg_stat_activity is read afresh each time.
        connection.autocommit = True
        try:
            cursor = connection.cursor()
            while not self._stop.wait(SAMPLE):
                cursor.execute(WAITING)
                for pid, started, lasted in cursor.fetchall():
                    self.waits[pid, started] = max(lasted, self.waits.get((pid, started), 0.0))
        except Exception as error:  # said in the figures' notes
            self.error = error
        finally:
            connection.close()

    def over(self, limit: float) -> int:
        return sum(1 for lasted in self.waits.values() if lasted > limit)

    def longest(self) -> float:
        return max(self.waits.values(), default=0.0)
