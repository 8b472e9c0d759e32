"""The load generator of `bench.scale`: simulated phones speaking Engine.IO 4 / Socket.IO 5
themselves over aiohttp WebSockets, offering per-message deflate as browsers do.

python-socketio's client carries a thread, queues and reconnection logic per connection; a
raw client is a WebSocket and one reader task, so thousands fit in one process. A phone
joins as a browser does: it opens the join link (which sets the participant cookie), then
connects with that cookie and `auth: {"code", "view"}`. It sends its ballot as live.js does:
unanswered, the same command id goes again (reconnecting first if the server dropped the
connection). `bench.scale` runs `worker` in a few processes and talks to each over a pipe
(see `worker` for the messages).

Wire format (python-engineio / python-socketio, text frames only): `0{…}` open, `2` ping →
`3` pong, `40{auth}` connect → `40{"sid"}` or `44{"message"}`, `42["event",data]`, and with
an acknowledgement `42<id>["event",data]` → `43<id>[answer]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import resource
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

# How long a phone may take to join (a browser waits minutes for a page).
JOIN_TIMEOUT = 180.0
# A command as live.js sends it: each attempt waits 10 s for its ack; without one (or when
# the connection dropped) the same command id goes again after a second, on a new connection
# if need be; five timeouts on a connection that stayed up, and it gives up.
ACK_TIMEOUT = 10.0
RESEND_AFTER = 1.0
TIMEOUTS = 5
GIVE_UP = 120.0
# wbits offered for per-message deflate (aiohttp: `compress=15`, what browsers negotiate).
DEFLATE = 15


def _json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def encode_connect(auth: dict[str, Any]) -> str:
    """A Socket.IO CONNECT to the default namespace, with the handshake's `auth`."""
    return "40" + _json(auth)


def encode_event(event: str, data: Any, ack_id: int | None = None) -> str:
    """A Socket.IO EVENT, asking for an acknowledgement when `ack_id` is given."""
    return "42" + ("" if ack_id is None else str(ack_id)) + _json([event, data])


@dataclass(frozen=True)
class Packet:
    """One decoded text frame. `kind` is open, close, ping, pong, noop, connect,
    connect_error, disconnect, event or ack; an event's data stays raw JSON until asked for,
    so phones never parse the states they are sent."""

    kind: str
    raw: str = ""
    event: str | None = None
    ack_id: int | None = None

    def data(self) -> Any:
        """The payload: an event's data, an ack's first argument, a packet's JSON."""
        if not self.raw:
            return None
        parsed = json.loads(self.raw)
        if self.kind == "event":
            return parsed[1] if len(parsed) > 1 else None
        if self.kind == "ack":
            return parsed[0] if parsed else None
        return parsed


_ENGINE = {"0": "open", "1": "close", "2": "ping", "3": "pong", "6": "noop"}
_SOCKET = {"0": "connect", "1": "disconnect", "2": "event", "3": "ack", "4": "connect_error"}


def decode(text: str) -> Packet:
    """Decode an Engine.IO text frame carrying, for messages, a Socket.IO packet on the
    default namespace. Raises ValueError for anything else (binary, other namespaces)."""
    if not text:
        raise ValueError("empty frame")
    if text[0] != "4":
        if text[0] not in _ENGINE:
            raise ValueError(f"unknown Engine.IO packet {text[:20]!r}")
        return Packet(_ENGINE[text[0]], text[1:])
    kind = _SOCKET.get(text[1:2])
    if kind is None:
        raise ValueError(f"unsupported Socket.IO packet {text[:20]!r}")
    body = text[2:]
    if body.startswith("/"):
        raise ValueError(f"not the default namespace: {text[:20]!r}")
    if kind not in ("event", "ack"):
        return Packet(kind, body)
    digits = 0
    while digits < len(body) and body[digits].isdigit():
        digits += 1
    ack_id = int(body[:digits]) if digits else None
    body = body[digits:]
    if kind == "ack":
        return Packet(kind, body, ack_id=ack_id)
    if not body.startswith('["'):
        raise ValueError(f"an event without a name: {text[:20]!r}")
    return Packet(kind, body, event=body[2 : body.index('"', 2)], ack_id=ack_id)


