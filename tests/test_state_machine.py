"""A whole workshop as a state machine (Hypothesis's `RuleBasedStateMachine`): random runs of
phones joining, factors proposed and added, rounds of every method opened, ballots within
and against the rules, revotes, command ids resent, rounds closed and revealed, a closed
workshop reopened, factors merged and the server restarted, all through `Services.execute`
(as the socket handlers run commands) on a SQLite file of the run's own.

The machine keeps its own model of the workshop (the step, the factors on the board, each
round's state and ballots, every command id sent and its first answer), expects every
command's answer from it, and after every step reads the database through the models to
prove:

- every stored ballot keeps its round's rules: dots and points within the budget and the
  cap, ratings and matrix answers on the scale, rankings 1, 2, 3 … within the top k;
- the stored ballots are exactly the model's: one per participant and round, a revote
  replaces the whole ballot, a merge moves votes as the rules say, and nothing is accepted
  in a closed round;
- the tally the app shows (`state.results`, which the board's snapshot uses) equals a tally
  the test counts itself from the stored ballots; a closed round's stored tally never
  changes;
- the workshop's version counts every change;
- a refused command stores nothing but the record of its answer and publishes nothing; a
  resent command id, with the same payload or another, gets the identical first answer and
  changes no row and no tally; a restart (a new app on the same database file) changes
  nothing, and every phone is the participant it was.

Each voting method gets runs of its own. Runs are random, like the other property tests
(conftest's `SEED` is a workshop, not a Hypothesis seed); a failing run is printed whole.
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitation.core.ballots import (
    SCALE_DEFAULT,
    SCALE_MAX,
    SCALE_MIN,
    TOP_K_DEFAULT,
    default_dot_cap,
)
from facilitation.core.domain import DomainError, Method, Role, RoundState, SeedFactor, Step
from facilitation.infrastructure import models
from facilitation.infrastructure.db import Database
from facilitation.queries.state import results
from facilitation.usecases import Actor, Change, Services

Rows = dict[str, list[tuple[Any, ...]]]
# A ballot as clients write it and the test models it: factor id → "keep", 3, [2, 4] …
Entries = dict[int, Any]

# Where each method's rounds are held (docs/design: prune, then prioritise).
STEP_OF = {Method.KEEP_REMOVE: Step.PRUNE} | {
    method: Step.PRIORITISE for method in Method if method is not Method.KEEP_REMOVE
}

# A value of the wrong kind for each method, and the refusal it gets.
WRONG_KIND: dict[Method, tuple[list[Any], str]] = {
    Method.KEEP_REMOVE: ([1, "no_opinion", [1, 2]], "bad_choice"),
    Method.DOTS: (["keep", "no_opinion", [1, 1]], "bad_dots"),
    Method.POINTS: (["keep", "no_opinion", [10, 10]], "bad_points"),
    Method.RATING: (["keep", [1, 2], 0], "bad_rating"),
    Method.RANKING: (["remove", "no_opinion", [1, 2]], "bad_ranking"),
    Method.MATRIX: ([3, "keep", "no_opinion"], "bad_matrix"),
}
# A right answer of each method, for ballots refused for another reason.
PLAIN: dict[Method, Any] = {
    Method.KEEP_REMOVE: "keep",
    Method.DOTS: 1,
    Method.POINTS: 10,
    Method.RATING: 1,
    Method.RANKING: 1,
    Method.MATRIX: [1, 1],
}
PROPOSAL_QUOTA = 10  # the workshop's default
# Enough phones to disagree and factors to order; more would only slow the run down.
ROOM = 5
BOARD = 8
BUSY_STEPS = [Step.COMPLETE, Step.PRUNE, Step.PRIORITISE]


class Recorder:
    """A publisher that remembers what services published."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def publish(self, change: Change) -> None:
        """Remember a change instead of broadcasting it."""
        self.changes.append(change)


def rows(db: Database) -> Rows:
    """Every row of every table as SQLite holds it (JSON as its text), in primary-key order."""
    with db.read() as s:
        connection = s.connection()
        return {
            table.name: [
                tuple(row)
                for row in connection.exec_driver_sql(
                    f"SELECT * FROM {table.name} ORDER BY "
                    + ", ".join(column.name for column in table.primary_key.columns)
                )
            ]
            for table in models.Base.metadata.sorted_tables
        }


def as_written(method: Method, value: int, value2: int | None) -> Any:
    """A stored ballot entry as a client writes it (the test's own reading of the columns)."""
    if method is Method.KEEP_REMOVE:
        return {1: "keep", 0: "remove"}[value]
    if method is Method.RATING and value == 0:
        return "no_opinion"
    if method is Method.MATRIX:
        return [value, value2]
    return value


@dataclass
class Stored:
    """A round as the database holds it, with its ballots by participant id (a ballot
    without entries shows as {})."""

    round: models.Round
    ballots: dict[int, Entries]


def stored_rounds(s: Session) -> dict[int, Stored]:
    """Every round in the database (the machine's one workshop), by id."""
    rounds = {r.id: Stored(r, {}) for r in s.scalars(select(models.Round))}
    for round_id, participant_id in s.execute(
        select(models.Ballot.round_id, models.Ballot.participant_id)
    ):
        rounds[round_id].ballots[participant_id] = {}
    found = s.execute(
        select(
            models.Ballot.round_id,
            models.Ballot.participant_id,
            models.BallotEntry.factor_id,
            models.BallotEntry.value,
            models.BallotEntry.value2,
        ).join(models.BallotEntry, models.BallotEntry.ballot_id == models.Ballot.id)
    )
    for round_id, participant_id, factor_id, value, value2 in found:
        method = Method(rounds[round_id].round.method)
        rounds[round_id].ballots[participant_id][factor_id] = as_written(method, value, value2)
    return rounds


