"""The transparency page of a series (issue #18, item 24): the follow page tells when each
workshop was held and when the list was concluded, the decisions with the reasons the owner
chose to publish, the owner's own words about the process and the coming workshops
(length-capped, shown as text), and, if the owner opts in, how many took part in each
workshop, never a number below the small-group threshold. And Samsyn's own help page, in
both languages, instead of a path in the source repository."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from organizing import Organizer
from test_follow import check_public_shape, opened
from test_series import ballots, two_workshops

from facilitation.core.consensus import GROUP_MIN
from facilitation.usecases.series import PUBLIC_TEXT_MAX

PROCESS = "Kommunen tar fram en ny näringslivsstrategi.\n\nTre grupper <script>alert(1)</script>"
COMING = "Föreningar, 12 maj i stadshuset."


def view(app: Flask, path: str) -> dict[str, Any]:
    return app.test_client().get("/api" + path).get_json()  # type: ignore[no-any-return]


def publish(organizer: Organizer, series: int, status: int = 303, **fields: Any) -> Any:
    return organizer.do(series, "series.publish", status=status, back="overview", **fields)


def test_the_follow_page_tells_the_process_as_the_owner_chooses(app: Flask) -> None:
    organizer, series, _, _ = two_workshops(app)
    few = organizer.workshop(series, "Föreningar")
    few.join(GROUP_MIN - 1)
    few.ok(few.console, "step.set", step="prioritise")
    ballots(few, "dots", [{"Digitalisering": 2}, {"Elektrifiering": 2}], budget=2, cap=2)
    organizer.workshop(series, "Kommunens förvaltningar")  # not held yet
    path = opened(organizer, series)

    before = view(app, path)
    check_public_shape(before)
    told = before["transparency"]
    assert told["process"] == told["coming"] == "" and told["concluded_at"] is None
    held = [w["held_at"] for w in told["workshops"]]
    assert all(held[:3]) and held[3] is None  # held = its first round opened
    assert all(w["participants"] is None and not w["few"] for w in told["workshops"])
    (decision,) = told["decisions"]  # the partners removed a factor of the library
    assert decision["title"] == "Besöksnäring" and decision["at"]
    assert decision["workshop"] == before["workshops"][1]["key"]
    assert decision["reason"] is None  # not published yet

    # What the owner chooses on the series' page.
    page = organizer.http.get(f"/series/{series}").get_data(as_text=True)
    assert 'name="factor_ids"' in page and "Bort" in page
    choices = page.split('id="transparency-heading"')[1]
    removal = int(choices.split('name="factor_ids" value="')[1].split('"')[0])
    publish(
        organizer,
        series,
        process=PROCESS,
        coming=COMING,
        participation="true",
        factor_ids=[removal],
    )
    after = view(app, path)
    check_public_shape(after)
    told = after["transparency"]
    assert told["process"] == PROCESS and told["coming"] == COMING
    assert [w["participants"] for w in told["workshops"]] == [3, 3, None, None]
    assert [w["few"] for w in told["workshops"]] == [False, False, True, False]
    assert told["decisions"][0]["reason"] == "Bort"
    assert told["group_min"] == GROUP_MIN
    # Only revealed rounds count: a third person voting in an open round changes nothing.
    few.join(1)
    round_id = few.ok(few.console, "round.open", method="dots", budget=2, cap=2)["round_id"]
    entries = {str(few.ids()["Digitalisering"]): 2}
    few.ok(few.phones[-1], "ballot.submit", round_id=round_id, entries=entries)
    assert view(app, path)["transparency"] == told
    # The owner's words are data for the page's script, which sets them as text: the page
    # never holds them as markup.
    html = app.test_client().get(path).get_data(as_text=True)
    assert "<script>alert(1)" not in html

    # Taken back: the reason and the figures go again.
    publish(organizer, series, process="", coming="", participation="false")
    told = view(app, path)["transparency"]
    assert told["decisions"][0]["reason"] is None
    assert all(w["participants"] is None and not w["few"] for w in told["workshops"])

    # Concluded: the date is told.
    ids = [f["id"] for f in after["factors"] if f["kept_overall"]]
    organizer.do(series, "series.conclude", factor_ids=ids)
    assert view(app, path)["transparency"]["concluded_at"]


def test_what_the_owner_publishes_is_checked(app: Flask) -> None:
    organizer, series, _, _ = two_workshops(app)
    path = opened(organizer, series)
    too_long = publish(organizer, series, status=400, process="x" * (PUBLIC_TEXT_MAX + 1))
    assert str(PUBLIC_TEXT_MAX) in too_long.get_data(as_text=True)
    publish(organizer, series, status=400, factor_ids=[10**6])  # no such removal
    assert view(app, path)["transparency"]["process"] == ""


@pytest.mark.parametrize(
    ("language", "title"),
    [("sv", "Så beräknas den samlade bilden"), ("en", "How the combined picture is computed")],
)
def test_the_help_page_is_samsyns_own(app: Flask, language: str, title: str) -> None:
    organizer, series, _, _ = two_workshops(app)
    path = opened(organizer, series)
    browser = app.test_client()
    browser.get(f"/language/{language}")
    help_page = browser.get("/help/combined")
    assert help_page.status_code == 200 and title in help_page.get_data(as_text=True)
    organizer.http.get(f"/language/{language}")
    for page in (
        browser.get(path).get_data(as_text=True),
        organizer.http.get(f"/series/{series}/combined").get_data(as_text=True),
    ):
        assert 'href="/help/combined"' in page and "docs/consensus.md" not in page
