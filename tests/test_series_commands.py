"""Series and library commands take the one command pipeline: a command id answered once
(a form sent twice is applied once), a refusal that changes nothing, the version raised
once, and no invitation link kept in a stored answer."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from organizing import Organizer, command_id

from facilitation.infrastructure import models
from facilitation.usecases import Login


def services(app: Flask) -> Any:
    return app.extensions["samsyn"].services


def login(app: Flask, organizer: Organizer) -> Login:
    found = services(app).organizers.login(organizer.token())
    assert found is not None
    return found  # type: ignore[no-any-return]


def rows(app: Flask, model: Any) -> list[Any]:
    with app.extensions["samsyn"].db.read() as s:
        return list(s.query(model))


def version(app: Flask, series_id: int) -> int:
    with app.extensions["samsyn"].db.read() as s:
        found = s.get(models.Series, series_id)
        assert found is not None
        return found.version


def test_every_command_form_carries_a_command_id_of_its_own(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Ekonomiska")
    for page in (f"/series/{series}", f"/series/{series}/library"):
        html = organizer.http.get(page).get_data(as_text=True)
        forms = re.findall(r'<form method="post" action="([^"]*)".*?</form>', html, re.S)
        commands = [f for f in re.findall(r"<form.*?</form>", html, re.S) if "/do/" in f]
        assert commands and len(commands) == sum("/do/" in a for a in forms)
        ids = [re.search(r'name="command_id" value="([^"]+)"', f) for f in commands]
        assert all(ids), page
        assert len({found.group(1) for found in ids if found}) == len(commands), page


def test_a_series_form_sent_twice_is_applied_once(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    before = version(app, series)
    same = command_id()
    first = organizer.do(series, "workshop.add", stakeholder="Företag", command_id=same)
    again = organizer.do(series, "workshop.add", stakeholder="Företag", command_id=same)
    assert first.headers["Location"] == again.headers["Location"]  # the same console
    assert len(rows(app, models.Workshop)) == 1
    assert version(app, series) == before + 1
    organizer.do(series, "workshop.add", stakeholder="Företag")  # a new form: a new workshop
    assert len(rows(app, models.Workshop)) == 2
    assert version(app, series) == before + 2


def test_a_library_command_sent_again_gets_the_same_answer_and_changes_nothing(
    app: Flask,
) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    category = organizer.category(series, "Ekonomiska")
    who = login(app, organizer)
    fields = {"command_id": command_id(), "category_id": str(category), "title": "Turism"}
    first = services(app).series.execute(who, series, "library.add", fields)
    assert first["ok"] and first["data"]["factor_id"], first
    settled = version(app, series)
    again = services(app).series.execute(who, series, "library.add", fields)
    assert again == first
    assert [f.title for f in rows(app, models.LibraryFactor)] == ["Turism"]
    assert version(app, series) == settled == first["version"]
    (record,) = [
        r for r in rows(app, models.SeriesCommandRecord) if r.command_id == fields["command_id"]
    ]
    assert record.organizer_id == who.organizer_id and record.answer == first


def test_a_refused_command_changes_nothing_and_is_answered_the_same_again(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    category = organizer.category(series, "Ekonomiska")
    factor = organizer.factor(series, category, "Turism")
    who = login(app, organizer)
    before = version(app, series)
    # The title is changed before the unknown category is found: the savepoint undoes it.
    fields = {"command_id": command_id(), "factor_id": str(factor), "title": "Besöksnäring"}
    refused = services(app).series.execute(
        who, series, "library.edit", {**fields, "category_id": "999"}
    )
    assert not refused["ok"] and refused["error"]["code"] == "unknown_category", refused
    assert [f.title for f in rows(app, models.LibraryFactor)] == ["Turism"]
    assert version(app, series) == before
    assert not [e for e in rows(app, models.SeriesLogEntry) if e.action == "library.edited"]
    again = services(app).series.execute(
        who, series, "library.edit", {**fields, "category_id": "999"}
    )
    assert again == refused
    # The form shows the refusal.
    response = organizer.do(
        series, "library.edit", status=400, factor_id=factor, category_id=999, title="X"
    )
    assert "category" in response.get_data(as_text=True).lower()
    assert [f.title for f in rows(app, models.LibraryFactor)] == ["Turism"]


def test_an_invitation_link_is_answered_once_and_never_stored(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    who = login(app, organizer)
    fields = {"command_id": command_id()}
    first = services(app).series.execute(who, series, "series.invite", fields)
    token = first["data"]["token"]
    assert token
    stored = json.dumps([r.answer for r in rows(app, models.SeriesCommandRecord)])
    assert token not in stored
    again = services(app).series.execute(who, series, "series.invite", fields)
    assert again["ok"] and again["version"] == first["version"]
    assert "token" not in again["data"]
    assert len(rows(app, models.Invitation)) == 1
    # Through the form: the link is shown once; the form sent again shows none.
    same = command_id()
    shown = organizer.do(series, "series.invite", status=200, command_id=same)
    assert "/invite/" in shown.get_data(as_text=True)
    resent = organizer.do(series, "series.invite", command_id=same)
    assert resent.headers["Location"].endswith(f"/series/{series}")
    assert len(rows(app, models.Invitation)) == 2


def test_an_owners_command_from_a_co_facilitator_is_refused_and_not_stored(
    app: Flask,
) -> None:
    owner = Organizer(app)
    series = owner.series()
    link = services(app).series.execute(
        login(app, owner), series, "series.invite", {"command_id": command_id()}
    )["data"]["token"]
    guest = Organizer(app, "gast@example.se")
    services(app).series.accept_invitation(login(app, guest), link)
    before = version(app, series)
    fields = {"command_id": command_id(), "public": "true"}
    refused = services(app).series.execute(login(app, guest), series, "series.configure", fields)
    assert refused["error"]["code"] == "owner_only"
    assert version(app, series) == before
    assert not [
        r for r in rows(app, models.SeriesCommandRecord) if r.command_id == fields["command_id"]
    ]


def test_stored_answers_go_with_their_series(app: Flask) -> None:
    organizer = Organizer(app)
    series = organizer.series()
    organizer.category(series, "Ekonomiska")
    assert rows(app, models.SeriesCommandRecord)
    response = organizer.http.post(
        f"/series/{series}/delete", data={"confirm": "Näringslivsstrategi 2030"}
    )
    assert response.status_code == 303
    assert rows(app, models.SeriesCommandRecord) == []
