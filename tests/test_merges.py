"""Merges undone and voted-out factors removed at once: the core rules, the use cases
through the console's socket, and their refusals."""

from __future__ import annotations

from typing import Any

import pytest

from facilitation.core import ballots, domain
from facilitation.core.domain import DomainError, FactorStatus
from facilitation.queries.ballots import read_ballots
from tests.conftest import Room

# --- The core ----------------------------------------------------------------------------


def test_unmerge_entries_restores_only_an_untouched_ballot() -> None:
    before, after = {1: 2, 2: 1}, {2: 3}
    assert ballots.unmerge_entries(before, after, {2: 3}) == before
    # Voted again since the merge: their latest ballot stands.
    assert ballots.unmerge_entries(before, after, {2: 1}) is None
    assert ballots.unmerge_entries(before, after, {}) is None


def test_answers_survive_json() -> None:
    entries: dict[int, ballots.Answer] = {3: (5, 1), 4: 2}
    assert ballots.answers_from_json(ballots.answers_to_json(entries)) == entries


def test_only_a_merged_factor_is_unmerged_and_gets_its_status_back() -> None:
    domain.check_unmerge(FactorStatus.MERGED)
    for status in (FactorStatus.ACTIVE, FactorStatus.REMOVED, FactorStatus.HIDDEN):
        with pytest.raises(DomainError) as error:
            domain.check_unmerge(status)
        assert error.value.code == "not_merged"
    assert domain.unmerged_status("hidden") is FactorStatus.HIDDEN
    assert domain.unmerged_status("proposed") is FactorStatus.PROPOSED
    assert domain.unmerged_status(None) is FactorStatus.ACTIVE
    assert domain.unmerged_status("removed") is FactorStatus.ACTIVE


# --- The use cases -----------------------------------------------------------------------


def _ballots(room: Room, round_id: int) -> dict[int, dict[int, Any]]:
    with room.app.extensions["samsyn"].db.read() as session:
        return dict(read_ballots(session, round_id))


def _factor(room: Room, factor_id: int) -> dict[str, Any]:
    state = room.state(room.console)["state"]
    return next(f for f in state["factors"] if f["id"] == factor_id)


def _phones(room: Room, n: int) -> None:
    for _ in range(n):
        room.phones.append(room.phone()[1])


def _dots_round(room: Room) -> tuple[int, int, int, int]:
    """A dots round (budget 4, cap 3) where three phones voted on U and K; its id, U, K, A."""
    _phones(room, 3)
    u, k, a = (
        room.factor(t) for t in ("Urbanisering", "Kompetensförsörjning", "Åldrande befolkning")
    )
    room.ok(room.console, "step.set", step="prioritise")
    round_id = room.ok(room.console, "round.open", method="dots", budget=4, cap=3)["round_id"]
    for phone, entries in zip(room.phones, [{u: 2, k: 2}, {u: 3}, {k: 1, a: 1}], strict=True):
        room.ok(
            phone,
            "ballot.submit",
            round_id=round_id,
            entries={str(f): v for f, v in entries.items()},
        )
    return round_id, u, k, a


def test_undo_restores_factor_and_ballots_exactly(room: Room) -> None:
    round_id, u, k, a = _dots_round(room)
    before = _ballots(room, round_id)
    merged = room.ok(room.console, "factor.merge", factor_id=k, into_id=u)
    assert merged["ballots_moved"] == 2
    moved = _ballots(room, round_id)
    assert moved != before and all(k not in b for b in moved.values())
    # The merged factor is shown under the factor it went into.
    assert _factor(room, k)["status"] == "merged" and _factor(room, k)["merged_into_id"] == u

    undone = room.ok(room.console, "factor.unmerge", factor_id=k)
    assert undone == {"factor_id": k, "status": "active", "ballots_restored": 2, "ballots_kept": 0}
    assert _ballots(room, round_id) == before
    assert _factor(room, k)["status"] == "active" and _factor(room, k)["merged_into_id"] is None
    # The factor can be merged and undone again.
    room.ok(room.console, "factor.merge", factor_id=k, into_id=a)
    room.ok(room.console, "factor.unmerge", factor_id=k)
    assert _ballots(room, round_id) == before


