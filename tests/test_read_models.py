"""The read side's types (facilitation/queries/views.py) hold for what the app really sends
and exports, and the documents describe the same fields: docs/export-schema.json declares
every key of the export record (every method's result rows included), and docs/protocol.md
every field of the `state` and `me` messages and of the follow page's `series`. A key added
to a view without its type, or to a type without its documentation, fails here."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest
from conftest import Room
from flask import Flask
from organizing import Organizer
from test_follow import events, follower, opened
from test_series import ballots, two_workshops

from facilitation.infrastructure import models
from facilitation.queries import state, views

DOCS = Path(__file__).parent.parent / "docs"
SCHEMA = json.loads((DOCS / "export-schema.json").read_text())
PROTOCOL = (DOCS / "protocol.md").read_text()
METHODS = ["keep_remove", "dots", "points", "rating", "ranking", "matrix"]

# --- Checking values against the types --------------------------------------------------


def fields(td: Any) -> dict[str, Any]:
    """A TypedDict's keys with their types (NotRequired taken off)."""
    return get_type_hints(td)


def optional(td: Any) -> set[str]:
    """A TypedDict's keys marked NotRequired (read from the annotations themselves)."""
    hints = get_type_hints(td, include_extras=True)
    found = {k for k, t in hints.items() if get_origin(t) is NotRequired}
    assert found == set(td.__optional_keys__), td  # views.py is made with them evaluated
    return found


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


