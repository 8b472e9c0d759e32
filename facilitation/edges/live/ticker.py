"""The live side's one ticker: a background task that runs each periodic job at its interval.

Layer: edge (live); imports nothing of the app. The jobs are the broadcaster's tick (every
BOARD_INTERVAL) and its voters' own views (every PHONE_INTERVAL), the follow pages' (every
FOLLOW_INTERVAL) and the check of the open facilitator screens (every CHECK_INTERVAL);
server.py schedules them and starts the ticker. A job runs again its interval after its
last run ended, as a loop that sleeps, then works, would, or REST times as long as that run
took if that is longer (at most MAX_REST): a slow run is never followed by another at once,
and on a saturated process, where a tick takes long because every task waits for its turn,
the jobs take at most about a quarter of the event loop, leaving the rest to the commands
and connections. Boards then get the state less often, each time with more votes in it (the
broadcasts coalesce more); on a process with time to spare a tick takes a few milliseconds
and the intervals hold. How late the task wakes from each sleep is the event loop's delay
in running a task that is ready (`on_late`, the metric samsyn_event_loop_lag_seconds): near
zero on a process with time to spare, and on a saturated one the wait every command and
broadcast has before its turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[float], None]

# A job rests at least this many times as long as its last run took ...
REST = 3.0
# ... but never longer than this for it (nor shorter than its interval).
MAX_REST = 0.5


@dataclass
class _Scheduled:
    name: str
    interval: float
    run: Job
    due: float = 0.0


class Ticker:
    """Runs jobs at their intervals, one after the other, in one background task."""

    def __init__(
        self, sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        # Told how many seconds after its time the task woke from each sleep.
        self.on_late: Callable[[float], None] | None = None
        self._jobs: list[_Scheduled] = []
        self._running = False

    def every(self, interval: float, name: str, job: Job) -> None:
        """Run `job(now)` every `interval` seconds, the first time `interval` after the start."""
        self._jobs.append(_Scheduled(name, interval, job))

    def start(self, start_background_task: Callable[..., Any]) -> None:
        """Run the jobs in a background task of the server's event loop, until `stop`."""
        if not self._running:
            self._running = True
            now = self.clock()
            for job in self._jobs:
                job.due = now + job.interval
            start_background_task(self._run)

    def stop(self) -> None:
        self._running = False

    def _run(self) -> None:
        while self._running and self._jobs:
            now = self.clock()
            nap = max(0.0, min(job.due for job in self._jobs) - now)
            self.sleep(nap)
            if self.on_late is not None:
                self.on_late(max(0.0, self.clock() - now - nap))
            self.run_due()

    def run_due(self) -> None:
        """Run the jobs whose time has come; one that fails is logged and runs again at its
        next time (the ticker must outlive one bad tick)."""
        for job in self._jobs:
            now = self.clock()
            if now < job.due:
                continue
            try:
                job.run(now)
            except Exception:
                log.exception("%s failed", job.name)
            ended = self.clock()
            job.due = ended + max(job.interval, min(REST * (ended - now), MAX_REST))
