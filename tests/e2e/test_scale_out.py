"""Scale-out (issue #6), as deployed: nginx with the configuration in deploy/nginx/, in front
of two app processes (one under eventlet, one under gevent) sharing PostgreSQL and Redis.

Phones join through nginx, each browser sticky to one process by its route cookie, and use
long polling before upgrading to WebSocket, as browsers do. A vote taken by one process
reaches boards connected to the other; every board converges to the exact totals; the
participant count is the room's, not one process's; replacing the facilitator link
disconnects the old screens on both processes, and so does removing a co-facilitator.
Screens that name their workshop, as live.js does, meet on one process for each room.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from conftest import _reset_postgres, forget_redis_keys, unavailable

from bench.deployment import Nginx

from .conftest import Clients, Peer, Server, Workshop, create_workshop, free_port
from .organizing import Browser, refusal, screen, until_disconnected
from .test_server import all_at_once, random_ballot, summed, totals_of

pytestmark = pytest.mark.e2e

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
PHONES = 60


class Deployment:
    def __init__(self, nginx: Nginx, processes: list[Server], queue: str, prefix: str) -> None:
        self.nginx = nginx
        self.processes = processes
        self.queue = queue
        self.prefix = prefix

    def connections(self, server: Server) -> dict[str, float]:
        """Connections open to one process, by view, from its /metrics."""
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        return {
            view: float(value)
            for view, value in re.findall(r'^samsyn_connections\{view="(\w+)"\} (\S+)$', text, re.M)
        }


class RedisServer:
    """A Redis of the test's own on a free port, which it may stop and start again (without
    persistence: a restarted Redis has forgotten everything)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        options = {"port": self.port, "bind": "127.0.0.1", "save": "", "appendonly": "no"}
        arguments = [part for k, v in options.items() for part in (f"--{k}", str(v))]
        self.process = subprocess.Popen(
            [REDIS, *arguments, "--dir", str(self.directory)], stdout=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def deploy(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str
) -> Iterator[Callable[[str], Deployment]]:
    """Starts the deployment on the given Redis: two processes, then nginx. Stopped at the end."""
    if not Nginx.available():
        unavailable("nginx")
    _reset_postgres(postgres_database)
    prefix = f"samsyn-test-{uuid.uuid4().hex[:8]}"
    processes = []
    for mode in ("eventlet", "gevent"):
        directory = tmp_path / mode
        directory.mkdir()
        processes.append(Server(mode, directory))
    nginx_directory = tmp_path / "nginx"
    nginx_directory.mkdir()
    nginx = Nginx(nginx_directory, processes)
    request.node._samsyn_servers = processes  # type: ignore[attr-defined]
    queues: list[str] = []

    def start(queue: str) -> Deployment:
        queues.append(queue)
        shared = {
            "DATABASE_URL": postgres_database,
            "MESSAGE_QUEUE_URL": queue,
            "MESSAGE_QUEUE_CHANNEL": prefix,
            "PUBLIC_URL": nginx.url,
            "SECRET_KEY": processes[0].env["SECRET_KEY"],  # one key: cookies work on both
            "PROXY_HOPS": "1",
        }
        for process in processes:
            process.env.update(shared)
            process.start()
        nginx.start()
        return Deployment(nginx, processes, queue, prefix)

    try:
        yield start
    finally:
        nginx.stop()
        for process in processes:
            process.stop()
        for queue in queues:
            forget_redis_keys(queue, prefix)


@pytest.fixture
def deployment(deploy: Callable[[str], Deployment], redis_url: str) -> Deployment:
    return deploy(redis_url)


def join_phones(through: Clients, code: str, n: int) -> list[Peer]:
    """n phones joining through nginx at once, each browser with its own route cookie,
    long polling first and then WebSocket, as browsers connect."""
    phones: list[Peer] = [None] * n  # type: ignore[list-item]

    def join(i: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        http = through.join(code)
        assert "samsyn_route" in http.cookies, "nginx gave no route cookie"
        phones[i] = through.connect(http, code, "phone", transports=("polling", "websocket"))

    all_at_once(n, join)
    return phones


def vote_at_once(
    phones: list[Peer], round_id: int, ids: list[int], seed: int
) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Every phone sends a random dot ballot (5 dots, at most 3 on a factor) at the same
    moment: the ballots, and the answers in the phones' order."""
    rng = random.Random(seed)
    ballots = [random_ballot(rng, ids, 5, 3) for _ in phones]

    def vote(i: int, barrier: threading.Barrier) -> dict[str, Any]:
        barrier.wait()
        return phones[i].send("ballot.submit", round_id=round_id, entries=ballots[i])

    return ballots, all_at_once(len(phones), vote)


def test_two_processes_behind_nginx_are_one_room(deployment: Deployment) -> None:
    nginx, (a, b) = deployment.nginx, deployment.processes
    through = Clients(nginx)
    to_a, to_b = Clients(a), Clients(b)
    try:
        workshop = Workshop(through, create_workshop(nginx.url))
        ids = list(workshop.factor_ids().values())
        round_id = workshop.open_dots(5, 3)
        # A board through nginx, and one straight on each process (the facilitator's cookie).
        boards: dict[str, Peer] = {
            "nginx": workshop.connect("board"),
            "a": to_a.connect(workshop.http, workshop.code, "board"),
            "b": to_b.connect(workshop.http, workshop.code, "board"),
        }

        phones = join_phones(through, workshop.code, PHONES)
        spread = {s.async_mode: deployment.connections(s).get("phone", 0) for s in (a, b)}
        assert sum(spread.values()) == PHONES, spread
        assert min(spread.values()) >= PHONES // 5, f"nginx did not spread the phones: {spread}"
        for board in boards.values():
            board.wait_for("state", lambda s: s["connected"] == PHONES, timeout=15)

        ballots, answers = vote_at_once(phones, round_id, ids, seed=6)
        assert all(a["ok"] for a in answers), [a for a in answers if not a["ok"]][:3]
        last = max(a["version"] for a in answers)
        for board in boards.values():
            board.wait_for(
                "state",
                lambda s, last=last: s["version"] >= last and s["participation"]["voted"] == PHONES,
                timeout=15,
            )

        workshop.console.ok("round.close", round_id=round_id)
        revealed = workshop.console.ok("round.reveal", round_id=round_id)
        assert revealed is not None
        expected = summed(ballots, ids)
        for name, board in boards.items():
            shown = board.wait_for("state", lambda s: s["results"] is not None, timeout=15)
            assert totals_of(shown["results"]) == expected, name
        assert totals_of(workshop.console.state()["state"]["results"]) == expected

        # A new facilitator link shuts the old screens out on both processes.
        page = workshop.http.get(f"{nginx.url}/console/{workshop.code}", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        replaced = workshop.http.post(
            f"{nginx.url}/console/{workshop.code}/link",
            data={"csrf_token": token.group(1)},
            timeout=10,
        )
        assert replaced.status_code == 200, replaced.status_code
        deadline = time.monotonic() + 10
        while any(board.sio.connected for board in boards.values()):
            assert time.monotonic() < deadline, {n: p.sio.connected for n, p in boards.items()}
            time.sleep(0.05)
        assert all(phone.sio.connected for phone in phones)
    finally:
        for made in (through, to_a, to_b):
            made.close()
    for process in (a, b):
        assert "Traceback" not in process.log(), process.log()[-3000:]


def test_a_rooms_screens_meet_on_one_process(deployment: Deployment) -> None:
    """Screens that name their workshop as live.js does (`?workshop=CODE`) reach one process
    for each room whatever their browsers' route cookies, long polling included, so that a
    room's writes never wait for another process's lock on it; the rooms spread over the
    processes (16 rooms all on one of two would be chance once in 30,000)."""
    nginx, processes = deployment.nginx, deployment.processes
    through = Clients(nginx)

    def phones() -> dict[str, float]:
        return {s.async_mode: deployment.connections(s).get("phone", 0) for s in processes}

    rooms: list[dict[str, float]] = []
    try:
        before = phones()
        for _ in range(16):
            code = create_workshop(nginx.url)["code"]
            for _ in range(3):
                through.connect(
                    through.join(code),
                    code,
                    "phone",
                    query={"workshop": code},
                    transports=("polling", "websocket"),
                )
            after = phones()
            rooms.append({mode: after[mode] - before[mode] for mode in after})
            before = after
    finally:
        through.close()
    assert all(sorted(room.values()) == [0, 3] for room in rooms), rooms
    assert all(any(room[s.async_mode] for room in rooms) for s in processes), rooms


def test_a_redis_restart_loses_no_vote_and_every_screen_catches_up(
    deploy: Callable[[str], Deployment], tmp_path: Path
) -> None:
    """Phones vote before, during and after a Redis restart. Commands never needed Redis
    (the database is the truth), so every vote is acknowledged; what was broadcast while
    Redis was away is lost, so once it is back every screen is sent its state again: the
    boards on both processes show the exact totals and the phones the round as it is."""
    queue = RedisServer(tmp_path)
    queue.start()
    try:
        deployment = deploy(queue.url)
        nginx, (a, b) = deployment.nginx, deployment.processes
        through, to_a, to_b = Clients(nginx), Clients(a), Clients(b)
        try:
            workshop = Workshop(through, create_workshop(nginx.url))
            ids = list(workshop.factor_ids().values())
            round_id = workshop.open_dots(5, 3)
            boards = [
                to_a.connect(workshop.http, workshop.code, "board"),
                to_b.connect(workshop.http, workshop.code, "board"),
            ]
            phones = join_phones(through, workshop.code, 20)
            rng = random.Random(8)
            last: dict[int, dict[str, int]] = {}

            def vote_all() -> int:
                def vote(i: int, barrier: threading.Barrier) -> dict[str, Any]:
                    ballot = random_ballot(random.Random(rng.random()), ids, 5, 3)
                    barrier.wait()
                    answer = phones[i].send("ballot.submit", round_id=round_id, entries=ballot)
                    assert answer["ok"], answer
                    last[i] = ballot
                    return answer

                return max(a["version"] for a in all_at_once(len(phones), vote))

            vote_all()
            queue.stop()
            vote_all()  # while Redis is away
            time.sleep(1.5)
            queue.start()  # empty: a Redis without persistence
            version = vote_all()
            for board in boards:
                board.wait_for("state", lambda s, v=version: s["version"] >= v, timeout=30)
            # A change made only while Redis was away reaches the phones when it is back.
            queue.stop()
            workshop.console.ok("round.close", round_id=round_id)
            queue.start()
            for phone in phones:
                phone.wait_for("state", lambda s: s["round"]["state"] == "closed", timeout=30)
            workshop.console.ok("round.reveal", round_id=round_id)
            expected = summed(list(last.values()), ids)
            for board in boards:
                shown = board.wait_for("state", lambda s: s["results"] is not None, timeout=30)
                assert totals_of(shown["results"]) == expected
                assert shown["participation"]["voted"] == len(phones)
        finally:
            for made in (through, to_a, to_b):
                made.close()
    finally:
        queue.stop()


def test_guessing_is_limited_across_processes(deployment: Deployment) -> None:
    """Wrong codes and wrong passwords sent to both processes in turn share one allowance
    (through Redis), instead of getting one in each process."""
    a, b = deployment.processes
    guesser = requests.Session()
    codes = [
        guesser.get(f"{(a, b)[i % 2].url}/j/WRONG{i}", timeout=10).status_code for i in range(30)
    ]
    assert codes == [404] * 20 + [429] * 10  # JOIN_MISS_BURST between them, not 20 each
    # One SECRET_KEY: the CSRF token of one process is good on the other.
    page = guesser.get(f"{a.url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    tries = [
        guesser.post(
            f"{(a, b)[i % 2].url}/login",
            data={"csrf_token": token, "username": "kommun", "password": f"gissning {i}"},
            allow_redirects=False,
            timeout=10,
        ).status_code
        for i in range(8)
    ]
    assert tries == [400] * 5 + [429] * 3


def test_a_removal_ends_the_screens_on_every_process(deployment: Deployment) -> None:
    """Scale-out: the co-facilitator's console on one process and board on the other are
    let go when the owner removes them through nginx (a word through Redis to the process
    that did not handle the removal); the owner's screens on both go on."""
    nginx, (a, b) = deployment.nginx, deployment.processes
    through, to_a, to_b = Clients(nginx), Clients(a), Clients(b)
    try:
        owner = Browser(through)
        owner.first_account("kommun@example.se")
        series = owner.series()
        owner.library(series, "kategori;titel\nEkonomiska;Digitalisering\n")
        guest = Browser(through)
        guest.accept(owner.invite(series), "gast@example.se")
        code = guest.workshop(series, "Företag")
        theirs = [
            screen(to_a, guest.http, code, "console"),
            screen(to_b, guest.http, code, "board"),
        ]
        owner.post(f"/organizer/workshops/{code}/console", form="/organizer")
        owners = [
            screen(to_a, owner.http, code, "board"),
            screen(to_b, owner.http, code, "console"),
        ]

        owner.do(series, "member.remove", organizer_id=owner.member_id(series))

        until_disconnected(*theirs)
        for process in (to_a, to_b):
            assert refusal(process, guest.http, code, "console") == "access_ended"
        export = f"{nginx.url}/api/workshops/{code}/export.json?nicknames=1"
        assert guest.http.get(export, timeout=10).status_code == 403
        assert all(p.sio.connected for p in owners)
        owners[1].ok("timer.set", seconds=60)
        owners[0].wait_for("state", lambda s: s["timer"] is not None)
    finally:
        for made in (through, to_a, to_b):
            made.close()
    for process in (a, b):
        assert "Traceback" not in process.log(), process.log()[-3000:]