def _summary(values: list[int]) -> dict[str, Any]:
    """The median and mean of answers on a scale (None for none)."""
    return {
        "median": float(statistics.median(values)) if values else None,
        "mean": sum(values) / len(values) if values else None,
    }


def recount(
    method: Method, scale: int | None, factor_ids: list[int], ballots: list[Entries]
) -> dict[int, dict[str, Any]]:
    """What each factor's row of the tally must say, counted from the ballots here."""
    counted: dict[int, dict[str, Any]] = {}
    for f in factor_ids:
        answers = [b[f] for b in ballots if f in b]
        if method is Method.KEEP_REMOVE:
            keep, remove = answers.count("keep"), answers.count("remove")
            votes = keep + remove
            majority = None
            if votes:
                majority = "tie" if keep == remove else "keep" if keep > remove else "remove"
            counted[f] = {
                "keep": keep,
                "remove": remove,
                "votes": votes,
                "majority": majority,
                "agreement": max(keep, remove) / votes if votes else None,
            }
        elif method is Method.DOTS:
            counted[f] = {"dots": sum(answers), "voters": sum(1 for a in answers if a > 0)}
        elif method is Method.POINTS:
            # Every ballot counts on every factor, 0 where it gave none.
            points = [b.get(f, 0) for b in ballots]
            total = sum(v for b in ballots for g, v in b.items() if g in factor_ids)
            counted[f] = {
                "points": sum(points),
                "share": sum(points) / total if total else None,
                "voters": sum(1 for p in points if p > 0),
                **_summary(points),
            }
        elif method is Method.RATING:
            assert scale is not None
            ratings = [a for a in answers if a != "no_opinion"]
            counted[f] = {
                "answers": len(ratings),
                "no_opinion": len(answers) - len(ratings),
                "distribution": [ratings.count(v) for v in range(1, scale + 1)],
                **_summary(ratings),
            }
        elif method is Method.RANKING:
            # Ranked factors take their place among the ballot's ranked ones; the others
            # share the places left.
            places = []
            for ballot in ballots:
                ranked = sorted((place, g) for g, place in ballot.items() if g in factor_ids)
                order = [g for _, g in ranked]
                rest = (len(order) + 1 + len(factor_ids)) / 2
                places.append(float(order.index(f) + 1) if f in order else rest)
            counted[f] = {
                "ranked_by": len(answers),
                "mean_rank": sum(places) / len(places) if places else None,
                "median_rank": float(statistics.median(places)) if places else None,
            }
        else:
            counted[f] = {
                "answers": len(answers),
                "impact": _summary([a[0] for a in answers]),
                "uncertainty": _summary([a[1] for a in answers]),
            }
    return counted


def agrees(shown: Any, expected: Any) -> bool:
    """Whether a tallied value is the recounted one (numbers to rounding; dicts by the keys
    the recount has)."""
    if isinstance(expected, dict):
        return isinstance(shown, dict) and all(agrees(shown.get(k), v) for k, v in expected.items())
    if isinstance(expected, float) and isinstance(shown, int | float):
        return math.isclose(shown, expected, rel_tol=1e-9, abs_tol=1e-12)
    return bool(shown == expected)


def check_tally(
    tallied: dict[str, Any],
    method: Method,
    settings_: dict[str, Any],
    factor_ids: list[int],
    ballots: list[Entries],
) -> None:
    """A tally as shown, against the recount of these ballots over these factors."""
    assert tallied["method"] == method.value
    assert tallied["ballots"] == len(ballots), (tallied["ballots"], ballots)
    by_factor = {row["factor_id"]: row for row in tallied["factors"]}
    assert sorted(by_factor) == sorted(factor_ids), (sorted(by_factor), factor_ids)
    for f, expected in recount(method, settings_.get("scale"), factor_ids, ballots).items():
        assert agrees(by_factor[f], expected), (method, f, by_factor[f], expected, ballots)


@dataclass(frozen=True)
class Sender:
    """Who sends commands, and the name their command ids are recorded under."""

    actor: Actor
    key: str


@dataclass
class Sent:
    """A command that reached the workshop, and its first answer."""

    sender: Sender
    name: str
    payload: dict[str, Any]
    answer: dict[str, Any]


@dataclass
class RoundModel:
    """A round as the model knows it."""

    id: int
    number: int
    method: Method
    settings: dict[str, Any]
    state: RoundState = RoundState.OPEN
    # Participant id → the ballot as stored (zero dots dropped).
    ballots: dict[int, Entries] = field(default_factory=dict)
    # When closed: the factors it was tallied over, and the tally stored with it.
    counted: list[int] | None = None
    tally: dict[str, Any] | None = None


@dataclass
class Unchanged:
    """What must hold after a refusal, a resend or a restart: no row changed but `records`
    new answer records; nothing published; for a resend, the same answer and tallies."""

    rows: Rows
    published: int
    records: int = 0
    answers: tuple[dict[str, Any], dict[str, Any]] | None = None
    tallies: dict[int, dict[str, Any]] | None = None


