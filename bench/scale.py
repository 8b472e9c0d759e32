"""A room of thousands of phones: the real app against a bare Flask-SocketIO baseline, with
the same load generator on the same machine, one after the other (issue #6).

For each size N the app (`app.py` with the README's settings, SQLite in a temporary
directory unless DATABASE_URL is set) and then the baseline (`bench/baseline_server.py`: the
same event loop and serving settings, no logic) are started afresh. A console opens a dots
round; N phones join through the join link at a ramp and connect over WebSocket with
per-message deflate (`bench/loadgen.py`, split over a few processes); one board records every
`state`; then each phone casts one ballot at a random moment within the window. Printed, for
both and their ratio: time until all N have joined, acknowledgement latency, vote → board
(from a ballot's ack to the first board `state` whose version includes it), how long the
board took to show the last vote, votes lost (the board's, the console's and, for the app,
the JSON export's totals against the sum of acknowledged ballots), the server's CPU seconds
(joining, voting, and every phone then leaving at once) and peak RSS.

    python -m bench.scale [--sizes 500,1000,2000,5000] [--async-mode eventlet|gevent]
                          [--harsh | --window SECONDS] [--ramp 500] [--workers K] [--live]
                          [--processes P]
    python -m bench.scale --quick      # 300 phones, votes within 3 s: a smoke run
    python -m bench.scale --rooms R    # the phones split evenly over R rooms

With `--rooms R` the same phones are spread over R workshops voting at once, each with its
own console and board (every load-generator process serves one room); the figures are the
rooms' together, and the board's are every room's.

With `--processes P` (2 or more; DATABASE_URL must name PostgreSQL) the app runs as deployed
for a big room: P processes behind nginx (deploy/nginx/), sharing PostgreSQL and the Redis of
MESSAGE_QUEUE_URL (redis://127.0.0.1:6379/0 unless set); the baseline stays one process.
The app's CPU and memory are then those of all its processes together, each one's and
nginx's CPU printed beside them, and the lock waits are all the processes' own.

On PostgreSQL the app's waits for its workshops' locks are printed twice: as the app timed
them (which includes the statement's round trip and, on a saturated process, the event
loop's delay) and as PostgreSQL saw them (bench/lockwaits.py). The event loop's own delay
is printed beside them: how late the app's ticker woke from its sleeps.

Results are hidden until the round is revealed (the app's default), so the app's board
follows the vote through `participation.voted` and shows the totals after the reveal; with
`--live` boards get the totals on every tick and phones the room's state every
PHONE_INTERVAL. The baseline always sends boards the totals.

The load generator shares the machine's cores with the server, as in the issue's targets;
figures are only as quiet as the machine is.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import math
import multiprocessing
import os
import platform
import re
import secrets
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis
from sqlalchemy.engine import make_url

from facilitation.core.domain import CATEGORY_SETS
from facilitation.infrastructure.config import ROOT, Config

from . import loadgen
from .deployment import Nginx
from .loadgen import Client, Packet, cookie_header
from .lockwaits import SAMPLE, LockWaits
from .process import ServerProcess, free_port, postgres_cpu_seconds
from .services import pct

SIZES = [500, 1000, 2000, 5000]
FACTORS = 20
BUDGET, CAP = 5, 3
# Phones per load-generator process. One asyncio loop holds thousands of connections, but a
# join costs it 1.5–2 ms of CPU: at the 500/s ramp one process is busy most of a core.
PHONES_PER_WORKER = 2500
START_TIMEOUT = 60.0
# The /metrics line counting the ballots a process accepted.
BALLOTS_ANSWERED = 'samsyn_commands_total{command="ballot.submit",outcome="ok"} '
# A wait longer than this is counted: for a workshop's lock (issue #20's target: none), or
# of a ready task for the event loop.
WAIT_LIMIT = 0.1
# How long after the last phone joined (or all began to leave) the boards may take to count
# exactly those connected.
COUNT_TIMEOUT = 30.0
# How long after the last acknowledgement the board may take to show it.
CONVERGE_TIMEOUT = 60.0
# When every phone has left, the server has let them go once it is idle again: less than
# LEAVE_IDLE of a core over a quarter of a second (LEAVE_TIMEOUT at most).
LEAVE_IDLE = 0.05
LEAVE_TIMEOUT = 120.0
# Settings that must come from this benchmark, not from the caller's environment.
SETTINGS = {
    "HOST",
    "PORT",
    "PUBLIC_URL",
    "SECRET_KEY",
    "DATABASE_URL",
    "ASYNC_MODE",
    "CREATE_PASSWORD",
    "MESSAGE_QUEUE_URL",
    "BOARD_INTERVAL",
    "PHONE_INTERVAL",
    "MAX_CONNECTIONS",
    "LISTEN_BACKLOG",
}


class Server(ServerProcess):
    """The app or the baseline as a process of its own, with its CPU time and peak RSS."""

    def __init__(self, kind: str, async_mode: str, directory: Path) -> None:
        self.kind = kind
        self.port = free_port()
        url = f"http://127.0.0.1:{self.port}"
        config = Config()  # the app's defaults, given to both servers
        env = {
            **{k: v for k, v in os.environ.items() if k not in SETTINGS},
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{directory}/samsyn.db",
            "ASYNC_MODE": async_mode,
            "BOARD_INTERVAL": str(config.BOARD_INTERVAL),
            "PHONE_INTERVAL": str(config.PHONE_INTERVAL),
            "MAX_CONNECTIONS": str(config.MAX_CONNECTIONS),
            "LISTEN_BACKLOG": str(config.LISTEN_BACKLOG),
            # Every simulated phone comes from 127.0.0.1, which the guard on joins would
            # rightly take for one address making thousands of participants: lifted, as this
            # measures a room, not the guard. (The baseline has no guard.)
            "JOIN_BURST_PER_ADDRESS": "1000000",
            "JOIN_BURST_PER_WORKSHOP": "1000000",
            "PYTHONUNBUFFERED": "1",
        }
        command = (
            [sys.executable, str(ROOT / "app.py")]
            if kind == "app"
            else [sys.executable, "-m", "bench.baseline_server"]
        )
        super().__init__(
            kind,
            command,
            env=env,
            url=url,
            log_path=directory / f"{kind}.log",
            start_timeout=START_TIMEOUT,
        )

    @property
    def processes(self) -> list[ServerProcess]:
        return [self]

    def stop(self, *, kill: bool = False) -> None:
        super().stop(kill=kill)


class Deployment:
    """The app as deployed for a big room: `count` processes behind nginx, sharing the
    database of DATABASE_URL (PostgreSQL) and a Redis (MESSAGE_QUEUE_URL)."""

    kind = "app"

    def __init__(self, count: int, async_mode: str, directory: Path) -> None:
        self.queue = os.environ.get("MESSAGE_QUEUE_URL") or "redis://127.0.0.1:6379/0"
        self.channel = f"bench-{uuid.uuid4().hex[:8]}"
        self.workers: list[Server] = []
        for i in range(count):
            (directory / f"app{i + 1}").mkdir()
            self.workers.append(Server("app", async_mode, directory / f"app{i + 1}"))
        (directory / "nginx").mkdir()
        self.nginx = Nginx(directory / "nginx", self.workers)
        self.url = self.nginx.url
        shared = {
            "SECRET_KEY": self.workers[0].env["SECRET_KEY"],  # one key: cookies work on all
            "PUBLIC_URL": self.url,
            "MESSAGE_QUEUE_URL": self.queue,
            "MESSAGE_QUEUE_CHANNEL": self.channel,
            "PROXY_HOPS": "1",
        }
        for worker in self.workers:
            worker.env.update(shared)

    @property
    def processes(self) -> list[ServerProcess]:
        return list(self.workers)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        self.nginx.start()

    def stop(self) -> None:
        self.nginx.stop()
        for worker in self.workers:
            worker.stop()
        client = redis.Redis.from_url(self.queue)
        for key in client.scan_iter(f"{self.channel}*"):
            client.delete(key)
        client.close()

    def cpu_seconds(self) -> float:
        return sum(worker.cpu_seconds() for worker in self.workers)

    def peak_rss(self) -> int:
        return sum(worker.peak_rss() for worker in self.workers)

    def log(self) -> str:
        return "\n".join(worker.log() for worker in self.workers) + self.nginx.log()


# The baseline or the app: one process, or several behind nginx.
AnyServer = Server | Deployment


class Screen:
    """What a board or console received: every `state`'s arrival and version, and the
    newest state."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int]] = []
        self.latest: dict[str, Any] = {}

    def __call__(self, packet: Packet, arrived: float) -> None:
        if packet.event == "state":
            state = packet.data()
            self.arrivals.append((arrived, state["version"]))
            self.latest = state

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while not (self.latest and predicate(self.latest)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no state as expected; the newest: {self.latest}"[:500])
            await asyncio.sleep(0.01)
        return self.latest


def board_delays(
    acks: list[tuple[float, int]], arrivals: list[tuple[float, int]]
) -> list[float | None]:
    """For each acknowledged vote (when its ack arrived, its version): seconds until the
    first board state whose version includes it (0 when the board had it before the ack),
    or None when no such state came."""
    times, highest = [], []
    top = -1
    for arrived, version in arrivals:
        if version > top:
            top = version
            times.append(arrived)
            highest.append(version)
    delays: list[float | None] = []
    for acked, version in acks:
        i = bisect.bisect_left(highest, version)
        delays.append(max(0.0, times[i] - acked) if i < len(highest) else None)
    return delays


def percentile(values: list[float], q: float) -> float | None:
    return pct(values, q) if values else None


@dataclass
class Figures:
    """One server at one size."""

    phones: int
    workers: int
    connected: int = 0
    join_failures: Counter[str] = field(default_factory=Counter)
    connect: float | None = None
    join_latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    acked: int = 0
    # Ballots sent again (the same command id) after a timeout or a dropped connection, and
    # the phones' reconnections for it; ballots never answered, by the last reason.
    resent: int = 0
    reconnects: int = 0
    unanswered: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    converged: float | None = None
    # The longest wait between two board states while votes came in: the tick's pace.
    board_gap: float | None = None
    counted: dict[str, int] = field(default_factory=dict)
    exact: dict[str, bool] = field(default_factory=dict)
    cpu_joins: float = 0.0
    cpu_votes: float = 0.0
    # PostgreSQL's, when it runs on this machine (None otherwise, and for the baseline).
    database_cpu_joins: float | None = None
    database_cpu_votes: float | None = None
    # Every phone leaving at once, until the server is idle again.
    cpu_leave: float | None = None
    # Each app process's (and nginx's, last, in a deployment).
    cpu_joins_each: list[float] = field(default_factory=list)
    cpu_votes_each: list[float] = field(default_factory=list)
    # Each app process's phones connected and ballots answered (its /metrics after the
    # burst), to price a join and a ballot per process.
    phones_each: list[int] = field(default_factory=list)
    ballots_each: list[int] = field(default_factory=list)
    rss: int = 0
    # Resident memory with the room open, before the phones join.
    rss_at_rest: int = 0
    # Batches' waits for their workshop's lock: how many, over WAIT_LIMIT, and the
    # longest (a bucket's upper bound).
    lock_waits: int | None = None
    lock_waits_over: int | None = None
    lock_wait_max: float | None = None
    # How late the app's ticker woke from its sleeps (the event loop's delay): how many
    # wakes, how many over WAIT_LIMIT late, the latest (a bucket's upper bound).
    loop_wakes: int | None = None
    loop_lags_over: int | None = None
    loop_lag_max: float | None = None
    # How long after the last phone joined, and after all began to leave, every board
    # counted exactly those connected (None: one did not, see the notes).
    counted_joined: float | None = None
    counted_left: float | None = None
    # PostgreSQL's own account (bench/lockwaits.py): waits for a lock it saw, how many over
    # WAIT_LIMIT, and the longest.
    pg_lock_waits: int | None = None
    pg_lock_waits_over: int | None = None
    pg_lock_wait_max: float | None = None
    # The app's own view, from its /metrics after the burst: time to answer a command
    # (bucket bounds), and how many commands its transactions ran, in how many.
    command_p50: float | None = None
    command_p95: float | None = None
    batches: int | None = None
    batched: int | None = None
    # Changed rooms the broadcaster read whole, or only their counts (and how often those
    # would not do).
    room_reads: dict[str, int] = field(default_factory=dict)
    loadgen_cpu: float = 0.0
    wall: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int | None:
        """Acknowledged ballots missing from the least complete count (board, console,
        export); None when a count cannot be squared with the acks (see the notes)."""
        if not self.counted or not all(self.exact.values()):
            return None
        return max(self.acked - n for n in self.counted.values())


def workshop_body() -> dict[str, Any]:
    categories = CATEGORY_SETS["pestel"]["sv"]
    return {
        "title": "Bench",
        "language": "sv",
        "factors": [
            {"title": f"Faktor {i}", "category": categories[i % len(categories)]}
            for i in range(FACTORS)
        ],
    }


async def command(client: Client, name: str, **payload: Any) -> Any:
    """A facilitator command; its data (it must succeed)."""
    _, answer = await client.call(name, {"command_id": uuid.uuid4().hex, **payload})
    if not answer["ok"]:
        raise RuntimeError(f"{name}: {answer}")
    return answer["data"]


def dots(results: dict[str, Any]) -> Counter[str]:
    """The dot totals of a results block, by factor id (zeros left out)."""
    return +Counter({str(row["factor_id"]): row["dots"] for row in results["factors"]})


async def receive(conn: Connection, expected: str, timeout: float) -> Any:
    """The next message of a load-generator process, which must be `expected`."""
    ready = await asyncio.to_thread(conn.poll, timeout)
    if not ready:
        raise TimeoutError(f"a load generator sent no {expected} within {timeout:.0f} s")
    kind, data = await asyncio.to_thread(conn.recv)
    if kind == "error":
        raise RuntimeError(f"a load generator failed:\n{data}")
    if kind != expected:
        raise RuntimeError(f"a load generator sent {kind}, not {expected}")
    return data


@dataclass
class Room:
    """A workshop under test, as its facilitator has it: a console and a board (`clients`,
    in that order, replaced when one has to connect again)."""

    url: str
    code: str
    secret: str
    round_id: int
    factor_ids: list[int]
    clients: list[Client]
    board: Screen
    console: Screen

    @property
    def facilitator(self) -> Client:
        return self.clients[0]


async def open_room(server: AnyServer, http: Any, screens: list[Client], live: bool) -> Room:
    """Create a workshop, open the facilitator link, connect a console and a board (also
    added to `screens`), and (in the app) open the dots round from the console."""
    url = server.url
    async with http.post(f"{url}/api/workshops", json=workshop_body()) as response:
        created = await response.json()
    async with http.get(created["facilitator_url"], allow_redirects=False) as response:
        cookie = cookie_header(response)
    code, secret = created["code"], created["facilitator_url"].rsplit("/", 1)[1]
    board, console = Screen(), Screen()
    clients = []
    for view, screen in (("console", console), ("board", board)):
        auth = {"code": code, "view": view}
        clients.append(await Client.open(http, url, cookie, auth, on_event=screen))
    screens += clients
    facilitator = clients[0]
    if server.kind == "app":
        await command(facilitator, "step.set", step="prioritise")
        opened = await command(
            facilitator, "round.open", method="dots", budget=BUDGET, cap=CAP, live=live
        )
        round_id = opened["round_id"]
    else:
        round_id = console.latest["round"]["id"]
    factor_ids = [
        f["id"] for f in console.latest["factors"] if f.get("status", "active") == "active"
    ]
    return Room(url, code, secret, round_id, factor_ids, clients, board, console)


async def join(
    server: AnyServer, rooms: list[Room], pipes: list[Connection], figures: Figures, ramp: float
) -> None:
    """Every load generator joins its share of the phones to its room, together at the
    ramp."""
    for pipe in pipes:
        await receive(pipe, "ready", START_TIMEOUT)
    cpu, each, database = server.cpu_seconds(), cpu_each(server), database_cpu(server)
    figures.rss_at_rest = sum(p.rss() for p in server.processes)
    start_at = time.monotonic() + 0.5
    for k, pipe in enumerate(pipes):
        room = rooms[k % len(rooms)]
        plan = {
            "url": room.url,
            "code": room.code,
            "indices": list(range(k, figures.phones, len(pipes))),
            "ramp": ramp,
            "start_at": start_at,
            "seed": figures.phones,
            "round_id": room.round_id,
            "factor_ids": room.factor_ids,
            "budget": BUDGET,
            "cap": CAP,
        }
        pipe.send(("plan", plan))
    timeout = figures.phones / ramp + 2 * loadgen.JOIN_TIMEOUT
    joined = [await receive(pipe, "joined", timeout) for pipe in pipes]
    for part in joined:
        figures.connected += part["connected"]
        figures.join_failures.update(part["failures"])
        figures.join_latencies += part["latencies"]
        figures.loadgen_cpu += part["cpu"]
    figures.connect = max(part["done_at"] for part in joined) - start_at
    figures.cpu_joins = server.cpu_seconds() - cpu
    figures.cpu_joins_each = [b - a for a, b in zip(each, cpu_each(server), strict=True)]
    figures.database_cpu_joins = since(database, database_cpu(server))
    if server.kind == "app":
        in_room: Counter[int] = Counter()
        for k, part in enumerate(joined):
            in_room[k % len(rooms)] += part["connected"]
        figures.counted_joined = await counts_exact(
            rooms, in_room, max(part["done_at"] for part in joined), figures
        )


async def counts_exact(
    rooms: list[Room], expected: Counter[int], since: float, figures: Figures
) -> float | None:
    """How long after `since` every room's board counted its connected phones exactly (the
    count of participants connected through any process); None, said in the notes, if one
    did not within COUNT_TIMEOUT."""
    for r, room in enumerate(rooms):

        def exact(state: dict[str, Any], r: int = r) -> bool:
            return bool(state.get("connected") == expected[r])

        try:
            await room.board.wait_for(exact, COUNT_TIMEOUT)
        except TimeoutError:
            shown = room.board.latest.get("connected")
            figures.notes.append(f"a board counted {shown} connected, not {expected[r]}")
            return None
    return max(0.0, time.monotonic() - since)


async def vote(
    server: AnyServer, rooms: list[Room], pipes: list[Connection], figures: Figures, window: float
) -> list[Counter[str]]:
    """The burst: every phone votes once within the window; then wait for each board to
    show its room's last vote. Returns each room's dot totals of the acknowledged ballots."""
    cpu, each, database = server.cpu_seconds(), cpu_each(server), database_cpu(server)
    t0 = time.monotonic() + 1.0
    for pipe in pipes:
        pipe.send(("vote", {"t0": t0, "window": window}))
    timeout = 1.0 + window + loadgen.GIVE_UP + 2 * loadgen.ACK_TIMEOUT
    voted = [await receive(pipe, "voted", timeout) for pipe in pipes]
    expected: list[Counter[str]] = [Counter() for _ in rooms]
    acks: list[list[tuple[float, int]]] = [[] for _ in rooms]
    for k, part in enumerate(voted):
        r = k % len(rooms)
        expected[r].update(part["totals"])
        for _, sent, acked, version, outcome, attempts, reconnects in part["samples"]:
            figures.resent += attempts - 1
            figures.reconnects += reconnects
            if outcome == "ok":
                figures.acks.append(acked - sent)
                acks[r].append((acked, version))
            elif acked is None:
                figures.unanswered[outcome] += 1
            else:
                figures.refused[outcome] += 1
    figures.acked = sum(map(len, acks))
    for room, acked in zip(rooms, acks, strict=True):
        if acked:
            await converge(room.board, acked, t0, figures)
    figures.cpu_votes = server.cpu_seconds() - cpu
    figures.cpu_votes_each = [b - a for a, b in zip(each, cpu_each(server), strict=True)]
    figures.database_cpu_votes = since(database, database_cpu(server))
    figures.rss = server.peak_rss()
    if server.kind == "app":
        read_metrics([p.url for p in server.processes], figures)
    return expected


async def converge(
    board: Screen, acks: list[tuple[float, int]], t0: float, figures: Figures
) -> None:
    """Wait for a room's board to show the last of its acknowledged votes (`acks`: when
    each ack arrived, its version); add the board's delays, its convergence and its longest
    gap to the figures (the largest of the rooms')."""
    last_ack = max(t for t, _ in acks)
    newest = max(v for _, v in acks)
    try:
        await board.wait_for(lambda s: s["version"] >= newest, CONVERGE_TIMEOUT)
    except TimeoutError as error:
        figures.notes.append(f"a board never showed the last vote: {error}")
    figures.delays += [d for d in board_delays(acks, board.arrivals) if d is not None]
    (converged,) = board_delays([(last_ack, newest)], board.arrivals)
    if converged is not None:
        figures.converged = max(figures.converged or 0.0, converged)
    during = [t for t, _ in board.arrivals if t0 <= t <= last_ack + (converged or 0)]
    gap = max((b - a for a, b in itertools.pairwise(during)), default=None)
    if gap is not None:
        figures.board_gap = max(figures.board_gap or 0.0, gap)
    shown = board.latest["participation"]["voted"]
    if shown != len(acks):
        figures.notes.append(f"a board says {shown} voted, not {len(acks)}")


async def leave(
    server: AnyServer, rooms: list[Room], pipes: list[Connection], figures: Figures
) -> None:
    """Every phone closes its connection at once (the session ends, or the venue's wifi
    drops): the server's CPU from then until it is idle again, and (app) how long until
    every board counts no one connected."""
    cpu = server.cpu_seconds()
    closing = time.monotonic()
    for pipe in pipes:
        pipe.send(("close", None))
    for pipe in pipes:
        figures.loadgen_cpu += (await receive(pipe, "closed", 60))["cpu_votes"]
    if server.kind == "app":
        figures.counted_left = await counts_exact(rooms, Counter(), closing, figures)
    deadline = time.perf_counter() + LEAVE_TIMEOUT
    last = server.cpu_seconds()
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.25)
        now, last = last, server.cpu_seconds()
        if last - now < LEAVE_IDLE * 0.25:
            figures.cpu_leave = last - cpu
            return
    figures.notes.append(f"still busy {LEAVE_TIMEOUT:.0f} s after every phone left")


