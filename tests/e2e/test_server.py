"""A real server process (eventlet and gevent) with real clients: many phones voting at
once, reconnects, repeated commands, the Origin check, the QR code, a crash and restart, a
round closing while ballots arrive, and compressed WebSocket messages."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import os
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import socketio
import zxingcpp
from PIL import Image

from bench import loadgen

from .conftest import Clients, Peer, Server, Workshop, command_id, create_workshop

pytestmark = pytest.mark.e2e

EVIL = "https://evil.example"


def connect_phones(clients: Clients, code: str, n: int, **options: Any) -> list[Peer]:
    """n new participants, each joined and connected, in parallel."""
    with ThreadPoolExecutor(max_workers=min(n, 25)) as pool:
        return list(pool.map(lambda _: clients.phone(code, **options)[1], range(n)))


def all_at_once(n: int, work: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    """Run work(i, barrier) in n threads; each calls barrier.wait() to start together."""
    barrier = threading.Barrier(n)
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(work, i, barrier) for i in range(n)]
        return [future.result(timeout=120) for future in futures]


def random_ballot(rng: random.Random, factor_ids: list[int], budget: int, cap: int) -> dict:
    """A valid dot ballot: between one dot and the whole budget, at most `cap` on a factor."""
    dots: Counter[int] = Counter()
    for _ in range(rng.randint(1, budget)):
        factor = rng.choice([f for f in factor_ids if dots[f] < cap])
        dots[factor] += 1
    return {str(f): n for f, n in dots.items()}


def summed(ballots: list[dict[str, int]], factor_ids: list[int]) -> dict[int, int]:
    """Dot totals per factor (every factor, zero included) over these ballots."""
    totals = dict.fromkeys(factor_ids, 0)
    for entries in ballots:
        for factor, dots in entries.items():
            totals[int(factor)] += dots
    return totals


def totals_of(results: dict[str, Any]) -> dict[int, int]:
    return {row["factor_id"]: row["dots"] for row in results["factors"]}


def exported_round(workshop: Workshop, round_id: int) -> dict[str, Any]:
    document = workshop.export("json").json()
    assert document["schema"] == "samsyn.workshop"
    return next(r for r in document["rounds"] if r["round_id"] == round_id)


def exported_csv_dots(workshop: Workshop) -> dict[str, int]:
    """Dots per factor title from the CSV export (a Swedish workshop: semicolons, "Faktor",
    "Prickar"; the workshop holds one dots round)."""
    response = workshop.export("csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    return {row["Faktor"]: int(row["Prickar"]) for row in rows if row["Prickar"] != ""}


def test_fifty_participants_voting_at_once_give_exact_totals(
    clients: Clients, workshop: Workshop
) -> None:
    phones_n, budget, cap = 50, 5, 3
    factors = workshop.factor_ids()
    ids = list(factors.values())
    board = workshop.connect("board")
    round_id = workshop.open_dots(budget, cap)
    phones = connect_phones(clients, workshop.code, phones_n)
    rng = random.Random(2030)
    ballots = [random_ballot(rng, ids, budget, cap) for _ in phones]

    def vote(i: int, barrier: threading.Barrier) -> dict[str, Any]:
        barrier.wait(timeout=30)
        return phones[i].send("ballot.submit", round_id=round_id, entries=ballots[i])

    answers = all_at_once(phones_n, vote)
    assert all(a["ok"] for a in answers), [a for a in answers if not a["ok"]]
    assert [a["data"]["entries"] for a in answers] == ballots
    # Every vote bumped the version once.
    assert len({a["version"] for a in answers}) == phones_n
    expected = summed([a["data"]["entries"] for a in answers], ids)

    board.wait_for("state", lambda s: s["participation"] == {"joined": phones_n, "voted": phones_n})
    workshop.console.ok("round.close", round_id=round_id)
    workshop.console.ok("round.reveal", round_id=round_id)

    results = workshop.console.state()["state"]["results"]
    assert results["round_id"] == round_id
    assert results["ballots"] == phones_n
    assert totals_of(results) == expected
    exported = exported_round(workshop, round_id)
    assert exported["state"] == "revealed"
    assert exported["ballots"] == phones_n
    assert totals_of(exported) == expected
    assert exported_csv_dots(workshop) == {title: expected[f] for title, f in factors.items()}
    # The board converges on the same totals from the states it is sent.
    shown = board.wait_for(
        "state",
        lambda s: (
            s["results"] is not None
            and s["results"]["round_id"] == round_id
            and totals_of(s["results"]) == expected
        ),
    )
    assert shown["participation"] == {"joined": phones_n, "voted": phones_n}
    assert shown["connected"] == phones_n


def test_a_reconnecting_participant_gets_their_own_votes_back(
    clients: Clients, workshop: Workshop
) -> None:
    urban, old = list(workshop.factor_ids().values())[:2]
    round_id = workshop.open_dots(3, 2)
    http, phone = clients.phone(workshop.code)
    me = phone.wait_for("me", lambda m: True)
    assert me["ballot"] == {"round_id": round_id, "entries": {}}
    number = me["participant"]["number"]
    entries = {str(urban): 2, str(old): 1}
    assert phone.ok("ballot.submit", round_id=round_id, entries=entries)["entries"] == entries
    clients.phone(workshop.code)  # someone else joins meanwhile
    joined = workshop.console.state()["state"]["participation"]["joined"]
    assert joined == 2

    phone.disconnect()
    again = clients.connect(http, workshop.code, "phone", transports=("polling",))
    me = again.wait_for("me", lambda m: True)
    assert me["ballot"] == {"round_id": round_id, "entries": entries}
    assert me["participant"]["number"] == number
    assert again.state()["me"]["ballot"] == me["ballot"]
    participation = workshop.console.state()["state"]["participation"]
    assert participation == {"joined": joined, "voted": 1}
    # And goes on as the same participant: a changed ballot replaces the first.
    changed = {str(old): 2}
    again.ok("ballot.submit", round_id=round_id, entries=changed)
    assert workshop.console.state()["state"]["participation"] == {"joined": joined, "voted": 1}
    workshop.console.ok("round.close", round_id=round_id)
    results = workshop.console.state()["state"]["results"]
    assert (totals_of(results)[urban], totals_of(results)[old]) == (0, 2)


def test_a_repeated_command_id_is_not_counted_twice(clients: Clients, workshop: Workshop) -> None:
    console = workshop.console
    console.ok("step.set", step="complete")
    sociala = workshop.category_id("Sociala")
    http, phone = clients.phone(workshop.code)
    twin = clients.connect(http, workshop.code, "phone")  # the same person, a second tab

    def factor_count() -> int:
        return len(console.state()["state"]["factors"])

    def same_from_two_threads(peers: tuple[Peer, Peer], name: str, payload: dict) -> Any:
        def send(i: int, barrier: threading.Barrier) -> Any:
            barrier.wait(timeout=10)
            return peers[i].call(name, payload)

        first, second = all_at_once(2, send)
        assert first["ok"], first
        assert second == first
        return first

    before = factor_count()
    propose_1 = {"command_id": "propose-1", "title": "Besöksnäring", "category_id": sociala}
    proposed_1 = phone.call("factor.propose", propose_1)
    assert proposed_1["ok"], proposed_1
    assert phone.call("factor.propose", propose_1) == proposed_1
    assert factor_count() == before + 1
    propose_2 = {"command_id": "propose-2", "title": "Ensamhet bland äldre", "category_id": sociala}
    proposed_2 = same_from_two_threads((phone, twin), "factor.propose", propose_2)
    assert factor_count() == before + 2

    ids = list(workshop.factor_ids().values())
    a, b = ids[0], ids[1]
    round_id = workshop.open_dots(3, 3)
    ballot_1 = {"command_id": "ballot-1", "round_id": round_id, "entries": {str(a): 3}}
    voted_1 = phone.call("ballot.submit", ballot_1)
    assert voted_1["ok"], voted_1
    assert phone.call("ballot.submit", ballot_1) == voted_1
    ballot_2 = {"command_id": "ballot-2", "round_id": round_id, "entries": {str(b): 2}}
    voted_2 = phone.call("ballot.submit", ballot_2)
    assert voted_2["ok"], voted_2
    # Replaying the first ballot's id answers as then and does not bring it back.
    assert phone.call("ballot.submit", ballot_1) == voted_1
    assert phone.state()["me"]["ballot"]["entries"] == {str(b): 2}
    # Both the same socket from two threads, and two tabs at the same moment.
    ballot_3 = {
        "command_id": "ballot-3",
        "round_id": round_id,
        "entries": {str(a): 1, str(b): 1},
    }
    voted_3 = same_from_two_threads((phone, phone), "ballot.submit", ballot_3)
    ballot_4 = {"command_id": "ballot-4", "round_id": round_id, "entries": {str(a): 2}}
    voted_4 = same_from_two_threads((phone, twin), "ballot.submit", ballot_4)
    assert phone.state()["me"]["ballot"]["entries"] == {str(a): 2}

    # After a reconnect, every earlier id gets its first answer and changes nothing.
    phone.disconnect()
    twin.disconnect()
    again = clients.connect(http, workshop.code, "phone")
    state = console.state()["state"]
    replays = [
        ("factor.propose", propose_1, proposed_1),
        ("factor.propose", propose_2, proposed_2),
        ("ballot.submit", ballot_1, voted_1),
        ("ballot.submit", ballot_2, voted_2),
        ("ballot.submit", ballot_3, voted_3),
        ("ballot.submit", ballot_4, voted_4),
    ]
    for name, payload, answer in replays:
        assert again.call(name, payload) == answer, payload["command_id"]
    after = console.state()["state"]
    assert after["version"] == state["version"]  # nothing changed, nothing was bumped
    assert len(after["factors"]) == before + 2
    assert after["participation"] == {"joined": 1, "voted": 1}
    assert again.state()["me"]["ballot"]["entries"] == {str(a): 2}
    assert [p["title"] for p in again.state()["me"]["proposals"]] == [
        "Besöksnäring",
        "Ensamhet bland äldre",
    ]
    console.ok("round.close", round_id=round_id)
    results = console.state()["state"]["results"]
    assert results["ballots"] == 1
    assert totals_of(results) == summed([{str(a): 2}], [f["id"] for f in after["factors"]])


def test_a_foreign_origin_is_refused_and_the_own_origin_accepted(
    server: Server, clients: Clients, workshop: Workshop
) -> None:
    handshake = f"{server.url}/socket.io/?EIO=4&transport=polling"
    foreign = requests.get(handshake, headers={"Origin": EVIL}, timeout=10)
    assert foreign.status_code == 400, foreign.text
    assert '"sid"' not in foreign.text
    for headers in ({"Origin": server.url}, {}):
        own = requests.get(handshake, headers=headers, timeout=10)
        assert own.status_code == 200, (headers, own.text)
        assert '"sid"' in own.text

    # A real client with a participant's cookie: refused from a foreign page, over both
    # transports; accepted from the app's own.
    http = clients.join(workshop.code)
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(
            http, workshop.code, "phone", transports=("polling",), headers={"Origin": EVIL}
        )
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients.connect(
            http,
            workshop.code,
            "phone",
            transports=("websocket",),
            headers={"Origin": EVIL},
            # Send only our Origin: websocket-client adds its own otherwise.
            websocket_extra_options={"suppress_origin": True},
        )
    with pytest.raises(socketio.exceptions.ConnectionError):
        workshop.connect("console", transports=("polling",), headers={"Origin": EVIL})
    assert workshop.console.state()["state"]["participation"]["joined"] == 0
    own = clients.connect(
        http, workshop.code, "phone", transports=("polling",), headers={"Origin": server.url}
    )
    assert own.wait_for("me", lambda m: True)["participant"]["number"] == 1
    default = clients.connect(http, workshop.code, "phone")  # websocket, its own Origin
    assert default.wait_for("me", lambda m: True)["participant"]["number"] == 1


def test_the_qr_code_decodes_to_the_join_url(server: Server, clients: Clients) -> None:
    created = create_workshop(server.url)
    join_url = created["join_url"]
    assert join_url == f"{server.url}/j/{created['code']}"
    png = requests.get(created["qr_png_url"], timeout=10)
    assert png.status_code == 200
    assert png.headers["Content-Type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [barcode.text for barcode in decoded] == [join_url]
    assert decoded[0].format == zxingcpp.BarcodeFormat.QRCode
    svg = requests.get(created["qr_svg_url"], timeout=10)
    assert svg.status_code == 200
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    assert "<svg" in svg.text
    # The URL in the code really is the phone's way in.
    http = clients.join(created["code"])
    assert http.get(join_url, timeout=10).status_code == 200


def test_a_restart_loses_nothing(server: Server, clients: Clients, workshop: Workshop) -> None:
    ids = list(workshop.factor_ids().values())
    round_id = workshop.open_dots(4, 2)
    reconnecting = {
        "reconnection": True,
        "reconnection_delay": 0.1,
        "reconnection_delay_max": 0.5,
    }
    phones = connect_phones(clients, workshop.code, 5, **reconnecting)
    numbers = [p.wait_for("me", lambda m: True)["participant"]["number"] for p in phones]
    acked: list[dict[str, int]] = []
    versions = []
    rng = random.Random(7)
    for phone in phones:
        answer = phone.send(
            "ballot.submit", round_id=round_id, entries=random_ballot(rng, ids, 4, 2)
        )
        assert answer["ok"], answer
        acked.append(answer["data"]["entries"])
        versions.append(answer["version"])
    changed = phones[0].send("ballot.submit", round_id=round_id, entries={str(ids[-1]): 2})
    assert changed["ok"], changed
    acked[0] = changed["data"]["entries"]
    versions.append(changed["version"])
    before = workshop.console.state()["state"]
    assert before["version"] >= max(versions)
    seen = [len(p.received("me")) for p in phones]

    server.stop(kill=True)
    server.start()

    # The phones reconnect by themselves and get their own ballots back.
    for phone, count, entries, number in zip(phones, seen, acked, numbers, strict=True):
        me = phone.wait_for("me", lambda m: True, after=count, timeout=20)
        assert me["ballot"] == {"round_id": round_id, "entries": entries}
        assert me["participant"]["number"] == number
        assert me["version"] >= before["version"]
    workshop.console = console = workshop.connect("console")
    after = console.state()["state"]
    assert after["version"] >= before["version"]
    assert after["round"]["id"] == round_id and after["round"]["state"] == "open"
    assert after["participation"] == {"joined": 5, "voted": 5}
    console.ok("round.close", round_id=round_id)
    reveal = console.send("round.reveal", round_id=round_id)
    assert reveal["ok"], reveal
    assert reveal["version"] > before["version"]
    expected = summed(acked, ids)
    assert totals_of(console.state()["state"]["results"]) == expected
    assert totals_of(exported_round(workshop, round_id)) == expected


def test_closing_a_round_while_votes_arrive_counts_each_ballot_once_or_not_at_all(
    clients: Clients, workshop: Workshop
) -> None:
    """Twenty phones send ballot after ballot (each replacing their last) while the console
    closes the round. Each answer is ok (and that ballot stands until the same phone's next)
    or round_closed (and nothing changes); no phone gets ok after round_closed; the totals
    are those of each phone's last acknowledged ballot."""
    phones_n, budget, cap = 20, 3, 2
    ids = list(workshop.factor_ids().values())
    round_id = workshop.open_dots(budget, cap)
    phones = connect_phones(clients, workshop.code, phones_n)
    accepted = Counter[str]()
    lock = threading.Lock()
    enough = threading.Event()

    def vote(i: int, barrier: threading.Barrier) -> list[tuple[dict, dict]]:
        barrier.wait(timeout=30)
        sent = []
        for k in range(500):
            entries = {str(ids[(i + k) % len(ids)]): 1 + k % cap}
            if k % 3 == 0:
                entries[str(ids[(i + k + 1) % len(ids)])] = 1
            answer = phones[i].send("ballot.submit", round_id=round_id, entries=entries)
            sent.append((entries, answer))
            if not answer["ok"]:
                break
            with lock:
                accepted["ok"] += 1
                if accepted["ok"] >= 3 * phones_n:
                    enough.set()
        return sent

    def work(i: int, barrier: threading.Barrier) -> Any:
        if i < phones_n:
            return vote(i, barrier)
        barrier.wait(timeout=30)
        assert enough.wait(timeout=60), "the phones' ballots did not get through"
        return workshop.console.send("round.close", round_id=round_id)

    *logs, closed = all_at_once(phones_n + 1, work)
    assert closed["ok"], closed
    last_ok = []
    for log in logs:
        answers = [answer for _, answer in log]
        assert all(a["ok"] for a in answers[:-1])
        assert not answers[-1]["ok"], "a phone never saw the round close"
        assert answers[-1]["error"]["code"] == "round_closed", answers[-1]
        assert all(a["version"] < closed["version"] for a in answers[:-1])
        oks = [answer["data"]["entries"] for entries, answer in log if answer["ok"]]
        assert oks == [entries for entries, answer in log if answer["ok"]]
        last_ok.append(oks[-1] if oks else None)
    for phone, entries in zip(phones, last_ok, strict=True):
        ballot = phone.state()["me"]["ballot"]
        assert ballot == {"round_id": round_id, "entries": entries or {}}
    results = workshop.console.state()["state"]["results"]
    assert results["ballots"] == sum(1 for entries in last_ok if entries)
    assert totals_of(results) == summed([e for e in last_ok if e], ids)
    late = workshop.console.state()["state"]["version"]
    refused = phones[0].send("ballot.submit", round_id=round_id, entries={str(ids[0]): 1})
    assert refused["error"]["code"] == "round_closed"
    assert workshop.console.state()["state"]["version"] == late
    # The same holds for a phone that connects only now.
    _, latecomer = clients.phone(workshop.code)
    refused = latecomer.send("ballot.submit", round_id=round_id, entries={str(ids[0]): 1})
    assert refused["error"]["code"] == "round_closed"
    assert totals_of(workshop.console.state()["state"]["results"]) == totals_of(results)


def test_every_command_gets_an_answer_over_plain_polling(
    clients: Clients, workshop: Workshop
) -> None:
    """Polling only (a network that blocks WebSocket): a phone still joins, votes and sees
    its vote acknowledged; broken payloads get a clear error, not silence."""
    ids = list(workshop.factor_ids().values())
    round_id = workshop.open_dots(2, 2)
    _, phone = clients.phone(workshop.code, transports=("polling",))
    assert phone.send("ballot.submit", round_id=round_id, entries={str(ids[0]): 2})["ok"]
    bad = phone.call("ballot.submit", {"command_id": command_id(), "round_id": "x", "entries": {}})
    assert bad["error"]["code"] == "invalid_input"
    over = phone.send("ballot.submit", round_id=round_id, entries={str(ids[0]): 3})
    assert over["error"]["code"] == "over_cap"
    assert phone.state()["me"]["ballot"]["entries"] == {str(ids[0]): 2}


def test_an_oversized_message_is_refused_at_the_transport(
    clients: Clients, workshop: Workshop
) -> None:
    """Messages over MAX_MESSAGE_BYTES (16 KB) end the connection without reaching a handler;
    the same command at a normal size is answered."""
    category = workshop.category_id("Sociala")
    version = workshop.console.state()["state"]["version"]
    intruder = workshop.connect("console")
    oversized = {
        "command_id": command_id(),
        "title": "x" * 900,
        "category_id": category,
        "description": "y" * 20_000,
    }
    with pytest.raises(socketio.exceptions.TimeoutError):
        intruder.call("factor.add", oversized, timeout=3)
    assert not intruder.sio.connected
    assert workshop.console.state()["state"]["version"] == version
    answer = workshop.console.send("factor.add", title="Lagom", category_id=category)
    assert answer["ok"], answer


def upgrade_headers(url: str, extensions: str) -> dict[str, str]:
    """The response headers to a WebSocket upgrade offering these extensions, as a browser
    sends it (then the connection is dropped)."""
    parts = urlsplit(url)
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\nOrigin: {url}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        f"Sec-WebSocket-Extensions: {extensions}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            assert chunk, f"the server closed the connection: {head!r}"
            head += chunk
    status, *lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert " 101 " in status, status
    return {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}


def test_compression_is_per_message_without_a_compressor_kept_per_connection(
    server: Server, workshop: Workshop
) -> None:
    """Offered per-message deflate as browsers offer it, the server compresses each message
    on its own (`server_no_context_takeover`): no compressor stays in memory per phone.
    A compressing client then reads all it is sent: the state on connecting, its own part,
    the answer to its ballot and the states after it."""
    offered = "permessage-deflate; client_max_window_bits"
    accepted = upgrade_headers(server.url, offered)["sec-websocket-extensions"]
    assert accepted.startswith("permessage-deflate"), accepted
    assert "server_no_context_takeover" in accepted

    round_id = workshop.open_dots(5, 3)
    factor = str(next(iter(workshop.factor_ids().values())))

    async def run() -> dict[str, int]:
        async with loadgen.jar(server.url) as http:
            phone = await loadgen.join_phone(http, server.url, workshop.code)
            try:
                assert phone.ws.compress == 15  # deflate was negotiated
                ballot = {"command_id": command_id(), "round_id": round_id}
                _, answer = await phone.call("ballot.submit", {**ballot, "entries": {factor: 2}})
                assert answer["ok"], answer
                _, again = await phone.call("state.get", {})
                assert again["ok"] and again["data"]["me"]["ballot"]["entries"] == {factor: 2}
                return dict(phone.received)
            finally:
                await phone.close()

    received = asyncio.run(run())
    assert received["connect"] == 1
    assert received["state"] >= 1 and received["me"] >= 1 and received["ack"] == 2


def test_phones_read_the_state_compressed_once_for_all_of_them(
    server: Server, workshop: Workshop
) -> None:
    """A room's state is compressed once for every phone (edges/live/deflate.py): each
    compressing phone reads it whole, the first state and the one after a factor is added."""
    title = "Kompetensförsörjning i besöksnäringen"
    category = workshop.category_id(workshop.console.state()["state"]["categories"][0]["name"])

    async def run() -> list[list[str]]:
        async with loadgen.jar(server.url) as http:
            seen: list[list[str]] = [[] for _ in range(3)]
            phones = []
            for titles in seen:

                def keep(packet: loadgen.Packet, _: float, titles: list[str] = titles) -> None:
                    if packet.event == "state":
                        titles[:] = [f["title"] for f in packet.data()["factors"]]

                phone = await loadgen.join_phone(http, server.url, workshop.code)
                phone.on_event = keep
                phones.append(phone)
            try:
                assert all(phone.ws.compress == 15 for phone in phones)
                await asyncio.to_thread(
                    workshop.console.ok, "factor.add", title=title, category_id=category
                )
                for _ in range(100):
                    if all(title in titles for titles in seen):
                        break
                    await asyncio.sleep(0.1)
                return seen
            finally:
                for phone in phones:
                    await phone.close()

    seen = asyncio.run(run())
    expected = [*workshop.factor_ids()]
    assert title in expected
    assert all(sorted(titles) == sorted(expected) for titles in seen), seen
