"""A facilitator editing while thousands of phones watch: the room's state sent to every
phone (issue #20).

For each size N the app (`app.py` with the README's settings, SQLite in a temporary
directory) and then the baseline (`bench/baseline_server.py`: the same event loop and
serving settings, phones sent every factor as written, no logic) are started afresh on the
same machine. A workshop is created with the factor library's trends as its factors
(Swedish titles and descriptions); N phones join through the join link and connect over
WebSocket offering per-message deflate as browsers do (`bench/loadgen.py`); then the console
adds ADDS factors, one every PAUSE seconds, as a facilitator typing in the room's
suggestions. Both send a room's phones its state at most every PHONE_INTERVAL.

Printed for both and their ratio: the states the phones received; the server's CPU from the
first addition until every phone had the last, in all and per state a phone received; how
long after each addition was acknowledged the phones had a state with it (p50, p95, the
latest); the size of the last state, as sent before compression; peak RSS.

    python -m bench.broadcast [--sizes 1000,3000] [--adds 20] [--async-mode eventlet|gevent]

The load generator (one process here) shares the machine's cores with the server; figures
are only as quiet as the machine is (the load average at the start is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import Client, Packet, cookie_header, jar, join_phone, raise_file_limit
from bench.scale import Server, percentile, ratio, show

ADDS = 20
PAUSE = 0.25
# Phones joining at once (the join itself is measured by bench.scale, not here).
JOINING = 40
# The longest the phones may take to have the last addition.
SETTLE = 60.0
LIBRARY = Path(__file__).resolve().parent.parent / "facilitation/core/data/factor_library.json"


def trends() -> list[dict[str, str]]:
    """The factor library's trends, as a Swedish workshop's factors."""
    library = json.loads(LIBRARY.read_text(encoding="utf-8"))["municipal_trends"]
    return [
        {"title": t["sv"]["title"], "description": t["sv"]["description"], "category": c["sv"]}
        for c in library
        for t in c["trends"]
    ]


def marker(number: int) -> str:
    """What an added factor's title ends with: plain ASCII, found in the raw JSON."""
    return f"(tillagd {number})"


@dataclass
class Figures:
    phones: int
    states: int = 0
    cpu: float = 0.0
    delays: list[float] = field(default_factory=list)
    state_bytes: int = 0
    rss: int = 0


class Phone:
    """Counts the states a phone receives and when each addition first appears in one."""

    def __init__(self, acked: list[float], figures: Figures) -> None:
        self.acked, self.figures = acked, figures
        self.seen = 0  # additions seen, in order: each state holds every earlier one

    def __call__(self, packet: Packet, arrived: float) -> None:
        if packet.event != "state" or not self.acked:
            return
        self.figures.states += 1
        self.figures.state_bytes = len(packet.raw.encode())
        while self.seen < len(self.acked) and marker(self.seen) in packet.raw:
            self.figures.delays.append(arrived - self.acked[self.seen])
            self.seen += 1


async def measure(server: Server, n: int, adds: int) -> Figures:
    figures = Figures(n)
    factors = trends()
    async with jar(server.url) as http:
        body = {"title": "Bench", "language": "sv", "factors": factors}
        async with http.post(f"{server.url}/api/workshops", json=body) as response:
            created = await response.json()
        async with http.get(created["facilitator_url"], allow_redirects=False) as response:
            cookie = cookie_header(response)
        code = created["code"]
        console = await Client.open(http, server.url, cookie, {"code": code, "view": "console"})
        _, answer = await console.call("state.get", {})
        categories = answer["data"]["state"].get("categories") or [{"id": None}]
        acked: list[float] = []
        phones: list[Phone] = []
        clients: list[Client] = []
        joining = asyncio.Semaphore(JOINING)

        async def join() -> None:
            async with joining:
                client = await join_phone(http, server.url, code)
            phone = Phone(acked, figures)
            client.on_event = phone
            phones.append(phone)
            clients.append(client)

        try:
            await asyncio.gather(*(join() for _ in range(n)))
            await asyncio.sleep(2)  # the joins' own broadcasts are over
            before = server.cpu_seconds()
            for number in range(adds):
                source = factors[number % len(factors)]
                payload = {
                    "command_id": uuid.uuid4().hex,
                    "title": f"{source['title']} {marker(number)}",
                    "description": source["description"],
                    "category_id": categories[number % len(categories)]["id"],
                }
                arrived, answer = await console.call("factor.add", payload)
                if not answer["ok"]:
                    raise RuntimeError(f"factor.add: {answer}")
                acked.append(arrived)
                await asyncio.sleep(PAUSE)
            deadline = time.monotonic() + SETTLE
            while any(p.seen < adds for p in phones) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            figures.cpu = server.cpu_seconds() - before
            figures.rss = server.peak_rss()
            missing = sum(adds - p.seen for p in phones)
            if missing:
                print(f"  {server.kind}: {missing} additions never reached a phone")
        finally:
            await asyncio.gather(*(c.close() for c in clients), console.close())
    return figures


def run(kind: str, n: int, adds: int, async_mode: str) -> Figures:
    with tempfile.TemporaryDirectory(prefix="samsyn-broadcast-") as directory:
        server = Server(kind, async_mode, Path(directory))
        server.start()
        try:
            return asyncio.run(measure(server, n, adds))
        finally:
            server.stop()


def per_state(figures: Figures) -> float | None:
    """The server's CPU a state a phone received, in µs."""
    return figures.cpu / figures.states * 1e6 if figures.states else None


def print_block(app: Figures, base: Figures) -> None:
    rows: list[tuple[str, Callable[[Figures], float | None], str]] = [
        ("states the phones received", lambda f: f.states, "n"),
        ("server CPU while editing", lambda f: f.cpu, "s"),
        ("server CPU a state received, µs", per_state, "n"),
        ("addition → phones p50", lambda f: percentile(f.delays, 50), "s"),
        ("addition → phones p95", lambda f: percentile(f.delays, 95), "s"),
        ("addition → phones, the latest", lambda f: max(f.delays, default=None), "s"),
        ("the last state's size, bytes", lambda f: f.state_bytes, "n"),
        ("server peak RSS", lambda f: f.rss / 2**20, "MiB"),
    ]
    print(f"\n{app.phones:,} phones{'':24}{'app':>12}{'baseline':>12}{'ratio':>8}")
    for label, figure, kind in rows:
        a, b = figure(app), figure(base)
        print(f"{label:<36}{show(a, kind):>12}{show(b, kind):>12}{ratio(a, b):>8}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(s) for s in text.split(",")],
        default=[1000, 3000],
        help="phones per run, comma-separated (default 1000,3000)",
    )
    parser.add_argument("--adds", type=int, default=ADDS, help=f"factors added ({ADDS})")
    parser.add_argument("--async-mode", choices=["eventlet", "gevent"], default="eventlet")
    args = parser.parse_args(argv)
    raise_file_limit(max(args.sizes) + 1024)
    print(
        f"bench.broadcast: {platform.node()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {args.async_mode}, {len(trends())} factors and "
        f"{args.adds} added, one every {PAUSE:g} s; load average {os.getloadavg()[0]:.2f} at start"
    )
    for n in args.sizes:
        app = run("app", n, args.adds, args.async_mode)
        base = run("baseline", n, args.adds, args.async_mode)
        print_block(app, base)


if __name__ == "__main__":
    main()
