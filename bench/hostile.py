"""A room of 1,000 phones voting while heavy and hostile work arrives (issue #15): the real
app, at rest and then under load, in one run, on the same machine.

The app (`app.py` with the README's settings; SQLite in a temporary directory) starts on a
database holding three big workshops (200 factors, 1,000 participants, a closed round of
every method each, as `bench.exports` builds them). A console opens a dots round in a room
of its own; N phones join it (`bench/loadgen.py`, raw Socket.IO over WebSocket, as in
`bench.scale`). Then, twice, every phone casts a ballot at a random moment of a window, while
/healthz is asked every 50 ms:

- **at rest**: nothing else happens — the baseline;
- **under load**: three zip exports (one of each big workshop) are asked for, 20 wrong
  logins a second arrive (each for a username and from an address of its own, so that no
  limit turns them away before the password is checked: the server trusts X-Forwarded-For
  here, PROXY_HOPS=1), and 200 long-polling sessions are opened and abandoned.

Printed side by side: acknowledgement latency (p50, p95, p99), /healthz latency (p50, p95,
max), ballots acknowledged, refused connections and resends; for the load, how long the
exports took, and how the logins and abandoned sessions were answered.

    python -m bench.hostile [--phones 1000] [--window 10] [--async-mode eventlet|gevent]

The load generator and this script share the machine's cores with the server; figures are
only as quiet as the machine is (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from . import loadgen
from .exports import build, in_process
from .scale import START_TIMEOUT, Figures, Server, join, loadgens, open_room, receive, stop_loadgens
from .services import pct

EXPORTS = 3
LOGINS_PER_SECOND = 20
ABANDONED = 200
HEALTH_EVERY = 0.05


@dataclass
class Phase:
    """What one burst of votes measured."""

    name: str
    key: str  # the burst's command ids start with it
    acks: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    health_failed: Counter[int | str] = field(default_factory=Counter)
    sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    resent: int = 0
    reconnects: int = 0


@dataclass
class Load:
    """What the heavy and hostile work met."""

    exports: list[tuple[int, float]] = field(default_factory=list)
    logins: Counter[int | str] = field(default_factory=Counter)
    login_times: list[float] = field(default_factory=list)
    abandoned: Counter[int | str] = field(default_factory=Counter)


async def probe(http: aiohttp.ClientSession, url: str, phase: Phase, until: float) -> None:
    """Ask /healthz every HEALTH_EVERY seconds until `until`; each answer's latency."""
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            async with http.get(url + "/healthz", timeout=aiohttp.ClientTimeout(30)) as answer:
                await answer.read()
                if answer.status == 200:
                    phase.health.append(time.monotonic() - started)
                else:
                    phase.health_failed[answer.status] += 1
        except Exception as error:
            phase.health_failed[type(error).__name__] += 1
        await asyncio.sleep(max(0.0, HEALTH_EVERY - (time.monotonic() - started)))


async def burst(pipes: list[Connection], phase: Phase, window: float) -> None:
    """Every phone votes once within the window (command ids of their own per phase)."""
    t0 = time.monotonic() + 1.0
    for pipe in pipes:
        pipe.send(("vote", {"t0": t0, "window": window, "phase": phase.key}))
    timeout = 1.0 + window + loadgen.GIVE_UP + 2 * loadgen.ACK_TIMEOUT
    for pipe in pipes:
        part = await receive(pipe, "voted", timeout)
        for _, sent, acked, _, outcome, attempts, reconnects in part["samples"]:
            phase.sent += 1
            phase.resent += attempts - 1
            phase.reconnects += reconnects
            if outcome == "ok":
                phase.acks.append(acked - sent)
            else:
                phase.refused[outcome] += 1


async def export(http: aiohttp.ClientSession, url: str, code: str, secret: str, load: Load) -> None:
    started = time.monotonic()
    async with http.get(
        f"{url}/api/workshops/{code}/export.zip",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=aiohttp.ClientTimeout(600),
    ) as answer:
        await answer.read()
        load.exports.append((answer.status, time.monotonic() - started))


async def logins(http: aiohttp.ClientSession, url: str, load: Load, until: float) -> None:
    """LOGINS_PER_SECOND wrong logins, each for a username and from an address of its own."""
    async with http.get(url + "/login") as page:
        token = (await page.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    rng = random.Random(15)
    tasks = []

    async def one(n: int) -> None:
        started = time.monotonic()
        address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        try:
            async with http.post(
                url + "/login",
                data={"csrf_token": token, "username": f"gissare{n}", "password": "fel lösenord"},
                headers={"X-Forwarded-For": address},
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(60),
            ) as answer:
                await answer.read()
                load.logins[answer.status] += 1
        except Exception as error:
            load.logins[type(error).__name__] += 1
        load.login_times.append(time.monotonic() - started)

    n = 0
    next_at = time.monotonic()
    while next_at < until:
        tasks.append(asyncio.create_task(one(n)))
        n += 1
        next_at += 1 / LOGINS_PER_SECOND
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*tasks)


