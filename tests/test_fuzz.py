"""Bad input, generated (issue #8): every Socket.IO command, `state.get`, the handshake and
every JSON endpoint, fed wrong types, missing and extra fields, huge and strange text,
numbers at the edges and ids of another workshop in the same database.

Whatever comes, the answer is `ok` or a refusal whose code the docs list for that command or
endpoint; nothing is logged as a bug; and a refusal changes nothing in the database (every
table is compared, row by row, before and after).
"""

from __future__ import annotations

import io
import json
import logging
import math
import operator
import re
import urllib.parse
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED, Room, socketio
from flask import Flask
from flask.testing import FlaskClient
from flask_socketio import SocketIOTestClient
from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from facilitation.core import schemas
from facilitation.core.domain import Method, Role, Step, normalise_code
from facilitation.edges.live import realtime
from facilitation.infrastructure import models
from facilitation.infrastructure.db import Database
from facilitation.usecases import COMMANDS, Actor, Services

Rows = dict[str, list[dict[str, Any]]]
Draw = Callable[[st.SearchStrategy[Any]], Any]

# --- What the docs promise ----------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"
PROTOCOL = (DOCS / "protocol.md").read_text()
API = (DOCS / "api.md").read_text()


def _section(doc: str, heading: str) -> str:
    """The text under a heading line, up to the next heading of the same level or higher
    (lines in code blocks are not headings)."""
    lines = doc.splitlines()
    start = lines.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    fenced = False
    for end in range(start + 1, len(lines)):
        fenced ^= lines[end].startswith("```")
        if not fenced and re.match(rf"#{{1,{level}}} ", lines[end]):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])


def _codes(text: str) -> set[str]:
    """Every `code` in the text, also when written with its status (`404 unknown_workshop`)."""
    return set(re.findall(r"`(?:\d{3} )?([a-z][a-z0-9_]*)`", text))


_COMMON = PROTOCOL[
    PROTOCOL.index("**Errors any command can return**") : PROTOCOL.index("An event name that")
]
# A bug is answered `server_error`: documented, and never acceptable here.
COMMON_CODES = _codes(_COMMON) - {"server_error"}


def documented(command: str) -> set[str]:
    """The error codes the protocol lists for a command: its own and the common ones."""
    return (_codes(_section(PROTOCOL, f"### `{command}`")) | COMMON_CODES) - {"server_error"}


REFUSALS = _codes(_section(PROTOCOL, "### Refusals"))
_HTTP_COMMON = {"http_404", "http_405"}
CREATE_CODES = _codes(_section(API, "## `POST /api/workshops`")) | _HTTP_COMMON
EXPORT_CODES = _codes(_section(API, "## `GET /api/workshops/<code>/export.<format>`"))
DELETE_CODES = _codes(_section(API, "## `DELETE /api/workshops/<code>`")) | _HTTP_COMMON
EXPORT_CODES |= _HTTP_COMMON
FORMATS = ("csv", "json", "xlsx", "pdf", "zip")


def check_answer(command: str, answer: Any, *, resent: bool = False) -> None:
    """`{"ok": true, ...}`, or `{"ok": false, "error": {code, message, field?}}` with a code
    the docs list for this command (for a resent command id, the first command's)."""
    assert isinstance(answer, dict), answer
    if answer["ok"] is True:
        expected = {"ok", "data"} if command == "state.get" else {"ok", "version", "data"}
        assert set(answer) == expected, answer
        assert isinstance(answer["data"], dict)
        if command != "state.get":
            assert isinstance(answer["version"], int) and answer["version"] > 0
        return
    assert answer["ok"] is False and set(answer) == {"ok", "error"}, answer
    error = answer["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error.get("field", ""), str), error
    codes = set().union(*map(documented, COMMANDS)) if resent else documented(command)
    assert error["code"] in codes, f"{command} answered {error}"


def check_http_error(response: Any, codes: set[str]) -> str:
    """A 4xx with `{"error": {code, message, field?}}` and a documented code; the code."""
    assert 400 <= response.status_code < 500, (response.status_code, response.data[:300])
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["message"], str) and error["message"], error
    assert error["code"] in codes, error
    return str(error["code"])


# --- The database, table by table ---------------------------------------------------------


