"""Reasons from the edges (issue #17): who lay outside the middle half of a revealed round,
when they may say why, how the facilitator moderates it, and that nobody is named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Room

from facilitation.core.ballots import NO_OPINION
from facilitation.core.domain import DomainError, Method, RoundState, Step
from facilitation.core.reasons import (
    Outlying,
    ReasonStatus,
    moderate_reason,
    outside,
    outside_on,
    reason_round,
    reason_status,
)
from facilitation.infrastructure import models
from facilitation.usecases import retention

RATING, MATRIX, POINTS = Method.RATING, Method.MATRIX, Method.POINTS
OPEN, CLOSED, REVEALED = RoundState.OPEN, RoundState.CLOSED, RoundState.REVEALED

# --- The rule, in the pure core -----------------------------------------------------------

ROW = {"factor_id": 7, "q1": 2.5, "q3": 3.5}


def test_an_answer_below_the_first_or_above_the_third_quartile_is_outside() -> None:
    assert outside(RATING, 1, ROW) == [Outlying("value", 1, 2.5, 3.5)]
    assert outside(RATING, 5, ROW) == [Outlying("value", 5, 2.5, 3.5)]
    assert outside(RATING, 3, ROW) == []


def test_an_answer_on_a_quartile_is_inside() -> None:
    row = {"factor_id": 7, "q1": 2.0, "q3": 4.0}
    assert outside(RATING, 2, row) == [] and outside(RATING, 4, row) == []
    assert outside(POINTS, 40, {"q1": 40.0, "q3": 60.0}) == []


def test_no_opinion_no_answer_and_no_quartiles_are_never_outside() -> None:
    assert outside(RATING, NO_OPINION, {"q1": 2.0, "q3": 4.0}) == []
    assert outside(RATING, None, ROW) == []
    assert outside(RATING, 1, {"q1": None, "q3": None}) == []
    for method in (Method.KEEP_REMOVE, Method.DOTS, Method.RANKING):
        assert outside(method, 1, ROW) == []


def test_a_matrix_answer_is_outside_on_either_axis() -> None:
    row = {"impact": {"q1": 3.0, "q3": 4.0}, "uncertainty": {"q1": 1.0, "q3": 2.0}}
    assert outside(MATRIX, (3, 2), row) == []
    assert outside(MATRIX, (5, 2), row) == [Outlying("impact", 5, 3.0, 4.0)]
    assert outside(MATRIX, (3, 4), row) == [Outlying("uncertainty", 4, 1.0, 2.0)]
    assert [a.axis for a in outside(MATRIX, (1, 5), row)] == ["impact", "uncertainty"]


def test_a_points_ballot_gives_its_unpointed_factors_zero_as_the_tally_does() -> None:
    rows = [{"factor_id": 1, "q1": 20.0, "q3": 60.0}, {"factor_id": 2, "q1": 0.0, "q3": 0.0}]
    assert set(outside_on(POINTS, {2: 100}, rows)) == {1, 2}
    assert outside_on(POINTS, None, rows) == {}  # no ballot, nothing to be outside of
    assert outside_on(RATING, {1: 3}, [{"factor_id": 1, "q1": 4.0, "q3": 5.0}]) == {
        1: [Outlying("value", 3, 4.0, 5.0)]
    }


def test_reasons_are_taken_from_a_reveal_until_the_next_round_closes() -> None:
    p = Step.PRIORITISE
    assert reason_round(p, [(RATING, CLOSED)]) is None  # not revealed yet
    assert reason_round(p, [(RATING, REVEALED)]) == 0
    assert reason_round(p, [(RATING, REVEALED), (RATING, OPEN)]) == 0  # revising it
    assert reason_round(p, [(RATING, REVEALED), (RATING, CLOSED)]) is None
    assert reason_round(p, [(RATING, REVEALED), (RATING, REVEALED)]) == 1
    assert reason_round(p, [(Method.DOTS, REVEALED)]) is None  # no quartiles
    assert reason_round(p, [(RATING, REVEALED), (MATRIX, OPEN)]) is None  # revises nothing


def test_moderation_of_reasons() -> None:
    assert reason_status(False) is ReasonStatus.SHOWN
    assert reason_status(True) is ReasonStatus.PENDING
    assert reason_status(False, hidden_before=True) is ReasonStatus.PENDING
    assert moderate_reason(ReasonStatus.PENDING, "approve") is ReasonStatus.SHOWN
    assert moderate_reason(ReasonStatus.SHOWN, "hide") is ReasonStatus.HIDDEN
    assert moderate_reason(ReasonStatus.HIDDEN, "approve") is ReasonStatus.SHOWN
    with pytest.raises(DomainError) as refused:
        moderate_reason(ReasonStatus.HIDDEN, "hide")
    assert refused.value.code == "wrong_status"


# --- Through the command pipeline ---------------------------------------------------------

LOW, MIDDLE, HIGH, NONE = 0, 1, 3, 4  # the phones: 1, 3, 3, 5 and "no opinion" on Urbanisering


@pytest.fixture
def rated(room: Room) -> Room:
    """Five phones rate in a revealed round: on Urbanisering 1, 3, 3, 5 (quartiles 2.5 and
    3.5) and "no opinion"; everyone 3 on Åldrande befolkning."""
    room.phones = [room.phone()[1] for _ in range(5)]
    room.ok(room.phones[LOW], "participant.rename", nickname="Anna")
    room.ok(room.console, "step.set", step="prioritise")
    u, a = room.factor("Urbanisering"), room.factor("Åldrande befolkning")
    room.round_id = room.run_round(  # type: ignore[attr-defined]
        "rating",
        [{u: 1, a: 3}, {u: 3, a: 3}, {u: 3, a: 3}, {u: 5, a: 3}, {u: "no_opinion", a: 3}],
    )
    return room


def me(room: Room, phone: int) -> dict[str, Any]:
    return room.state(room.phones[phone])["me"]  # type: ignore[no-any-return]


def give(room: Room, phone: int, text: str, **payload: Any) -> dict[str, Any]:
    payload.setdefault("round_id", room.round_id)  # type: ignore[attr-defined]
    payload.setdefault("factor_id", room.factor("Urbanisering"))
    return room.send(room.phones[phone], "reason.submit", text=text, **payload)


def refused(answer: dict[str, Any]) -> str:
    assert not answer["ok"], answer
    return str(answer["error"]["code"])


def test_a_phone_outside_the_middle_half_sees_it_and_one_inside_does_not(rated: Room) -> None:
    u = rated.factor("Urbanisering")
    low = me(rated, LOW)["outside"]
    assert low["round_id"] == rated.round_id and low["method"] == "rating"  # type: ignore[attr-defined]
    assert low["factors"] == [
        {
            "factor_id": u,
            "axes": [{"axis": "value", "answer": 1, "q1": 2.5, "q3": 3.5}],
            "reason": None,
        }
    ]
    assert me(rated, HIGH)["outside"]["factors"][0]["axes"][0]["answer"] == 5
    assert me(rated, MIDDLE)["outside"] is None
    assert me(rated, NONE)["outside"] is None  # "no opinion" is never outside


def test_a_reason_for_an_answer_outside_is_shown_beside_the_result_without_a_name(
    rated: Room,
) -> None:
    u = rated.factor("Urbanisering")
    data = rated.ok(
        rated.phones[LOW],
        "reason.submit",
        round_id=rated.round_id,  # type: ignore[attr-defined]
        factor_id=u,
        text="  Jag bor på landet,\u200b där\n flyttar folk ut.  ",
    )
    assert data["status"] == "shown"
    rated.flush()
    shown = [
        {
            "round_id": rated.round_id,
            "number": 1,
            "factor_id": u,  # type: ignore[attr-defined]
            "text": "Jag bor på landet, där\nflyttar folk ut.",
        }
    ]
    board = rated.latest(rated.board)
    assert board["reasons"] == shown
    assert rated.state(rated.phones[MIDDLE])["state"]["reasons"] == shown
    console = rated.state(rated.console)["state"]["reasons"]
    assert console == [{**shown[0], "id": data["reason_id"], "status": "shown"}]
    own = me(rated, LOW)["outside"]["factors"][0]["reason"]
    assert own == {"id": data["reason_id"], "text": shown[0]["text"], "status": "shown"}
    # Nobody is named: not the participant's number, not the nickname.
    for view in (
        board,
        rated.state(rated.phones[MIDDLE])["state"],
        rated.state(rated.console)["state"],
    ):
        assert "Anna" not in json.dumps(view["reasons"])
        for reason in view["reasons"]:
            assert not {"participant", "participant_id", "nickname"} & set(reason)


def test_a_reason_is_refused_for_an_answer_inside_or_without_one(rated: Room) -> None:
    assert refused(give(rated, MIDDLE, "Jag håller med")) == "not_outside"
    assert refused(give(rated, NONE, "Vet inte")) == "not_outside"
    a = rated.factor("Åldrande befolkning")
    assert refused(give(rated, LOW, "Alla sa 3", factor_id=a)) == "not_outside"


def test_a_reason_is_refused_for_a_factor_or_round_that_is_not_there(rated: Room) -> None:
    assert refused(give(rated, LOW, "Hm", factor_id=999_999)) == "unknown_factor"
    assert refused(give(rated, LOW, "Hm", round_id=999_999)) == "unknown_round"
    other = (
        rated.app.test_client()
        .post(
            "/api/workshops",
            json={
                "title": "Annan",
                "language": "sv",
                "factors": [{"title": "Annat", "category": "Sociala"}],
            },
        )
        .json
    )
    assert other is not None
    with rated.app.extensions["samsyn"].db.read() as s:
        foreign = s.query(models.Factor).filter_by(title="Annat").one().id
    assert refused(give(rated, LOW, "Hm", factor_id=foreign)) == "unknown_factor"


def test_a_reason_is_taken_only_from_the_reveal_until_the_next_round_closes(
    rated: Room,
) -> None:
    u = rated.factor("Urbanisering")
    first = rated.round_id  # type: ignore[attr-defined]
    second = rated.ok(rated.console, "round.open", method="rating")["round_id"]
    # While the round that revises it is open, reasons on the revealed round still come.
    assert give(rated, LOW, "Landsbygden")["ok"]
    assert refused(give(rated, LOW, "Nej", round_id=second)) == "reasons_closed"
    assert me(rated, LOW)["outside"]["round_id"] == first
    rated.ok(rated.phones[LOW], "ballot.submit", round_id=second, entries={str(u): 3})
    rated.ok(rated.console, "round.close", round_id=second)
    assert refused(give(rated, LOW, "Sent")) == "reasons_closed"
    assert me(rated, LOW)["outside"] is None
    # Closed, not revealed: nothing to give a reason on yet.
    assert refused(give(rated, LOW, "Nu?", round_id=second)) == "reasons_closed"


def test_a_second_reason_replaces_the_first(rated: Room) -> None:
    first = give(rated, LOW, "Första")["data"]
    second = give(rated, LOW, "Andra tanken")["data"]
    assert first["reason_id"] == second["reason_id"]
    reasons = rated.state(rated.console)["state"]["reasons"]
    assert [r["text"] for r in reasons] == ["Andra tanken"]


def test_a_reason_is_cleaned_and_kept_short(rated: Room) -> None:
    assert refused(give(rated, LOW, "x" * 281)) == "too_long"
    assert refused(give(rated, LOW, " \u200b ")) == "required"
    assert give(rated, LOW, "x" * 280)["ok"]


def test_with_approval_required_a_reason_waits_for_the_facilitator(rated: Room) -> None:
    rated.ok(rated.console, "workshop.configure", approval_required=True)
    data = give(rated, HIGH, "Snabbare än vi tror")["data"]
    assert data["status"] == "pending"
    assert rated.state(rated.board)["state"]["reasons"] == []
    assert rated.state(rated.console)["state"]["reasons"][0]["status"] == "pending"
    rated.ok(rated.console, "reason.approve", reason_id=data["reason_id"])
    assert [r["text"] for r in rated.state(rated.board)["state"]["reasons"]] == [
        "Snabbare än vi tror"
    ]
    # Only the facilitator moderates.
    assert refused(rated.send(rated.phones[HIGH], "reason.hide", reason_id=data["reason_id"])) == (
        "forbidden"
    )


def test_a_hidden_reason_leaves_the_room_and_its_replacement_waits(rated: Room) -> None:
    data = give(rated, LOW, "Något olämpligt")["data"]
    rated.ok(rated.console, "reason.hide", reason_id=data["reason_id"])
    assert rated.state(rated.board)["state"]["reasons"] == []
    assert rated.state(rated.phones[MIDDLE])["state"]["reasons"] == []
    assert me(rated, LOW)["outside"]["factors"][0]["reason"]["status"] == "hidden"
    assert refused(rated.send(rated.console, "reason.hide", reason_id=data["reason_id"])) == (
        "wrong_status"
    )
    assert give(rated, LOW, "Ett nytt försök")["data"]["status"] == "pending"
    assert refused(rated.send(rated.console, "reason.approve", reason_id=999_999)) == (
        "unknown_reason"
    )
    log = [e["action"] for e in rated.state(rated.console)["state"]["log"]]
    assert {"reason.given", "reason.hidden"} <= set(log)


def test_the_record_keeps_every_reason_with_its_status_and_never_who(rated: Room) -> None:
    kept = give(rated, LOW, "Visas")["data"]
    hidden = give(rated, HIGH, "Döljs")["data"]
    rated.ok(rated.console, "reason.hide", reason_id=hidden["reason_id"])
    services = rated.app.extensions["samsyn"].services
    record = services.workshops.record(rated.code, nicknames=True)
    assert [(r["round"], r["factor"], r["text"], r["status"]) for r in record["reasons"]] == [
        (1, "Urbanisering", "Visas", "shown"),
        (1, "Urbanisering", "Döljs", "hidden"),
    ]
    assert all(
        set(r) == {"round", "round_id", "factor_id", "factor", "text", "status", "created_at"}
        for r in record["reasons"]
    )
    assert kept["reason_id"] != hidden["reason_id"]


def test_anonymising_a_workshop_unlinks_its_reasons(rated: Room) -> None:
    give(rated, LOW, "Kvar, utan namn")
    db = rated.app.extensions["samsyn"].db
    with db.write() as s:
        workshop = s.query(models.Workshop).filter_by(code=rated.code).one()
        retention.anonymise(s, workshop)
    with db.read() as s:
        reasons = s.query(models.Reason).all()
        assert [(r.text, r.participant_id) for r in reasons] == [("Kvar, utan namn", None)]
