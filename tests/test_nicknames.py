"""What a phone says of its nickname before one is given, and that it is true: the console
shows it beside the factors one proposes, the board and other phones never, the exports only
when the facilitator asks for nicknames (issue #18, item 8)."""

from __future__ import annotations

import json
from typing import Any


def test_the_phone_says_who_sees_a_nickname_before_one_is_given(make_room: Any) -> None:
    room = make_room(factors=[{"title": "Urbanisering", "category": "Sociala"}])
    http, _ = room.phone()
    for language, says in [
        ("sv", ["Vem ser ditt smeknamn", "exporterade", "Tavlan och de andra telefonerna"]),
        ("en", ["Who sees your nickname", "exported results", "The board and the other phones"]),
    ]:
        http.get(f"/language/{language}")  # the participant's own choice of language
        page = http.get(f"/j/{room.code}")
        html = page.get_data(as_text=True)
        field, notice = html.split('id="nickname-who"', 1)[1].split('id="nickname"', 1)
        assert all(text in field for text in says), language
        assert 'aria-describedby="nickname-who"' in notice  # read out with the field
        assert "anonymous" not in html and "anonyma" not in html  # votes can be exported named


def test_a_nickname_goes_only_where_the_phone_says(make_room: Any) -> None:
    room = make_room(factors=[{"title": "Urbanisering", "category": "Sociala"}])
    room.phones = [room.phone()[1] for _ in range(2)]
    room.ok(room.phones[0], "participant.rename", nickname="Anna Nickname")
    room.ok(room.console, "step.set", step="complete")
    category = room.state(room.console)["state"]["categories"][0]["id"]
    room.ok(room.phones[0], "factor.propose", title="Elektrifiering", category_id=category)
    room.ok(room.console, "step.set", step="prune")
    ids = [f["id"] for f in room.state(room.console)["state"]["factors"]]
    room.run_round("keep_remove", [{i: "keep" for i in ids}, {i: "remove" for i in ids}])
    room.flush()
    console = room.state(room.console)["state"]
    proposer = next(f for f in console["factors"] if f["title"] == "Elektrifiering")
    assert proposer["proposed_by"]["nickname"] == "Anna Nickname"
    assert "Anna Nickname" not in json.dumps(room.latest(room.board))
    assert "Anna Nickname" not in json.dumps(room.state(room.phones[1]))
    plain = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json")
    assert "Anna Nickname" not in plain.get_data(as_text=True)
    named = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json?nicknames=1")
    answers = json.loads(named.get_data(as_text=True))["rounds"][0]["answers"]
    assert "Anna Nickname" in [a.get("nickname") for a in answers]