def rows(db: Database) -> Rows:
    """Every row of every table, in primary-key order."""
    with db.read() as s:
        return {
            table.name: [
                dict(row._mapping)
                for row in s.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in models.Base.metadata.sorted_tables
        }


def changed(before: Rows, after: Rows) -> set[str]:
    """The tables whose rows differ (compared by repr, so that NaN equals NaN)."""
    return {name for name in before if repr(before[name]) != repr(after[name])}


def owned(snapshot: Rows, workshop_id: int) -> Rows:
    """The rows that belong to one workshop."""
    rounds = {r["id"] for r in snapshot["rounds"] if r["workshop_id"] == workshop_id}
    ballots = {b["id"] for b in snapshot["ballots"] if b["round_id"] in rounds}

    def mine(table: str, row: dict[str, Any]) -> bool:
        if table == "workshops":
            return bool(row["id"] == workshop_id)
        if "workshop_id" in row:
            return bool(row["workshop_id"] == workshop_id)
        if table == "ballots":
            return row["round_id"] in rounds
        if table == "ballot_entries":
            return row["ballot_id"] in ballots
        return False

    return {name: [r for r in table if mine(name, r)] for name, table in snapshot.items()}


def version(snapshot: Rows, workshop_id: int) -> int:
    return int(next(w["version"] for w in snapshot["workshops"] if w["id"] == workshop_id))


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Anything logged at ERROR or above (a handler that failed logs its traceback)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --- Strategies -------------------------------------------------------------------------------

EDGE_INTS = [
    0,
    -1,
    1,
    2,
    2**31 - 1,
    2**31,
    2**53,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1.0, 1.5, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
ODD_TEXT = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffd",
    "\U0010fffd",
    "\U0001f44d\U0001f3fd",
    FAMILY,
    "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\U0001f1f8\U0001f1ea",
    "e\u0301",
    "\u0301" * 40,
    "Z\u0334\u0321\u0327\u031b\u0349a\u0335l\u0337g\u0334o\u0335",
    "\ufdfa",
    "ß",
    "İ",
    "ǅ",
    "Åäö",
    "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",
    "\u0645\u0631\u062d\u0628\u0627",
    "日本語",
    "\t",
    "\r\n",
    "\n\n\n\n",
    "   ",
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    "%(field)s",
    "%s%n",
    "{0}{}",
    "' OR 1=1 --",
    "NULL",
    "\\u0000",
]
# Around every limit: 40 (nickname), 60 (category), 200 (title), 500 (reason), 2,000 (a
# moderation policy), 1,000 and 5,000 (the schemas' transport limits).
LENGTHS = [39, 40, 41, 59, 60, 61, 199, 200, 201, 500, 501, 999, 1000, 1001, 1999, 2000, 2001]
LENGTHS += [4999, 5000, 5001]
REPEATED = ["a", "å", " ", "\u0301", FAMILY, "x\n", "\u200f", "\x00"]

PLAIN_TEXT = ["Urbanisering", "Klimatförändringar", "Ökad export", "AI i vården", "X"]
texts: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(PLAIN_TEXT),
    st.text(max_size=40),  # Hypothesis leaves out lone surrogates: JSON cannot carry them
    st.lists(st.sampled_from(ODD_TEXT) | st.text(max_size=4), max_size=6).map("".join),
    st.builds(operator.mul, st.sampled_from(REPEATED), st.sampled_from(LENGTHS)),
)
json_scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(EDGE_INTS),
    st.floats(),
    st.sampled_from(EDGE_FLOATS),
    texts,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
command_ids: st.SearchStrategy[str] = st.from_regex(r"[A-Za-z0-9_.:-]{1,47}", fullmatch=True)


def rarely(draw: Draw, one_in: int) -> bool:
    """True about once in `one_in` examples. (Hypothesis leans towards drawing zeros, so zero
    is always the common case here, as is the first option of `pick`.)"""
    return bool(draw(st.integers(0, one_in - 1)) == one_in - 1)


def pick(draw: Draw, *options: tuple[int, st.SearchStrategy[Any]]) -> Any:
    """Draw from one of the strategies, chosen by weight."""
    n = draw(st.integers(0, sum(weight for weight, _ in options) - 1))
    for weight, strategy in options:
        if n < weight:
            return draw(strategy)
        n -= weight
    raise AssertionError("unreachable")


# The workshops change from one example to the next, so what is drawn never depends on them
# (Hypothesis replays examples and insists on that): an index is drawn, then mapped onto
# the ids there are now.
INDEX = st.integers(0, 2**16)


@dataclass
class RoundInfo:
    id: int
    method: Method
    settings: dict[str, Any]
    state: str


@dataclass
class Pool:
    """One workshop's ids, as the fuzzer may name them."""

    categories: list[int] = field(default_factory=list)
    factors: list[int] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    rounds: list[RoundInfo] = field(default_factory=list)
    reasons: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, snapshot: Rows, workshop_id: int) -> Pool:
        mine = owned(snapshot, workshop_id)
        return cls(
            categories=[c["id"] for c in mine["categories"]],
            factors=[f["id"] for f in mine["factors"]],
            active=[f["id"] for f in mine["factors"] if f["status"] == "active"],
            rounds=[
                RoundInfo(r["id"], Method(r["method"]), r["settings"], r["state"])
                for r in mine["rounds"]
            ],
            reasons=[r["id"] for r in mine["reasons"]],
            groups=[g["id"] for g in mine["participant_groups"]],
        )

    @property
    def open_round(self) -> RoundInfo | None:
        return next((r for r in self.rounds if r.state == "open"), None)


NOT_IDS = ["1", "", 1.0, 1.5, True, False, None, [1], {"id": 1}, math.nan, math.inf]


def ids(draw: Draw, own: list[int], foreign: list[int], near: list[int]) -> Any:
    """An id: mostly one of this workshop's, often one of the other workshop's, sometimes
    an id of another kind, a number at the edge, or not a number at all."""
    kind = draw(st.integers(0, 17))
    if kind < 15:
        pool = own if kind < 10 else foreign if kind < 14 else near
        index = draw(INDEX)
        return pool[index % len(pool)] if pool else 1
    if kind < 17:
        return draw(st.sampled_from(EDGE_INTS) | st.integers(-5, 10**6))
    return draw(st.sampled_from(NOT_IDS))


def valid_ballot(draw: Draw, round_: RoundInfo | None, active: list[int]) -> dict[str, Any]:
    """A ballot the rules accept for the open round (an empty one withdraws the vote)."""
    picks = draw(st.lists(INDEX, max_size=6))
    values = draw(st.lists(st.integers(0, 1000), min_size=6, max_size=6))
    if round_ is None or not active:
        return {}
    chosen = list(dict.fromkeys(str(active[p % len(active)]) for p in picks))
    s, method = round_.settings, round_.method
    if method is Method.KEEP_REMOVE:
        return {f: "keep" if v % 2 else "remove" for f, v in zip(chosen, values, strict=False)}
    if method is Method.DOTS:
        left, ballot = s["budget"], {}
        for f, v in zip(chosen, values, strict=False):
            ballot[f] = v % (min(s["cap"], left) + 1)
            left -= ballot[f]
        return ballot
    if method is Method.RATING:
        ratings = (v % (s["scale"] + 1) or "no_opinion" for v in values)
        return dict(zip(chosen, ratings, strict=False))
    if method is Method.RANKING:
        return {f: place for place, f in enumerate(chosen[: s["top_k"]], start=1)}
    scale = s["scale"]
    pairs = ([v % scale + 1, v // scale % scale + 1] for v in values)
    return dict(zip(chosen, pairs, strict=False))


BALLOT_ANSWERS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["keep", "remove", "no_opinion", "Keep", "", " keep", "no opinion"]),
    st.integers(-3, 12),
    st.sampled_from(EDGE_INTS),
    st.lists(st.integers(-1, 11) | st.sampled_from(EDGE_INTS), max_size=3),
    st.sampled_from(EDGE_FLOATS),
    json_values,
)
ODD_KEYS = ["0", "01", "-1", "1e3", " 1", "1\n", "", "abc", "\u0661", "9" * 16, "9" * 17]