def cpu_each(server: AnyServer) -> list[float]:
    """Each process's CPU seconds so far, and nginx's last when there is one."""
    cpu = [p.cpu_seconds() for p in server.processes]
    return [*cpu, server.nginx.cpu_seconds()] if isinstance(server, Deployment) else cpu


def database_cpu(server: AnyServer) -> float | None:
    """PostgreSQL's CPU so far, when the app uses it on this machine (the benchmark's own
    sampling of its lock waits included, a query every SAMPLE seconds)."""
    url = os.environ.get("DATABASE_URL") or ""
    if server.kind != "app" or not url.startswith("postgres"):
        return None
    if make_url(url).host not in (None, "", "127.0.0.1", "localhost", "::1"):
        return None
    return postgres_cpu_seconds()


def since(before: float | None, now: float | None) -> float | None:
    return None if before is None or now is None else now - before


def histogram(text: str, name: str) -> list[tuple[float, float]]:
    """A Prometheus histogram's cumulative buckets: (upper bound, count), in order."""
    buckets = []
    for line in text.splitlines():
        if line.startswith(f'{name}_bucket{{le="'):
            bound = line.split('"')[1]
            buckets.append((math.inf if bound == "+Inf" else float(bound), float(line.split()[-1])))
    return buckets


def bucket_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The upper bound of the bucket holding the q-th percentile."""
    total = buckets[-1][1] if buckets else 0
    for bound, counted in buckets:
        if total and counted >= total * q / 100:
            return bound
    return None


def tally(buckets: list[tuple[float, float]]) -> tuple[int, int, float] | None:
    """A histogram of waits, as (how many, how many over WAIT_LIMIT, the longest's bucket
    bound), from its cumulative buckets in order; None if it has none."""
    if not buckets or not buckets[-1][1]:
        return None
    total = buckets[-1][1]
    # The longest wait lies in the first bucket that holds them all.
    longest = next(bound for bound, n in buckets if n >= total)
    return int(total), int(total - dict(buckets).get(WAIT_LIMIT, 0)), longest


def read_metrics(urls: list[str], figures: Figures) -> None:
    """What the app's processes measured themselves (their /metrics) since they started,
    summed."""
    times: Counter[float] = Counter()
    waits: Counter[float] = Counter()
    lags: Counter[float] = Counter()
    figures.batches = figures.batched = 0
    figures.phones_each, figures.ballots_each = [], []
    figures.room_reads = dict.fromkeys(("whole", "counts", "counts_refused"), 0)
    for url in urls:
        with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
            text = response.read().decode()
        times.update(dict(histogram(text, "samsyn_command_seconds")))
        waits.update(dict(histogram(text, "samsyn_workshop_lock_wait_seconds")))
        lags.update(dict(histogram(text, "samsyn_event_loop_lag_seconds")))
        phones = ballots = 0
        for line in text.splitlines():
            for read in figures.room_reads:
                if line.startswith(f'samsyn_room_reads_total{{read="{read}"}} '):
                    figures.room_reads[read] += int(float(line.split()[-1]))
            if line.startswith("samsyn_command_batch_size_count "):
                figures.batches += int(float(line.split()[-1]))
            elif line.startswith("samsyn_command_batch_size_sum "):
                figures.batched += int(float(line.split()[-1]))
            elif line.startswith('samsyn_connections{view="phone"} '):
                phones = int(float(line.split()[-1]))
            elif line.startswith(BALLOTS_ANSWERED):
                ballots = int(float(line.split()[-1]))
        figures.phones_each.append(phones)
        figures.ballots_each.append(ballots)
    figures.command_p50 = bucket_quantile(sorted(times.items()), 50)
    figures.command_p95 = bucket_quantile(sorted(times.items()), 95)
    if tallied := tally(sorted(waits.items())):
        figures.lock_waits, figures.lock_waits_over, figures.lock_wait_max = tallied
    if tallied := tally(sorted(lags.items())):
        figures.loop_wakes, figures.loop_lags_over, figures.loop_lag_max = tallied


async def count(
    server: AnyServer,
    room: Room,
    http: Any,
    *,
    screens: list[Client],
    figures: Figures,
    expected: Counter[str],
) -> None:
    """Votes lost in a room: the board's, the console's and (app) the JSON export's totals
    against the acknowledged ballots, added up over the rooms (`figures.counted`; `exact`
    only while every room's are). The app's board shows them once the round is revealed.
    A screen the server dropped under the load connects again first, as live.js does."""
    for i, (client, screen) in enumerate(
        zip(room.clients, (room.console, room.board), strict=True)
    ):
        if client.ws.closed:
            figures.notes.append(f"the server dropped the {client.auth['view']}; reconnected")
            room.clients[i] = await Client.open(
                http, room.url, client.cookie, client.auth, on_event=screen
            )
            screens.append(room.clients[i])
    facilitator, board = room.facilitator, room.board
    if server.kind == "app":
        await command(facilitator, "round.close", round_id=room.round_id)
        await command(facilitator, "round.reveal", round_id=room.round_id)
        await board.wait_for(
            lambda s: s["round"]["state"] == "revealed" and s["results"] is not None, 30
        )
    counts = [("board", board.latest["results"])]
    _, answer = await facilitator.call("state.get", {})
    counts.append(("console", answer["data"]["state"]["results"]))
    if server.kind == "app":
        async with http.get(
            f"{room.url}/api/workshops/{room.code}/export.json",
            headers={"Authorization": f"Bearer {room.secret}"},
        ) as response:
            document = await response.json()
        counts.append(
            ("export", next(r for r in document["rounds"] if r["round_id"] == room.round_id))
        )
    for name, results in counts:
        figures.counted[name] = figures.counted.get(name, 0) + results["ballots"]
        figures.exact[name] = figures.exact.get(name, True) and dots(results) == expected


def loadgens(count: int) -> tuple[list[Connection], list[Any]]:
    """`count` load-generator processes (`loadgen.worker`), and the pipes to them."""
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    processes = []
    for _ in range(count):
        ours, theirs = context.Pipe()
        process = context.Process(target=loadgen.worker, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        pipes.append(ours)
        processes.append(process)
    return pipes, processes


def stop_loadgens(processes: list[Any]) -> None:
    """Wait a little for the load generators to end, then end them."""
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join()


async def measure(server: AnyServer, n: int, args: argparse.Namespace) -> Figures:
    """One run against a started server: the room, the joins, the vote burst, the counts."""
    workers = args.workers or max(1, math.ceil(n / PHONES_PER_WORKER))
    workers = args.rooms * math.ceil(workers / args.rooms)  # one room for each
    figures = Figures(n, workers)
    pipes, processes = loadgens(workers)
    screens: list[Client] = []
    try:
        async with loadgen.jar(server.url) as http:
            rooms = [await open_room(server, http, screens, args.live) for _ in range(args.rooms)]
            with lock_waits(server, figures):
                await join(server, rooms, pipes, figures, args.ramp)
                expected = await vote(server, rooms, pipes, figures, args.window)
            for room, totals in zip(rooms, expected, strict=True):
                await count(server, room, http, screens=screens, figures=figures, expected=totals)
            await leave(server, rooms, pipes, figures)
    finally:
        for client in screens:
            await client.close()
        stop_loadgens(processes)
    log = server.log()
    if "Traceback" in log:
        # The log goes with the run's directory: keep the first traceback's end.
        lines = log[log.index("Traceback") :].splitlines()
        end = next((i for i, line in enumerate(lines[1:], 1) if not line.startswith(" ")), 0)
        figures.notes.append(
            f"the {server.kind}'s log has {log.count('Traceback')} tracebacks; the first ends: "
            + " | ".join(line.strip() for line in lines[max(1, end - 2) : end + 1])
        )
    # Answered "busy": which waits ran out (the pool's, a statement's, the network's).
    busy = Counter(re.findall(r"database busy or unreachable\W+(\w+)", log))
    if busy:
        figures.notes.append(f"the {server.kind} answered 'busy' for: {dict(busy)}")
    return figures


@contextlib.contextmanager
def lock_waits(server: AnyServer, figures: Figures) -> Iterator[None]:
    """The app's waits for locks while phones join and vote, as PostgreSQL saw them."""
    url = os.environ.get("DATABASE_URL") or ""
    if server.kind != "app" or not url.startswith("postgres"):
        yield
        return
    with LockWaits(url) as waits:
        yield
    if waits.error is not None:
        figures.notes.append(f"PostgreSQL's lock waits not sampled: {waits.error!r}")
        return
    figures.pg_lock_waits = len(waits.waits)
    figures.pg_lock_waits_over = waits.over(WAIT_LIMIT)
    figures.pg_lock_wait_max = waits.longest()


def run(kind: str, n: int, args: argparse.Namespace) -> Figures:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{kind}-") as directory:
        server: AnyServer = (
            Deployment(args.processes, args.async_mode, Path(directory))
            if kind == "app" and args.processes > 1
            else Server(kind, args.async_mode, Path(directory))
        )
        server.start()
        try:
            figures = asyncio.run(measure(server, n, args))
        except BaseException:
            print(f"--- the {kind}'s log (end) ---\n{server.log()[-3000:]}", file=sys.stderr)
            raise
        finally:
            server.stop()
    figures.wall = time.monotonic() - started
    return figures


# --- Printing --------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ratio(app: float | None, base: float | None) -> str:
    if app is None or base is None or base <= 0:
        return "–"
    value = app / base
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def rows(app: Figures, base: Figures) -> list[tuple[str, float | None, float | None, str]]:
    """(label, app, baseline, kind) where kind is "s", "n", "x" (a mean) or "MiB"."""

    out: list[tuple[str, float | None, float | None, str]] = [
        (f"connect: all {app.phones:,} joined", app.connect, base.connect, "s"),
        (
            "join p95 (page + socket)",
            percentile(app.join_latencies, 95),
            percentile(base.join_latencies, 95),
            "s",
        ),
    ]
    for q in (50, 95, 99):
        out.append((f"ack p{q}", percentile(app.acks, q), percentile(base.acks, q), "s"))
    for q in (50, 95, 99):
        out.append((f"vote→board p{q}", percentile(app.delays, q), percentile(base.delays, q), "s"))
    out += [
        ("app's own command time p50 (≤)", app.command_p50, None, "s"),
        ("app's own command time p95 (≤)", app.command_p95, None, "s"),
        (
            "app's commands per transaction",
            app.batched / app.batches if app.batched and app.batches else None,
            None,
            "x",
        ),
        ("board shows the last vote after", app.converged, base.converged, "s"),
        ("boards count the joined exactly after", app.counted_joined, None, "s"),
        ("boards count no one after all left", app.counted_left, None, "s"),
        ("longest gap between board states", app.board_gap, base.board_gap, "s"),
        ("ballots acknowledged", app.acked, base.acked, "n"),
        ("ballots sent again (same id)", app.resent, base.resent, "n"),
        ("reconnections to resend", app.reconnects, base.reconnects, "n"),
        ("votes lost", app.lost, base.lost, "n"),
        ("server CPU, joins", app.cpu_joins, base.cpu_joins, "s"),
        ("server CPU, votes", app.cpu_votes, base.cpu_votes, "s"),
        ("server CPU, all leaving at once", app.cpu_leave, base.cpu_leave, "s"),
        ("PostgreSQL's CPU, joins", app.database_cpu_joins, None, "s"),
        ("PostgreSQL's CPU, votes", app.database_cpu_votes, None, "s"),
        (
            "server CPU a join",
            per(app.cpu_joins, app.connected),
            per(base.cpu_joins, base.connected),
            "ms",
        ),
        (
            "server CPU a ballot",
            per(app.cpu_votes, app.acked),
            per(base.cpu_votes, base.acked),
            "ms",
        ),
        ("PostgreSQL's CPU a join", per(app.database_cpu_joins, app.connected), None, "ms"),
        ("PostgreSQL's CPU a ballot", per(app.database_cpu_votes, app.acked), None, "ms"),
        ("server peak RSS", app.rss / 2**20, base.rss / 2**20, "MiB"),
        (
            "memory a connected phone",
            per(app.rss - app.rss_at_rest, app.connected * 1024),
            per(base.rss - base.rss_at_rest, base.connected * 1024),
            "KiB",
        ),
        ("batches' waits for the lock (app's clock)", app.lock_waits, None, "c"),
        (f"  of them over {WAIT_LIMIT * 1000:.0f} ms", app.lock_waits_over, None, "c"),
        ("  the longest (≤)", app.lock_wait_max, None, "s"),
        ("rooms read whole by the ticks", app.room_reads.get("whole"), None, "c"),
        ("  only their counts", app.room_reads.get("counts"), None, "c"),
        ("  counts that would not do", app.room_reads.get("counts_refused"), None, "c"),
        ("event loop: the ticker's wakes", app.loop_wakes, None, "c"),
        (f"  of them over {WAIT_LIMIT * 1000:.0f} ms late", app.loop_lags_over, None, "c"),
        ("  the latest (≤)", app.loop_lag_max, None, "s"),
        (f"lock waits PostgreSQL saw (≥ {SAMPLE * 1000:.0f} ms)", app.pg_lock_waits, None, "c"),
        (f"  of them over {WAIT_LIMIT * 1000:.0f} ms", app.pg_lock_waits_over, None, "c"),
        ("  the longest", app.pg_lock_wait_max, None, "s"),
        ("load generator CPU", app.loadgen_cpu, base.loadgen_cpu, "s"),
        ("run time (start to stop)", app.wall, base.wall, "s"),
    ]
    return out


def per(total: float | None, count: float) -> float | None:
    return total / count if total is not None and count else None


def show(value: float | None, kind: str) -> str:
    if value is None:
        return "?" if kind == "n" else "–"
    if kind == "KiB":
        return f"{value:,.0f} KiB"
    if kind == "ms":
        return f"{value * 1000:.1f} ms"
    if kind in ("n", "c"):  # counts; "c" is one that may not apply ("–" when it does not)
        return f"{value:,.0f}"
    if kind == "x":
        return f"{value:.1f}"
    if kind == "MiB":
        return f"{value:,.0f} MiB"
    if kind == "s" and value >= 10:
        return f"{value:.1f} s"
    return seconds(value)


def print_block(n: int, app: Figures, base: Figures, args: argparse.Namespace) -> None:
    print(
        f"\n{n:,} phones{f' in {args.rooms} rooms' if args.rooms > 1 else ''} · "
        f"{args.async_mode} · votes within {args.window:g} s · "
        f"{app.workers} load-generator process{'es' if app.workers > 1 else ''} · "
        f"results {'live' if args.live else 'hidden until revealed'}"
    )
    print(f"{'':34} {'app':>11} {'baseline':>11} {'app/base':>9}")
    for label, a, b, kind in rows(app, base):
        r = "–" if kind in "nc" and label != "ballots acknowledged" else ratio(a, b)
        print(f"{label:34} {show(a, kind):>11} {show(b, kind):>11} {r:>9}")
    for name, figures in (("app", app), ("baseline", base)):
        problems = [*figures.notes]
        if figures.connected < n:
            problems.append(f"{n - figures.connected} phones did not join: {figures.join_failures}")
        if figures.unanswered:
            problems.append(f"never answered: {dict(figures.unanswered)}")
        if figures.refused:
            problems.append(f"refused: {dict(figures.refused)}")
        if figures.counted and not all(figures.exact.values()):
            problems.append(f"totals differ: {figures.exact}, ballots {figures.counted}")
        for problem in problems:
            print(f"  ! {name}: {problem}")
    if len(app.cpu_joins_each) > 1:
        # The app processes first, then nginx (which served neither joins nor ballots).
        phones = [*app.phones_each, 0]
        ballots = [*app.ballots_each, 0]
        for i, (joins, votes) in enumerate(
            zip(app.cpu_joins_each, app.cpu_votes_each, strict=True)
        ):
            name = f"process {i + 1}" if i < len(app.phones_each) else "nginx"
            line = f"  CPU joins / votes, {name}: {joins:.1f} / {votes:.1f} s"
            if phones[i] and ballots[i]:
                line += (
                    f" for {phones[i]:,} phones / {ballots[i]:,} ballots"
                    f" ({joins / phones[i] * 1000:.1f} / {votes / ballots[i] * 1000:.1f} ms each)"
                )
            print(line)
    print(f"  counted in: app {', '.join(app.counted)}; baseline {', '.join(base.counted)}")


def print_summary(results: list[tuple[int, Figures, Figures]]) -> None:
    print(
        f"\n{'phones':>6} {'server':>8} {'connect':>8} {'ack p50':>8} {'ack p95':>8} "
        f"{'ack p99':>8} {'v→b p50':>8} {'v→b p95':>8} {'v→b p99':>8} {'shown':>8} "
        f"{'lost':>5} {'cpu':>7} {'RSS':>8}"
    )
    for n, app, base in results:
        for name, f in (("app", app), ("baseline", base)):
            print(
                f"{n:>6} {name:>8} {show(f.connect, 's'):>8} "
                f"{show(percentile(f.acks, 50), 's'):>8} {show(percentile(f.acks, 95), 's'):>8} "
                f"{show(percentile(f.acks, 99), 's'):>8} "
                f"{show(percentile(f.delays, 50), 's'):>8} "
                f"{show(percentile(f.delays, 95), 's'):>8} "
                f"{show(percentile(f.delays, 99), 's'):>8} {show(f.converged, 's'):>8} "
                f"{show(f.lost, 'n'):>5} {show(f.cpu_joins + f.cpu_votes, 's'):>7} "
                f"{show(f.rss / 2**20, 'MiB'):>8}"
            )
        print(
            f"{n:>6} {'ratio':>8} {ratio(app.connect, base.connect):>8} "
            + " ".join(
                f"{ratio(percentile(app.acks, q), percentile(base.acks, q)):>8}"
                for q in (50, 95, 99)
            )
            + " "
            + " ".join(
                f"{ratio(percentile(app.delays, q), percentile(base.delays, q)):>8}"
                for q in (50, 95, 99)
            )
            + f" {ratio(app.converged, base.converged):>8} {'':>5} "
            f"{ratio(app.cpu_joins + app.cpu_votes, base.cpu_joins + base.cpu_votes):>7} "
            f"{ratio(app.rss, base.rss):>8}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(s) for s in text.split(",")],
        default=SIZES,
        help="phones per run, comma-separated (default 500,1000,2000,5000)",
    )
    parser.add_argument("--async-mode", choices=["eventlet", "gevent"], default="eventlet")
    parser.add_argument("--ramp", type=float, default=500, help="joins per second (500)")
    parser.add_argument("--window", type=float, default=10, help="votes within (10 s)")
    parser.add_argument("--harsh", action="store_true", help="votes within 2 s")
    parser.add_argument("--workers", type=int, default=0, help="load-generator processes")
    parser.add_argument("--live", action="store_true", help="show results while people vote")
    parser.add_argument("--quick", action="store_true", help="300 phones, votes within 3 s")
    parser.add_argument(
        "--processes", type=int, default=1, help="app processes behind nginx (PostgreSQL)"
    )
    parser.add_argument("--rooms", type=int, default=1, help="workshops the phones split over")
    args = parser.parse_args(argv)
    if args.harsh:
        args.window = 2.0
    if args.quick:
        args.sizes, args.window = [300], 3.0
    if args.processes > 1 and not (os.environ.get("DATABASE_URL") or "").startswith("postgres"):
        parser.error("--processes needs DATABASE_URL to name a PostgreSQL database")
    loadgen.raise_file_limit(4096)
    print(
        f"bench.scale: {platform.node()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {args.async_mode}, ramp {args.ramp:g}/s, "
        f"{FACTORS} factors, dots budget {BUDGET} cap {CAP}, {args.processes} app "
        f"process{'es behind nginx' if args.processes > 1 else ''}, "
        f"{'PostgreSQL' if 'postgres' in (os.environ.get('DATABASE_URL') or '') else 'SQLite'}"
        "; load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    results = []
    for n in args.sizes:
        app = run("app", n, args)
        base = run("baseline", n, args)
        print_block(n, app, base, args)
        results.append((n, app, base))
    print_summary(results)


if __name__ == "__main__":
    main()