class Checker:
    """Checks a value against a type, recursively, and notes every TypedDict it met."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def check(self, value: Any, tp: Any, path: str = "$") -> None:
        if tp is Any:
            return
        if is_typeddict(tp):
            assert isinstance(value, dict), f"{path}: {value!r} is not an object ({tp.__name__})"
            declared = fields(tp)
            missing = set(declared) - optional(tp) - set(value)
            undeclared = set(value) - set(declared)
            assert not missing, f"{path}: {tp.__name__} lacks {sorted(missing)}"
            assert not undeclared, f"{path}: {sorted(undeclared)} not declared in {tp.__name__}"
            for key, item in value.items():
                self.check(item, declared[key], f"{path}.{key}")
            self.seen.add(tp.__name__)
            return
        if _is_union(tp):
            options = get_args(tp)
            if value is None and type(None) in options:
                return
            faults = []
            for option in (o for o in options if o is not type(None)):
                trial = Checker()
                try:
                    trial.check(value, option, path)
                except AssertionError as fault:
                    faults.append(str(fault))
                else:
                    self.seen |= trial.seen
                    return
            raise AssertionError(f"{path}: fits none of {tp}: {faults}")
        origin = get_origin(tp)
        if origin is list:
            assert isinstance(value, list), f"{path}: {value!r} is not a list"
            for i, item in enumerate(value):
                self.check(item, get_args(tp)[0], f"{path}[{i}]")
        elif origin is dict:
            assert isinstance(value, dict), f"{path}: {value!r} is not an object"
            for key, item in value.items():
                assert isinstance(key, str), f"{path}: key {key!r}"
                self.check(item, get_args(tp)[1], f"{path}.{key}")
        elif tp is float:
            assert isinstance(value, int | float) and not isinstance(value, bool), path
        elif tp is int:
            assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
        elif tp in (str, bool):
            assert isinstance(value, tp), f"{path}: {value!r} is not {tp.__name__}"
        else:
            raise AssertionError(f"{path}: no check for {tp}")


def check(value: Any, tp: Any) -> set[str]:
    """Check `value` against `tp`; the names of the TypedDicts met on the way."""
    checker = Checker()
    checker.check(value, tp)
    return checker.seen


def results_rows_by_method(results: dict[str, Any]) -> None:
    """Each row of a round's results is its own method's row (not just any method's)."""
    for row in results["factors"]:
        check(row, views.RESULT_ROWS[results["method"]])


# --- What the app sends and exports -----------------------------------------------------

FACTORS = [
    {"title": "Urbanisering", "category": "Sociala"},
    {"title": "Åldrande befolkning", "category": "Sociala"},
    {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
    {"title": "Urbanisation", "category": "Sociala"},
]


def received(client: Any, event: str) -> list[dict[str, Any]]:
    return [m["args"][0] for m in client.get_received() if m["name"] == event]


@pytest.fixture
def lived(make_room: Any) -> tuple[Room, dict[str, list[dict[str, Any]]]]:
    """A workshop through every step and every method — a proposal, a removal, a merge, a
    proxy, a timer, a live Delphi round — and every `state` and `me` its screens got."""
    room = make_room(language="sv", factors=FACTORS)
    room.phones = [room.phone()[1] for _ in range(3)]
    got: dict[str, list[dict[str, Any]]] = {"board": [], "console": [], "phone": [], "me": []}

    def collect() -> None:
        room.flush()
        got["board"] += received(room.board, "state")
        got["console"] += received(room.console, "state")
        for phone in room.phones:
            messages = phone.get_received()
            got["phone"] += [m["args"][0] for m in messages if m["name"] == "state"]
            got["me"] += [m["args"][0] for m in messages if m["name"] == "me"]

    room.ok(room.phones[0], "participant.rename", nickname="Anna")
    room.ok(room.console, "timer.set", seconds=120)
    room.ok(room.console, "step.set", step="complete")
    room.ok(
        room.phones[1], "factor.propose", title="Pendling", category_id=room.category("Sociala")
    )
    collect()
    ids = {f["title"]: room.factor(f["title"]) for f in FACTORS}
    u, a, k = ids["Urbanisering"], ids["Åldrande befolkning"], ids["Kompetensförsörjning"]
    room.ok(room.console, "step.set", step="prune")
    room.run_round("keep_remove", [{k: "remove"}, {k: "remove", u: "keep"}, {k: "keep"}])
    collect()
    room.ok(room.console, "factor.remove", factor_id=k, reason="Två av tre")
    room.ok(room.console, "factor.merge", factor_id=ids["Urbanisation"], into_id=u)
    room.ok(room.console, "proxy.add", label="Gunnel")
    room.ok(room.console, "step.set", step="prioritise")
    room.run_round("dots", [{u: 2, a: 1}, {u: 3}, {a: 1}], budget=3, cap=3)
    collect()
    room.run_round("points", [{u: 60, a: 40}, {u: 100}, {a: 30}], cap=100)
    collect()
    rating = room.run_round("rating", [{u: 5, a: 2}, {u: 4, a: "no_opinion"}, {u: 4, a: 3}])
    # A reason from the phone whose answer lay outside the middle half.
    outside = [p for p in room.phones if room.state(p)["me"]["outside"]]
    assert outside
    room.ok(outside[0], "reason.submit", round_id=rating, factor_id=u, text="Därför")
    collect()
    room.run_round("ranking", [{u: 1, a: 2}, {a: 1, u: 2}, {u: 1}], top_k=2)
    collect()
    room.run_round("matrix", [{u: [5, 1]}, {u: [4, 2]}, {u: [5, 2]}])
    collect()
    # A Delphi round of the matrix, live: the previous round's results beside the live ones.
    round_id = room.ok(room.console, "round.open", method="matrix", live=True)["round_id"]
    room.ok(room.phones[0], "ballot.submit", round_id=round_id, entries={str(u): [4, 4]})
    collect()
    room.ok(room.console, "round.close", round_id=round_id)  # closed, not yet revealed
    collect()
    return room, got


def test_every_state_and_me_sent_is_what_its_type_declares(
    lived: tuple[Room, dict[str, list[dict[str, Any]]]],
) -> None:
    _, got = lived
    seen: set[str] = set()
    for kind, tp in (
        ("board", views.BoardState),
        ("console", views.ConsoleState),
        ("phone", views.PhoneState),
        ("me", views.Me),
    ):
        assert got[kind], kind
        for message in got[kind]:
            seen |= check(message, tp)
            for name in ("results", "previous"):
                if message.get(name):
                    results_rows_by_method(message[name])
    # The workshop showed every part of the views: each kind of row, a Delphi round, …
    assert {
        "KeepRemoveResult",
        "DotsResult",
        "RatingResult",
        "RankingResult",
        "MatrixResult",
        "Timer",
        "HistoryEntry",
        "ConsoleRound",
        "Proposal",
        "OwnBallot",
        "Person",
        "Participation",
        "Outside",
        "SharedReason",
        "ConsoleReason",
    } <= seen
    assert any(m["previous"] for m in got["phone"]) and any(m["previous_ballot"] for m in got["me"])


def test_every_snapshot_is_what_its_type_declares(
    lived: tuple[Room, dict[str, list[dict[str, Any]]]],
) -> None:
    room, _ = lived
    for client, tp in (
        (room.board, views.BoardState),
        (room.console, views.ConsoleState),
        (room.phones[0], views.PhoneState),
    ):
        snapshot = room.state(client)  # its state as sent: with the server's time, …
        assert keys(views.Snapshot) - optional(views.Snapshot) <= set(snapshot)
        assert set(snapshot) <= keys(views.Snapshot)
        check(snapshot["state"], tp)
    phone = room.state(room.phones[0])
    assert "me" in phone and check(phone["me"], views.Me)
    with room.app.extensions["samsyn"].db.read() as s:
        workshop = s.query(models.Workshop).filter_by(code=room.code).one()
        room_view = state.room_view(s, workshop)
        check(room_view, views.RoomView)
        check(state.phone_view(room_view), views.PhoneView)
        check(state.console_view(s, workshop, room_view), views.ConsoleView)


def test_the_export_record_and_its_json_are_what_their_types_declare(
    lived: tuple[Room, dict[str, list[dict[str, Any]]]],
) -> None:
    room, _ = lived
    services = room.app.extensions["samsyn"].services
    for nicknames in (False, True):
        record = services.workshops.record(room.code, nicknames=nicknames)
        seen = check(record, views.Record)
        for round_ in record["rounds"]:
            results_rows_by_method(round_)
        assert {
            "KeepRemoveResult",
            "MatrixResult",
            "RecordAnswer",
            "RecordReason",
            "LogEntry",
        } <= seen
        answers = [a for r in record["rounds"] for a in r["answers"]]
        assert all(("nickname" in a) == nicknames for a in answers)
    response = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json")
    check(json.loads(response.data), views.WorkshopDocument)


@pytest.fixture
def series(app: Flask) -> tuple[Organizer, int]:
    """Three workshops of a series (rating; keep/remove and dots; ranking, with a merge, an
    edit and a factor of its own), concluded."""
    organizer, series_id, _, _ = two_workshops(app)
    third = organizer.workshop(series_id, "Föreningar")
    third.join(2)
    ids = third.ids()
    third.ok(third.console, "factor.edit", factor_id=ids["Elektrifiering"], title="Elbilar")
    third.ok(
        third.console, "factor.merge", factor_id=ids["Besöksnäring"], into_id=ids["Digitalisering"]
    )
    third.ok(
        third.console, "factor.add", title="Bredband", category_id=third.category("Ekonomiska")
    )
    third.ok(third.console, "step.set", step="prioritise")
    ballots(third, "ranking", [{"Digitalisering": 1, "Elbilar": 2}, {"Bredband": 1}], top_k=2)
    matrix = organizer.workshop(series_id, "Kommunen")
    matrix.join(2)
    matrix.ok(matrix.console, "step.set", step="prioritise")
    ballots(matrix, "matrix", [{"Digitalisering": [5, 1]}, {"Elektrifiering": [2, 4]}], scale=5)
    record = organizer.record(series_id)
    chosen = [f["id"] for f in record["factors"] if f["kept_overall"]]
    organizer.do(series_id, "series.conclude", factor_ids=chosen)
    return organizer, series_id


def test_the_series_records_are_what_their_types_declare(
    app: Flask, series: tuple[Organizer, int]
) -> None:
    organizer, series_id = series
    services = app.extensions["samsyn"].services
    login = services.organizers.login(organizer.token())
    record = services.series.record(login.organizer_id, series_id)
    seen = check(record, views.CombinedRecord)
    assert {"Cell", "Figures", "KeepFigures", "Added", "Final", "SeriesWorkshop"} <= seen
    figures = [c.get("figures", {}) for f in record["factors"] for c in f["cells"].values()]
    assert any("mean_rank" in f for f in figures) and any("impact" in f for f in figures)
    assert any("title_here" in c for f in record["factors"] for c in f["cells"].values())
    document = organizer.record(series_id)
    check(document, views.SeriesDocument)


def test_the_follow_page_is_what_its_type_declares(
    app: Flask, series: tuple[Organizer, int]
) -> None:
    organizer, series_id = series
    path = opened(organizer, series_id)
    stranger = app.test_client()
    page = stranger.get("/api" + path).get_json()
    seen = check(page, views.FollowView)
    assert "PublicCell" in seen and "Cell" not in seen and "SeriesWorkshop" not in seen
    assert any("merged_into" in c for f in page["factors"] for c in f["cells"].values())
    live = events(follower(app, path))
    assert live and all(check(view, views.FollowView) for view in live)


# --- The export schema ------------------------------------------------------------------

ROW_DEFS = {
    "keep_remove": "keepRemoveRow",
    "dots": "dotsRow",
    "points": "pointsRow",
    "rating": "ratingRow",
    "ranking": "rankingRow",
    "matrix": "matrixRow",
}
# Keys the record always has that the schema leaves optional: exports made before them.
OLDER_EXPORTS_LACK = {
    "workshop.doors_closed",
    "workshop.time_zone",
    # The stopping settings, the recommendation and the change per factor (issue #17).
    *(
        f"{rule}.{key}"
        for rule in ("workshop.consensus_rule", "rounds.rule", "rounds.declared_rule")
        for key in ("stable_change", "max_rounds")
    ),
    "rounds.recommendation",
    *(f"{row}.change" for row in ROW_DEFS.values()),
    "matrixRow.impact.distribution",
    "matrixRow.uncertainty.distribution",
    # Stakeholder groups, who took part, and reasons from the edges (issue #17).
    "groups",
    *(
        f"{rule}.every_group"
        for rule in ("workshop.consensus_rule", "rounds.rule", "rounds.declared_rule")
    ),
    "rounds.groups",
    "rounds.verdict.groups_behind",
    "rounds.groups.verdict.groups_behind",
    "rounds.answers.group",
    "reasons",
    # Exports marked preliminary, and the moderation policy (issue #18).
    "preliminary",
    "workshop.moderation_policy",
}


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _objects(tp: Any) -> list[Any]:
    """The TypedDicts a field's type holds (through None, lists and dicts)."""
    if is_typeddict(tp):
        return [tp]
    if _is_union(tp) or get_origin(tp) in (list, dict):
        return [o for arg in get_args(tp) for o in _objects(arg)]
    return []


def compare(node: dict[str, Any], td: Any, path: str) -> None:
    """The schema's object `node` declares exactly `td`'s keys, the same ones required, and
    likewise for every object inside."""
    node = resolve(node)
    if "oneOf" in node:  # an object or null
        shapes = [resolve(o) for o in node["oneOf"] if o.get("type") != "null"]
        assert len(shapes) == 1, path
        node = shapes[0]
    declared = fields(td)
    properties = node.get("properties", {})
    assert set(properties) == set(declared), (
        f"{path}: only in the schema {sorted(set(properties) - set(declared))}, "
        f"only in {td.__name__} {sorted(set(declared) - set(properties))}"
    )
    required = set(declared) - optional(td)
    lacking = {k for k in required if f"{path}.{k}".lstrip(".") in OLDER_EXPORTS_LACK}
    assert set(node.get("required", [])) == required - lacking, path
    assert node.get("additionalProperties") is False, f"{path}: additionalProperties"
    for key, tp in declared.items():
        inner = _objects(tp)
        if not inner:
            continue
        child = resolve(properties[key])
        if child.get("type") == "array":
            child = resolve(child["items"])
        if len(inner) == 1:
            compare(child, inner[0], f"{path}.{key}")


def test_the_export_schema_declares_every_key_of_the_record() -> None:
    compare(SCHEMA, views.WorkshopDocument, "")


def test_the_export_schema_declares_every_methods_result_rows() -> None:
    variants = [o["$ref"].rsplit("/", 1)[1] for o in SCHEMA["$defs"]["resultRow"]["oneOf"]]
    assert sorted(variants) == sorted(ROW_DEFS.values())
    for method, name in ROW_DEFS.items():
        compare(SCHEMA["$defs"][name], views.RESULT_ROWS[method], name)
    rows = SCHEMA["$defs"]["round"]["properties"]["factors"]["items"]
    assert resolve(rows) is SCHEMA["$defs"]["resultRow"]


# --- The protocol -----------------------------------------------------------------------


def table_after(marker: str, text: str = PROTOCOL) -> dict[str, str]:
    """The first table after `marker`: each row's text, by the field in its first column."""
    start = text.index(marker)
    rows: dict[str, str] = {}
    for line in text[start:].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        match = re.match(r"\| `(\w+)` \|(.*)", line)
        if match:
            rows[match.group(1)] = match.group(2)
    assert rows, marker
    return rows


def braced(text: str) -> set[str]:
    """The names in the first `{a, b: [...], c}` of a text."""
    match = re.search(r"`\{([^}]*)\}`", text)
    assert match, text
    names = re.sub(r"\[[^\]]*\]", "", match.group(1))
    return {n.split(":")[0].strip() for n in names.split(",")}


def named(text: str) -> set[str]:
    """The `names` in a text, outside parentheses."""
    while re.search(r"\([^()]*\)", text):
        text = re.sub(r"\([^()]*\)", "", text)
    return set(re.findall(r"`(\w+)`", text))


def keys(td: Any) -> set[str]:
    return set(fields(td))


def nested(td: Any, key: str) -> Any:
    (inner,) = _objects(fields(td)[key])
    return inner


def sentence(pattern: str) -> str:
    match = re.search(pattern, PROTOCOL, re.DOTALL)
    assert match, pattern
    return match.group(1)


def test_the_protocol_documents_every_field_of_the_state() -> None:
    room = table_after("**The room's view**")
    # server_time is added as each message is sent, to every view.
    assert set(room) == keys(views.RoomView) | {"server_time"}
    for sent in (views.PhoneState, views.BoardState, views.ConsoleState):
        assert "server_time" in keys(sent)
    for field, text in room.items():
        if field == "server_time" or not _objects(fields(views.RoomView)[field]):
            continue
        inner = nested(views.RoomView, field)
        if field in ("results", "previous"):
            continue  # described below the table
        documented = braced(text) if "{" in text else named(text)
        assert documented == keys(inner), field
    board = sentence(r"\*\*Board\*\*: the room's view plus (.*?):")
    assert keys(views.BoardState) == keys(views.RoomView) | named(board) | {"server_time"}
    console = table_after("**Console**: the room's view")
    plus = named(sentence(r"\*\*Console\*\*: the room's view plus (.*?),"))
    assert keys(views.ConsoleState) == keys(views.ConsoleView) | plus | {"server_time"}
    assert set(console) <= keys(views.ConsoleView)
    assert keys(views.ConsoleView) - keys(views.RoomView) <= set(console)
    factors = named(console["factors"].split("each also with", 1)[1])
    assert factors == keys(views.ConsoleFactor) - keys(views.Factor)
    assert keys(views.Factor) == braced(room["factors"])
    for field in ("rounds", "proxies", "log"):
        assert braced(console[field]) == keys(nested(views.ConsoleView, field)), field
    phone = sentence(r"\*\*Phone\*\*: the room's view \*\*without\*\* (.*?) \(")
    assert keys(views.PhoneState) == keys(views.RoomView) - named(phone) | {"server_time"}


def test_the_protocol_documents_every_field_of_the_results_and_rows() -> None:
    assert braced(sentence(r"(`results` \(and `previous`\) is `\{.*?\}`)")) == keys(views.Results)
    assert braced(sentence(r"(`verdict`: `\{.*?\}`)")) == keys(views.Verdict)
    assert braced(sentence(r"(`concordance` \(dots.*?\}`)")) == keys(views.Concordance)
    carried = sentence(r"each carries (.*?) as they are now")
    assert named(carried) == keys(views.FactorNow)
    bullets = {
        "keep_remove": "keep/remove",
        "dots": "dots",
        "points": "points",
        "rating": "rating",
        "ranking": "ranking",
        "matrix": "matrix",
    }
    sides = braced(sentence(r"Every row also carries what its verdict reads: (`\{.*?\}`)"))
    assert sides == keys(views.Sides)
    for method, bullet in bullets.items():
        documented = braced(sentence(rf"\n  - {re.escape(bullet)}: (`\{{.*?\}}`)"))
        documented |= {"factor_id"} | ({"rank"} if method != "keep_remove" else set()) | sides
        assert documented == keys(views.TALLY_ROWS[method]), method
        assert keys(views.RESULT_ROWS[method]) == documented | keys(views.FactorNow)
    scale = sentence(r"`impact` and `uncertainty`\s+are (`\{.*?\}`)")
    assert braced(scale) == keys(views.ScaleSummary)


def test_the_protocol_documents_every_field_of_me() -> None:
    me = table_after("### `me`")
    assert set(me) == keys(views.Me)
    for field in ("participant", "ballot", "previous_ballot", "proposals"):
        assert braced(me[field]) == keys(nested(views.Me, field)), field


def test_the_protocol_documents_every_field_of_the_follow_page() -> None:
    document = sentence(r"api\.md#get-apifollowcode\)\): (.*?)\. Sent when")
    assert named(document) == keys(views.FollowView)