@st.composite
def entries(draw: Draw, a: Pool, b: Pool) -> Any:
    """A ballot's entries: a valid one for the open round, one slightly off, or junk."""
    kind = draw(st.integers(0, 14))
    made: Any
    if kind < 8:
        made = valid_ballot(draw, a.open_round, a.active)
    elif kind < 13:
        keys = st.tuples(st.integers(0, 3), INDEX, st.sampled_from(ODD_KEYS))
        raw = draw(st.lists(st.tuples(keys, BALLOT_ANSWERS), max_size=6))

        def key(which: int, index: int, odd: str) -> str:
            pool = a.factors if which < 2 else b.factors if which == 2 else []
            return str(pool[index % len(pool)]) if pool else odd

        made = {key(*k): answer for k, answer in raw}
    elif kind == 13:
        made = {str(i): 1 for i in range(1, 502)}  # more than 500 keys
    else:
        made = draw(json_values)
    if kind < 13 and rarely(draw, 5):
        index, answer = draw(INDEX), draw(BALLOT_ANSWERS)
        if made:  # one answer off
            made[sorted(made)[index % len(made)]] = answer
    return made


TEXT_FIELDS = {"title", "description", "name", "reason", "nickname", "label", "text", "policy"}


def field_value(draw: Draw, name: str, a: Pool, b: Pool) -> Any:
    """A value for one field of a command's schema: right more often than not, so that the
    rules behind the schema are reached too."""
    round_ids = [r.id for r in a.rounds]
    if name == "command_id":
        kind = draw(st.integers(0, 11))
        if kind < 8:  # fresh: a replayed example runs again instead of getting its answer
            return f"{draw(command_ids)}.{uuid.uuid4().hex[:16]}"
        if kind < 11:  # sent again and again: its first answer, whatever the command
            return draw(st.sampled_from(["again", "again-2", "a", "x" * 64]))
        return draw(st.sampled_from(["", "x" * 65, "bad id!", "é", "a\n", "a\x00"]) | json_values)
    if name in ("factor_id", "into_id"):
        return ids(draw, a.factors, b.factors, a.categories + round_ids)
    if name == "category_id":
        return ids(draw, a.categories, b.categories, a.factors)
    if name == "removals":  # factor.remove_many: a few removals, each with a reason
        n = draw(st.integers(0, 3))
        listed = [
            {
                "factor_id": field_value(draw, "factor_id", a, b),
                "reason": field_value(draw, "reason", a, b),
            }
            for _ in range(n)
        ]
        return pick(draw, (6, st.just(listed)), (1, json_values))
    if name == "reason_id":
        return ids(draw, a.reasons, b.reasons, a.factors)
    if name == "group_id":
        if draw(st.integers(0, 5)) == 0:  # "I would rather not say"
            return None
        return ids(draw, a.groups, b.groups, a.factors)
    if name == "groups":
        # The groups as they are (kept or renamed), some left out, some new; or odd shapes.
        picks, names = draw(st.lists(INDEX, max_size=4)), draw(st.lists(texts, max_size=7))
        kept = list(dict.fromkeys(a.groups[p % len(a.groups)] for p in picks)) if a.groups else []
        listed: list[dict[str, Any]] = [
            {"id": g, "name": name} for g, name in zip(kept, names, strict=False)
        ]
        listed += [{"name": name} for name in names[len(kept) :]]
        return pick(
            draw, (6, st.just(listed)), (1, json_values), (1, st.lists(json_values, max_size=3))
        )
    if name == "round_id":
        open_round = a.open_round
        own = round_ids + [open_round.id] * len(round_ids) if open_round else round_ids
        return ids(draw, own, [r.id for r in b.rounds], a.factors)
    if name in TEXT_FIELDS:
        return pick(draw, (6, texts), (1, json_values))
    if name == "step":
        odd = st.sampled_from(["Prepare", "", "closed ", "voting", "PRUNE"])
        return pick(draw, (6, st.sampled_from([s.value for s in Step])), (1, odd | json_values))
    if name == "method":
        odd = st.sampled_from(["Dots", "", "keep-remove", "borda"])
        return pick(draw, (6, st.sampled_from([m.value for m in Method])), (1, odd | json_values))
    if name in ("budget", "cap", "scale", "top_k"):
        return pick(
            draw,
            (6, st.integers(-2, 12)),
            (2, st.integers(0, 150) | st.sampled_from(EDGE_INTS)),
            (1, json_values),
        )
    if name in (
        "live",
        "shuffle",
        "no_own_votes",
        "approval_required",
        "closed",
        "required",
        "shown",
    ):
        return pick(draw, (6, st.booleans()), (1, st.sampled_from([0, 1, "true", None])))
    if name == "language":
        odd = st.sampled_from(["SV", "de", "", "sv-SE"])
        return pick(draw, (6, st.sampled_from(["sv", "en"])), (1, odd | json_values))
    if name == "time_zone":
        odd = st.sampled_from(["Europe/Gotham", "", "europe/stockholm", "../etc", "UTC+1"])
        zones = st.sampled_from(["Europe/Stockholm", "UTC", "America/New_York"])
        return pick(draw, (6, zones), (1, odd | json_values))
    if name.startswith("consensus_"):
        return pick(
            draw,
            (4, st.floats(0, 1)),
            (2, st.sampled_from([*EDGE_FLOATS, 0, 1, 2, 0.49999, 1.0000001])),
            (1, json_values),
        )
    if name == "seconds":
        return pick(
            draw,
            (6, st.integers(0, 14_400)),
            (2, st.sampled_from([-1, 14_401, *EDGE_INTS])),
            (1, json_values),
        )
    if name == "entries":
        return draw(entries(a, b))
    raise AssertionError(f"no strategy for the field {name!r}: add one")


