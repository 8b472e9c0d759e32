"""The public follow page of a series: closed until its owner opens it, nothing private on
it (not in the page, the JSON or the live messages), and live: followers hear when a
workshop reveals a round, and nothing when people merely vote."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from conftest import socketio
from flask import Flask
from organizing import Organizer
from test_series import ballots, two_workshops

from facilitation.edges.live.follow import NAMESPACE
from facilitation.infrastructure import models


def opened(organizer: Organizer, series: int) -> str:
    """Open the follow page; its path."""
    organizer.do(series, "series.configure", public="true")
    page = organizer.http.get(f"/series/{series}").get_data(as_text=True)
    return "/follow/" + page.split('id="follow-link">')[1].split("<")[0].rsplit("/follow/", 1)[1]


def follower(app: Flask, path: str) -> Any:
    client = socketio.test_client(app, namespace=NAMESPACE, auth={"series": path.rsplit("/", 1)[1]})
    assert client.is_connected(NAMESPACE)
    return client


def events(client: Any, name: str = "series") -> list[Any]:
    return [m["args"][0] for m in client.get_received(NAMESPACE) if m["name"] == name]


def test_the_follow_page_is_closed_until_the_owner_opens_it(app: Flask) -> None:
    organizer, series, _, _ = two_workshops(app)
    code = organizer.record(series)  # the organizer's record never names the follow code
    assert "follow_code" not in code
    with app.extensions["samsyn"].db.read() as s:
        follow_code = s.get(models.Series, series).follow_code  # type: ignore[union-attr]
    stranger = app.test_client()
    assert stranger.get(f"/follow/{follow_code}").status_code == 404
    assert stranger.get(f"/api/follow/{follow_code}").status_code == 404
    path = opened(organizer, series)
    assert path == f"/follow/{follow_code}"
    page = stranger.get(path)
    assert page.status_code == 200 and "Näringslivsstrategi 2030" in page.get_data(as_text=True)
    view = stranger.get(f"/api/follow/{follow_code}").get_json()
    assert view["factors"][0]["title"] == "Digitalisering"
    organizer.do(series, "series.configure", public="false")
    assert stranger.get(path).status_code == 404
    refused = socketio.test_client(app, namespace=NAMESPACE, auth={"series": follow_code})
    assert not refused.is_connected(NAMESPACE)


def test_the_follow_page_shows_nothing_about_participants(app: Flask) -> None:
    organizer, series, companies, partners = two_workshops(app)
    # Things only the room or the facilitator may know.
    companies.ok(companies.phones[0], "participant.rename", nickname="Anna Andersson")
    companies.ok(companies.console, "step.set", step="complete")
    companies.ok(
        companies.phones[1],
        "factor.propose",
        title="Förslag från Bertil",
        category_id=companies.category("Ekonomiska"),
    )
    ids = companies.ids()
    companies.ok(
        companies.console,
        "factor.remove",
        factor_id=ids["Förslag från Bertil"],
        reason="Cecilias skäl",
    )
    companies.ok(companies.console, "proxy.add", label="Doris utan telefon")
    path = opened(organizer, series)
    stranger = app.test_client()
    page = stranger.get(path).get_data(as_text=True)
    document = stranger.get("/api" + path).get_data(as_text=True)
    live = json.dumps(events(follower(app, path)))
    db = app.extensions["samsyn"].db
    with db.read() as s:
        secrets = [p.token for p in s.query(models.Participant)]
        secrets += [w.facilitator_secret_hash for w in s.query(models.Workshop)]
    private = [
        "Anna Andersson",
        "Förslag från Bertil",
        "Cecilias skäl",
        "Doris utan telefon",
        companies.code,
        partners.code,
        *secrets,
    ]
    for shown in (page, document, live):
        for word in private:
            assert word not in shown, word
    view = json.loads(document)
    assert set(view) == {
        "series",
        "workshops",
        "categories",
        "factors",
        "concordance",
        "similarity",
        "final",
        "as_of",
        "follow_code",
        "transparency",
    }
    assert "Bort" not in document  # a removal's reason, until the organizer publishes it
    for w in view["workshops"]:
        assert not {"code", "ballots", "participants", "rule"} & set(w)
    for f in view["factors"]:
        for cell in f["cells"].values():
            assert not {"figures", "keep"} & set(cell)  # no counts, no medians


def test_followers_hear_when_a_workshop_reveals_a_round_and_not_when_people_vote(
    app: Flask,
) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    social = organizer.category(series, "Sociala")
    organizer.factor(series, social, "Urbanisering")
    organizer.factor(series, social, "Pendling")
    room = organizer.workshop(series, "Företag")
    room.join(2)
    client = follower(app, opened(organizer, series))
    followers = app.extensions["samsyn"].followers
    (first,) = events(client)
    assert all(f["rank"] is None for f in first["factors"])
    room.ok(room.console, "step.set", step="prioritise")
    followers.flush()
    (stepped,) = events(client)  # the workshop's step is public
    assert stepped["workshops"][0]["step"] == "prioritise"
    ids = room.ids()
    round_id = room.ok(room.console, "round.open", method="dots", budget=2, cap=2)["round_id"]
    followers.flush()
    events(client)
    room.ok(room.phones[0], "ballot.submit", round_id=round_id, entries={str(ids["Pendling"]): 2})
    room.ok(room.console, "round.close", round_id=round_id)
    followers.flush()
    assert events(client) == []  # votes and a closed, unrevealed round: nothing public
    room.ok(room.console, "round.reveal", round_id=round_id)
    followers.flush()
    (revealed,) = events(client)
    assert [f["title"] for f in revealed["factors"]] == ["Pendling", "Urbanisering"]
    assert revealed["factors"][0]["rank"] == 1
    organizer.do(series, "series.configure", public="false")
    followers.flush()
    assert events(client, "unpublished") == [{}]


def test_followers_hear_when_a_workshop_is_deleted(app: Flask) -> None:
    """Issue #18, 21: an open follow page hears at once that a workshop is gone, without
    waiting for some other change of the series."""
    organizer, series, companies, _ = two_workshops(app)
    path = opened(organizer, series)
    app.extensions["samsyn"].followers.flush()  # the workshops' changes, heard by nobody
    client = follower(app, path)
    (first,) = events(client)
    assert len(first["workshops"]) == 2
    deleted = companies.facilitator_http.delete(f"/api/workshops/{companies.code}")
    assert deleted.status_code == 204
    app.extensions["samsyn"].followers.flush()
    (after,) = events(client)
    assert [w["stakeholder"] for w in after["workshops"]] == ["Regionala partner"]
    assert all(len(f["cells"]) == 1 for f in after["factors"])


def test_followers_hear_when_retention_deletes_a_workshop(app: Flask) -> None:
    """The retention command deleting a closed workshop of a series tells its follow pages
    too (issue #18, 21)."""
    organizer, series, companies, _ = two_workshops(app)
    companies.ok(companies.console, "step.set", step="closed")
    path = opened(organizer, series)
    samsyn = app.extensions["samsyn"]
    samsyn.followers.flush()
    client = follower(app, path)
    events(client)
    with samsyn.db.write() as s:
        closed = s.query(models.Workshop).filter_by(code=companies.code).one()
        closed.updated_at = models.utcnow() - timedelta(days=100)
    cutoff = models.utcnow() - timedelta(days=90)
    assert samsyn.services.operations.apply_retention(cutoff, "delete") == 1
    samsyn.followers.flush()
    (after,) = events(client)
    assert [w["stakeholder"] for w in after["workshops"]] == ["Regionala partner"]


# What the follow page holds, exactly (docs/process.md, "The public follow page"): any other
# key is something the page was never meant to publish.
PUBLIC_KEYS = {"series", "workshops", "categories", "factors", "concordance", "similarity"}
PUBLIC_KEYS |= {"final", "as_of", "follow_code", "transparency"}
TRANSPARENCY_KEYS = {"process", "coming", "concluded_at", "workshops", "decisions", "group_min"}
HELD_KEYS = {"key", "held_at", "participants", "few"}
DECISION_KEYS = {"workshop", "title", "at", "reason"}
SERIES_KEYS = {"title", "language", "description", "created_at", "concluded_at"}
WORKSHOP_KEYS = {"key", "letter", "title", "stakeholder", "step", "language", "created_at"}
WORKSHOP_KEYS |= {"revealed_rounds", "method", "consensus"}
FACTOR_KEYS = {"id", "category", "title", "description", "evidence", "retired", "origin"}
FACTOR_KEYS |= {"rank", "priority", "coverage", "spread", "agreement", "kept", "removed"}
FACTOR_KEYS |= {"kept_overall", "cells"}
CELL_KEYS = {"status", "priority", "tier", "place", "of", "consensus"}
# Besides, a cell says which library factor it was merged into, by the library's title.
MERGED_CELL_KEYS = CELL_KEYS | {"merged_into"}


def check_public_shape(view: dict[str, Any]) -> None:
    """The follow page's state holds the keys process.md names, and no others."""
    assert set(view) == PUBLIC_KEYS
    assert set(view["series"]) == SERIES_KEYS
    assert set(view["transparency"]) == TRANSPARENCY_KEYS
    assert all(set(w) == HELD_KEYS for w in view["transparency"]["workshops"])
    assert all(set(d) == DECISION_KEYS for d in view["transparency"]["decisions"])
    for w in view["workshops"]:
        assert set(w) == WORKSHOP_KEYS
    for f in view["factors"]:
        assert set(f) == FACTOR_KEYS
        for cell in f["cells"].values():
            assert set(cell) == (MERGED_CELL_KEYS if "merged_into" in cell else CELL_KEYS)


def test_the_follow_page_shows_the_librarys_wording_never_a_workshops(app: Flask) -> None:
    """Merges both ways (a library factor into a participant's proposal, a proposal into a
    library factor), a library factor merged into another, edits of library factors in the
    workshop, hiding and removing: the page, its JSON and its live messages show each
    library factor's fate in the library's words, and none of the workshop's."""
    organizer = Organizer(app)
    series = organizer.series()
    category = organizer.category(series, "Ekonomiska")
    library = ["Digitalisering", "Klimatomställning", "Urbanisering", "Åldrande befolkning"]
    library += ["Kompetensförsörjning", "Elektrifiering"]
    for title in library:
        organizer.factor(series, category, title)
    room = organizer.workshop(series, "Företag")
    room.join(3)
    path = opened(organizer, series)
    client = follower(app, path)
    room.ok(room.console, "step.set", step="complete")
    workshop_category = room.category("Ekonomiska")
    for phone, title in zip(
        room.phones, ("Bertils formulering", "Cecilias dubblett"), strict=False
    ):
        room.ok(phone, "factor.propose", title=title, category_id=workshop_category)
    ids = room.ids()
    console = room.console
    # A library factor merged into a participant's proposal: the proposal continues it.
    room.ok(
        console, "factor.merge", factor_id=ids["Digitalisering"], into_id=ids["Bertils formulering"]
    )
    # A participant's proposal merged into a library factor.
    room.ok(
        console,
        "factor.merge",
        factor_id=ids["Cecilias dubblett"],
        into_id=ids["Klimatomställning"],
    )
    # Library factors reworded in the workshop (perhaps in a participant's words).
    room.ok(console, "factor.edit", factor_id=ids["Urbanisering"], title="Doris omskrivning")
    room.ok(console, "factor.edit", factor_id=ids["Klimatomställning"], title="Eriks klimatord")
    room.ok(
        console, "factor.merge", factor_id=ids["Elektrifiering"], into_id=ids["Klimatomställning"]
    )
    room.ok(console, "factor.hide", factor_id=ids["Åldrande befolkning"])
    room.ok(console, "factor.remove", factor_id=ids["Kompetensförsörjning"], reason="Fridas skäl")
    room.ok(console, "step.set", step="prioritise")
    ballots(
        room,
        "dots",
        [{"Bertils formulering": 3}, {"Eriks klimatord": 2, "Doris omskrivning": 1}],
        budget=3,
        cap=3,
    )
    app.extensions["samsyn"].followers.flush()

    stranger = app.test_client()
    page = stranger.get(path).get_data(as_text=True)
    document = stranger.get("/api" + path).get_data(as_text=True)
    live = events(client)[-1]
    workshops_words = ["Bertils", "Cecilias", "Doris", "Eriks", "Fridas"]
    for shown in (page, document, json.dumps(live, ensure_ascii=False)):
        for word in workshops_words:
            assert word not in shown, word
    view = json.loads(document)
    assert view == {**live, "as_of": view["as_of"]}
    check_public_shape(view)
    (key,) = view["factors"][0]["cells"]
    fate = {f["title"]: f["cells"][key] for f in view["factors"]}
    assert sorted(f["title"] for f in view["factors"]) == sorted(library)  # the library's
    assert fate["Digitalisering"]["status"] == "kept"  # as the proposal that continues it
    assert fate["Digitalisering"]["place"] == 1
    assert (fate["Klimatomställning"]["status"], fate["Klimatomställning"]["place"]) == ("kept", 2)
    assert (fate["Urbanisering"]["status"], fate["Urbanisering"]["place"]) == ("kept", 3)
    assert fate["Elektrifiering"]["status"] == "merged"
    assert fate["Elektrifiering"]["merged_into"] == "Klimatomställning"
    assert fate["Åldrande befolkning"]["status"] == "hidden"
    assert fate["Kompetensförsörjning"]["status"] == "removed"
    # The organizers' own picture keeps the workshop's words, for them to take up.
    private = organizer.record(series)
    cells = {f["title"]: f["cells"][key] for f in private["factors"]}
    assert cells["Digitalisering"]["title_here"] == "Bertils formulering"
    assert cells["Elektrifiering"]["merged_into"] == "Eriks klimatord"
