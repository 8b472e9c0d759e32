"""Heavy work off the event loop: worker processes for whatever takes the CPU for more than a
few milliseconds (exports and reports, password hashing), so that one export or a wave of
logins never stalls the rooms that the event loop serves.

Layer: infrastructure. The standard library (concurrent.futures, multiprocessing);
no Flask, no database.

- **Processes, not threads.** Rendering a workbook or a PDF is Python holding the GIL: in a
  thread it would still take turns with the event loop. A worker process runs beside it.
- **Bounded.** A pool runs `processes` jobs at once and lets at most `waiting` more queue;
  past that it refuses at once with `Busy` (503 and Retry-After at the edges), before any
  work is done. A burst of exports or logins costs a few refusals, not a stalled room.
- **Below the event loop.** Workers lower their scheduling priority (nice 10): on a busy
  machine the kernel gives the serving process its core first.
- **Started afresh.** Workers are spawned, not forked: a fork would copy a monkey-patched
  event loop with thousands of open sockets. They start with the app (`warm_up`), so the
  first export or login does not wait for Python to start; each imports only what its jobs
  need, when the first job needs it (the exports about a second of CPU, once a worker),
  not the whole app (facilitation/__init__.py imports nothing).
- **Waiting is cooperative.** A request waiting for its job (`run`, `Future.result`) waits
  on an event that app.py's monkey-patching made green: other greenlets run meanwhile.

With several app processes, each has its own pools (jobs are short, and their result goes
back to the browser that asked, sticky to its process): no job queue service is needed.
docs/architecture.md says more.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

from facilitation.infrastructure.passwords import Argon2Passwords

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# How much lower than the serving process workers are scheduled (nice(2): 0 to 19).
NICE = 10
# The longest a caller waits for a job's answer (a job still running then goes on).
TIMEOUT = 300.0


class Busy(Exception):  # noqa: N818  (the name a hashing pool raises, read as a state)
    """No capacity for this now; try again in a few seconds. Pages and the API answer it
    with 503 and Retry-After."""


# In a worker: where its jobs tell how far they are (see `tell`).
_WORKER: dict[str, Any] = {}


def _start_worker(server: int, nice: int, progress: Any) -> None:
    """Run in each worker as it starts: step down in priority, keep the way back for
    progress, leave Ctrl+C in a terminal to the serving process, and end with it."""
    os.nice(nice)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["progress"] = progress
    threading.Thread(target=_end_with, args=(server,), daemon=True).start()


def _end_with(parent: int) -> None:
    """End this worker once the serving process that started it (`parent`, named by the
    server itself: it may be gone before this worker has even started) is gone, killed or
    stopped without stopping its workers: a worker never outlives its server."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def tell(job: str, fraction: float, stage: str) -> None:
    """Called by a job in a worker: how far it is (0 to 1) and what it is doing."""
    progress = _WORKER.get("progress")
    if progress is not None:
        progress.put((job, fraction, stage))


def told(pool: Pool) -> list[tuple[str, float, str]]:
    """What the pool's jobs have told since last asked (nothing for inline work)."""
    if not isinstance(pool, Workers):
        return []
    heard = []
    with contextlib.suppress(queue.Empty):
        while True:
            heard.append(pool.progress.get_nowait())
    return heard


def _nothing() -> None:
    """A job that starts a worker."""


class Workers:
    """A pool of worker processes for one kind of heavy work (see the module's words)."""

    def __init__(self, name: str, *, processes: int, waiting: int, nice: int = NICE) -> None:
        self.name = name
        self.processes = processes
        self.nice = nice
        self._slots = threading.BoundedSemaphore(processes + waiting)
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self.progress = self._context.Queue()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=self._context,
                    initializer=_start_worker,
                    initargs=(os.getpid(), self.nice, self.progress),
                )
            return self._executor

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start `fn(*args, **kwargs)` in a worker (`fn` and its arguments must pickle);
        `Busy` if as many jobs as the pool runs and lets wait are in already."""
        if not self._slots.acquire(blocking=False):
            raise Busy
        try:
            try:
                future = self._pool().submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): start the pool afresh, once.
                log.warning("%s workers: a worker died; starting them again", self.name)
                self._discard()
                future = self._pool().submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` run in a worker, its result here; the calling greenlet
        waits, the event loop does not."""
        return self.submit(fn, *args, **kwargs).result(timeout=TIMEOUT)

    def warm_up(self) -> None:
        """Start the workers now, so that the first job does not wait for them to start."""
        for _ in range(self.processes):
            self.submit(_nothing)

    def _discard(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._discard()


class Inline:
    """Runs heavy work where it is called, for tests and WORKERS=0: the same interface as
    `Workers`, without processes (and without the event loop's protection)."""

    name = "inline"

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return fn(*args, **kwargs)

    def warm_up(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


Pool = Workers | Inline


class WorkerPasswords:
    """Argon2id hashing and checking in a pool (the protocol of passwords.py): about 30 ms
    of CPU each, never on the event loop. `Busy` when too many wait."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._here = Argon2Passwords()

    def hash(self, password: str) -> str:
        return self.pool.run(_hash, password)

    def verify(self, stored: str, password: str) -> bool:
        return self.pool.run(_verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        # Reads the hash's parameters: no hashing, so it stays here.
        return self._here.needs_rehash(stored)


def _hash(password: str) -> str:
    return Argon2Passwords().hash(password)


def _verify(stored: str, password: str) -> bool:
    return Argon2Passwords().verify(stored, password)