NO_PAYLOAD = object()  # the event sent without any argument


@st.composite
def payloads(draw: Draw, schema: type[schemas.Command], a: Pool, b: Pool) -> Any:
    """A payload for `schema`: its fields (each kept or left out), maybe an extra one, maybe
    a wrong type; or something that is not an object at all."""
    if rarely(draw, 20):
        return draw(st.just(NO_PAYLOAD) | json_values)
    payload: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if draw(st.integers(0, 9)) < (9 if info.is_required() else 5):
            payload[name] = field_value(draw, name, a, b)
    if rarely(draw, 10):
        extra = st.sampled_from(["extra", "id", "__proto__", "command_id ", ""]) | st.text()
        payload[draw(extra)] = draw(json_values)
    return payload


# --- A room to fuzz ----------------------------------------------------------------------------

# Where the workshop is when a command arrives: its step, and the round open in it.
STAGES: dict[str, tuple[Step, Method | None]] = {
    "prepare": (Step.PREPARE, None),
    "complete": (Step.COMPLETE, None),
    "keep_remove": (Step.PRUNE, Method.KEEP_REMOVE),
    "dots": (Step.PRIORITISE, Method.DOTS),
    "rating": (Step.PRIORITISE, Method.RATING),
    "ranking": (Step.PRIORITISE, Method.RANKING),
    "matrix": (Step.PRIORITISE, Method.MATRIX),
    "results": (Step.RESULTS, None),
    "closed": (Step.CLOSED, None),
}
# A simple ballot of every method, for someone else in the room.
BYSTANDER_BALLOT: dict[Method, Callable[[list[int]], dict[str, Any]]] = {
    Method.KEEP_REMOVE: lambda fs: {str(fs[0]): "remove", str(fs[1]): "keep"},
    Method.DOTS: lambda fs: {str(fs[0]): 1},
    Method.RATING: lambda fs: {str(fs[0]): 3, str(fs[1]): "no_opinion"},
    Method.RANKING: lambda fs: {str(fs[1]): 1, str(fs[0]): 2},
    Method.MATRIX: lambda fs: {str(fs[0]): [2, 3]},
}


def secret_of(room: Room) -> str:
    return str(room.created["facilitator_url"].rsplit("/", 1)[1])


class Workshop:
    """A workshop driven straight through the services (for setting the stage)."""

    def __init__(self, services: Services, room: Room) -> None:
        self.services = services
        self.room = room
        self.code = room.code
        self.facilitator = Actor(Role.FACILITATOR, room.code, secret=secret_of(room))
        services.workshops.join(room.code, f"bystander-{room.code}")
        self.bystander = Actor(Role.PARTICIPANT, room.code, token=f"bystander-{room.code}")
        with services.db.read() as s:
            self.id = s.scalar(select(models.Workshop.id).where(models.Workshop.code == room.code))

    def run(self, actor: Actor, command: str, /, **payload: Any) -> dict[str, Any]:
        # Ids the fuzzer cannot make up, so that they never collide with its own.
        payload["command_id"] = f"setup:{uuid.uuid4().hex}"
        answer = self.services.workshops.execute(actor, command, payload)
        assert answer["ok"], (command, payload, answer)
        return answer["data"]  # type: ignore[no-any-return]

    def facilitate(self, command: str, /, **payload: Any) -> dict[str, Any]:
        return self.run(self.facilitator, command, **payload)

    def active(self) -> list[int]:
        with self.services.db.read() as s:
            return list(
                s.scalars(
                    select(models.Factor.id).where(
                        models.Factor.workshop_id == self.id, models.Factor.status == "active"
                    )
                )
            )

    def stage(self, name: str) -> None:
        """Bring the workshop to a stage, whatever the fuzzer did to it."""
        step, method = STAGES[name]
        with self.services.db.read() as s:
            current = Step(s.get_one(models.Workshop, self.id).step)
            open_round = s.scalars(
                select(models.Round).where(
                    models.Round.workshop_id == self.id, models.Round.state == "open"
                )
            ).one_or_none()
        if open_round is not None and (step is not current or open_round.method != method):
            self.facilitate("round.close", round_id=open_round.id)
            open_round = None
        if step is not current:
            self.facilitate("step.set", step=step.value)
        if method is not None and open_round is None:
            self._enough_factors()
            round_id = self.facilitate("round.open", method=method.value)["round_id"]
            ballot = BYSTANDER_BALLOT[method](self.active())
            self.run(self.bystander, "ballot.submit", round_id=round_id, entries=ballot)

    def _enough_factors(self) -> None:
        """At least three factors on the board (the fuzzer may have hidden them all)."""
        with self.services.db.read() as s:
            category = s.scalars(
                select(models.Category.id).where(models.Category.workshop_id == self.id)
            ).first()
        while len(self.active()) < 3:
            self.facilitate("factor.add", title="Ny faktor", category_id=category)


@dataclass
class Screens:
    """The fuzzed workshop's connections: two facilitator screens, two participant ones."""

    console: SocketIOTestClient
    board: SocketIOTestClient
    phone: SocketIOTestClient
    proxy: SocketIOTestClient
    # Under whose name each screen's answers are recorded: "f", or "p<participant id>".
    senders: dict[str, str]

    def by_role(self, role: Role) -> list[str]:
        return ["console", "board"] if role is Role.FACILITATOR else ["phone", "proxy"]