def test_a_vote_changed_since_the_merge_stands(room: Room) -> None:
    round_id, u, k, _ = _dots_round(room)
    before = _ballots(room, round_id)
    room.ok(room.console, "factor.merge", factor_id=k, into_id=u)
    first = room.phones[0]
    room.ok(first, "ballot.submit", round_id=round_id, entries={str(u): 1})
    undone = room.ok(room.console, "factor.unmerge", factor_id=k)
    assert undone["ballots_restored"] == 1 and undone["ballots_kept"] == 1
    after = _ballots(room, round_id)
    assert after[next(iter(before))] == {u: 1}
    assert list(after.values())[1:] == list(before.values())[1:]


def test_after_the_round_closed_the_counted_ballots_stay(room: Room) -> None:
    round_id, u, k, _ = _dots_round(room)
    room.ok(room.console, "factor.merge", factor_id=k, into_id=u)
    moved = _ballots(room, round_id)
    room.ok(room.console, "round.close", round_id=round_id)
    undone = room.ok(room.console, "factor.unmerge", factor_id=k)
    assert undone["ballots_restored"] == 0 and undone["ballots_kept"] == 2
    assert _ballots(room, round_id) == moved
    assert _factor(room, k)["status"] == "active"


def test_undo_refused_for_a_factor_not_merged_and_for_participants(room: Room) -> None:
    u = room.factor("Urbanisering")
    answer = room.send(room.console, "factor.unmerge", factor_id=u)
    assert not answer["ok"] and answer["error"]["code"] == "not_merged"
    _phones(room, 1)
    answer = room.send(room.phones[0], "factor.unmerge", factor_id=u)
    assert not answer["ok"]


def test_undo_is_logged_and_idempotent(room: Room) -> None:
    u, k = room.factor("Urbanisering"), room.factor("Kompetensförsörjning")
    room.ok(room.console, "factor.merge", factor_id=k, into_id=u)
    first = room.send(room.console, "factor.unmerge", factor_id=k, command_id="undo-1")
    again = room.send(room.console, "factor.unmerge", factor_id=k, command_id="undo-1")
    assert first == again and first["ok"]
    response = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json")
    log = [e for e in response.json["log"] if e["action"] == "factor.unmerged"]
    assert len(log) == 1 and log[0]["details"]["into"] == u


def test_remove_many_removes_each_with_its_reason_in_one_go(room: Room) -> None:
    u, k = room.factor("Urbanisering"), room.factor("Kompetensförsörjning")
    data = room.ok(
        room.console,
        "factor.remove_many",
        removals=[
            {"factor_id": u, "reason": "82 % röstade för att ta bort"},
            {"factor_id": k, "reason": "67 % röstade för att ta bort"},
        ],
    )
    assert data == {"removed": [u, k]}
    assert _factor(room, u)["status"] == "removed"
    response = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json")
    reasons = {
        e["factor_id"]: e["details"]["reason"]
        for e in response.json["log"]
        if e["action"] == "factor.removed"
    }
    assert reasons == {u: "82 % röstade för att ta bort", k: "67 % röstade för att ta bort"}


def test_remove_many_is_all_or_nothing(room: Room) -> None:
    u, k = room.factor("Urbanisering"), room.factor("Kompetensförsörjning")
    room.ok(room.console, "factor.remove", factor_id=k, reason="dubblett")
    answer = room.send(
        room.console,
        "factor.remove_many",
        removals=[{"factor_id": u, "reason": "bort"}, {"factor_id": k, "reason": "bort"}],
    )
    assert not answer["ok"] and answer["error"]["code"] == "wrong_status"
    assert _factor(room, u)["status"] == "active"
    for removals in (
        [{"factor_id": u, "reason": "a"}, {"factor_id": u, "reason": "b"}],
        [{"factor_id": u, "reason": "  "}],
    ):
        assert not room.send(room.console, "factor.remove_many", removals=removals)["ok"]
    assert not room.send(room.console, "factor.remove_many", removals=[])["ok"]
    _phones(room, 1)
    answer = room.send(
        room.phones[0], "factor.remove_many", removals=[{"factor_id": u, "reason": "x"}]
    )
    assert not answer["ok"]
    assert _factor(room, u)["status"] == "active"
