"""Invisible text against a real server (eventlet and gevent): a title of zero-width or
direction-control characters is refused wherever it is typed, and an override never reaches
the board, the phones or an export (issue #15, finding 13)."""

from __future__ import annotations

import json

import pytest
import requests

from .conftest import Clients, Workshop, command_id, create_workshop

pytestmark = pytest.mark.e2e

NOTHING = "\u200b\u200c\u2060\ufeff\u202e\u2066\u2069\u3164"  # draws nothing
RLO = "\u202e"  # right-to-left override: "txävlliT" after it reads "Tillväxt"


def test_invisible_titles_are_refused_and_overrides_dropped_everywhere(
    base_url: str, clients: Clients
) -> None:
    refused = requests.post(
        f"{base_url}/api/workshops", json={"title": NOTHING, "language": "sv"}, timeout=10
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "required"
    assert refused.json()["error"]["field"] == "title"

    workshop = Workshop(
        clients,
        create_workshop(
            base_url,
            title=f"Strategi{RLO} 2030",
            factors=[{"title": f"{RLO}txävlliT", "category": "Ekonomiska"}],
        ),
    )
    console = workshop.console
    category = workshop.category_id("Ekonomiska")
    for command, payload in [
        ("factor.add", {"title": NOTHING, "category_id": category}),
        ("category.add", {"name": NOTHING}),
        ("workshop.configure", {"title": NOTHING}),
    ]:
        answer = console.call(command, {**payload, "command_id": command_id()})
        assert not answer["ok"] and answer["error"]["code"] == "required", (command, answer)
    console.ok("step.set", step="complete")
    board = workshop.connect("board")
    _, phone = clients.phone(workshop.code)
    answer = phone.send("factor.propose", title=NOTHING, category_id=category)
    assert not answer["ok"] and answer["error"]["code"] == "required", answer
    proposed = phone.ok(
        "factor.propose", title=f"Kli\u200bmat{RLO}", description=NOTHING, category_id=category
    )
    assert phone.ok("participant.rename", nickname=f"{RLO}Bo")["nickname"] == "Bo"

    shown = board.wait_for(
        "state", lambda s: any(f["id"] == proposed["factor_id"] for f in s["factors"])
    )
    titles = {f["title"] for f in shown["factors"]}
    assert {"txävlliT", "Klimat"} <= titles
    assert shown["workshop"]["title"] == "Strategi 2030"
    seen = phone.wait_for("state", lambda s: "Klimat" in {f["title"] for f in s["factors"]})
    # The CSV starts with the byte order mark that tells Excel it is UTF-8: that one stays.
    exported = workshop.export("json").text + workshop.export("csv").text.removeprefix("\ufeff")
    for text in (json.dumps(shown, ensure_ascii=False), json.dumps(seen, ensure_ascii=False)):
        assert not any(ch in text for ch in NOTHING)
    assert not any(ch in exported for ch in NOTHING)