class Fuzzed:
    """Workshop A, fuzzed through its screens, and workshop B beside it in the same
    database, whose ids the fuzzer sends to A and which must never change."""

    def __init__(self, app: Flask, make_room: Callable[..., Room]) -> None:
        self.app = app
        self.services: Services = app.extensions["samsyn"].services
        room_a, room_b = make_room(), make_room(title="Another workshop", language="en")
        self.a, self.b = Workshop(self.services, room_a), Workshop(self.services, room_b)
        for workshop in (self.a, self.b):
            self._history(workshop)
        self.b.stage("dots")  # an open round in B, too
        proxy = room_a.ok(room_a.console, "proxy.add", label="Utan telefon")["proxy"]
        _, phone = room_a.phone()
        with self.services.db.read() as s:
            people = s.scalars(
                select(models.Participant).where(models.Participant.workshop_id == self.a.id)
            ).all()
        by_number = {p.number: f"p{p.id}" for p in people}
        self.screens = Screens(
            console=room_a.console,
            board=room_a.board,
            phone=phone,
            proxy=room_a.connect(room_a.facilitator_http, "proxy", proxy=proxy),
            senders={"console": "f", "board": "f", "proxy": by_number[proxy]}
            | {"phone": by_number[max(by_number)]},
        )
        assert all(
            getattr(self.screens, name).is_connected()
            for name in ("console", "board", "phone", "proxy")
        )

    @staticmethod
    def _history(workshop: Workshop) -> None:
        """Closed and revealed rounds, proposals and removals to name."""
        workshop.stage("complete")
        state = workshop.room.state(workshop.room.console)["state"]
        categories = [c["id"] for c in state["categories"]]
        workshop.run(
            workshop.bystander, "factor.propose", title="Förslag", category_id=categories[0]
        )
        removed = workshop.facilitate("factor.add", title="Borta", category_id=categories[1])
        workshop.facilitate("factor.remove", factor_id=removed["factor_id"], reason="Dubblett")
        workshop.stage("keep_remove")
        workshop.stage("rating")
        for round_id in _round_ids(workshop):
            workshop.facilitate("round.close", round_id=round_id)
            workshop.facilitate("round.reveal", round_id=round_id)

    def flush(self) -> None:
        """Send what changed to every screen, as the broadcaster's tick would."""
        self.app.extensions["samsyn"].broadcaster.flush()
        for name in ("console", "board", "phone", "proxy"):
            getattr(self.screens, name).get_received()


def _round_ids(workshop: Workshop) -> list[int]:
    with workshop.services.db.read() as s:
        return list(
            s.scalars(
                select(models.Round.id).where(
                    models.Round.workshop_id == workshop.id, models.Round.state == "open"
                )
            )
        )


@pytest.fixture
def fuzzed(app: Flask, make_room: Callable[..., Room]) -> Fuzzed:
    return Fuzzed(app, make_room)


# Ballots have the most rules behind them, so they get more tries.
COMMAND_NAMES = [*COMMANDS, "state.get", *["ballot.submit"] * 5, "factor.merge", "round.open"]


def first_answer(snapshot: Rows, workshop_id: int, sender: str, payload: Any) -> Any:
    """The answer recorded for this sender's command id, if there is one."""
    command_id = payload.get("command_id") if isinstance(payload, dict) else None
    return next(
        (
            r["answer"]
            for r in snapshot["commands"]
            if (r["workshop_id"], r["actor"], r["command_id"]) == (workshop_id, sender, command_id)
        ),
        None,
    )


def same_answer(first: Any, answer: dict[str, Any]) -> bool:
    """Whether `answer` is `first` again (refusals compared by code and field: the message
    is translated on the way out)."""
    if first is None or first["ok"] != answer["ok"]:
        return False
    if answer["ok"]:
        return bool(first == answer)
    return all(first["error"].get(k) == answer["error"].get(k) for k in ("code", "field"))


def check_effect(
    fuzzed: Fuzzed,
    command: str,
    payload: Any,
    answer: dict[str, Any],
    *,
    resent: bool,
    before: Rows,
    after: Rows,
) -> None:
    """What a command may have changed: nothing of B, ever; nothing at all when resent or
    when it only read; nothing but the record of its answer when refused; one version step
    of A when it did something."""
    a, b = fuzzed.a.id, fuzzed.b.id
    assert repr(owned(after, b)) == repr(owned(before, b)), f"{command} changed the other workshop"
    if command == "state.get" or resent:
        assert not changed(before, after), changed(before, after)
        return
    new_records = after["commands"][len(before["commands"]) :]
    if not answer["ok"]:
        assert changed(before, after) <= {"commands"}, changed(before, after)
        assert (
            len(new_records) <= 1
            and after["commands"][: len(before["commands"])] == before["commands"]
        )
        for record in new_records:
            assert record["workshop_id"] == a and record["command_id"] == payload["command_id"]
            assert record["answer"]["error"]["code"] == answer["error"]["code"]
        return
    assert version(after, a) == version(before, a) + 1 == answer["version"]
    assert [r["answer"] for r in new_records] == [answer]


