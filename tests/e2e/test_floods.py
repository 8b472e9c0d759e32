"""Floods by fresh identities (issue #15), against a real server (eventlet and gevent): one
person holding many cookies cannot use up the factors the facilitator needs, nor make
participants faster than the guard on joins allows, while a whole venue behind one address
gets in; and once the room is in, the facilitator closes the doors."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import requests
import socketio

from facilitation.core.domain import PROPOSALS_MAX

from .conftest import Clients, Server, Workshop
from .test_integrity import close_all, join_in_waves, raise_file_limit
from .test_server import all_at_once, connect_phones

pytestmark = pytest.mark.e2e


def refusal(
    clients: Clients, http: requests.Session, code: str, headers: dict[str, str] | None = None
) -> str:
    """Why the server refuses this browser's phone connection (the `connect_error` message)."""
    sio = clients.socket(http)
    reasons: list[Any] = []
    sio.on("connect_error", reasons.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(
            clients.server.url,
            auth={"code": code, "view": "phone"},
            transports=["websocket"],
            headers=headers or {},
            wait_timeout=15,
        )
    assert reasons, "refused without a reason"
    reason = reasons[-1]
    return str(reason["message"] if isinstance(reason, dict) else reason)


def test_fifty_cookies_cannot_use_up_the_facilitators_factors(
    clients: Clients, workshop: Workshop
) -> None:
    """The issue's flood: one client with 50 cookies proposes ten factors with each, all at
    once. Proposals stop at their share of the workshop (PROPOSALS_MAX), the rest refused
    `proposals_full`, and the facilitator still adds a factor and merges a duplicate."""
    workshop.console.ok("step.set", step="complete")
    category = workshop.category_id("Sociala")
    phones = connect_phones(clients, workshop.code, 50)

    def flood(i: int, barrier: Any) -> list[dict[str, Any]]:
        barrier.wait()
        return [
            phones[i].send("factor.propose", title=f"Skräp {i}-{k}", category_id=category)
            for k in range(10)
        ]

    answers = [answer for batch in all_at_once(50, flood) for answer in batch]
    accepted = [a["data"]["factor_id"] for a in answers if a["ok"]]
    refused = Counter(a["error"]["code"] for a in answers if not a["ok"])
    assert len(accepted) == PROPOSALS_MAX
    assert refused == {"proposals_full": 500 - PROPOSALS_MAX}
    added = workshop.console.ok("factor.add", title="Processledarens egen", category_id=category)
    workshop.console.ok("factor.merge", factor_id=accepted[0], into_id=added["factor_id"])
    factors = workshop.console.state()["state"]["factors"]
    assert sum(f["origin"] == "proposed" for f in factors) == PROPOSALS_MAX
    assert next(f for f in factors if f["id"] == added["factor_id"])["status"] == "active"


def test_three_hundred_phones_behind_one_address_all_get_in(
    server: Server, workshop: Workshop
) -> None:
    """A whole venue behind one NAT address, with the guard's default settings: 300 phones
    opening the join link and connecting at once, from 127.0.0.1, all become participants."""
    phones_n = 300
    raise_file_limit(phones_n + 1000)

    async def run() -> list[int]:
        phones = await join_in_waves(server.url, workshop.code, phones_n, wave=100)
        try:
            return [p.mes[0]["participant"]["number"] for p in phones]
        finally:
            await close_all(phones)

    numbers = asyncio.run(run())
    assert sorted(numbers) == list(range(1, phones_n + 1))
    assert workshop.console.state()["state"]["participation"]["joined"] == phones_n


@pytest.mark.settings(
    JOIN_BURST_PER_ADDRESS=3,
    JOIN_RATE_PER_ADDRESS=0,
    JOIN_BURST_PER_WORKSHOP=5,
    JOIN_RATE_PER_WORKSHOP=0,
    PROXY_HOPS=1,
)
def test_the_guard_on_joins_refuses_only_newcomers_past_it(
    clients: Clients, workshop: Workshop
) -> None:
    """Past its address's allowance, a fresh cookie is refused `too_many_joins` and nothing is
    made; phones that joined reconnect and vote, never counted again; phones from other
    addresses (as the one trusted reverse proxy tells them, in X-Forwarded-For) still join,
    until the workshop's own allowance is spent."""
    venue = [clients.phone(workshop.code) for _ in range(3)]
    assert refusal(clients, clients.join(workshop.code), workshop.code) == "too_many_joins"
    http, first = venue[0]
    first.disconnect()
    back = clients.connect(http, workshop.code, "phone")
    round_id = workshop.open_dots(budget=2, cap=1)
    factor = next(iter(workshop.factor_ids().values()))
    back.ok("ballot.submit", round_id=round_id, entries={str(factor): 1})
    for address in ("198.51.100.7", "198.51.100.8"):
        forwarded = {"X-Forwarded-For": address}
        clients.connect(clients.join(workshop.code), workshop.code, "phone", headers=forwarded)
    late = {"X-Forwarded-For": "198.51.100.9"}
    assert refusal(clients, clients.join(workshop.code), workshop.code, late) == "too_many_joins"
    state = workshop.console.state()["state"]
    assert state["participation"] == {"joined": 5, "voted": 1}


def test_closed_doors_keep_fresh_cookies_out_while_the_room_votes_on(
    clients: Clients, workshop: Workshop
) -> None:
    """Once the room is in, the facilitator closes the doors: the board hears of it, a browser
    that never took part is refused `doors_closed`, and a participant reconnects and votes.
    Opened again, the same browser gets in; the audit log and the export say what happened."""
    anna_http, anna = clients.phone(workshop.code)
    board = workshop.connect("board")
    assert workshop.console.ok("doors.set", closed=True) == {"closed": True}
    board.wait_for("state", lambda s: s["workshop"]["doors_closed"] is True)
    newcomer = clients.join(workshop.code)
    assert refusal(clients, newcomer, workshop.code) == "doors_closed"
    anna.disconnect()
    anna = clients.connect(anna_http, workshop.code, "phone")
    round_id = workshop.open_dots(budget=2, cap=1)
    factor = next(iter(workshop.factor_ids().values()))
    anna.ok("ballot.submit", round_id=round_id, entries={str(factor): 1})
    assert workshop.console.state()["state"]["participation"] == {"joined": 1, "voted": 1}
    workshop.console.ok("round.close", round_id=round_id)
    workshop.console.ok("doors.set", closed=False)
    board.wait_for("state", lambda s: s["workshop"]["doors_closed"] is False)
    clients.connect(newcomer, workshop.code, "phone")
    exported = workshop.export("json").json()
    assert exported["workshop"]["participants"] == 2
    assert exported["workshop"]["doors_closed"] is False
    doors = [e["action"] for e in exported["log"] if e["action"].startswith("doors.")]
    assert doors == ["doors.closed", "doors.opened"]
