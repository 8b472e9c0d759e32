"""Stakeholder groups through the real commands: the facilitator lists groups, phones pick
one, results and verdicts come per group and overall, the rule "in every group", who took
part per round, and the privacy rule that no figure is shown for fewer than three people."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import jsonschema
import openpyxl
from conftest import Room
from pypdf import PdfReader
from test_exports import SCHEMA, export
from test_read_models import check

from facilitation.queries import views

FACTORS = [
    {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
    {"title": "Elektrifiering", "category": "Teknologiska"},
]
COMPANIES, PARTNERS = "Företag", "Regionala partner"


def grouped_room(
    make_room: Any, sizes: dict[str, int], *, without: int = 0, **setting: Any
) -> Room:
    """A room in the prune step with groups of these sizes (phones in that order), and
    `without` phones that say no group."""
    room = make_room(factors=FACTORS)
    listed = room.ok(room.console, "groups.set", groups=[{"name": n} for n in sizes], **setting)
    ids = {g["name"]: g["id"] for g in listed["groups"]}
    room.phones = []
    for name, size in sizes.items():
        for _ in range(size):
            phone = room.phone()[1]
            room.ok(phone, "group.choose", group_id=ids[name])
            room.phones.append(phone)
    room.phones += [room.phone()[1] for _ in range(without)]
    room.ok(room.console, "step.set", step="prune")
    room.groups = ids  # type: ignore[attr-defined]
    return room


def test_the_facilitator_lists_renames_and_removes_groups(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    listed = room.ok(
        room.console, "groups.set", groups=[{"name": COMPANIES}, {"name": "Kommunen"}]
    )["groups"]
    companies, municipality = (g["id"] for g in listed)
    assert room.state(room.board)["state"]["groups"] == listed
    renamed = room.ok(
        room.console,
        "groups.set",
        groups=[{"id": companies, "name": "Företagen"}, {"name": PARTNERS}],
        required=True,
    )["groups"]
    assert [g["name"] for g in renamed] == ["Företagen", PARTNERS]
    assert renamed[0]["id"] == companies and municipality not in {g["id"] for g in renamed}
    assert room.state(room.board)["state"]["workshop"]["group_required"] is True
    for groups, code in (
        ([{"name": "a"}, {"name": "A "}], "duplicate_group"),
        ([{"name": f"g{i}"} for i in range(13)], "too_many_groups"),
        ([{"id": municipality, "name": "Kommunen"}], "unknown_group"),
        ([{"id": companies, "name": "x"}, {"id": companies, "name": "y"}], "unknown_group"),
        ([{"name": "  "}], "required"),
    ):
        assert room.send(room.console, "groups.set", groups=groups)["error"]["code"] == code
    # A group someone picked stays.
    phone = room.phone()[1]
    room.ok(phone, "group.choose", group_id=companies)
    answer = room.send(room.console, "groups.set", groups=[{"name": PARTNERS}])
    assert answer["error"]["code"] == "group_chosen"
    # The switches alone, and nothing at all.
    room.ok(room.console, "groups.set", shown=False)
    state = room.state(room.board)["state"]
    assert state["workshop"]["groups_shown"] is False and len(state["groups"]) == 2
    assert room.send(room.console, "groups.set")["error"]["code"] == "nothing_to_change"
    # Without groups, nobody can be asked for one.
    other = make_room(factors=FACTORS)
    other.ok(other.console, "groups.set", groups=[], required=True)
    assert other.state(other.board)["state"]["workshop"]["group_required"] is False
    # Participants may not list groups.
    assert room.send(phone, "groups.set", groups=[])["error"]["code"] == "forbidden"


def test_a_phone_picks_its_group_until_it_votes(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = [
        g["id"]
        for g in room.ok(
            room.console,
            "groups.set",
            groups=[{"name": COMPANIES}, {"name": PARTNERS}],
            required=True,
        )["groups"]
    ]
    stranger = make_room(factors=FACTORS)
    foreign = stranger.ok(stranger.console, "groups.set", groups=[{"name": "X"}])["groups"]
    phone = room.phone()[1]
    room.ok(room.console, "step.set", step="prune")
    round_id = room.ok(room.console, "round.open", method="keep_remove")["round_id"]
    factor = room.factor("Elektrifiering")
    vote = {"round_id": round_id, "entries": {str(factor): "keep"}}
    assert room.send(phone, "ballot.submit", **vote)["error"]["code"] == "group_required"
    assert room.send(phone, "group.choose", group_id=None)["error"]["code"] == "group_required"
    unknown = room.send(phone, "group.choose", group_id=foreign[0]["id"])
    assert unknown["error"]["code"] == "unknown_group"
    room.ok(phone, "group.choose", group_id=ids[0])
    room.ok(phone, "group.choose", group_id=ids[1])  # changed their mind before voting
    me = room.state(phone)["me"]
    assert (me["group_id"], me["group_fixed"]) == (ids[1], False)
    room.ok(phone, "ballot.submit", **vote)
    assert room.send(phone, "group.choose", group_id=ids[0])["error"]["code"] == "group_fixed"
    room.ok(phone, "group.choose", group_id=ids[1])  # saying it again changes nothing
    me = room.state(phone)["me"]
    assert (me["group_id"], me["group_fixed"]) == (ids[1], True)
    # A proxy is placed in a group by the facilitator, and votes without being asked.
    room.ok(room.console, "proxy.add", label="Per", group_id=ids[0])
    refused = room.send(room.console, "proxy.add", group_id=foreign[0]["id"])
    assert refused["error"]["code"] == "unknown_group"


def test_results_come_per_group_and_the_rule_can_ask_every_group(make_room: Any) -> None:
    room = grouped_room(make_room, {COMPANIES: 4, PARTNERS: 4})
    k, e = room.factor("Kompetensförsörjning"), room.factor("Elektrifiering")
    room.ok(room.console, "workshop.configure", consensus_every_group=True)
    # Companies keep both; partners keep k and split two against two on e.
    answers = [{k: "keep", e: "keep"}] * 4 + [{k: "keep", e: "keep"}] * 2
    answers += [{k: "keep", e: "remove"}] * 2
    room.run_round("keep_remove", answers)
    room.flush()
    results = room.latest(room.board)["results"]
    check(results, views.Results)
    by_group = {g["group_id"]: g for g in results["groups"]}
    partners = by_group[room.groups[PARTNERS]]
    assert partners["ballots"] == 4 and partners["verdicts"] == {str(k): "in", str(e): "divided"}
    assert by_group[room.groups[COMPANIES]]["verdict"]["reached"] is True
    # The room: 6 of 8 keep e (75 %), but not in every group.
    verdicts = {row["factor_id"]: row["verdict"] for row in results["factors"]}
    assert verdicts == {k: "in", e: "divided"}
    assert results["verdict"]["reached"] is False
    assert results["verdict"]["groups_behind"] == [room.groups[PARTNERS]]
    # Without "in every group", the room's own verdict stands.
    room.ok(
        room.console,
        "workshop.configure",
        consensus_every_group=False,
        consensus_round_id=results["round_id"],
    )
    room.flush()
    again = room.latest(room.board)["results"]
    assert again["verdict"]["reached"] is True and again["rule_changed"] is True


def test_turnout_per_round_and_group(make_room: Any) -> None:
    room = grouped_room(make_room, {COMPANIES: 3, PARTNERS: 3}, without=3)
    k = room.factor("Kompetensförsörjning")
    room.run_round("keep_remove", [{k: "keep"}] * 9)
    # In the second round one company and one phone without a group skip.
    second = [{k: "keep"}] * 2 + [{}] + [{k: "keep"}] * 5 + [{}]
    round_id = room.ok(room.console, "round.open", method="keep_remove")["round_id"]
    for phone, entries in zip(room.phones, second, strict=False):
        if entries:
            room.ok(
                phone,
                "ballot.submit",
                round_id=round_id,
                entries={str(f): v for f, v in entries.items()},
            )
    room.ok(room.console, "round.close", round_id=round_id)
    room.flush()
    turnout = room.latest(room.console)["results"]["participation"]
    assert {key: turnout[key] for key in ("joined", "answered", "skipped", "dropped")} == {
        "joined": 9,
        "answered": 7,
        "skipped": 2,
        "dropped": 2,
    }
    by_group = {g["group_id"]: g for g in turnout["groups"]}
    assert by_group[room.groups[COMPANIES]] == {
        "group_id": room.groups[COMPANIES],
        "withheld": False,
        "joined": 3,
        "answered": 2,
        "skipped": 1,
        "dropped": 1,
    }
    # The first round has no round before it.
    record = json.loads(export(room, "json").data)
    assert record["rounds"][0]["participation"]["dropped"] is None


def test_no_figure_for_fewer_than_three(make_room: Any) -> None:
    room = grouped_room(make_room, {COMPANIES: 4, PARTNERS: 2}, without=3)
    k = room.factor("Kompetensförsörjning")
    room.run_round("keep_remove", [{k: "keep"}] * 4 + [{k: "remove"}] * 2 + [{k: "keep"}] * 3)
    room.flush()
    shown = room.latest(room.board)["results"]["groups"]
    assert {"group_id": room.groups[PARTNERS], "withheld": True} in shown
    document = json.loads(export(room, "json").data)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    groups = {a["group"] for a in document["rounds"][0]["answers"]}
    assert groups == {COMPANIES, None}  # the two partners' ballots do not say so
    turnout = document["rounds"][0]["participation"]["groups"]
    assert {"group_id": room.groups[PARTNERS], "withheld": True} in turnout
    # The facilitator may keep the groups off the room's screens; the console keeps them.
    room.ok(
        room.console,
        "groups.set",
        groups=[{"id": i, "name": n} for n, i in room.groups.items()],
        shown=False,
    )
    room.flush()
    assert room.latest(room.board)["results"]["groups"] == []
    assert room.latest(room.console)["results"]["groups"] == shown


def test_the_workbook_and_the_report_carry_groups_and_turnout(make_room: Any) -> None:
    room = grouped_room(make_room, {COMPANIES: 4, PARTNERS: 3, "Kommunen": 2}, without=1)
    k, e = room.factor("Kompetensförsörjning"), room.factor("Elektrifiering")
    room.run_round("keep_remove", [{k: "keep", e: "keep"}] * 10)
    book = openpyxl.load_workbook(io.BytesIO(export(room, "xlsx").data))
    ballots = list(book["Röster"].iter_rows(values_only=True))
    column = ballots[0].index("Intressentgrupp")
    # The municipality's two and the one without a group leave three: partners show too.
    assert sorted(str(row[column]) for row in ballots[1:]) == sorted(
        ([COMPANIES] * 4 + [PARTNERS] * 3 + ["None"] * 3) * 2
    )
    pdf = PdfReader(io.BytesIO(export(room, "pdf").data))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert "10 anslutna, 10 svarade, 0 hoppade över" in text
    assert f"Grupp {COMPANIES} Konsensus nådd (4 röster)" in text
    assert "Deltog: Kommunen inga siffror: för få personer" in text


def test_the_csv_and_the_workbook_give_each_groups_verdict_and_the_rule(make_room: Any) -> None:
    room = grouped_room(make_room, {COMPANIES: 4, PARTNERS: 4})
    k, e = room.factor("Kompetensförsörjning"), room.factor("Elektrifiering")
    room.ok(room.console, "workshop.configure", consensus_every_group=True)
    answers = [{k: "keep", e: "keep"}] * 6 + [{k: "keep", e: "remove"}] * 2
    room.run_round("keep_remove", answers)
    text = export(room, "csv").data.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    by_factor = {row["Faktor"]: row for row in table}
    assert by_factor["Elektrifiering"]["Utlåtande per intressentgrupp"] == (
        f"{COMPANIES}: enighet: med; {PARTNERS}: splittrat"
    )
    assert by_factor["Elektrifiering"]["Regel som gäller"].endswith("; i varje intressentgrupp")
    book = openpyxl.load_workbook(io.BytesIO(export(room, "xlsx").data))
    rows = list(book["Omgångar"].iter_rows(values_only=True))
    column = rows[0].index("Utlåtande per intressentgrupp")
    assert {row[column] for row in rows[1:]} == {
        f"{COMPANIES}: enighet: med; {PARTNERS}: enighet: med",
        f"{COMPANIES}: enighet: med; {PARTNERS}: splittrat",
    }
