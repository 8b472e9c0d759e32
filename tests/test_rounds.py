"""Rounds until consensus, through Flask-SocketIO's test client: Delphi rounds on ratings and
rankings whose measures move toward the rule until the board announces consensus; live
results; merging duplicates mid-round; proxies; the consensus rule; the audit log."""

from __future__ import annotations

from typing import Any

from conftest import Room

FACTORS = [
    {"title": "Urbanisering", "category": "Sociala"},
    {"title": "Åldrande befolkning", "category": "Sociala"},
    {"title": "Kompetensförsörjning", "category": "Ekonomiska"},
    {"title": "Elektrifiering", "category": "Teknologiska"},
]


def run_round(room: Room, method: str, answers: list[dict[int, Any]], **settings: Any) -> dict:
    """Open a round, let the phones answer, close and reveal; the board's state after."""
    assert len(answers) == len(room.phones)
    room.run_round(method, answers, **settings)
    room.flush()
    return room.latest(room.board)


def prepare(room: Room, people: int) -> dict[str, int]:
    room.phones = [room.phone()[1] for _ in range(people)]
    room.ok(room.console, "step.set", step="prioritise")
    return {f["title"]: room.factor(f["title"]) for f in FACTORS}


def test_a_three_round_delphi_on_ratings_reaches_consensus(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 5)
    u, a, k, e = (
        ids[t]
        for t in ("Urbanisering", "Åldrande befolkning", "Kompetensförsörjning", "Elektrifiering")
    )
    rounds = [
        # Round 1: opinions spread widely.
        [
            {u: 5, a: 1, k: 3, e: 2},
            {u: 1, a: 5, k: 4, e: 5},
            {u: 4, a: 2, k: 1, e: 3},
            {u: 2, a: 4, k: 5, e: 1},
            {u: 5, a: 3, k: 2, e: 4},
        ],
        # Round 2: having seen the group, people move toward the middle (not yet on a).
        [
            {u: 5, a: 1, k: 3, e: 3},
            {u: 3, a: 5, k: 4, e: 4},
            {u: 4, a: 2, k: 3, e: 3},
            {u: 4, a: 3, k: 4, e: 2},
            {u: 5, a: 3, k: 3, e: 3},
        ],
        # Round 3: close agreement, each factor clearly important or not (agreement on the
        # middle of the scale is no verdict in or out).
        [
            {u: 5, a: 2, k: 4, e: 2},
            {u: 4, a: 2, k: 4, e: 2},
            {u: 4, a: 1, k: 4, e: 2},
            {u: 4, a: 2, k: 5, e: 1},
            {u: 5, a: 2, k: 4, e: 2},
        ],
    ]
    progress = []
    for number, answers in enumerate(rounds, start=1):
        board = run_round(room, "rating", answers)
        verdict = board["results"]["verdict"]
        progress.append(verdict["progress"])
        assert board["results"]["number"] == number
        assert verdict["reached"] is (number == 3)
    assert progress[0] < progress[1] < progress[2] == 1.0
    # The board can compare the rounds: three revealed rating rounds, with stability.
    history = board["history"]
    assert [h["number"] for h in history] == [1, 2, 3]
    assert history[0]["stability"] is None and history[2]["stability"] > 0.5
    results = {r["title"]: r for r in board["results"]["factors"]}
    assert results["Urbanisering"]["median"] == 4 and results["Urbanisering"]["rank"] == 1
    verdicts = {title: row["verdict"] for title, row in results.items()}
    assert verdicts == {
        "Urbanisering": "in",
        "Kompetensförsörjning": "in",
        "Åldrande befolkning": "out",
        "Elektrifiering": "out",
    }
    # The rule is met: the console's next step is to stop.
    console = room.state(room.console)["state"]["results"]["recommendation"]
    assert (console["next"], console["rounds"]) == ("stop_consensus", 3)