def test_every_command_answers_ok_or_a_documented_refusal_and_refusals_change_nothing(
    fuzzed: Fuzzed, caplog: pytest.LogCaptureFixture
) -> None:
    db = fuzzed.services.db
    schemas_by_name = {name: spec.schema for name, spec in COMMANDS.items()}

    @settings(max_examples=400, deadline=None, database=None)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        caplog.clear()
        stage = data.draw(st.sampled_from(list(STAGES)), label="stage")
        fuzzed.a.stage(stage)
        command = data.draw(st.sampled_from(COMMAND_NAMES), label="command")
        before = rows(db)
        a, b = Pool.of(before, fuzzed.a.id), Pool.of(before, fuzzed.b.id)
        if command == "state.get":
            payload = data.draw(json_values | st.just(NO_PAYLOAD), label="payload")
            screen = data.draw(st.sampled_from(["console", "board", "phone", "proxy"]))
        else:
            payload = data.draw(payloads(schemas_by_name[command], a, b), label="payload")
            role = COMMANDS[command].role
            other = Role.PARTICIPANT if role is Role.FACILITATOR else Role.FACILITATOR
            right = not rarely(data.draw, 5)
            screen = data.draw(st.sampled_from(fuzzed.screens.by_role(role if right else other)))
        client = getattr(fuzzed.screens, screen)
        if payload is NO_PAYLOAD:
            answer = client.emit(command, callback=True)
        else:
            answer = client.emit(command, payload, callback=True)
        after = rows(db)
        first = first_answer(before, fuzzed.a.id, fuzzed.screens.senders[screen], payload)
        resent = command != "state.get" and same_answer(first, answer)
        check_answer(command, answer, resent=resent)
        event(f"{command}: {'ok' if answer['ok'] else answer['error']}")
        if command == "state.get":
            assert answer["ok"], answer
        check_effect(fuzzed, command, payload, answer, resent=resent, before=before, after=after)
        if answer["ok"]:
            fuzzed.flush()  # every screen's view of what the fuzzer stored
        assert not errors_logged(caplog), errors_logged(caplog)

    fuzz()
    # Whatever the fuzzer stored, every export of A is made.
    http = fuzzed.a.room.facilitator_http
    for fmt in FORMATS:
        response = http.get(f"/api/workshops/{fuzzed.a.code}/export.{fmt}")
        assert response.status_code == 200, (fmt, response.data[:300])
    assert not errors_logged(caplog)


# --- The handshake ------------------------------------------------------------------------------


class _Refused(realtime.ConnectionRefusedError):
    """Records the code of every refused connection (the test client does not keep it)."""

    seen: list[Any] = []

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        _Refused.seen.append(args[0] if args else None)


def test_every_handshake_connects_or_is_refused_with_a_documented_code(
    fuzzed: Fuzzed, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realtime, "ConnectionRefusedError", _Refused)
    room = fuzzed.a.room
    phone_http, phone = room.phone()
    phone.disconnect()
    cookies = {"facilitator": room.facilitator_http, "phone": phone_http}
    code_a, code_b = fuzzed.a.code, fuzzed.b.code
    codes = (
        st.sampled_from(
            [code_a, code_a.lower(), f" {code_a[:3]}-{code_a[3:]} ", code_b, code_a + "\x00"]
        )
        | texts
    )
    views = st.sampled_from(["board", "console", "phone", "proxy"])
    proxies = st.sampled_from([1, 2, 3])

    @st.composite
    def auths(draw: Draw) -> Any:
        if rarely(draw, 8):
            # Not a float: the test client writes it right after the packet type, where its
            # digits read as an acknowledgement id (a real client sends an object or nothing).
            return draw(json_values.filter(lambda v: not isinstance(v, float)))
        auth = {
            "code": pick(draw, (6, codes), (1, json_values)),
            "view": pick(draw, (8, views), (1, json_values)),
        }
        if draw(st.booleans()):
            auth["proxy"] = pick(
                draw, (4, proxies), (1, st.sampled_from(EDGE_INTS)), (1, json_values)
            )
        return auth

    @settings(max_examples=150, deadline=None, database=None)
    @given(auth=auths(), browser=st.sampled_from(["facilitator", "phone", "stranger"]))
    def fuzz(auth: Any, browser: str) -> None:
        caplog.clear()
        _Refused.seen.clear()
        http = cookies.get(browser) or fuzzed.app.test_client()
        client = socketio.test_client(fuzzed.app, auth=auth, flask_test_client=http)
        event(f"{browser}: {'connected' if client.is_connected() else _Refused.seen}")
        if client.is_connected():
            assert "state" in {m["name"] for m in client.get_received()}
            assert not _Refused.seen
            assert normalise_code(str(auth.get("code", ""))[:20]) == code_a
            assert browser != "stranger"
            client.disconnect()
        else:
            assert len(_Refused.seen) == 1 and _Refused.seen[0] in REFUSALS, _Refused.seen
        assert not errors_logged(caplog), errors_logged(caplog)

    fuzz()


# --- The JSON API ---------------------------------------------------------------------------


@dataclass
class Created:
    code: str
    secret: str


class Api:
    """Workshops A and B (with their history), the workshops the fuzzer made, their secrets,
    and a browser holding A's facilitator cookie."""

    def __init__(self, app: Flask, make_room: Callable[..., Room]) -> None:
        self.app = app
        self.db: Database = app.extensions["samsyn"].db
        fuzzed = Fuzzed(app, make_room)
        self.a = Created(fuzzed.a.code, secret_of(fuzzed.a.room))
        self.b = Created(fuzzed.b.code, secret_of(fuzzed.b.room))
        self.made: list[Created] = []  # exported and deleted at will
        self.cookie = fuzzed.a.room.facilitator_http

    def known(self) -> list[Created]:
        return [self.a, self.b, *self.made]


@dataclass
class Request:
    """One request to the API, and what the fuzzer knows about it."""

    method: str
    path: str
    kwargs: dict[str, Any]
    browser: str = "none"
    target: Created | None = None
    code: str = ""
    fmt: str = ""


seed_factors = st.fixed_dictionaries(
    {"title": texts},
    optional={
        "category": st.none()
        | texts
        | st.sampled_from(["Sociala", "social", "Other", "Övrigt", "Styrkor", "  "]),
        "description": texts,
    },
)


