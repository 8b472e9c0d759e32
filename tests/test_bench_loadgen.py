"""The scale benchmark's own parts: its raw Socket.IO client speaks the same packets as
python-socketio and python-engineio, and vote → board delays are matched to the right board
state, and a factor added reaches a phone with the first state that has it (`bench.broadcast`);
PostgreSQL's lock waits and CPU are measured; each process's phones, ballots and event loop
delays are read from its metrics. (The benchmark's figures are printed by
`python -m bench.scale`, never asserted.)"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from engineio import packet as eio
from socketio import packet as sio
from sqlalchemy import NullPool, create_engine, text

from bench import broadcast
from bench.loadgen import decode, encode_connect, encode_event
from bench.lockwaits import LockWaits
from bench.process import cpu_seconds, postgres_cpu_seconds
from bench.scale import Figures, board_delays, read_metrics
from facilitation.infrastructure.db import normalise_url
from facilitation.infrastructure.metrics import Metrics


def wire(packet_type: int, data: Any = None, ack_id: int | None = None) -> str:
    """A Socket.IO packet on the default namespace as python-socketio puts it on the wire."""
    encoded = sio.Packet(packet_type, data=data, id=ack_id).encode()
    return str(eio.Packet(eio.MESSAGE, data=encoded).encode())


def test_what_the_phones_send_is_what_python_socketio_would_send() -> None:
    auth = {"code": "K7M3QZ", "view": "phone"}
    assert encode_connect(auth) == wire(sio.CONNECT, auth)
    ballot = {"command_id": "v1", "round_id": 3, "entries": {"41": 2, "57": 1}}
    assert encode_event("ballot.submit", ballot, 12) == wire(
        sio.EVENT, ["ballot.submit", ballot], 12
    )
    assert encode_event("state.get", {}) == wire(sio.EVENT, ["state.get", {}])
    # What the server reads back: the event, its data and the id to acknowledge.
    parsed = sio.Packet(encoded_packet=encode_event("ballot.submit", ballot, 0)[1:])
    assert (parsed.packet_type, parsed.id, parsed.data) == (
        sio.EVENT,
        0,
        ["ballot.submit", ballot],
    )


def test_what_the_server_sends_is_decoded() -> None:
    opened = decode(str(eio.Packet(eio.OPEN, {"sid": "a", "pingInterval": 25000}).encode()))
    assert opened.kind == "open" and opened.data()["pingInterval"] == 25000
    assert decode(str(eio.Packet(eio.PING).encode())).kind == "ping"
    assert decode(wire(sio.CONNECT, {"sid": "b"})).kind == "connect"
    refused = decode(wire(sio.CONNECT_ERROR, {"message": "not_joined"}))
    assert refused.kind == "connect_error" and refused.data() == {"message": "not_joined"}

    state = {"version": 7, "title": 'Tricky "quoted" ] [ text', "n": [1, 2]}
    event = decode(wire(sio.EVENT, ["state", state]))
    assert (event.kind, event.event, event.ack_id, event.data()) == ("event", "state", None, state)
    answer = {"ok": True, "version": 9, "data": {"round_id": 3}}
    ack = decode(wire(sio.ACK, [answer], 123))
    assert (ack.kind, ack.ack_id, ack.data()) == ("ack", 123, answer)


@pytest.mark.parametrize("frame", ["", "9", "45[]", '42/admin,["x"]', "42{}"])
def test_what_the_client_cannot_read_is_an_error(frame: str) -> None:
    with pytest.raises(ValueError):
        decode(frame)


def test_a_vote_reaches_the_board_with_the_first_state_that_includes_it() -> None:
    # A presence-only resend may carry an older version than one already shown.
    arrivals = [(1.0, 5), (1.1, 3), (1.2, 9), (1.3, 9)]
    acks = [(0.95, 4), (1.05, 5), (1.0, 8), (1.25, 9), (1.3, 10)]
    delays = board_delays(acks, arrivals)
    assert delays[0] == pytest.approx(0.05)
    assert delays[1] == 0.0  # the board had it before the phone had its ack
    assert delays[2] == pytest.approx(0.2)
    assert delays[3] == 0.0
    assert delays[4] is None  # never shown


def test_an_addition_reaches_a_phone_with_the_first_state_that_has_it() -> None:
    figures = broadcast.Figures(phones=1)
    acked: list[float] = []
    phone = broadcast.Phone(acked, figures)

    def state(arrived: float, *added: int) -> int:
        titles = [f"Faktor {broadcast.marker(n)}" for n in added]
        packet = decode(encode_event("state", {"factors": titles}))
        phone(packet, arrived)
        return len(packet.raw)

    state(0.5)  # before any addition: not counted
    acked += [1.0, 1.2]
    state(1.1, 0)
    state(1.3, 0)  # the second addition is not in it yet
    state(1.6, 0, 1)
    acked.append(1.7)
    size = state(2.0, 0, 1, 2)
    assert figures.delays == pytest.approx([0.1, 0.4, 0.3])
    assert figures.states == 4 and phone.seen == 3 and figures.state_bytes == size


@pytest.mark.postgres
def test_the_lock_waits_postgresql_saw_are_sampled(postgres_database: str) -> None:
    """A statement kept waiting for a row lock for 0.4 s is seen, as lasting over 100 ms;
    a row locked by nobody else costs no wait."""
    engine = create_engine(normalise_url(postgres_database), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS locked (id int PRIMARY KEY)"))
        connection.execute(text("INSERT INTO locked VALUES (1), (2) ON CONFLICT DO NOTHING"))
    waiting = threading.Event()

    def wait_for_row() -> None:
        with engine.begin() as connection:
            waiting.set()
            connection.execute(text("SELECT id FROM locked WHERE id = 1 FOR UPDATE"))

    with LockWaits(postgres_database) as waits:
        with engine.begin() as holder:
            holder.execute(text("SELECT id FROM locked WHERE id = 1 FOR UPDATE"))
            other = threading.Thread(target=wait_for_row)
            other.start()
            waiting.wait(5)
            time.sleep(0.4)
        other.join(5)
        with engine.begin() as alone:  # nobody holds row 2
            alone.execute(text("SELECT id FROM locked WHERE id = 2 FOR UPDATE"))
        time.sleep(0.05)
    engine.dispose()
    assert waits.error is None
    assert len(waits.waits) == 1
    assert waits.over(0.1) == 1
    assert 0.1 < waits.longest() < 5


@pytest.mark.postgres
def test_postgresql_cpu_counts_a_backend_after_it_ended(postgres_database: str) -> None:
    """The benchmark prices PostgreSQL's share of a join: a backend's CPU is counted while it
    runs and still after its connection closed (the postmaster reaped it)."""
    engine = create_engine(normalise_url(postgres_database), poolclass=NullPool)
    before = postgres_cpu_seconds()
    with engine.connect() as connection:
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
        if not Path(f"/proc/{pid}").exists():
            pytest.skip("PostgreSQL runs on another machine")
        connection.scalar(text("SELECT sum(i) FROM generate_series(1, 2000000) AS i"))
        spent = cpu_seconds(pid)
    engine.dispose()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the postmaster has reaped it
    assert spent > 0.1
    # Other tests may use the server meanwhile: its CPU only rises more.
    assert postgres_cpu_seconds() - before >= spent - 0.02


@contextlib.contextmanager
def serve(body: bytes) -> Iterator[str]:
    """A URL whose /metrics answers `body`, as an app process's does."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def processes() -> Iterator[list[str]]:
    """Two processes' metrics: 3 phones, 2 ballots and three wakes of the ticker (one
    0.3 s late) on one; 1 phone, 1 ballot (and a refused one) and one wake 1.7 s late on
    the other."""
    first, second = Metrics(), Metrics()
    first.connections.labels(view="phone").set(3)
    first.connections.labels(view="board").set(1)
    first.commands.labels(command="ballot.submit", outcome="ok").inc(2)
    for late in (0.001, 0.002, 0.3):
        first.event_loop_lag.observe(late)
    second.event_loop_lag.observe(1.7)
    second.connections.labels(view="phone").set(1)
    second.commands.labels(command="ballot.submit", outcome="ok").inc()
    second.commands.labels(command="ballot.submit", outcome="refused").inc()
    second.commands.labels(command="factor.add", outcome="ok").inc(5)
    with serve(first.exposition()) as one, serve(second.exposition()) as other:
        yield [one, other]


def test_each_process_phones_and_ballots_are_read_from_its_metrics(
    processes: list[str],
) -> None:
    figures = Figures(phones=4, workers=1)
    read_metrics(processes, figures)
    assert figures.phones_each == [3, 1]
    assert figures.ballots_each == [2, 1]


def test_the_event_loops_delays_are_added_up_over_the_processes(processes: list[str]) -> None:
    figures = Figures(phones=4, workers=1)
    read_metrics(processes, figures)
    assert figures.loop_wakes == 4
    assert figures.loop_lags_over == 2
    assert figures.loop_lag_max == 2.5  # the bucket holding the latest, 1.7 s
