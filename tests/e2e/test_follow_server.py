"""The public follow page of a series against a real server (eventlet and gevent): after
merges both ways, rewordings, hiding and removing in a workshop, the page, its JSON and its
live message show the library's words and each factor's fate, exactly what
docs/process.md lists, and nothing a workshop typed (issue #15, finding 9)."""

from __future__ import annotations

import json
import time

import pytest
import requests
from test_follow import check_public_shape

from facilitation.edges.live.followers import FOLLOW_INTERVAL

from .conftest import Clients
from .organizing import Browser, Follower

pytestmark = pytest.mark.e2e

LIBRARY = ["Digitalisering", "Klimatomställning", "Urbanisering", "Åldrande befolkning"]
LIBRARY += ["Kompetensförsörjning", "Elektrifiering"]
# What the workshop typed: participants' proposals, the facilitator's rewordings, a reason.
TYPED_IN_THE_WORKSHOP = ["Bertils formulering", "Cecilias dubblett", "Doris omskrivning"]
TYPED_IN_THE_WORKSHOP += ["Eriks klimatord", "Fridas skäl"]


def test_the_follow_page_shows_the_librarys_words_and_each_fate(clients: Clients) -> None:
    organizer = Browser(clients)
    organizer.first_account("kommun@example.se")
    series = organizer.series()
    organizer.library(series, "kategori;titel\n" + "".join(f"Ekonomiska;{t}\n" for t in LIBRARY))
    code = organizer.workshop(series, "Företag")
    console = clients.connect(organizer.http, code, "console")
    path = organizer.follow_path(series)
    follower = Follower(clients.server.url, path)
    try:
        console.ok("step.set", step="complete")
        category = next(c["id"] for c in console.state()["state"]["categories"])
        phones = [clients.phone(code)[1] for _ in range(2)]
        phones[0].ok("factor.propose", title="Bertils formulering", category_id=category)
        phones[1].ok("factor.propose", title="Cecilias dubblett", category_id=category)
        ids = {f["title"]: f["id"] for f in console.state()["state"]["factors"]}

        def merge(source: str, target: str) -> None:
            console.ok("factor.merge", factor_id=ids[source], into_id=ids[target])

        merge("Digitalisering", "Bertils formulering")  # library into a proposal
        merge("Cecilias dubblett", "Klimatomställning")  # a proposal into the library's
        console.ok("factor.edit", factor_id=ids["Urbanisering"], title="Doris omskrivning")
        console.ok("factor.edit", factor_id=ids["Klimatomställning"], title="Eriks klimatord")
        merge("Elektrifiering", "Klimatomställning")  # into a reworded library factor
        console.ok("factor.hide", factor_id=ids["Åldrande befolkning"])
        console.ok("factor.remove", factor_id=ids["Kompetensförsörjning"], reason="Fridas skäl")
        console.ok("step.set", step="prioritise")
        round_id = console.ok("round.open", method="dots", budget=3, cap=3)["round_id"]
        for phone, entries in zip(
            phones,
            [
                {ids["Bertils formulering"]: 3},
                {ids["Klimatomställning"]: 2, ids["Urbanisering"]: 1},
            ],
            strict=True,
        ):
            phone.ok(
                "ballot.submit", round_id=round_id, entries={str(k): v for k, v in entries.items()}
            )
        console.ok("round.close", round_id=round_id)
        console.ok("round.reveal", round_id=round_id)
        live = follower.wait_for("series", lambda v: v["workshops"][0]["revealed_rounds"] == 1)
    finally:
        follower.close()

    stranger = requests.Session()
    page = stranger.get(clients.server.url + path, timeout=10).text
    view = stranger.get(clients.server.url + "/api" + path, timeout=10).json()
    for shown in (page, json.dumps(view, ensure_ascii=False), json.dumps(live, ensure_ascii=False)):
        for typed in TYPED_IN_THE_WORKSHOP:
            assert typed.split()[0] not in shown, typed
    check_public_shape(view)
    check_public_shape(live)
    key = view["workshops"][0]["key"]
    fate = {f["title"]: f["cells"][key] for f in view["factors"]}
    assert sorted(fate) == sorted(LIBRARY)
    assert (fate["Digitalisering"]["status"], fate["Digitalisering"]["place"]) == ("kept", 1)
    assert (fate["Klimatomställning"]["status"], fate["Klimatomställning"]["place"]) == ("kept", 2)
    assert (fate["Urbanisering"]["status"], fate["Urbanisering"]["place"]) == ("kept", 3)
    assert fate["Elektrifiering"]["status"] == "merged"
    assert fate["Elektrifiering"]["merged_into"] == "Klimatomställning"
    assert fate["Åldrande befolkning"]["status"] == "hidden"
    assert fate["Kompetensförsörjning"]["status"] == "removed"
    assert {k: v for k, v in live.items() if k != "as_of"} == {
        k: v for k, v in view.items() if k != "as_of"
    }


def test_an_open_follow_page_hears_that_a_workshop_was_deleted(clients: Clients) -> None:
    """Issue #18, 21: the deletion reaches an open follow page with nothing else changing."""
    organizer = Browser(clients)
    organizer.first_account("kommun@example.se")
    series = organizer.series()
    organizer.library(series, "kategori;titel\nEkonomiska;Digitalisering\n")
    kept = organizer.workshop(series, "Företag")
    gone = organizer.workshop(series, "Regionala partner")
    path = organizer.follow_path(series)
    # Let the follow ticker pass the workshops' making while nobody follows (so nothing
    # remembers whose they are); the assertions below wait for events, never for time.
    time.sleep(3 * FOLLOW_INTERVAL)
    follower = Follower(clients.server.url, path)
    try:
        first = follower.wait_for("series", lambda v: len(v["workshops"]) == 2)
        assert [w["stakeholder"] for w in first["workshops"]] == ["Företag", "Regionala partner"]
        deleted = organizer.http.delete(f"{clients.server.url}/api/workshops/{gone}", timeout=10)
        assert deleted.status_code == 204
        after = follower.wait_for("series", lambda v: len(v["workshops"]) == 1)
        assert [w["stakeholder"] for w in after["workshops"]] == ["Företag"]
        assert kept != gone
    finally:
        follower.close()