@st.composite
def create_bodies(draw: Draw) -> Any:
    """A body for POST /api/workshops: mostly an object with the schema's fields."""
    body: dict[str, Any] = {}
    if not rarely(draw, 10):
        body["title"] = pick(draw, (6, texts), (1, json_values))
    if not rarely(draw, 3):
        body["language"] = pick(
            draw, (4, st.sampled_from(["sv", "en"])), (1, st.sampled_from(["de", "SV"]))
        )
    if not rarely(draw, 3):
        names = st.lists(texts | st.sampled_from(["Sociala", "Social", "Other"]), max_size=13)
        body["categories"] = pick(
            draw, (1, st.none()), (5, names), (1, st.just([])), (1, json_values)
        )
    if not rarely(draw, 3):
        body["factors"] = pick(
            draw,
            (1, st.none()),
            (6, st.lists(seed_factors, max_size=6)),
            (1, st.lists(json_values, max_size=3)),
            (1, st.just([{"title": f"f{i}"} for i in range(501)])),
        )
    if rarely(draw, 10):
        body[draw(st.sampled_from(["extra", "code", "secret"]) | st.text())] = draw(json_values)
    return body


RAW_BODIES = [
    b"",
    b"{",
    b"not json",
    b'{"title": "x"',
    b"\xff\xfe\x00",
    b'{"title": NaN}',
    b'{"title": "a", "title": 5}',
    b"[1, 2",
    b"null",
    b'"title"',
    b"1e999999",
]
OTHER_CODES = st.sampled_from(["NOPE22", "%00", "..", "a/b", "ÅÄÖ", "K7M3Q0"]) | texts
EXPORT_FORMATS = ["csv", "json", "csv", "json", "xlsx", "pdf", "zip", "txt", "JSON"]
NICKNAMES = [None, "1", "0", "yes"]


@st.composite
def requests(draw: Draw, api: Api) -> Request:
    """A request to create, export or delete a workshop."""
    action = draw(st.sampled_from(["create", "export", "delete"]))
    language = {"Accept-Language": draw(st.sampled_from(["en", "sv", "de", "*"]))}
    if action == "create":
        kind = draw(st.integers(0, 9))
        if kind < 8:
            body = pick(draw, (9, create_bodies()), (1, json_values))
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        elif kind == 8:
            kwargs = {"data": draw(st.sampled_from(RAW_BODIES)), "content_type": "application/json"}
        else:
            kinds = st.sampled_from(["text/plain", "application/x-www-form-urlencoded"])
            kwargs = {"data": json.dumps(SEED), "content_type": draw(kinds)}
        return Request("POST", "/api/workshops", {**kwargs, "headers": language})
    index, variant, other_code = draw(INDEX), draw(st.integers(0, 3)), draw(OTHER_CODES)
    secret_kind, secret_index = draw(st.integers(0, 9)), draw(INDEX)
    browser = draw(st.sampled_from(["cookie", "none"]))
    fmt, nicknames = draw(st.sampled_from(EXPORT_FORMATS)), draw(st.sampled_from(NICKNAMES))
    # A and B are never deleted: the fuzzer deletes what it made, and tries A only without
    # A's secret.
    targets = api.known() if action == "export" else api.made
    target = targets[index % len(targets)] if targets else api.a
    protected = action == "delete" and target is api.a
    code = target.code
    typed = [code, code.lower(), f"{code[:3]}-{code[3:]}", f" {code} "][variant]
    if rarely(draw, 9):
        typed = other_code
    others = [api.a.secret, api.b.secret, "x", target.secret[:-1], target.secret + "x"]
    others = [s for s in others if not (protected and s == target.secret)]
    secret = (
        (others[0] if protected else target.secret)
        if secret_kind < 4
        else others[secret_index % len(others)]
        if secret_kind < 7
        else None  # no bearer: the cookie, if the browser has one, decides
    )
    if protected:
        browser = "none"
    headers = {**language, **({} if secret is None else {"Authorization": f"Bearer {secret}"})}
    path = f"/api/workshops/{urllib.parse.quote(typed, safe='')}"
    if action == "delete":
        return Request("DELETE", path, {"headers": headers}, browser, target, typed)
    query = {} if nicknames is None else {"nicknames": nicknames}
    kwargs = {"headers": headers, "query_string": query}
    return Request("GET", f"{path}/export.{fmt}", kwargs, browser, target, typed, fmt)


