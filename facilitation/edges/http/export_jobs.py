"""Exports as jobs: a workshop's or a series' files are written in a worker process
(workers.py), from a record the worker reads itself, and kept here until they are fetched.

Layer: edge (HTTP). In the worker, `write_workshop` and `write_series` open the database
(once per worker), read the record, write the file (or all of them, zipped) and tell how far
they are. In the app, `Exports` starts jobs — one at a time per person and file, a few at
a time per workshop or series — follows them, and keeps finished files for a while.

A request for an export waits for its job: a small one is answered with the file at once,
as before. A client that says it would rather not wait (`Prefer: respond-async`, RFC 7240,
as the console's script does) is answered `202 Accepted` with the job's state when the job
takes longer than the `wait` it named, and then asks for the state until the file is ready.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any, cast

from babel.support import Translations
from flask import Response, jsonify, request

from facilitation.core.domain import N_, DomainError
from facilitation.infrastructure import catalogues, workers
from facilitation.infrastructure.db import Database
from facilitation.infrastructure.workers import Pool
from facilitation.outputs import export, report, series_report, workbook
from facilitation.queries.views import CombinedRecord, Record
from facilitation.usecases import Change, Services

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
# What the export routes answer when too many of one thing's exports are under way (429),
# and when a job's file is no longer kept (404).
UNDER_WAY = DomainError(
    "exports_under_way",
    N_("Several exports of this are being prepared. Wait for them, then try again."),
)
GONE = DomainError("unknown_export", N_("This export is not kept any more. Export again."))

# The zip holds every other format, in this order; each takes about this share of the time
# (docs/performance.md: the workbook is the slow one).
PARTS = {"json": 0.05, "csv": 0.05, "xlsx": 0.6, "pdf": 0.3}

Writer = Callable[[dict[str, Any], Callable[[str], str]], bytes]
WORKSHOP: dict[str, Writer] = {
    "csv": lambda record, _: export.to_csv(record, _).encode(),
    "json": lambda record, _: export.to_json(record).encode(),
    "xlsx": workbook.to_xlsx,
    "pdf": report.to_pdf,
}
# The moderation log (what was hidden, merged, edited or removed, when and why), on its own.
MODERATION: dict[str, Writer] = {
    "csv": lambda record, _: export.moderation_to_csv(record, _).encode(),
    "json": lambda record, _: export.moderation_to_json(record).encode(),
}
SERIES: dict[str, Writer] = {
    "csv": lambda record, _: export.series_to_csv(record, _).encode(),
    "json": lambda record, _: export.series_to_json(record).encode(),
    "xlsx": workbook.series_to_xlsx,
    "pdf": series_report.to_pdf,
}

# --- In the worker -------------------------------------------------------------------------


class _Nobody:
    """Nothing listens in a worker: it only reads."""

    def publish(self, change: Change) -> None:
        pass


_services: dict[str, Services] = {}


def _reader(database_url: str) -> Services:
    """The use cases on the database, opened once per worker."""
    if database_url not in _services:
        _services[database_url] = Services(Database(database_url, pool_size=4), _Nobody())
    return _services[database_url]


def write_workshop(job: str, database_url: str, code: str, fmt: str, nicknames: bool) -> bytes:
    """A workshop's export, in its language (run in a worker): its record, or for a `fmt`
    of "moderation.csv" or "moderation.json" its moderation log."""
    workers.tell(job, 0.02, "reading")
    record = _reader(database_url).workshops.record(code, nicknames=nicknames)
    what, _, fmt = fmt.rpartition(".")
    writers = MODERATION if what == "moderation" else WORKSHOP
    return _write(
        job, record, record["workshop"]["language"], fmt, name=f"samsyn-{code}", writers=writers
    )


def write_series(job: str, database_url: str, organizer_id: int, series_id: int, fmt: str) -> bytes:
    """A series' combined picture, in its language (run in a worker); the organizer's
    access is checked again as the record is read."""
    workers.tell(job, 0.02, "reading")
    record = _reader(database_url).series.record(organizer_id, series_id)
    name = f"samsyn-series-{series_id}"
    return _write(job, record, record["series"]["language"], fmt, name=name, writers=SERIES)


def _write(
    job: str,
    record: Record | CombinedRecord,
    language: str,
    fmt: str,
    *,
    name: str,
    writers: dict[str, Writer],
) -> bytes:
    gettext = Translations.load(str(catalogues.ready()), [language]).gettext
    data = cast(dict[str, Any], record)  # the writers read records as plain dicts
    if fmt != "zip":
        workers.tell(job, 0.1, fmt)
        return writers[fmt](data, gettext)
    files, done = {}, 0.0
    for part, share in PARTS.items():
        workers.tell(job, 0.05 + 0.9 * done, part)
        files[f"{name}.{part}"] = writers[part](data, gettext)
        done += share
    workers.tell(job, 0.98, "zip")
    return export.to_archive(files)


# --- In the app ----------------------------------------------------------------------------

# Unfinished jobs one workshop or series may have at once (different files, or different
# people); the same file asked for again by the same person joins the job under way.
PER_OWNER = 3
# How long, and how much in all, finished files are kept for their download.
KEEP_SECONDS = 600.0
KEEP_BYTES = 256 * 1024 * 1024
# The longest `Prefer: respond-async, wait=N` may name.
MAX_WAIT = 10.0


class TooManyExportsError(Exception):
    """This workshop or series has as many exports under way as it may."""


@dataclass
class Job:
    """One export: whose it is, who asked, and how far it has come."""

    id: str
    owner: Hashable
    requester: str
    what: Hashable
    filename: str
    future: Future[bytes]
    started: float = field(default_factory=time.monotonic)
    progress: float = 0.0
    stage: str = "queued"
    finished: float | None = None

    @property
    def state(self) -> str:
        if not self.future.done():
            return "queued" if self.stage == "queued" else "running"
        return "failed" if self.future.exception() is not None else "done"

    @property
    def mimetype(self) -> str:
        return FORMATS[self.filename.rsplit(".", 1)[1]]


class Exports:
    """The export jobs of this process."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(
        self,
        owner: Hashable,
        requester: str,
        what: Hashable,
        filename: str,
        write: Callable[..., bytes],
        *args: Any,
    ) -> Job:
        """The job writing `what` (a format, with its options) of `owner` (a workshop or a
        series) for `requester`: the one under way, or a new one running
        `write(job_id, *args)` in a worker. TooManyExportsError when the owner has
        PER_OWNER under way; `Busy` when the workers have no room."""
        with self._lock:
            self._forget(time.monotonic())
            for job in self._jobs.values():
                same = (job.owner, job.requester, job.what) == (owner, requester, what)
                if same and job.finished is None:
                    return job
            under_way = [j for j in self._jobs.values() if j.owner == owner and not j.finished]
            if len(under_way) >= PER_OWNER:
                raise TooManyExportsError
            job_id = secrets.token_urlsafe(16)
            future = self.pool.submit(write, job_id, *args)
            job = self._jobs[job_id] = Job(job_id, owner, requester, what, filename, future)
        future.add_done_callback(lambda _: self._finish(job))
        return job

    def _finish(self, job: Job) -> None:
        job.finished = time.monotonic()
        job.progress, job.stage = 1.0, "done"

    def get(self, job_id: str, owner: Hashable) -> Job | None:
        """The job, if it is this owner's and still kept, with its latest progress."""
        for told, progress, stage in workers.told(self.pool):
            if (known := self._jobs.get(told)) is not None and known.finished is None:
                known.progress, known.stage = progress, stage
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def _ahead(self, job: Job) -> int:
        """How many jobs of this process wait for a worker ahead of this one."""
        with self._lock:
            return sum(
                1
                for other in self._jobs.values()
                if other.state == "queued" and other.started < job.started
            )

    def _forget(self, now: float) -> None:
        """Drop finished jobs after KEEP_SECONDS, and the oldest ones beyond KEEP_BYTES."""
        finished = sorted(
            (j for j in self._jobs.values() if j.finished is not None),
            key=lambda j: j.finished or 0.0,
        )
        kept = 0
        for job in reversed(finished):
            size = len(job.future.result()) if job.state == "done" else 0
            if now - (job.finished or now) > KEEP_SECONDS or kept + size > KEEP_BYTES:
                del self._jobs[job.id]
            else:
                kept += size

    def answer(self, job: Job, status_url: str, file_url: str) -> Response | tuple[Response, int]:
        """The file if the job finishes within the wait the client asked for, otherwise
        the job's state (202, with Location)."""
        wait = requested_wait()
        wait_for([job.future], timeout=workers.TIMEOUT if wait is None else wait)
        if job.state == "done":
            return file(job)
        response = self.status(job, status_url, file_url)
        if job.state == "failed":
            return response, 500
        response.headers["Location"] = status_url
        return response, 202

    def status(self, job: Job, status_url: str, file_url: str) -> Response:
        """The job as the console follows it: its state, how far it is, how many wait
        ahead of it, and where its file is once done."""
        body: dict[str, Any] = {
            "id": job.id,
            "state": job.state,
            "progress": round(job.progress, 2),
            "stage": job.stage,
            "file": job.filename,
            "status_url": status_url,
        }
        if job.state == "queued":
            body["ahead"] = self._ahead(job)
        if job.state == "done":
            body["file_url"] = file_url
        return jsonify(body)


def requested_wait() -> float | None:
    """How long the client is willing to wait for the file: `Prefer: respond-async,
    wait=N` (RFC 7240), at most MAX_WAIT; None when it asked for no asynchronous answer
    (then it waits for the file, as a plain link does)."""
    prefer = [p.strip().lower() for p in request.headers.get("Prefer", "").split(",")]
    if "respond-async" not in prefer:
        return None
    for item in prefer:
        if item.startswith("wait="):
            try:
                return max(0.0, min(float(item[5:]), MAX_WAIT))
            except ValueError:
                break
    return 0.0


def file(job: Job) -> Response:
    """The finished file, as a download."""
    response = Response(job.future.result(), mimetype=job.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{job.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