async def abandon(url: str, code: str, load: Load) -> None:
    """ABANDONED phones of a big workshop that connect over long-polling, post one packet
    the server refuses (half of them), and never poll again."""

    async def one(n: int) -> None:
        async with loadgen.jar(url) as http:
            try:
                async with http.get(f"{url}/j/{code}") as page:
                    await page.read()
                async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as opened:
                    sid = json.loads((await opened.text())[1:])["sid"]
                polling = f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}"
                auth = json.dumps({"code": code, "view": "phone"})
                async with http.post(polling, data="40" + auth) as connected:
                    await connected.read()
                if n % 2:
                    async with http.post(
                        polling, data="6", timeout=aiohttp.ClientTimeout(60)
                    ) as refused:
                        await refused.read()
                        load.abandoned[refused.status] += 1
                else:
                    load.abandoned["held"] += 1
            except Exception as error:
                load.abandoned[type(error).__name__] += 1

    await asyncio.gather(*(one(n) for n in range(ABANDONED)))


def figure(values: list[float], q: float) -> str:
    """A percentile of latencies in ms (q=100: the largest)."""
    if not values:
        return "–"
    return f"{(max(values) if q >= 100 else pct(values, q)) * 1000:.0f} ms"


def report(phases: list[Phase], load: Load, args: argparse.Namespace, loads: str) -> None:
    print(
        f"\n{args.phones} phones, ballots within {args.window:g} s, {args.async_mode}, SQLite; "
        f"load average {loads}"
    )
    rows = [
        ("ack p50", lambda p: figure(p.acks, 50)),
        ("ack p95", lambda p: figure(p.acks, 95)),
        ("ack p99", lambda p: figure(p.acks, 99)),
        ("/healthz p50", lambda p: figure(p.health, 50)),
        ("/healthz p95", lambda p: figure(p.health, 95)),
        ("/healthz max", lambda p: figure(p.health, 100)),
        ("/healthz failed", lambda p: str(sum(p.health_failed.values()))),
        ("ballots acked", lambda p: f"{len(p.acks)} of {p.sent}"),
        ("refused / resent", lambda p: f"{sum(p.refused.values())} / {p.resent}"),
    ]
    print(f"{'':18}" + "".join(f"{p.name:>14}" for p in phases))
    for name, make in rows:
        print(f"{name:18}" + "".join(f"{make(p):>14}" for p in phases))
    for p in phases:
        if p.refused or p.health_failed:
            print(f"  {p.name}: refused {dict(p.refused)}, /healthz failed {dict(p.health_failed)}")
    exports = ", ".join(f"{status} in {took:.1f} s" for status, took in sorted(load.exports))
    print(f"load: {EXPORTS} zip exports: {exports}")
    print(
        f"load: {sum(load.logins.values())} wrong logins: {dict(load.logins)}, "
        f"answered in p95 {figure(load.login_times, 95)}"
    )
    print(f"load: {ABANDONED} abandoned polling sessions: {dict(load.abandoned)}")


async def run(args: argparse.Namespace, directory: Path) -> None:
    database = f"sqlite:///{directory}/samsyn.db"
    print(f"building {EXPORTS} workshops of 200 factors × 1,000 participants …", flush=True)
    app = in_process(database)
    big = [build(app.extensions["samsyn"].services, 200, 1000) for _ in range(EXPORTS)]
    app.extensions["samsyn"].db.dispose()

    server = Server("app", args.async_mode, directory)
    server.env["DATABASE_URL"] = database
    server.env["PROXY_HOPS"] = "1"  # the wrong logins name addresses of their own
    server.start()
    pipes, processes = loadgens(max(1, -(-args.phones // 2500)))
    loads = f"{os.getloadavg()[0]:.2f}"
    screens: list[loadgen.Client] = []
    phases = [Phase("at rest", "rest-"), Phase("under load", "load-")]
    load = Load()
    try:
        async with loadgen.jar(server.url) as http:
            room = await open_room(server, http, screens, live=False)
            figures = Figures(args.phones, len(pipes))
            await join(server, [room], pipes, figures, args.ramp)
            print(f"{figures.connected} phones joined in {figures.connect:.1f} s", flush=True)
            for phase in phases:
                heavy: list[asyncio.Task[Any]] = []
                if phase.name == "under load":
                    until = time.monotonic() + 2 + args.window + 2
                    heavy += [
                        asyncio.create_task(export(http, server.url, code, secret, load))
                        for code, secret in big
                    ]
                    heavy.append(asyncio.create_task(logins(http, server.url, load, until)))
                    heavy.append(asyncio.create_task(abandon(server.url, big[0][0], load)))
                    await asyncio.sleep(1.0)
                until = time.monotonic() + 1 + args.window + 1
                async with loadgen.jar(server.url) as prober:
                    probing = asyncio.create_task(probe(prober, server.url, phase, until))
                    await burst(pipes, phase, args.window)
                    await probing
                await asyncio.gather(*heavy)
            for pipe in pipes:
                pipe.send(("close", None))
            for pipe in pipes:
                await receive(pipe, "closed", START_TIMEOUT)
    finally:
        for client in screens:
            await client.close()
        stop_loadgens(processes)
        server.stop()
    loads += f" → {os.getloadavg()[0]:.2f}"
    report(phases, load, args, loads)
    if "Traceback" in server.log():
        print(f"the app's log has {server.log().count('Traceback')} tracebacks ({server.log_path})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--ramp", type=float, default=500.0, help="joins per second")
    parser.add_argument("--async-mode", default="eventlet", choices=["eventlet", "gevent"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="samsyn-hostile-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