class RefusedError(Exception):
    """The server refused the Socket.IO connection (connect_error) or the join page, or
    closed the connection."""


class Client:
    """One Socket.IO connection: a phone, a board or a console. Events go to `on_event`
    with their arrival time (time.monotonic), acknowledgements to the call awaiting them."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, on_event: Any = None) -> None:
        self.ws = ws
        self.on_event = on_event
        self.cookie = ""
        self.auth: dict[str, Any] = {}
        self.received = Counter[str]()
        self._acks: dict[int, asyncio.Future[tuple[float, Any]]] = {}
        self._next_ack = 0
        loop = asyncio.get_running_loop()
        self._connected: asyncio.Future[None] = loop.create_future()
        self._first_state: asyncio.Future[None] = loop.create_future()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        http: aiohttp.ClientSession,
        base_url: str,
        cookie: str,
        auth: dict[str, Any],
        *,
        on_event: Any = None,
        timeout: float = JOIN_TIMEOUT,
    ) -> Client:
        """Connect as a browser on `base_url` with this cookie; returns once connected and
        the first `state` has arrived."""
        # Naming the workshop as live.js does: behind nginx, a room meets on one process.
        room = f"&workshop={auth['code']}" if "code" in auth else ""
        url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket" + room
        ws = await http.ws_connect(
            url,
            compress=DEFLATE,
            headers={"Cookie": cookie, "Origin": base_url},
            max_msg_size=0,
        )
        client = cls(ws, on_event)
        client.cookie, client.auth = cookie, auth
        try:
            opened = decode(await asyncio.wait_for(ws.receive_str(), timeout))
            if opened.kind != "open":
                raise RefusedError(f"expected an Engine.IO open packet, got {opened.kind}")
            await ws.send_str(encode_connect(auth))
            client._reader = asyncio.create_task(client._read())
            await asyncio.wait_for(asyncio.gather(client._connected, client._first_state), timeout)
        except BaseException:
            await client.close()
            raise
        return client

    async def call(self, event: str, data: Any, timeout: float = ACK_TIMEOUT) -> tuple[float, Any]:
        """Emit with an acknowledgement; returns (when it arrived, the answer)."""
        ack_id, self._next_ack = self._next_ack, self._next_ack + 1
        answered = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = answered
        try:
            try:
                await self.ws.send_str(encode_event(event, data, ack_id))
            except aiohttp.ClientError as error:  # the server closed the connection
                raise RefusedError(f"connection lost: {type(error).__name__}") from None
            return await asyncio.wait_for(answered, timeout)
        finally:
            self._acks.pop(ack_id, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader

    async def _read(self) -> None:
        refusal: Any = None
        try:
            while True:
                message = await self.ws.receive()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break  # closed, closing or an error: the connection is over
                arrived = time.monotonic()
                packet = decode(message.data)
                self.received[packet.event or packet.kind] += 1
                if packet.kind == "ping":
                    await self.ws.send_str("3")
                elif packet.kind == "ack" and packet.ack_id is not None:
                    waiting = self._acks.get(packet.ack_id)
                    if waiting is not None and not waiting.done():
                        waiting.set_result((arrived, packet.data()))
                elif packet.kind == "event":
                    if packet.event == "state" and not self._first_state.done():
                        self._first_state.set_result(None)
                    if self.on_event is not None:
                        self.on_event(packet, arrived)
                elif packet.kind == "connect" and not self._connected.done():
                    self._connected.set_result(None)
                elif packet.kind == "connect_error":
                    refusal = packet.data()
                    break  # whoever still waits hears why, below
                elif packet.kind in ("disconnect", "close"):
                    break
        finally:
            reason = RefusedError(f"connection ended: {self.received.most_common(3)}")
            if self.received["connect_error"]:
                why = refusal.get("message") if isinstance(refusal, dict) else refusal
                reason = RefusedError(f"refused by the server: {why}")
            pending: list[asyncio.Future[Any]] = [self._connected, self._first_state]
            for waiting in [*pending, *self._acks.values()]:
                if not waiting.done():
                    waiting.set_exception(reason)
                    waiting.exception()  # retrieved: nobody may be waiting any more


def jar(base_url: str) -> aiohttp.ClientSession:
    """One HTTP client for many simulated browsers: no shared cookie jar (each phone keeps
    its own cookie), and a new TCP connection per request, as separate phones would have."""
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(),
        connector=aiohttp.TCPConnector(limit=0, force_close=True),
        timeout=aiohttp.ClientTimeout(total=JOIN_TIMEOUT),
    )


def cookie_header(response: aiohttp.ClientResponse) -> str:
    """The Cookie header a browser would send after this response."""
    return "; ".join(f"{name}={morsel.value}" for name, morsel in response.cookies.items())


async def join_phone(http: aiohttp.ClientSession, base_url: str, code: str) -> Client:
    """A phone scanning the QR code: the join page (which sets the cookie), then Socket.IO.
    A page the server was too busy for is loaded again, as retry.js does."""
    while True:
        async with http.get(f"{base_url}/j/{code}") as response:
            await response.read()
            if response.status == 503:
                wait = float(response.headers.get("Retry-After", "5"))
            elif response.status != 200:
                raise RefusedError(f"join page answered {response.status}")
            else:
                cookie = cookie_header(response)
                break
        await asyncio.sleep(wait * (1 + random.random()))
    return await Client.open(http, base_url, cookie, {"code": code, "view": "phone"})


def random_ballot(
    rng: random.Random, factor_ids: list[int], budget: int, cap: int
) -> dict[str, int]:
    """A valid dot ballot: between one dot and the whole budget, at most `cap` on a factor."""
    dots: Counter[int] = Counter()
    for _ in range(rng.randint(1, budget)):
        factor = rng.choice([f for f in factor_ids if dots[f] < cap])
        dots[factor] += 1
    return {str(f): n for f, n in dots.items()}


def raise_file_limit(wanted: int) -> None:
    """Every connection is a file descriptor: lift the soft limit towards `wanted`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def cpu_seconds() -> float:
    """CPU time this process has used (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- A worker process -----------------------------------------------------------------------


def worker(conn: Connection) -> None:
    """Drive this process's share of the phones, step by step as `bench.scale` says.

    Messages: → ("ready", None); ← ("plan", plan); → ("joined", {...}); then any number of
    ← ("vote", {"t0", "window", "phase"?}) → ("voted", {...}); ← ("close", None);
    → ("closed", {...}). A phase names the burst's command ids, so that a second burst is
    new ballots, not resends. Any failure →
    ("error", traceback). The plan: url, code, indices (the global numbers of this process's
    phones), ramp (joins per second over all processes), start_at (time.monotonic of the
    first join), seed, round_id, factor_ids, budget, cap.
    """
    try:
        conn.send(("ready", None))
        command, plan = conn.recv()
        assert command == "plan", command
        raise_file_limit(len(plan["indices"]) + 256)
        asyncio.run(_work(conn, plan))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        raise


Sample = tuple[int, float, float | None, int | None, str, int, int]


class Phones:
    """This process's share of the phones: one HTTP client, a connection per phone."""

    def __init__(self, http: aiohttp.ClientSession, plan: dict[str, Any]) -> None:
        self.http = http
        self.plan = plan
        self.clients: dict[int, Client] = {}
        self.failures: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.samples: list[Sample] = []
        self.totals: Counter[str] = Counter()

    async def join(self, index: int) -> None:
        """Phone `index` joins at its moment of the ramp."""
        at = self.plan["start_at"] + index / self.plan["ramp"]
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        started = time.monotonic()
        try:
            self.clients[index] = await asyncio.wait_for(
                join_phone(self.http, self.plan["url"], self.plan["code"]), JOIN_TIMEOUT
            )
        except Exception as error:
            self.failures[f"{type(error).__name__}: {error}"[:120]] += 1
            return
        self.latencies.append(time.monotonic() - started)

    async def vote(self, index: int, t0: float, window: float, phase: str = "v") -> None:
        """Phone `index` casts its ballot at a random moment of the window and sends it as
        live.js does until answered. Its sample: (phone, first sent, answered, version,
        outcome, attempts, reconnections)."""
        plan = self.plan
        rng = random.Random(plan["seed"] * 1_000_003 + index)
        entries = random_ballot(rng, plan["factor_ids"], plan["budget"], plan["cap"])
        await asyncio.sleep(max(0.0, t0 + rng.uniform(0, window) - time.monotonic()))
        payload = {
            "command_id": f"{phase}{index}",
            "round_id": plan["round_id"],
            "entries": entries,
        }
        sent = time.monotonic()
        attempts = reconnects = timeouts = 0
        outcome = "unanswered"
        while time.monotonic() - sent < GIVE_UP and timeouts < TIMEOUTS:
            phone = self.clients[index]
            attempts += 1
            try:
                acked, answer = await phone.call("ballot.submit", payload)
            except TimeoutError:
                timeouts += 1
                outcome = f"no ack within {ACK_TIMEOUT:g} s"
            except RefusedError as error:
                outcome = str(error)
                await asyncio.sleep(RESEND_AFTER)
                reconnects += 1
                with contextlib.suppress(Exception):
                    self.clients[index] = await Client.open(
                        self.http, plan["url"], phone.cookie, phone.auth
                    )
                continue
            else:
                if answer.get("ok"):
                    self.totals.update(entries)
                    version, outcome = answer["version"], "ok"
                else:
                    version, outcome = None, answer["error"]["code"]
                self.samples.append((index, sent, acked, version, outcome, attempts, reconnects))
                return
            await asyncio.sleep(RESEND_AFTER)
        self.samples.append((index, sent, None, None, outcome, attempts, reconnects))

    async def close(self) -> Counter[str]:
        """Close every connection; what the phones received, by event."""
        received: Counter[str] = Counter()
        for client in self.clients.values():
            received.update(client.received)
        await asyncio.gather(*(c.close() for c in self.clients.values()))
        return received


async def _work(conn: Connection, plan: dict[str, Any]) -> None:
    cpu_start = cpu_seconds()
    async with jar(plan["url"]) as http:
        phones = Phones(http, plan)
        await asyncio.gather(*(phones.join(i) for i in plan["indices"]))
        joined = {
            "connected": len(phones.clients),
            "failures": dict(phones.failures),
            "latencies": phones.latencies,
            "done_at": time.monotonic(),
            "cpu": cpu_seconds() - cpu_start,
        }
        conn.send(("joined", joined))

        vote_cpu = 0.0
        while True:  # one burst, or several (bench.hostile votes at rest, then under load)
            command, go = await asyncio.to_thread(conn.recv)
            if command == "close":
                break
            assert command == "vote", command
            cpu_start = cpu_seconds()
            phones.samples, phones.totals = [], Counter()
            await asyncio.gather(
                *(
                    phones.vote(i, go["t0"], go["window"], go.get("phase", "v"))
                    for i in list(phones.clients)
                )
            )
            conn.send(("voted", {"samples": phones.samples, "totals": dict(phones.totals)}))
            vote_cpu += cpu_seconds() - cpu_start
        received = await phones.close()
    conn.send(("closed", {"cpu_votes": vote_cpu, "received": dict(received)}))