def test_stability_and_when_to_stop(make_room: Any) -> None:
    """Three rating rounds: the first has nothing to compare with, the second moves one
    factor and reaches the maximum of two rounds declared before it, the third moves nothing
    and is stable. Each round's changes are stored with its tally."""
    room = make_room(factors=FACTORS)
    ids = prepare(room, 5)
    u, a, k, e = (
        ids[t]
        for t in ("Urbanisering", "Åldrande befolkning", "Kompetensförsörjning", "Elektrifiering")
    )
    first = [
        {u: 5, a: 1, k: 3, e: 2},
        {u: 1, a: 5, k: 4, e: 5},
        {u: 4, a: 2, k: 1, e: 3},
        {u: 2, a: 4, k: 5, e: 1},
        {u: 5, a: 3, k: 2, e: 4},
    ]
    # Participant 3 moves Kompetensförsörjning from 1 to 3; everything else stays.
    second = [dict(answers) for answers in first]
    second[2][k] = 3

    def next_step() -> dict[str, Any]:
        recommendation: dict[str, Any] = room.state(room.console)["state"]["results"][
            "recommendation"
        ]
        return recommendation

    board = run_round(room, "rating", first)
    assert {row["change"] for row in board["results"]["factors"]} == {None}
    said = next_step()
    assert (said["next"], said["rounds"], said["moving"]) == ("continue", 1, [])
    assert sorted(said["unmeasured"]) == sorted([u, a, k, e])

    room.ok(room.console, "workshop.configure", consensus_max_rounds=2)
    board = run_round(room, "rating", second)
    changes = {row["factor_id"]: row["change"] for row in board["results"]["factors"]}
    # Kompetensförsörjning: 1 2 3 4 5 → 2 3 3 4 5; shares .2 each → 0 .2 .4 .2 .2: 20 % moved.
    assert changes == {u: 0.0, a: 0.0, k: 0.2, e: 0.0}
    said = next_step()
    assert (said["next"], said["rounds"], said["max_rounds"]) == ("stop_max_rounds", 2, 2)
    assert (said["moving"], said["unmeasured"]) == ([k], [])

    board = run_round(room, "rating", second)
    assert {row["change"] for row in board["results"]["factors"]} == {0.0}
    # Stable says more than the maximum: the group has stopped moving.
    assert next_step()["next"] == "stop_stable"

    # The changes are stored with each round; the export carries them and the next steps.
    record = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json").json
    stored = [
        {r["factor_id"]: r["change"] for r in round_["factors"]} for round_ in record["rounds"]
    ]
    assert stored[1] == changes and stored[0][k] is None
    steps = [round_["recommendation"]["next"] for round_ in record["rounds"]]
    assert steps == ["continue", "stop_max_rounds", "stop_stable"]


def test_a_three_round_delphi_on_rankings_reaches_concordance(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 4)
    u, a, k, e = (
        ids[t]
        for t in ("Urbanisering", "Åldrande befolkning", "Kompetensförsörjning", "Elektrifiering")
    )
    orders = [
        [[u, a, k, e], [e, k, a, u], [a, u, e, k], [k, e, u, a]],
        [[u, a, k, e], [u, k, a, e], [a, u, k, e], [u, a, e, k]],
        [[u, a, k, e], [u, a, k, e], [u, a, e, k], [u, a, k, e]],
    ]
    ws = []
    for answers in orders:
        ranked = [{f: place for place, f in enumerate(order, start=1)} for order in answers]
        board = run_round(room, "ranking", ranked, top_k=4)
        ws.append(board["results"]["concordance"]["w"])
    assert ws[0] < ws[1] < ws[2]
    verdict = board["results"]["verdict"]
    assert verdict["reached"] and verdict["measure"] == "kendall_w" and ws[2] >= 0.7
    assert board["history"][-1]["stability"] is not None


def test_a_delphi_round_shows_the_group_and_ones_own_previous_answer(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 2)
    u = ids["Urbanisering"]
    run_round(room, "rating", [{u: 5}, {u: 1}])
    round_id = room.ok(room.console, "round.open", method="rating")["round_id"]
    room.flush()
    phone = room.phones[0]
    state = room.latest(phone)
    assert state["results"] is None  # the new round's results are hidden
    previous = {r["factor_id"]: r for r in state["previous"]["factors"]}
    assert previous[u]["median"] == 3
    me = room.state(phone)["me"]
    assert me["previous_ballot"]["entries"] == {str(u): 5}
    assert me["ballot"] == {"round_id": round_id, "entries": {}}