class WorkshopMachine(RuleBasedStateMachine):
    """One workshop, a facilitator and its participants, through the services."""

    def __init__(self, make_app: Callable[[str], Flask], migrated: Path, first: Method) -> None:
        super().__init__()
        self.make_app = make_app
        self.first = first
        # A database of its own, copied from one already migrated (migrating takes longer).
        path = Path(tempfile.mkdtemp(dir=migrated.parent)) / "samsyn.db"
        shutil.copyfile(migrated, path)
        self.url = f"sqlite:///{path}"
        self.app: Flask | None = None
        self.services = self._start()
        self.code = ""
        self.facilitator: Sender
        self.n = 0
        self.step = Step.PREPARE
        self.version = 0
        self.categories: list[int] = []
        self.active: set[int] = set()
        self.merged: set[int] = set()
        self.people: dict[str, Sender] = {}  # by cookie token
        self.ids: dict[str, int] = {}  # participant id by token
        self.proposed: dict[str, int] = {}
        self.rounds: dict[int, RoundModel] = {}
        self.sent: list[Sent] = []
        self.unchanged: Unchanged | None = None
        self.restarted = False

    # --- Running the app --------------------------------------------------------------------

    def _start(self) -> Services:
        """A server start on the database file: a new app, migrations checked and all."""
        self.app = self.make_app(self.url)
        services: Services = self.app.extensions["samsyn"].services
        services.publisher = self.recorder = Recorder()
        return services

    def teardown(self) -> None:
        """Close the database's connections, as a stopping server would."""
        if self.app is not None:
            self.app.extensions["samsyn"].db.dispose()

    @property
    def db(self) -> Database:
        """The running app's database."""
        return self.services.db

    def command(
        self, sender: Sender, name: str, expected: str | None, /, **payload: Any
    ) -> dict[str, Any]:
        """Send a command with a fresh id; `expected` is None for ok, or the refusal's code."""
        self.n += 1
        payload = {"command_id": f"c{self.n}", **payload}
        before = rows(self.db) if expected is not None else None
        published = len(self.recorder.changes)
        answer = self.services.workshops.execute(sender.actor, name, payload)
        if expected is None:
            assert answer["ok"], (name, payload, answer)
            self.version += 1
            assert answer["version"] == self.version, (answer, self.version)
            assert len(self.recorder.changes) == published + 1
        else:
            assert not answer["ok"], (name, payload, answer)
            assert answer["error"]["code"] == expected, (name, payload, answer)
            assert before is not None
            # A payload that fails its schema never reaches the workshop: nothing recorded.
            records = 0 if expected == "invalid_input" else 1
            self.unchanged = Unchanged(before, published, records)
        if expected != "invalid_input":
            self.sent.append(Sent(sender, name, payload, answer))
        return answer

    def closed(self, name: str) -> str | None:
        """The refusal every command but step.set gets in a closed workshop."""
        return "workshop_closed" if self.step is Step.CLOSED and name != "step.set" else None

    def current_round(self) -> RoundModel | None:
        """The open round, if one is."""
        return next((r for r in self.rounds.values() if r.state is RoundState.OPEN), None)

    def tallies(self) -> dict[int, dict[str, Any]]:
        """Every round's tally as the app shows it."""
        with self.db.read() as s:
            workshop = s.scalars(select(models.Workshop)).one()
            factors = list(s.scalars(select(models.Factor)))
            return {
                r.id: results(s, workshop, r, factors, for_room=False)
                for r in s.scalars(select(models.Round))
            }

    # --- Rules ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def create_workshop(self, data: st.DataObject) -> None:
        """A workshop with five seed factors and two participants, a round of the test's
        method open (in its step, with settings within the limits), and both have voted."""
        code, secret = self.services.workshops.create(
            title="Omvärld",
            language="sv",
            categories=None,
            seeds=[
                SeedFactor("Urbanisering", "Sociala"),
                SeedFactor("Klimat", "Miljömässiga"),
                SeedFactor("Kompetens", "Ekonomiska"),
                SeedFactor("Digitalisering", "Teknologiska"),
                SeedFactor("Elpriser", "Ekonomiska"),
            ],
        )
        self.code = code
        self.facilitator = Sender(Actor(Role.FACILITATOR, code, secret=secret), "f")
        with self.db.read() as s:
            self.version = s.scalars(select(models.Workshop.version)).one()
            self.categories = list(s.scalars(select(models.Category.id)))
            self.active = set(s.scalars(select(models.Factor.id)))
        for token in ("phone-1", "phone-2"):
            self._join(token)
        # Every run starts with a round of the test's method being opened: rules may switch
        # each other off for a run (Hypothesis's swarm testing), and voting is what most
        # needs exercising.
        self._set_step(STEP_OF[self.first])
        self._open_round(data, self.first, valid=True)
        for token in ("phone-1", "phone-2"):  # and the first two phones vote
            self._vote(data, token)

    @precondition(lambda self: len(self.people) < ROOM)
    @rule()
    def join(self) -> None:
        """A new phone opens the join link (refused once the workshop is closed)."""
        self._join(f"phone-{len(self.people) + 1}")

    def _join(self, token: str) -> None:
        """A phone with this cookie id opens the join link for the first time."""
        if self.step is Step.CLOSED:
            before, published = rows(self.db), len(self.recorder.changes)
            with pytest.raises(DomainError) as refused:
                self.services.workshops.join(self.code, token)
            assert refused.value.code == "workshop_closed"
            self.unchanged = Unchanged(before, published)
            return
        _, participant_id = self.services.workshops.join(self.code, token)
        self.version += 1
        self.people[token] = Sender(
            Actor(Role.PARTICIPANT, self.code, token=token), f"p{participant_id}"
        )
        self.ids[token] = participant_id
        self.proposed[token] = 0

    # While the group completes the picture (test_services has the refusals elsewhere).
    @precondition(lambda self: self.people and self.step is Step.COMPLETE)
    @rule(data=st.data())
    def propose_factor(self, data: st.DataObject) -> None:
        """A participant proposes a factor: on the board at once, up to their quota."""
        token = data.draw(st.sampled_from(sorted(self.people)), label="proposer")
        category = data.draw(st.sampled_from(self.categories), label="category")
        expected = "proposal_quota" if self.proposed[token] >= PROPOSAL_QUOTA else None
        answer = self.command(
            self.people[token],
            "factor.propose",
            expected,
            title=f"Förslag {self.n}",
            category_id=category,
        )
        if expected is None:
            assert answer["data"]["status"] == "active"
            self.active.add(answer["data"]["factor_id"])
            self.proposed[token] += 1

    @precondition(lambda self: len(self.active) < BOARD)
    @rule(data=st.data())
    def add_factor(self, data: st.DataObject) -> None:
        """The facilitator adds a factor: on the board at once."""
        category = data.draw(st.sampled_from(self.categories), label="category")
        expected = self.closed("factor.add")
        answer = self.command(
            self.facilitator, "factor.add", expected, title=f"Faktor {self.n}", category_id=category
        )
        if expected is None:
            self.active.add(answer["data"]["factor_id"])

    def _set_step(self, target: Step) -> None:
        """The facilitator moves the workshop to `target` (refused: the step it is in)."""
        expected = None
        if target is self.step:
            expected = "same_step"
        elif self.current_round() is not None:
            expected = "round_open"
        self.command(self.facilitator, "step.set", expected, step=target.value)
        if expected is None:
            self.step = target

    # Only between rounds (with one open the step is refused: test_services has that), and
    # the steps where something happens come up more often.
    @precondition(lambda self: self.current_round() is None)
    @rule(step=st.sampled_from(list(Step)) | st.sampled_from(BUSY_STEPS))
    def set_step(self, step: Step) -> None:
        """The facilitator moves the workshop to a step, forward or back, or closes it."""
        self._set_step(step)

    @precondition(lambda self: self.step is Step.CLOSED)
    @rule(step=st.sampled_from([s for s in Step if s is not Step.CLOSED]))
    def reopen_workshop(self, step: Step) -> None:
        """The facilitator steps back into a closed workshop (rounds themselves never reopen:
        open → closed → revealed; the group revises in a new round)."""
        self._set_step(step)

    @precondition(
        lambda self: (
            self.current_round() is None and self.step in (Step.PRUNE, Step.PRIORITISE, Step.CLOSED)
        )
    )
    @rule(data=st.data())
    def open_round(self, data: st.DataObject) -> None:
        """The facilitator opens a round of any method, with settings good or bad."""
        self._open_round(data)

    def _open_round(
        self, data: st.DataObject, method: Method | None = None, *, valid: bool = False
    ) -> None:
        """Open a round (of `method`, or one drawn) with settings drawn: any, or only ones
        within the limits. A cap below the budget comes up often: a merge must respect it."""
        if method is None:
            # Mostly a method of the current step, sometimes one of another.
            fitting = [m for m in Method if STEP_OF[m] is self.step] or list(Method)
            method = data.draw(
                st.sampled_from(fitting) | st.sampled_from(list(Method)), label="method"
            )
        live = data.draw(st.booleans(), label="live")
        n = len(self.active)
        options: dict[str, int] = {}
        # Every phone in its own order, proposers voting on theirs: the defaults.
        settings_: dict[str, Any] = {"live": live, "shuffle": True, "no_own_votes": False}
        problem = None
        if method is Method.DOTS:
            budgets = st.integers(2, 6) if valid else st.none() | st.integers(0, 6)
            budget = data.draw(budgets, label="budget")
            if budget is not None:
                options["budget"] = budget
                below = st.integers(1, max(1, budget - 1))
                caps = below | st.none() if valid else below | st.none() | st.integers(1, 7)
                cap = data.draw(caps, label="cap")
                if cap is not None:
                    options["cap"] = cap
                cap = default_dot_cap(budget) if cap is None and budget >= 1 else cap
                cap = budget if cap is None else cap
                settings_ |= {"budget": budget, "cap": cap}
                if budget < 1:
                    problem = "bad_budget"
                elif cap > budget:
                    problem = "bad_cap"
        elif method is Method.POINTS:
            # The budget is always 100; a cap is optional, and often low, for merges.
            caps = st.none() | st.integers(1, 40) if valid else st.none() | st.integers(0, 101)
            cap = data.draw(caps, label="cap")
            settings_["budget"] = 100
            if cap is not None:
                options["cap"] = cap
                settings_["cap"] = cap
                if not 1 <= cap <= 100:
                    problem = "bad_cap"
        elif method in (Method.RATING, Method.MATRIX):
            low, high = (SCALE_MIN, SCALE_MAX) if valid else (SCALE_MIN - 1, SCALE_MAX + 1)
            scale = data.draw(st.none() | st.integers(low, high), label="scale")
            if scale is not None:
                options["scale"] = scale
                if not SCALE_MIN <= scale <= SCALE_MAX:
                    problem = "bad_scale"
            settings_["scale"] = SCALE_DEFAULT if scale is None else scale
        elif method is Method.RANKING:
            low, high = (1, n) if valid else (0, n + 1)
            top_k = data.draw(st.none() | st.integers(low, high), label="top_k")
            if top_k is not None:
                options["top_k"] = top_k
                if not 1 <= top_k <= n:
                    problem = "bad_top_k"
            settings_["top_k"] = min(TOP_K_DEFAULT, n) if top_k is None else top_k
        expected = self.closed("round.open")
        if expected is None and self.current_round() is not None:
            expected = "round_open"
        if expected is None and STEP_OF[method] is not self.step:
            expected = "wrong_step"
        expected = expected or problem
        answer = self.command(
            self.facilitator, "round.open", expected, method=method.value, live=live, **options
        )
        if expected is not None:
            return
        data_ = answer["data"]
        if method is Method.DOTS and "budget" not in options:
            # The default budget: about a third of the factors, 3 to 10 dots but no more
            # than the factors; the cap below the budget (issue #18, item 7).
            budget = data_["settings"]["budget"]
            assert min(3, n) <= budget <= min(10, n), data_
            settings_ |= {"budget": budget, "cap": default_dot_cap(budget)}
        assert data_["settings"] == settings_, (data_, settings_)
        number = max((r.number for r in self.rounds.values()), default=0) + 1
        assert data_["number"] == number
        self.rounds[data_["round_id"]] = RoundModel(data_["round_id"], number, method, settings_)

    def _valid_ballot(self, data: st.DataObject, round_: RoundModel) -> tuple[Entries, Entries]:
        """A ballot within the round's rules (possibly empty), and what is stored of it."""
        factors = data.draw(
            st.lists(st.sampled_from(sorted(self.active)), unique=True, min_size=1),
            label="factors",
        )
        if data.draw(st.integers(0, 9), label="withdraw") == 0:
            factors = []  # an empty ballot withdraws the vote
        s = round_.settings
        entries: Entries = {}
        if round_.method is Method.KEEP_REMOVE:
            entries = {f: data.draw(st.sampled_from(["keep", "remove"])) for f in factors}
        elif round_.method is Method.DOTS:
            left = s["budget"]
            for f in factors:
                most = min(s["cap"], left)
                dots = st.sampled_from([most, min(1, most)]) | st.integers(0, most)
                entries[f] = data.draw(dots, label="dots")
                left -= entries[f]
        elif round_.method is Method.POINTS:
            left = s["budget"]
            for f in factors:
                most = min(s.get("cap", left), left)
                points = st.sampled_from([most, min(10, most)]) | st.integers(0, most)
                entries[f] = data.draw(points, label="points")
                left -= entries[f]
        elif round_.method is Method.RATING:
            rating = st.integers(1, s["scale"]) | st.just("no_opinion")
            entries = {f: data.draw(rating, label="rating") for f in factors}
        elif round_.method is Method.RANKING:
            factors = factors[: s["top_k"]]
            places = data.draw(st.permutations(range(1, len(factors) + 1)), label="places")
            entries = dict(zip(factors, places, strict=True))
        else:
            pair = st.lists(st.integers(1, s["scale"]), min_size=2, max_size=2)
            entries = {f: data.draw(pair, label="pair") for f in factors}
        return entries, {f: v for f, v in entries.items() if v != 0}

    @precondition(lambda self: self.people and self.rounds)
    @rule(data=st.data())
    def vote(self, data: st.DataObject) -> None:
        """A participant votes. While a round is open they first send a ballot against its
        rules (or for a round closed before), which is refused and stores nothing, then one
        within them (an empty one withdraws the vote). With no round open, their ballot for
        a closed round is refused."""
        token = data.draw(st.sampled_from(sorted(self.people)), label="voter")
        if self.current_round() is None:
            self._vote_in_a_closed_round(data, token)
            return
        self._vote_against_the_rules(data, token)
        self.check_unchanged()  # before the next command changes something
        self._vote(data, token)

    def _vote(self, data: st.DataObject, token: str) -> None:
        """A ballot within the open round's rules: accepted, and stored whole."""
        round_ = self.current_round()
        assert round_ is not None
        entries, kept = self._valid_ballot(data, round_)
        # An open round means an open workshop: the step only changes with no round open.
        answer = self.command(
            self.people[token],
            "ballot.submit",
            None,
            round_id=round_.id,
            entries={str(f): v for f, v in entries.items()},
        )
        shown = {str(f): v for f, v in kept.items()}
        assert answer["data"] == {"round_id": round_.id, "entries": shown}, answer
        participant = self.ids[token]
        if kept:
            round_.ballots[participant] = kept
        else:  # an empty ballot withdraws the vote
            round_.ballots.pop(participant, None)

    @precondition(lambda self: (r := self.current_round()) is not None and r.ballots)
    @rule(data=st.data())
    def revote(self, data: st.DataObject) -> None:
        """A participant who has voted submits another ballot: it replaces the whole old one."""
        round_ = self.current_round()
        assert round_ is not None
        voters = [t for t, pid in self.ids.items() if pid in round_.ballots]
        self._vote(data, data.draw(st.sampled_from(sorted(voters)), label="voter"))

    def _vote_against_the_rules(self, data: st.DataObject, token: str) -> None:
        """A ballot over the budget or the cap, of the wrong kind, off the scale, on a factor
        not on the board, or not even of the right shape: refused, nothing stored."""
        round_ = self.current_round()
        assert round_ is not None
        method, s = round_.method, round_.settings
        active = sorted(self.active)
        f = data.draw(st.sampled_from(active), label="factor")
        # Answers of the right kind that break the method's own rules …
        broken: list[tuple[dict[str, Any], str]] = []
        if method is Method.DOTS:
            if s["cap"] * len(active) > s["budget"]:
                over: dict[str, Any] = {}
                for g in active:
                    if sum(over.values()) > s["budget"]:
                        break
                    over[str(g)] = s["cap"]
                broken.append((over, "over_budget"))
            broken.append(({str(f): s["cap"] + 1}, "over_cap"))
        elif method is Method.POINTS:
            cap = s.get("cap", 100)
            if cap * len(active) > 100:
                over = {}
                for g in active:
                    if sum(over.values()) > 100:
                        break
                    over[str(g)] = cap
                broken.append((over, "over_budget"))
            broken.append(({str(f): cap + 1}, "over_cap"))
        elif method is Method.RATING:
            broken.append(({str(f): s["scale"] + 1}, "bad_rating"))
        elif method is Method.RANKING:
            broken.append(({str(f): 2}, "bad_ranking"))
            if len(active) >= 2:
                broken.append(({str(active[0]): 1, str(active[1]): 1}, "bad_ranking"))
            if len(active) > s["top_k"]:
                top = {str(g): i for i, g in enumerate(active[: s["top_k"] + 1], start=1)}
                broken.append((top, "over_top_k"))
        elif method is Method.MATRIX:
            broken.append(({str(f): [0, 1]}, "bad_matrix"))
            broken.append(({str(f): [1, s["scale"] + 1]}, "bad_matrix"))
        # … and ballots wrong whatever the method's rules.
        wrong, wrong_code = WRONG_KIND[method]
        bad = [
            *broken,
            ({str(f): data.draw(st.sampled_from(wrong), label="wrong kind")}, wrong_code),
            ({str(f): 1.5}, "invalid_input"),
            ({"0": PLAIN[method]}, "invalid_input"),
        ]
        if method is Method.DOTS:
            bad.append(({str(f): -1}, "bad_dots"))
        if method is Method.POINTS:
            bad.append(({str(f): -10}, "bad_points"))
        if self.merged:
            gone = data.draw(st.sampled_from(sorted(self.merged)), label="merged")
            bad.append(({str(gone): PLAIN[method]}, "not_votable"))
        if any(r.state is not RoundState.OPEN for r in self.rounds.values()):
            bad.append(({}, "closed round"))
        choice = st.sampled_from(broken) | st.sampled_from(bad) if broken else st.sampled_from(bad)
        entries, code = data.draw(choice, label="bad ballot")
        if code == "closed round":
            self._vote_in_a_closed_round(data, token)
            return
        self.command(self.people[token], "ballot.submit", code, round_id=round_.id, entries=entries)

    def _vote_in_a_closed_round(self, data: st.DataObject, token: str) -> None:
        """A ballot for a closed (or revealed) round: refused, nothing stored."""
        done = sorted(r.id for r in self.rounds.values() if r.state is not RoundState.OPEN)
        round_ = self.rounds[data.draw(st.sampled_from(done), label="round")]
        factors = data.draw(
            st.lists(st.sampled_from(sorted(self.active | self.merged)), unique=True),
            label="factors",
        )
        entries = {str(f): PLAIN[round_.method] for f in factors}
        expected = self.closed("ballot.submit") or "round_closed"
        self.command(
            self.people[token], "ballot.submit", expected, round_id=round_.id, entries=entries
        )

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """A command id sent again (a phone retrying after a reconnect), with the same payload
        or another: the first answer again, and nothing changes."""
        sent = data.draw(st.sampled_from(self.sent), label="resent")
        payload = dict(sent.payload)
        if data.draw(st.booleans(), label="other payload"):
            payload = self._other_payload(data, sent.name, payload)
        tallies, before = self.tallies(), rows(self.db)
        published = len(self.recorder.changes)
        again = self.services.workshops.execute(sent.sender.actor, sent.name, payload)
        self.unchanged = Unchanged(before, published, 0, (sent.answer, again), tallies)

    def _other_payload(
        self, data: st.DataObject, name: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Another payload of the same command, well formed."""
        if name == "ballot.submit":
            f = data.draw(st.sampled_from(sorted(self.active | self.merged)), label="factor")
            payload["entries"] = {} if payload["entries"] else {str(f): 1}
        elif name in ("factor.add", "factor.propose"):
            payload["title"] += " igen"
        elif name == "round.open":
            payload = {"command_id": payload["command_id"], "method": "keep_remove"}
        elif name in ("round.close", "round.reveal") and self.rounds:
            payload["round_id"] = data.draw(st.sampled_from(sorted(self.rounds)), label="round")
        elif name == "step.set":
            payload["step"] = data.draw(st.sampled_from([s.value for s in Step]), label="step")
        elif name == "factor.merge":
            payload["factor_id"], payload["into_id"] = payload["into_id"], payload["factor_id"]
        return payload

    # While one is open; then and again, a round closed before is named (and refused).
    @precondition(lambda self: self.current_round() is not None)
    @rule(data=st.data())
    def close_round(self, data: st.DataObject) -> None:
        """The facilitator closes a round: tallied over the factors on the board now."""
        open_ = self.current_round()
        assert open_ is not None
        ids = st.just(open_.id) | st.sampled_from(sorted(self.rounds))
        round_ = self.rounds[data.draw(ids, label="round")]
        expected = self.closed("round.close")
        if expected is None and round_.state is not RoundState.OPEN:
            expected = "round_not_open"
        answer = self.command(self.facilitator, "round.close", expected, round_id=round_.id)
        if expected is not None:
            return
        assert answer["data"] == {"round_id": round_.id, "state": "closed"}
        round_.state = RoundState.CLOSED
        round_.counted = sorted(self.active)
        with self.db.read() as s:
            round_.tally = s.get_one(models.Round, round_.id).results

    # While one is closed and not yet revealed; then and again, another is named.
    @precondition(lambda self: any(r.state is RoundState.CLOSED for r in self.rounds.values()))
    @rule(data=st.data())
    def reveal_round(self, data: st.DataObject) -> None:
        """The facilitator reveals a closed round's results."""
        closed = sorted(r.id for r in self.rounds.values() if r.state is RoundState.CLOSED)
        ids = st.sampled_from(closed) | st.sampled_from(sorted(self.rounds))
        round_ = self.rounds[data.draw(ids, label="round")]
        expected = self.closed("round.reveal")
        if expected is None and round_.state is RoundState.OPEN:
            expected = "round_not_closed"
        if expected is None and round_.state is RoundState.REVEALED:
            expected = "round_revealed"
        answer = self.command(self.facilitator, "round.reveal", expected, round_id=round_.id)
        if expected is None:
            assert answer["data"] == {"round_id": round_.id, "state": "revealed"}
            round_.state = RoundState.REVEALED

    # Merging stops while three factors are left, so that rounds have something to order.
    @precondition(lambda self: len(self.active) > 3)
    @rule(data=st.data())
    def merge_factors(self, data: st.DataObject) -> None:
        """The facilitator merges a duplicate into another factor; votes on it in the open
        round move along (dots add up to the cap; a ranking keeps the better place and
        closes the gap; otherwise the participant's own answer on the target stands)."""
        known = sorted(self.active | self.merged)
        # Two factors one ballot in the open round answers on both, if there are: the merge
        # has most to get right there (the cap, the places).
        round_ = self.current_round()
        both = sorted(
            (a, b)
            for ballot in (round_.ballots.values() if round_ else [])
            for a in ballot
            for b in ballot
            if a != b
        )
        two = st.lists(st.sampled_from(sorted(self.active)), min_size=2, max_size=2, unique=True)
        # … otherwise two on the board, or any two (a factor into itself, or a merged one).
        anything = two.map(tuple) | st.tuples(st.sampled_from(known), st.sampled_from(known))
        source, into = data.draw(st.sampled_from(both) if both else anything, "source, into")
        expected = self.closed("factor.merge")
        if expected is None and source == into:
            expected = "merge_self"
        if expected is None and into not in self.active:
            expected = "merge_target"
        if expected is None and source not in self.active:
            expected = "wrong_status"
        answer = self.command(
            self.facilitator, "factor.merge", expected, factor_id=source, into_id=into
        )
        if expected is not None:
            return
        moved = 0
        if round_ is not None:
            for participant, ballot in round_.ballots.items():
                if source in ballot:
                    round_.ballots[participant] = self._merged(round_, ballot, source, into)
                    moved += 1
        assert answer["data"] == {"factor_id": source, "into_id": into, "ballots_moved": moved}
        self.active.remove(source)
        self.merged.add(source)

    @staticmethod
    def _merged(round_: RoundModel, ballot: Entries, source: int, into: int) -> Entries:
        """A ballot after `source` merged into `into`, as the merge rules say."""
        merged = dict(ballot)
        moved, held = merged.pop(source), merged.get(into)
        if round_.method is Method.DOTS:
            merged[into] = min((held or 0) + moved, round_.settings["cap"])
        elif round_.method is Method.POINTS:
            merged[into] = min((held or 0) + moved, round_.settings.get("cap", 100))
        elif round_.method is Method.RANKING:
            merged[into] = moved if held is None else min(held, moved)
            order = sorted(merged, key=merged.__getitem__)
            merged = {f: place for place, f in enumerate(order, start=1)}
        else:
            merged.setdefault(into, moved)
        return merged

    # A new app takes a while to build: one restart a run.
    @precondition(lambda self: not self.restarted)
    @rule()
    def restart(self) -> None:
        """The server restarts: a fresh app on the same database file. The console gets the
        same snapshot as before, and every phone that reconnects is the participant it was."""
        self.restarted = True
        before = rows(self.db)
        console = self.services.workshops.snapshot(self.facilitator.actor, "console")
        self.teardown()
        self.services = self._start()
        assert self.services.workshops.snapshot(self.facilitator.actor, "console") == console
        for token, participant_id in self.ids.items():
            assert self.services.workshops.join(self.code, token)[1] == participant_id
        self.unchanged = Unchanged(before, published=0)  # the new app has published nothing

    # --- Invariants ---------------------------------------------------------------------------

    @invariant()
    def ballots_keep_their_rounds_rules(self) -> None:
        """Budgets, caps, scales and places hold for every stored ballot."""
        with self.db.read() as s:
            stored = stored_rounds(s)
        for round_ in stored.values():
            method, settings_ = Method(round_.round.method), round_.round.settings
            for participant, ballot in round_.ballots.items():
                assert ballot, f"participant {participant} has an empty ballot stored"
                answers = list(ballot.values())
                if method is Method.DOTS:
                    assert sum(answers) <= settings_["budget"], (ballot, settings_)
                    assert all(1 <= a <= settings_["cap"] for a in answers), (ballot, settings_)
                elif method is Method.POINTS:
                    cap = settings_.get("cap", settings_["budget"])
                    assert settings_["budget"] == 100, settings_
                    assert sum(answers) <= 100, (ballot, settings_)
                    assert all(1 <= a <= cap for a in answers), (ballot, settings_)
                elif method is Method.RATING:
                    scale = range(1, settings_["scale"] + 1)
                    assert all(a == "no_opinion" or a in scale for a in answers), ballot
                elif method is Method.RANKING:
                    assert sorted(answers) == list(range(1, len(answers) + 1)), ballot
                    assert len(answers) <= settings_["top_k"], (ballot, settings_)
                elif method is Method.MATRIX:
                    scale = range(1, settings_["scale"] + 1)
                    assert all(a[0] in scale and a[1] in scale for a in answers), ballot
                else:
                    assert set(answers) <= {"keep", "remove"}, ballot

    @invariant()
    def stored_ballots_are_the_models(self) -> None:
        """Rounds in the states the model says; each participant's ballot as last accepted
        (so nothing was accepted in a closed round, and a revote replaced the whole ballot)."""
        with self.db.read() as s:
            stored = stored_rounds(s)
        assert sorted(stored) == sorted(self.rounds)
        for round_id, model in self.rounds.items():
            assert stored[round_id].round.state == model.state.value
            assert stored[round_id].ballots == model.ballots, round_id

    @invariant()
    def tally_shown_is_a_recount(self) -> None:
        """Every round's tally as the app shows it is what the test counts from the stored
        ballots: over the factors on the board, or for a closed round, those on the board
        when it closed."""
        if not self.rounds:
            return
        with self.db.read() as s:
            stored = stored_rounds(s)
        for round_id, tallied in self.tallies().items():
            model = self.rounds[round_id]
            counted = model.counted if model.counted is not None else sorted(self.active)
            ballots = list(stored[round_id].ballots.values())
            check_tally(tallied, model.method, model.settings, counted, ballots)

    @invariant()
    def closed_rounds_keep_their_tally(self) -> None:
        """The tally stored when a round closed never changes."""
        with self.db.read() as s:
            for model in self.rounds.values():
                if model.counted is not None:
                    assert s.get_one(models.Round, model.id).results == model.tally

    @invariant()
    def version_counts_every_change(self) -> None:
        """The workshop's version grew by one with each change, and only then."""
        with self.db.read() as s:
            assert s.scalars(select(models.Workshop.version)).one() == self.version

    @invariant()
    def refusals_resends_and_restarts_change_nothing(self) -> None:
        """After a refusal only the record of its answer is new; after a resend (same
        payload or not) or a restart, not a row and not a tally has changed, the answer is
        the first one, and nothing was published."""
        self.check_unchanged()

    def check_unchanged(self) -> None:
        """Check what the last refusal, resend or restart must have left alone."""
        if self.unchanged is None:
            return
        expected, self.unchanged = self.unchanged, None
        if expected.answers is not None:
            first, again = expected.answers
            assert again == first, (first, again)
        after = rows(self.db)
        before = expected.rows
        changed = {name for name in before if before[name] != after[name]}
        assert changed <= {"commands"}, changed
        assert after["commands"][: len(before["commands"])] == before["commands"]
        assert len(after["commands"]) == len(before["commands"]) + expected.records
        assert len(self.recorder.changes) == expected.published
        if expected.tallies is not None:
            assert repr(self.tallies()) == repr(expected.tallies)  # repr: NaN equals NaN


# Each method gets runs of its own that start with one of its rounds (a method drawn by
# Hypothesis would cluster: it builds new runs by varying earlier ones).
@pytest.mark.parametrize("first", list(Method), ids=[m.value for m in Method])
def test_a_workshop_keeps_its_promises_whatever_happens(
    make_app: Callable[[str], Flask], tmp_path: Path, first: Method
) -> None:
    """Random runs of the machine, some hundred steps for each method."""
    migrated = tmp_path / "migrated.db"
    make_app(f"sqlite:///{migrated}").extensions["samsyn"].db.dispose()

    class Run(WorkshopMachine):
        """The machine on this test's database and method."""

        def __init__(self) -> None:
            super().__init__(make_app, migrated, first)

    run_state_machine_as_test(
        Run,
        settings=settings(
            max_examples=8,
            stateful_step_count=20,
            deadline=None,
            database=None,
            # No shrinking: a run costs too much to shrink within the suite's time limit (it
            # would take minutes), so a failure prints its whole run, every step and draw.
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