def test_every_json_endpoint_answers_a_documented_status_and_refusals_change_nothing(
    app: Flask, make_room: Callable[..., Room], caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(app, make_room)

    @settings(max_examples=150, deadline=None, database=None)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        caplog.clear()
        request = data.draw(requests(api), label="request")
        before = rows(api.db)
        http = api.cookie if request.browser == "cookie" else app.test_client()
        response = http.open(request.path, method=request.method, **request.kwargs)
        after = rows(api.db)
        refused = response.status_code >= 400 and (response.get_json(silent=True) or {})
        code = refused["error"].get("code") if refused else ""
        event(f"{request.method} {request.fmt}: {response.status_code} {code}")
        if request.method == "POST":
            check_create(api, request, response, before, after)
        else:
            check_export_or_delete(api, request, response, before, after)
        assert not errors_logged(caplog), errors_logged(caplog)

    fuzz()


def check_create(api: Api, request: Request, response: Any, before: Rows, after: Rows) -> None:
    """201 with one new workshop and nothing else changed; or a documented refusal that
    changed nothing."""
    if response.status_code != 201:
        code = check_http_error(response, CREATE_CODES)
        if request.kwargs["content_type"] != "application/json":
            assert (response.status_code, code) == (415, "json_required")
        assert not changed(before, after), changed(before, after)
        return
    body = response.get_json()
    made = Created(body["code"], body["facilitator_url"].rsplit("/", 1)[1])
    assert made not in api.known()
    assert [w["code"] for w in after["workshops"]] == [
        *(w["code"] for w in before["workshops"]),
        made.code,
    ]
    for workshop in before["workshops"]:
        assert repr(owned(after, workshop["id"])) == repr(owned(before, workshop["id"]))
    api.made.append(made)


def check_export_or_delete(
    api: Api, request: Request, response: Any, before: Rows, after: Rows
) -> None:
    """Success exactly when the code names a workshop and the request holds its secret (a
    bearer token first, else the cookie); otherwise a documented refusal. An export changes
    nothing; a delete removes that workshop's rows and nothing else."""
    found = next((c for c in api.known() if c.code == normalise_code(request.code)), None)
    header = request.kwargs["headers"].get("Authorization", "")
    bearer = header[7:].strip() or None
    cookie = api.a.secret if request.browser == "cookie" else None
    holds = bearer or cookie
    allowed = found is not None and holds == found.secret and "/" not in request.code
    if request.method == "GET":
        assert not changed(before, after), changed(before, after)
        if response.status_code != 200:
            check_http_error(response, EXPORT_CODES)
            assert not (allowed and request.fmt in FORMATS), response.get_json()
            return
        assert allowed and request.fmt in FORMATS
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="samsyn-{found.code}.{request.fmt}"'
        check_document(request.fmt, response.data)
        return
    if response.status_code != 204:
        check_http_error(response, DELETE_CODES)
        assert not allowed, response.get_json()
        assert not changed(before, after), changed(before, after)
        return
    assert allowed and found in api.made, (request, found)
    gone = next(w["id"] for w in before["workshops"] if w["code"] == found.code)
    assert not any(owned(after, gone).values())
    for workshop in after["workshops"]:
        assert repr(owned(after, workshop["id"])) == repr(owned(before, workshop["id"]))
    assert len(after["deletions"]) == len(before["deletions"]) + 1
    api.made.remove(found)


def check_document(fmt: str, data: bytes) -> None:
    """An export is a document of its format."""
    if fmt == "json":
        assert json.loads(data)["schema"] == "samsyn.workshop"
    elif fmt in ("zip", "xlsx"):
        assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    elif fmt == "pdf":
        assert data.startswith(b"%PDF")
    else:
        assert data.startswith("\ufeff".encode())


# --- Regressions the fuzzer found ---------------------------------------------------------------


def test_a_list_answer_in_a_keep_remove_round_is_a_bad_choice(fuzzed: Fuzzed) -> None:
    fuzzed.a.stage("keep_remove")
    (open_round,) = _round_ids(fuzzed.a)
    factor = fuzzed.a.active()[0]
    answer = fuzzed.a.room.send(
        fuzzed.screens.phone, "ballot.submit", round_id=open_round, entries={str(factor): [1, 2]}
    )
    assert answer["error"]["code"] == "bad_choice"


def test_a_rating_of_zero_is_refused_not_taken_for_no_opinion(fuzzed: Fuzzed) -> None:
    fuzzed.a.stage("rating")
    (open_round,) = _round_ids(fuzzed.a)
    factor = str(fuzzed.a.active()[0])
    phone = fuzzed.screens.phone
    answer = fuzzed.a.room.send(phone, "ballot.submit", round_id=open_round, entries={factor: 0})
    assert answer["error"]["code"] == "bad_rating"
    data = fuzzed.a.room.ok(
        phone, "ballot.submit", round_id=open_round, entries={factor: "no_opinion"}
    )
    assert data["entries"] == {factor: "no_opinion"}


@pytest.mark.parametrize("command", ["factor.hide", "round.close", "category.rename"])
def test_ids_beyond_32_bits_are_invalid_input_on_every_database(
    make_app: Callable[..., Flask], database_url: str, command: str
) -> None:
    """PostgreSQL's ids are 32-bit: a larger one must not reach a query (it failed there)."""
    app = make_app(database_url)
    response = app.test_client().post("/api/workshops", json=SEED)
    room = Room(app, response.get_json())
    field = {"factor.hide": "factor_id", "round.close": "round_id"}.get(command, "category_id")
    extra = {"name": "Ny"} if command == "category.rename" else {}
    for value in (2**31, 2**53, 2**63):
        answer = room.send(room.console, command, **{field: value}, **extra)
        assert (answer["error"]["code"], answer["error"]["field"]) == ("invalid_input", field)
    answer = room.send(room.console, command, **{field: 2**31 - 1}, **extra)
    assert answer["error"]["code"] in ("unknown_factor", "unknown_round", "unknown_category")


def test_odd_codes_and_proxy_numbers_are_refused_on_every_database(
    make_app: Callable[..., Flask],
    database_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A code with NUL or a lone surrogate, and a proxy number past 64 bits, once reached the
    database as they were, and failed there."""
    monkeypatch.setattr(realtime, "ConnectionRefusedError", _Refused)
    _Refused.seen.clear()
    app = make_app(database_url)
    room = Room(app, app.test_client().post("/api/workshops", json=SEED).get_json())
    room.ok(room.console, "proxy.add")
    for auth in [
        {"code": "\ud800", "view": "console"},
        {"code": "AB\x00CD", "view": "board"},
        {"code": room.code, "view": "proxy", "proxy": 2**70},
        {"code": room.code, "view": "proxy", "proxy": 2**40},
    ]:
        client = socketio.test_client(app, auth=auth, flask_test_client=room.facilitator_http)
        assert not client.is_connected()
    assert _Refused.seen == [
        "unknown_workshop",
        "unknown_workshop",
        "unknown_proxy",
        "unknown_proxy",
    ]
    for path, status in (
        ("/api/workshops/AB%00CD/export.json", 404),
        (f"/api/workshops/{room.code}%00/export.json", 200),
    ):
        assert room.facilitator_http.get(path).status_code == status, path
    assert room.facilitator_http.delete("/api/workshops/AB%00CD").status_code == 404
    assert not errors_logged(caplog), errors_logged(caplog)


def test_a_deeply_nested_body_is_invalid_input(client: FlaskClient) -> None:
    body = "[" * 5000 + "]" * 5000
    response = client.post("/api/workshops", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"