def test_live_results_can_be_switched_on_and_off(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 2)
    round_id = room.ok(room.console, "round.open", method="dots", budget=3, cap=3)["round_id"]
    room.ok(
        room.phones[0], "ballot.submit", round_id=round_id, entries={str(ids["Urbanisering"]): 3}
    )
    room.flush()
    assert room.latest(room.board)["results"] is None
    room.ok(room.console, "round.configure", round_id=round_id, live=True)
    room.flush()
    live = room.latest(room.board)["results"]
    assert live["live"] and live["factors"][0]["dots"] == 3
    assert room.latest(room.phones[1])["results"]["factors"][0]["dots"] == 3
    room.ok(room.console, "round.configure", round_id=round_id, live=False)
    room.flush()
    assert room.latest(room.board)["results"] is None


def test_merging_moves_votes_without_exceeding_the_cap(make_room: Any) -> None:
    room = make_room(factors=[*FACTORS, {"title": "Urbanisation", "category": "Sociala"}])
    ids = prepare(room, 2)
    u, dup = ids["Urbanisering"], room.factor("Urbanisation")
    round_id = room.ok(room.console, "round.open", method="dots", budget=4, cap=3)["round_id"]
    room.ok(room.phones[0], "ballot.submit", round_id=round_id, entries={str(u): 2, str(dup): 2})
    room.ok(room.phones[1], "ballot.submit", round_id=round_id, entries={str(dup): 1})
    data = room.ok(room.console, "factor.merge", factor_id=dup, into_id=u)
    assert data["ballots_moved"] == 2
    assert room.state(room.phones[0])["me"]["ballot"]["entries"] == {str(u): 3}  # capped
    assert room.state(room.phones[1])["me"]["ballot"]["entries"] == {str(u): 1}
    console = room.state(room.console)["state"]
    merged = next(f for f in console["factors"] if f["id"] == dup)
    assert (merged["status"], merged["merged_into_id"]) == ("merged", u)
    assert console["log"][0]["action"] == "factor.merged"
    room.flush()
    assert dup not in [f["id"] for f in room.latest(room.board)["factors"]]
    again = room.send(room.console, "factor.merge", factor_id=dup, into_id=u)
    assert again["error"]["code"] == "wrong_status"
    room.ok(room.console, "round.close", round_id=round_id)
    totals = {
        r["factor_id"]: r["dots"] for r in room.state(room.console)["state"]["results"]["factors"]
    }
    assert totals[u] == 4 and dup not in totals


def test_proxies_vote_through_the_facilitator(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 1)
    proxy = room.ok(room.console, "proxy.add", label="Gunnel (telefon saknas)")["proxy"]
    assert proxy == 2  # numbered with everyone else
    round_id = room.ok(room.console, "round.open", method="rating")["round_id"]
    u = ids["Urbanisering"]
    # The facilitator votes for the proxy as the proxy would on a phone.
    for_gunnel = room.connect(room.facilitator_http, "proxy", proxy=proxy)
    assert room.state(for_gunnel)["me"]["participant"]["number"] == proxy
    room.ok(for_gunnel, "ballot.submit", round_id=round_id, entries={str(u): 4})
    room.ok(room.phones[0], "ballot.submit", round_id=round_id, entries={str(u): 2})
    room.flush()
    assert room.latest(room.board)["participation"] == {"joined": 2, "voted": 2}
    # Only the facilitator can, and only for a proxy (a phone's participant is not one).
    phone_http, _ = room.phone()
    assert not room.connect(phone_http, "proxy", proxy=proxy).is_connected()
    assert not room.connect(room.facilitator_http, "proxy", proxy=1).is_connected()
    assert not room.connect(room.facilitator_http, "proxy", proxy="2").is_connected()
    console = room.state(room.console)["state"]
    assert console["proxies"] == [{"number": 2, "nickname": "Gunnel (telefon saknas)"}]
    room.ok(room.console, "round.close", round_id=round_id)
    record = room.facilitator_http.get(f"/api/workshops/{room.code}/export.json").json
    assert record["workshop"]["proxies"] == 1
    answers = {r["factor_id"]: r["answers"] for r in record["rounds"][-1]["factors"]}
    assert answers[u] == 2
    assert "Gunnel" not in str(record)
    # The anonymised ballots: participant numbers only, the proxy's marked.
    assert record["rounds"][-1]["answers"] == [
        {"participant": 1, "proxy": False, "group": None, "entries": {str(u): 2}},
        {"participant": 2, "proxy": True, "group": None, "entries": {str(u): 4}},
    ]


def test_the_consensus_rule_is_the_facilitators(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    defaults = {
        "preset": "agreement",
        "agreement": 0.75,
        "iqr": 1.0,
        "kendall_w": 0.7,
        "min_share": 0.7,
        "min_answers": 3,
        "every_group": False,
        "stable_change": 0.15,
        "max_rounds": None,
    }
    assert room.state(room.board)["state"]["rule"] == defaults
    data = room.ok(room.console, "workshop.configure", consensus_agreement=0.8)
    assert data["consensus"] == defaults | {"agreement": 0.8}
    data = room.ok(room.console, "workshop.configure", consensus_preset="cos")
    assert data["consensus"] == defaults | {"agreement": 0.8, "preset": "cos"}
    for bad in (
        {"consensus_agreement": 0.4},
        {"consensus_kendall_w": 0},
        {"consensus_kendall_w": 2},
        {"consensus_iqr": -1},
        {"consensus_min_share": 1.5},
        {"consensus_min_answers": 0},
        {"consensus_stable_change": 1.5},
        {"consensus_stable_change": -0.1},
        {"consensus_max_rounds": 51},
        {"consensus_max_rounds": -1},
    ):
        assert room.send(room.console, "workshop.configure", **bad)["error"]["code"] == "bad_rule"
    room.flush()
    assert room.latest(room.board)["rule"]["agreement"] == 0.8
    # When to stop: set, then cleared again with 0.
    data = room.ok(
        room.console, "workshop.configure", consensus_stable_change=0.1, consensus_max_rounds=4
    )
    assert (data["consensus"]["stable_change"], data["consensus"]["max_rounds"]) == (0.1, 4)
    data = room.ok(room.console, "workshop.configure", consensus_max_rounds=0)
    assert (data["consensus"]["stable_change"], data["consensus"]["max_rounds"]) == (0.1, None)


def test_a_points_round_shares_out_100_points_and_measures_concordance(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 3)
    u, a, k, e = (ids[f["title"]] for f in FACTORS)
    opened = room.ok(room.console, "round.open", method="points", cap=60)
    assert opened["settings"] == {
        "budget": 100,
        "cap": 60,
        "live": False,
        "shuffle": True,
        "no_own_votes": False,
    }
    round_id = opened["round_id"]
    phone = room.phones[0]
    refused = {
        "over_budget": {str(u): 60, str(a): 41},
        "over_cap": {str(u): 61},
        "bad_points": {str(u): -10},
        "not_votable": {"999999": 10},
    }
    for code, entries in refused.items():
        answer = room.send(phone, "ballot.submit", round_id=round_id, entries=entries)
        assert answer["error"]["code"] == code, (code, answer)
    words = room.send(phone, "ballot.submit", round_id=round_id, entries={str(u): "keep"})
    assert words["error"]["code"] == "bad_points"
    assert words["error"]["message"] == "Poäng anges i hela tal."  # the workshop speaks Swedish
    over = room.send(phone, "ballot.submit", round_id=round_id, entries={str(u): 60, str(a): 50})
    assert over["error"]["message"] == "Du har 100 poäng totalt."
    fraction = room.send(phone, "ballot.submit", round_id=round_id, entries={str(u): 2.5})
    assert fraction["error"]["code"] == "invalid_input"
    assert room.state(phone)["me"]["ballot"]["entries"] == {}  # refusals stored nothing
    # The third phone spends only 50 of its points.
    answers = [{u: 60, a: 30, k: 10}, {u: 50, a: 40, k: 10}, {u: 40, a: 10}]
    for voter, entries in zip(room.phones, answers, strict=True):
        ballot = {str(f): v for f, v in entries.items()}
        room.ok(voter, "ballot.submit", round_id=round_id, entries=ballot)
    room.ok(room.console, "round.close", round_id=round_id)
    room.ok(room.console, "round.reveal", round_id=round_id)
    room.flush()
    board = room.latest(room.board)["results"]
    assert board["method"] == "points" and board["ballots"] == 3
    first, second, third, last = board["factors"]
    assert (first["factor_id"], first["points"], first["voters"]) == (u, 150, 3)
    assert first["share"] == 150 / 250 and first["rank"] == 1
    assert (second["factor_id"], second["points"], third["factor_id"]) == (a, 80, k)
    assert (last["factor_id"], last["points"], last["share"]) == (e, 0, 0)
    # Everyone orders Urbanisering, then Åldrande befolkning: the order agrees, nearly.
    assert board["concordance"]["raters"] == 3 and 0.7 < board["concordance"]["w"] < 1
    assert board["verdict"]["measure"] == "kendall_w" and board["verdict"]["reached"]


def test_merging_moves_points_within_the_cap(make_room: Any) -> None:
    room = make_room(factors=[*FACTORS, {"title": "Urbanisation", "category": "Sociala"}])
    ids = prepare(room, 3)
    u, dup = ids["Urbanisering"], room.factor("Urbanisation")
    a = ids["Åldrande befolkning"]
    round_id = room.ok(room.console, "round.open", method="points", cap=50)["round_id"]
    answers = [{u: 30, dup: 40, a: 30}, {dup: 20}, {u: 50}]
    for phone, entries in zip(room.phones, answers, strict=True):
        room.ok(
            phone,
            "ballot.submit",
            round_id=round_id,
            entries={str(f): v for f, v in entries.items()},
        )
    assert room.ok(room.console, "factor.merge", factor_id=dup, into_id=u)["ballots_moved"] == 2
    held = [room.state(phone)["me"]["ballot"]["entries"] for phone in room.phones]
    assert held == [{str(u): 50, str(a): 30}, {str(u): 20}, {str(u): 50}]  # 30 + 40 capped at 50
    room.ok(room.console, "round.close", round_id=round_id)
    totals = {
        r["factor_id"]: r["points"] for r in room.state(room.console)["state"]["results"]["factors"]
    }
    assert totals[u] == 120 and dup not in totals


def test_every_method_round_trips_its_ballots(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 1)
    u, a = ids["Urbanisering"], ids["Åldrande befolkning"]
    phone = room.phones[0]
    for method, settings, entries in [
        ("rating", {"scale": 7}, {str(u): 7, str(a): "no_opinion"}),
        ("ranking", {"top_k": 2}, {str(a): 1, str(u): 2}),
        ("matrix", {}, {str(u): [5, 1], str(a): [2, 4]}),
        ("dots", {"budget": 2, "cap": 2}, {str(u): 2}),
        ("points", {}, {str(u): 70, str(a): 25}),
    ]:
        round_id = room.ok(room.console, "round.open", method=method, **settings)["round_id"]
        stored = room.ok(phone, "ballot.submit", round_id=round_id, entries=entries)
        assert stored["entries"] == entries, method
        assert room.state(phone)["me"]["ballot"]["entries"] == entries, method
        room.ok(room.console, "round.close", round_id=round_id)
    wrong = room.ok(room.console, "round.open", method="matrix")["round_id"]
    for bad in ({str(u): 3}, {str(u): [1, 9]}, {str(u): "keep"}, {str(u): [1, 2, 3]}):
        answer = room.send(phone, "ballot.submit", round_id=wrong, entries=bad)
        assert answer["error"]["code"] in ("bad_matrix", "invalid_input"), bad


def test_the_proxy_page_is_the_facilitators(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    number = room.ok(room.console, "proxy.add", label="")["proxy"]
    page = room.facilitator_http.get(f"/proxy/{room.code}/{number}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'"proxy": {number}' in html and "Du röstar för ombud" in html
    assert room.facilitator_http.get(f"/proxy/{room.code}/99").status_code == 404
    phone_http, _ = room.phone()
    assert phone_http.get(f"/proxy/{room.code}/{number}").status_code == 403


def test_nobody_votes_on_their_own_proposal_when_the_round_says_so(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    room.phones = [room.phone()[1] for _ in range(2)]
    anna, bertil = room.phones
    proxy = room.ok(room.console, "proxy.add", label="Gunnel")["proxy"]
    for_gunnel = room.connect(room.facilitator_http, "proxy", proxy=proxy)
    room.ok(room.console, "step.set", step="complete")
    sociala = room.category("Sociala")
    mine = room.ok(anna, "factor.propose", title="Annas idé", category_id=sociala)["factor_id"]
    gunnels = room.ok(for_gunnel, "factor.propose", title="Gunnels idé", category_id=sociala)[
        "factor_id"
    ]
    dup = room.ok(bertil, "factor.propose", title="Annas idé igen", category_id=sociala)[
        "factor_id"
    ]
    u = room.factor("Urbanisering")
    room.ok(room.console, "step.set", step="prioritise")
    opened = room.ok(room.console, "round.open", method="dots", budget=4, cap=2, no_own_votes=True)
    assert opened["settings"]["no_own_votes"] is True
    assert opened["settings"]["shuffle"] is True  # on unless the facilitator says not
    round_id = opened["round_id"]

    refused = room.send(anna, "ballot.submit", round_id=round_id, entries={str(mine): 1})
    assert refused["error"]["code"] == "own_proposal"
    assert refused["error"]["message"] == (
        "I den här omgången bestämmer de andra om faktorerna som du har föreslagit."
    )
    # The whole ballot is refused, the other factor with it; without the own one it counts.
    both = {str(mine): 1, str(u): 1}
    assert room.send(anna, "ballot.submit", round_id=round_id, entries=both)["ok"] is False
    room.ok(anna, "ballot.submit", round_id=round_id, entries={str(u): 1, str(dup): 1})
    room.ok(bertil, "ballot.submit", round_id=round_id, entries={str(mine): 2})
    # A proxy's proposals are the proxy's own: the facilitator cannot vote on them for it.
    proxied = room.send(for_gunnel, "ballot.submit", round_id=round_id, entries={str(gunnels): 1})
    assert proxied["error"]["code"] == "own_proposal"
    room.ok(for_gunnel, "ballot.submit", round_id=round_id, entries={str(mine): 1})
    # A duplicate merged into Anna's proposal takes her dot on it back, not onto her own.
    room.ok(room.console, "factor.merge", factor_id=dup, into_id=mine)
    assert room.state(anna)["me"]["ballot"]["entries"] == {str(u): 1}
    room.ok(room.console, "round.close", round_id=round_id)
    dots = {
        r["factor_id"]: r["dots"] for r in room.state(room.console)["state"]["results"]["factors"]
    }
    assert dots[mine] == 3 and dots[u] == 1

    # The next round leaves it off (the default): proposers vote on theirs again.
    room.ok(room.console, "round.reveal", round_id=round_id)
    again = room.ok(room.console, "round.open", method="dots", budget=4, cap=2, shuffle=False)
    assert (again["settings"]["no_own_votes"], again["settings"]["shuffle"]) == (False, False)
    room.ok(anna, "ballot.submit", round_id=again["round_id"], entries={str(mine): 1})


def test_a_round_keeps_the_rule_it_declared_and_a_later_change_is_logged_and_shown(
    make_room: Any,
) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 4)
    u = ids["Urbanisering"]
    # Three in four within one step of the median: 75 %, the default.
    answers = [{u: 4}, {u: 4}, {u: 5}, {u: 1}]
    round_id = room.ok(room.console, "round.open", method="rating")["round_id"]
    # Before anyone saw results, a change holds for the open round as declared.
    room.ok(room.console, "workshop.configure", consensus_agreement=0.8)
    for phone, entries in zip(room.phones, answers, strict=True):
        room.ok(phone, "ballot.submit", round_id=round_id, entries={str(u): entries[u]})
    room.ok(room.console, "round.close", round_id=round_id)
    room.ok(room.console, "round.reveal", round_id=round_id)
    room.flush()
    results = room.latest(room.board)["results"]
    assert (results["rule"]["agreement"], results["rule_changed"]) == (0.8, False)
    row = next(r for r in results["factors"] if r["factor_id"] == u)
    assert (row["agreement"], row["verdict"]) == (0.75, "none")

    # A change after the reveal holds for the rounds to come, not for this one...
    room.ok(room.console, "workshop.configure", consensus_agreement=0.75)
    room.flush()
    state = room.latest(room.board)
    assert state["rule"]["agreement"] == 0.75
    assert (state["results"]["rule"]["agreement"], state["results"]["rule_changed"]) == (0.8, False)
    # ...unless the facilitator asks: then it is logged and shown, the declared rule beside it.
    room.ok(room.console, "workshop.configure", consensus_round_id=round_id)
    room.flush()
    results = room.latest(room.board)["results"]
    assert results["rule_changed"] is True
    assert (results["rule"]["agreement"], results["declared_rule"]["agreement"]) == (0.75, 0.8)
    row = next(r for r in results["factors"] if r["factor_id"] == u)
    assert row["verdict"] == "in"
    log = room.state(room.console)["state"]["log"]
    changed = [e for e in log if e["action"] == "round.rule_changed"]
    assert changed and changed[0]["details"]["before"]["agreement"] == 0.8
    assert changed[0]["details"]["after"]["agreement"] == 0.75

    # A round whose results nobody has seen is not "re-judged": it takes the rule anyway.
    second = room.ok(room.console, "round.open", method="rating")["round_id"]
    refused = room.send(room.console, "workshop.configure", consensus_round_id=second)
    assert refused["error"]["code"] == "rule_not_seen"


def test_stability_compares_with_the_round_the_group_saw(make_room: Any) -> None:
    room = make_room(factors=FACTORS)
    ids = prepare(room, 3)
    u, a = ids["Urbanisering"], ids["Åldrande befolkning"]
    room.run_round("rating", [{u: 5, a: 1}] * 3)
    # Closed but never revealed: the room never saw this order.
    hidden = room.ok(room.console, "round.open", method="rating")["round_id"]
    for phone in room.phones:
        room.ok(phone, "ballot.submit", round_id=hidden, entries={str(u): 1, str(a): 5})
    room.ok(room.console, "round.close", round_id=hidden)
    room.run_round("rating", [{u: 5, a: 1}] * 3)
    room.flush()
    # The same order as the revealed round 1: 1; against the hidden round 2 it would be −1.
    assert room.latest(room.board)["results"]["stability"] == 1.0


def test_keep_remove_results_come_in_the_boards_order(make_room: Any) -> None:
    # Factors given out of the categories' order: the later category's factor first.
    room = make_room(factors=[FACTORS[3], FACTORS[0], FACTORS[2], FACTORS[1]])
    room.phones = [room.phone()[1] for _ in range(3)]
    room.ok(room.console, "step.set", step="prune")
    board = room.state(room.board)["state"]
    order = [f["id"] for f in board["factors"]]
    room.run_round("keep_remove", [dict.fromkeys(order, "keep")] * 3)
    room.flush()
    results = room.latest(room.board)["results"]
    assert [r["factor_id"] for r in results["factors"]] == order


def test_a_proposers_barred_ballot_does_not_count_against_their_factor(make_room: Any) -> None:
    """Where nobody votes on their own proposal, the proposer's ballot cannot answer it: in a
    room of three, two of three answering is everyone who could, not too few answers."""
    room = make_room(factors=FACTORS)
    room.phones = [room.phone()[1] for _ in range(3)]
    room.ok(room.console, "step.set", step="complete")
    sociala = room.category("Sociala")
    mine = room.ok(room.phones[0], "factor.propose", title="Annas idé", category_id=sociala)[
        "factor_id"
    ]
    u = room.factor("Urbanisering")
    room.ok(room.console, "step.set", step="prune")
    round_id = room.ok(room.console, "round.open", method="keep_remove", no_own_votes=True)[
        "round_id"
    ]
    entries = [{u: "keep"}, {u: "keep", mine: "keep"}, {u: "keep", mine: "keep"}]
    for phone, answer in zip(room.phones, entries, strict=True):
        room.ok(
            phone,
            "ballot.submit",
            round_id=round_id,
            entries={str(f): v for f, v in answer.items()},
        )
    room.ok(room.console, "round.close", round_id=round_id)
    rows = {r["factor_id"]: r for r in room.state(room.console)["state"]["results"]["factors"]}
    assert rows[mine]["barred"] == 1 and "barred" not in rows[u]
    # Two opinions are still fewer than the three the rule asks of any factor.
    assert rows[mine]["verdict"] == "too_few"
    room.ok(room.console, "workshop.configure", consensus_min_answers=2)
    room.ok(room.console, "round.reveal", round_id=round_id)
    room.ok(
        room.console, "workshop.configure", consensus_min_answers=2, consensus_round_id=round_id
    )
    rows = {r["factor_id"]: r for r in room.state(room.console)["state"]["results"]["factors"]}
    assert rows[mine]["verdict"] == "in"  # 2 of the 2 who could: not "too few answers"


def test_a_dot_round_opened_without_settings_fits_the_factors_in_it(make_room: Any) -> None:
    """Issue #18, item 7: the console shows the defaults, and a round opened without a budget
    or a cap gets them: a third of the active factors (hidden ones do not count), a cap below."""
    many = [{"title": f"Faktor {n}", "category": "Sociala"} for n in range(16)]
    room = make_room(factors=many)
    phone = room.phone()[1]
    room.ok(room.console, "factor.hide", factor_id=room.factor("Faktor 0"))
    assert room.state(room.console)["state"]["dot_defaults"] == {"budget": 5, "cap": 3}
    room.ok(room.console, "step.set", step="prioritise")
    round_id = room.ok(room.console, "round.open", method="dots")["round_id"]
    settings = room.state(room.console)["state"]["round"]["settings"]
    assert (settings["budget"], settings["cap"]) == (5, 3)
    one = str(room.factor("Faktor 1"))
    over = room.send(phone, "ballot.submit", round_id=round_id, entries={one: 4})
    assert over["error"]["code"] == "over_cap"


def test_the_console_sees_how_the_picture_moved_round_by_round(make_room: Any) -> None:
    """Issue #18, item 3: every revealed round, factor by factor, and where each ended, its
    last measured result (a factor the last round did not measure keeps its earlier one)."""
    room = make_room(factors=FACTORS)
    room.phones = [room.phone()[1] for _ in range(3)]
    ids = {f["title"]: room.factor(f["title"]) for f in FACTORS}
    u, a, k, e = (ids[f["title"]] for f in FACTORS)
    room.ok(room.console, "step.set", step="prune")
    room.run_round("keep_remove", [{u: "keep", a: "keep", k: "keep", e: "remove"}] * 3)
    assert room.state(room.console)["state"]["trajectory"]["rounds"][0]["method"] == "keep_remove"
    room.ok(room.console, "factor.remove", factor_id=e, reason="Alla ville ta bort den")
    room.ok(room.console, "step.set", step="prioritise")
    room.run_round("rating", [{u: 5, a: 2, k: 4}, {u: 5, a: 1, k: 4}, {u: 4, a: 2, k: 5}])
    room.run_round("rating", [{u: 5, a: 1, k: 4}, {u: 5, a: 1, k: 4}, {u: 5, a: 1, k: 4}])
    moved = room.state(room.console)["state"]["trajectory"]
    assert [r["number"] for r in moved["rounds"]] == [1, 2, 3]
    rows = {f["factor_id"]: f for f in moved["factors"]}
    assert [c["value"] for c in rows[u]["cells"]] == [1.0, 5.0, 5.0]
    assert [c["verdict"] for c in rows[u]["cells"]] == ["in", "in", "in"]
    assert rows[u]["final"]["round_id"] == moved["rounds"][2]["round_id"]
    # Removed after the first round: its row ends there, its standing that round's.
    assert [c["value"] for c in rows[e]["cells"]] == [0.0]
    assert rows[e]["status"] == "removed" and rows[e]["final"]["verdict"] == "out"
    # Ordered as the last round placed them; the removed one after.
    assert [f["factor_id"] for f in moved["factors"]] == [u, k, a, e]
    room.flush()
    assert "trajectory" not in room.latest(room.board)  # the console's alone
