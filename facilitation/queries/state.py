"""What each screen is shown: the room's state (board and phones), the facilitator's console,
a participant's own votes and proposals, and the complete record for exports.

Layer: queries (the read side). Reads the database; the core computes every aggregate. Views hold
data only — no UI text — so clients render them in their own language.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facilitation.core import ballots, reasons, similar, tally
from facilitation.core.ballots import Answer
from facilitation.core.consensus import Rule
from facilitation.core.domain import FactorStatus, Method, RoundState, Step
from facilitation.infrastructure import models
from facilitation.queries.ballots import entries_out, read_ballots, tally_round
from facilitation.queries.reasons import (
    console_reasons,
    outside_views,
    record_reasons,
    room_reasons,
)
from facilitation.queries.trajectory import trajectory
from facilitation.queries.views import (
    ConsoleView,
    Entries,
    Factor,
    Group,
    GroupResult,
    HistoryEntry,
    LogEntry,
    Me,
    Outside,
    Participation,
    Person,
    PhoneView,
    Proposal,
    Recommendation,
    Record,
    RecordAnswer,
    ResultRow,
    Results,
    RoomView,
    RoundSettings,
    RoundSummary,
    Tally,
    Verdict,
)
from facilitation.queries.views import (
    Rule as RuleView,
)

LOG_SHOWN = 100


def _categories(s: Session, w: models.Workshop) -> list[models.Category]:
    return list(
        s.scalars(
            select(models.Category)
            .where(models.Category.workshop_id == w.id)
            .order_by(models.Category.position)
        )
    )


def _factors(s: Session, w: models.Workshop) -> list[models.Factor]:
    return list(
        s.scalars(
            select(models.Factor)
            .join(models.Category)
            .where(models.Factor.workshop_id == w.id)
            .order_by(models.Category.position, models.Factor.id)
        )
    )


def _groups(s: Session, w: models.Workshop) -> list[Group]:
    return [
        {"id": g.id, "name": g.name}
        for g in s.scalars(
            select(models.ParticipantGroup)
            .where(models.ParticipantGroup.workshop_id == w.id)
            .order_by(models.ParticipantGroup.id)
        )
    ]


def _rounds(s: Session, w: models.Workshop) -> list[models.Round]:
    return list(
        s.scalars(
            select(models.Round)
            .where(models.Round.workshop_id == w.id)
            .order_by(models.Round.number)
        )
    )


def _keys(rounds: list[models.Round]) -> list[tuple[Method, RoundState]]:
    return [(Method(r.method), RoundState(r.state)) for r in rounds]


def shown_round(rounds: list[models.Round], step: Step) -> models.Round | None:
    """The round the room sees in the workshop's current step."""
    index = ballots.round_to_show(step, _keys(rounds))
    return None if index is None else rounds[index]


def previous_round(rounds: list[models.Round], current: models.Round) -> models.Round | None:
    """The round `current` revises: the one before it of the same method."""
    index = ballots.previous_round(_keys(rounds), rounds.index(current))
    return None if index is None else rounds[index]


def _ballot_count(s: Session, round_id: int) -> int:
    return s.scalar(select(func.count()).where(models.Ballot.round_id == round_id)) or 0


def _joined(s: Session, w: models.Workshop) -> int:
    """Everyone who takes part: people who joined, and proxies for those without a phone."""
    return s.scalar(select(func.count()).where(models.Participant.workshop_id == w.id)) or 0


def _round_summary(r: models.Round) -> RoundSummary:
    return {
        "id": r.id,
        "number": r.number,
        "method": r.method,
        "state": r.state,
        "settings": _settings(r),
    }


# The core's figures and the JSON columns are plain dicts; these say what they hold (and
# tests/test_read_models.py checks that they do).


def _settings(r: models.Round) -> RoundSettings:
    return cast(RoundSettings, r.settings)


def _tally(results: dict[str, Any]) -> Tally:
    return cast(Tally, results)


def _verdict(results: Mapping[str, Any], rule: Rule) -> Verdict:
    return cast(Verdict, tally.judge(results, rule).as_dict())


def _rule_view(rule: Rule) -> RuleView:
    return cast(RuleView, rule.as_dict())


def _factor_public(f: models.Factor) -> Factor:
    return {
        "id": f.id,
        "category_id": f.category_id,
        "title": f.title,
        "description": f.description,
        "origin": f.origin,
    }


def _rule(w: models.Workshop) -> Rule:
    """The workshop's rule: the one the next round declares."""
    return Rule.from_dict(w.consensus or {})


def _round_rule(r: models.Round, w: models.Workshop) -> Rule:
    """The rule a round is judged by (its workshop's, for a round that kept none)."""
    return Rule.from_dict(r.rule if r.rule is not None else w.consensus or {})


def results(
    s: Session,
    w: models.Workshop,
    r: models.Round,
    factors: list[models.Factor],
    rounds: list[models.Round] | None = None,
    *,
    for_room: bool = True,
) -> Results:
    """A round's results: the tally stored when it closed (or, live, one made now), each
    factor named as it is now, judged by the round's consensus rule, with the next step it
    recommends once closed (`rounds`: the workshop's, read if not given). The room never
    sees hidden or proposed factors; a factor removed or merged since keeps its row and says
    so."""
    tallied = _tally(r.results if r.results is not None else tally_round(s, w, r))
    rule = _round_rule(r, w)
    declared = Rule.from_dict(r.declared_rule) if r.declared_rule is not None else rule
    verdicts = tally.factor_verdicts(tallied, rule)
    groups = _group_results(tallied, rule) if not for_room or w.groups_shown else []
    by_id = {f.id: f for f in factors}
    rows: list[ResultRow] = []
    for row in tallied["factors"]:
        factor = by_id.get(row["factor_id"])
        if factor is None or (for_room and factor.status in ("hidden", "proposed")):
            continue
        now = {
            "title": factor.title,
            "category_id": factor.category_id,
            "status": factor.status,
            "merged_into_id": factor.merged_into_id,
            "verdict": verdicts[row["factor_id"]],
        }
        # A row stored before rows carried their change has none to show.
        rows.append(cast(ResultRow, {"change": None, **row, **now}))
    return {
        **tallied,
        "factors": rows,
        "round_id": r.id,
        "number": r.number,
        "settings": _settings(r),
        "live": r.state == RoundState.OPEN,
        "verdict": _verdict(tallied, rule),
        "rule": _rule_view(rule),
        "declared_rule": _rule_view(declared),
        "rule_changed": rule != declared,
        "groups": groups,
        "recommendation": _recommendation(
            r, rounds if rounds is not None else _rounds(s, w), tallied, rule
        ),
    }


def _group_results(tallied: Tally, rule: Rule) -> list[GroupResult]:
    """Each voting group's tally with its verdicts, side by side."""
    verdicts = tally.group_verdicts(tallied, rule)
    judged = tally.judge_groups(tallied, rule)
    shown: list[GroupResult] = []
    for group in tallied.get("groups", []):
        result = cast(GroupResult, dict(group))
        own = judged[group["group_id"]]
        if own is not None:  # not withheld
            result["verdicts"] = {str(f): v for f, v in verdicts[group["group_id"]].items()}
            result["verdict"] = cast(Verdict, own.as_dict())
        shown.append(result)
    return shown


def _recommendation(
    r: models.Round, rounds: list[models.Round], tallied: Mapping[str, Any], rule: Rule
) -> Recommendation | None:
    """The next step after a closed round (none while it is open), counting as held the
    rounds of its method up to it that closed with ballots (docs/consensus.md)."""
    if r.state == RoundState.OPEN:
        return None
    held = sum(
        1
        for o in rounds
        if o.method == r.method
        and o.number <= r.number
        and o.state != RoundState.OPEN
        and (o.results or {}).get("ballots")
    )
    return cast(Recommendation, tally.recommendation(tallied, rule, rounds=held).as_dict())


def _visible(r: models.Round | None) -> bool:
    """Whether the room sees a round's results: once revealed, or live when switched on."""
    if r is None:
        return False
    return r.state == RoundState.REVEALED or bool(r.settings.get("live"))


def _history(
    s: Session, w: models.Workshop, rounds: list[models.Round], shown: models.Round | None
) -> list[HistoryEntry]:
    """The revealed rounds of the shown round's method, oldest first: how the group moved."""
    if shown is None:
        return []
    history: list[HistoryEntry] = []
    for r in rounds:
        if r.method == shown.method and r.state == RoundState.REVEALED and r.results:
            history.append(
                {
                    "round_id": r.id,
                    "number": r.number,
                    "verdict": _verdict(r.results, _round_rule(r, w)),
                    "concordance": r.results["concordance"],
                    "stability": r.results["stability"],
                }
            )
    return history


def room_view(
    s: Session,
    w: models.Workshop,
    *,
    factors: list[models.Factor] | None = None,
    rounds: list[models.Round] | None = None,
) -> RoomView:
    """What the board and the phones see: results only once revealed (or live), and while a
    round is open, the previous round's revealed results for the group to revise against;
    beside them, the reasons shown on those rounds. The workshop's factors and rounds may be
    given, as read in the same transaction (`screens`)."""
    factors = _factors(s, w) if factors is None else factors
    rounds = _rounds(s, w) if rounds is None else rounds
    round_ = shown_round(rounds, Step(w.step))
    previous = previous_round(rounds, round_) if round_ else None
    revising = (
        previous
        if round_
        and round_.state == RoundState.OPEN
        and previous
        and previous.state == RoundState.REVEALED
        else None
    )
    seen = [r for r in (round_, revising) if r is not None]
    return {
        "version": w.version,
        "workshop": {
            "code": w.code,
            "title": w.title,
            "language": w.language,
            "step": w.step,
            "approval_required": w.approval_required,
            "doors_closed": w.doors_closed,
            "group_required": w.group_required,
            "groups_shown": w.groups_shown,
            "moderation_policy": w.moderation_policy,
        },
        "rule": _rule_view(_rule(w)),
        "timer": {"ends_at": w.timer_ends_at.isoformat() + "Z"} if w.timer_ends_at else None,
        "categories": [{"id": c.id, "name": c.name} for c in _categories(s, w)],
        "groups": _groups(s, w),
        "factors": [_factor_public(f) for f in factors if f.status == FactorStatus.ACTIVE],
        "round": _round_summary(round_) if round_ else None,
        "participation": participation(s, w, round_.id if round_ else None),
        "results": results(s, w, round_, factors, rounds) if round_ and _visible(round_) else None,
        "previous": results(s, w, revising, factors, rounds) if revising else None,
        "history": _history(s, w, rounds, round_),
        "reasons": room_reasons(s, w, rounds, seen, factors),
    }


def participation(s: Session, w: models.Workshop, round_id: int | None) -> Participation:
    """How many have joined, and how many voted in the round shown (by its id)."""
    return {
        "joined": _joined(s, w),
        "voted": _ballot_count(s, round_id) if round_id is not None else 0,
    }


def screens(
    s: Session, w: models.Workshop, *, console: bool, people: set[int]
) -> tuple[RoomView, ConsoleView | None, dict[int, Me]]:
    """What a changed workshop's screens are sent: the room's view, the console's (when
    asked for) and the personal views of `people`, its factors and rounds read once for all
    three (the broadcaster asks every tick while people vote)."""
    factors, rounds = _factors(s, w), _rounds(s, w)
    room = room_view(s, w, factors=factors, rounds=rounds)
    return (
        room,
        console_view(s, w, room, factors=factors, rounds=rounds) if console else None,
        personal_views(s, w, people, rounds=rounds),
    )


def phone_view(room: PhoneView) -> PhoneView:
    """The room's view as phones get it: without the live participation counts, so that a
    vote elsewhere in the room does not send every phone a message."""
    return cast(PhoneView, {k: v for k, v in room.items() if k != "participation"})


def console_view(
    s: Session,
    w: models.Workshop,
    room: RoomView,
    *,
    factors: list[models.Factor] | None = None,
    rounds: list[models.Round] | None = None,
) -> ConsoleView:
    """The room's view plus what only the facilitator sees: every factor with its status and
    removal reason, every round, the results of a closed round before it is revealed, the
    proxies, and the audit log. The factors and rounds may be given (`room_view`)."""
    factors = _factors(s, w) if factors is None else factors
    # Only the people the console names: proposers and proxies (not the whole room).
    proposers = {f.proposed_by_id for f in factors if f.proposed_by_id}
    people = {
        p.id: p
        for p in s.scalars(
            select(models.Participant).where(
                models.Participant.workshop_id == w.id,
                models.Participant.id.in_(proposers) | models.Participant.is_proxy.is_(True),
            )
        )
    }
    rounds = _rounds(s, w) if rounds is None else rounds
    round_ = shown_round(rounds, Step(w.step))
    # The room's view, its keys in the same order, with the console's own put in.
    view = cast(ConsoleView, dict(room))
    view["factors"] = [
        {
            **_factor_public(f),
            "status": f.status,
            "removal_reason": f.removal_reason,
            "merged_into_id": f.merged_into_id,
            "proposed_by": _proposer(people, f),
        }
        for f in factors
    ]
    view["rounds"] = [
        {
            **_round_summary(r),
            "verdict": _verdict(r.results, _round_rule(r, w)) if r.results else None,
        }
        for r in rounds
    ]
    if round_ and round_.state != RoundState.OPEN:
        view["results"] = results(s, w, round_, factors, rounds, for_room=False)
    view["reasons"] = console_reasons(s, w, rounds, room)
    view["proxies"] = [_person(p) for p in people.values() if p.is_proxy]
    view["log"] = _log(s, w, latest=LOG_SHOWN)
    budget = ballots.default_dot_budget(sum(f.status == FactorStatus.ACTIVE for f in factors))
    view["dot_defaults"] = {"budget": budget, "cap": ballots.default_dot_cap(budget)}
    view["trajectory"] = trajectory(
        results(s, w, r, factors, rounds, for_room=False)
        for r in rounds
        if r.state == RoundState.REVEALED
    )
    # Likely duplicates among the factors on the board and those waiting for approval; the
    # later merges into the earlier, which must be on the board (domain.check_merge).
    mergeable = (FactorStatus.ACTIVE, FactorStatus.PROPOSED)
    titles = {f.id: f.title for f in factors if f.status in mergeable}
    active = {f.id for f in factors if f.status == FactorStatus.ACTIVE}
    view["duplicates"] = [
        {"factor_id": later, "into_id": earlier, "score": round(score, 1)}
        if earlier in active
        else {"factor_id": earlier, "into_id": later, "score": round(score, 1)}
        for later, earlier, score in similar.duplicates(titles)
        if earlier in active or later in active
    ]
    return view


def _log(s: Session, w: models.Workshop, *, latest: int | None = None) -> list[LogEntry]:
    """The audit log: all of it, oldest first, or the `latest` entries, newest first."""
    query = select(models.LogEntry).where(models.LogEntry.workshop_id == w.id)
    if latest is None:
        query = query.order_by(models.LogEntry.id)
    else:
        query = query.order_by(models.LogEntry.id.desc()).limit(latest)
    return [
        {
            "at": e.at.isoformat() + "Z",
            "actor": e.actor,
            "action": e.action,
            "factor_id": e.factor_id,
            "details": e.details,
        }
        for e in s.scalars(query)
    ]


def _person(p: models.Participant) -> Person:
    return {"number": p.number, "nickname": p.nickname}


def _proposer(people: dict[int, models.Participant], f: models.Factor) -> Person | None:
    proposer = people.get(f.proposed_by_id or 0)
    return _person(proposer) if proposer else None


def _own_answers(
    s: Session, round_: models.Round, participant_ids: list[int]
) -> dict[int, dict[int, Answer]]:
    """The ballots of these participants in the round, by participant id (one who cast
    none is absent; one whose ballot holds nothing has an empty one)."""
    rows = s.execute(
        select(
            models.Ballot.participant_id,
            models.BallotEntry.factor_id,
            models.BallotEntry.value,
            models.BallotEntry.value2,
        )
        .select_from(models.Ballot)
        .outerjoin(models.BallotEntry)
        .where(
            models.Ballot.round_id == round_.id, models.Ballot.participant_id.in_(participant_ids)
        )
    ).all()
    answers: dict[int, dict[int, Answer]] = {}
    for participant_id, factor, v, v2 in rows:
        ballot = answers.setdefault(participant_id, {})
        if factor is not None:
            ballot[factor] = v if v2 is None else (v, v2)
    return answers


def _entries(round_: models.Round, answers: dict[int, dict[int, Answer]], p: int) -> Entries:
    """A participant's answers in the round, as clients get them (empty if none)."""
    return entries_out(Method(round_.method), answers.get(p, {}))


def personal_views(
    s: Session,
    w: models.Workshop,
    participant_ids: set[int],
    *,
    rounds: list[models.Round] | None = None,
) -> dict[int, Me]:
    """The personal views of these participants of the workshop, by participant id: a
    participant's number and nickname, their ballot in the round shown (and, while it is
    open, their answer in the round it revises), and the factors they proposed with what
    became of them. The same few queries for one participant or for a whole room. The
    rounds may be given (`room_view`)."""
    if not participant_ids:
        return {}
    people = list(
        s.scalars(
            select(models.Participant).where(
                models.Participant.id.in_(participant_ids), models.Participant.workshop_id == w.id
            )
        )
    )
    ids = [p.id for p in people]
    rounds = _rounds(s, w) if rounds is None else rounds
    round_ = shown_round(rounds, Step(w.step))
    own = previous_own = None
    previous = None
    if round_ is not None:
        own = _own_answers(s, round_, ids)
        previous = previous_round(rounds, round_)
        if round_.state == RoundState.OPEN and previous is not None:
            previous_own = _own_answers(s, previous, ids)
    voted = set(
        s.scalars(
            select(models.Ballot.participant_id)
            .where(models.Ballot.participant_id.in_(ids))
            .distinct()
        )
    )
    # The round reasons may be given on is the one shown (revealed) or the one the open
    # round revises: its ballots are read already.
    window = reasons.reason_round(Step(w.step), _keys(rounds))
    outside: dict[int, Outside] = {}
    if window is not None:
        edge = rounds[window]
        answers = own if round_ is not None and edge.id == round_.id else previous_own
        if answers is not None:
            outside = outside_views(s, edge, answers, ids)
    proposals: dict[int, list[Proposal]] = defaultdict(list)
    for f in s.scalars(
        select(models.Factor)
        .where(models.Factor.proposed_by_id.in_(ids))
        .order_by(models.Factor.id)
    ):
        proposals[f.proposed_by_id].append(  # type: ignore[index]
            {
                "id": f.id,
                "title": f.title,
                "category_id": f.category_id,
                "status": f.status,
                "removal_reason": f.removal_reason,
            }
        )
    return {
        p.id: {
            "version": w.version,
            "participant": {"number": p.number, "nickname": p.nickname},
            "group_id": p.group_id,
            "group_fixed": p.id in voted,
            "ballot": (
                {"round_id": round_.id, "entries": _entries(round_, own, p.id)}
                if round_ is not None and own is not None
                else None
            ),
            "previous_ballot": (
                {"round_id": previous.id, "entries": _entries(previous, previous_own, p.id)}
                if previous is not None and previous_own is not None
                else None
            ),
            "proposals": proposals.get(p.id, []),
            "outside": outside.get(p.id),
        }
        for p in people
    }


def personal_view(s: Session, w: models.Workshop, p: models.Participant) -> Me:
    """One participant's own view (see `personal_views`)."""
    return personal_views(s, w, {p.id})[p.id]


def _answers(
    s: Session,
    r: models.Round,
    people: list[models.Participant],
    groups: list[Group],
    *,
    nicknames: bool,
) -> list[RecordAnswer]:
    """A round's ballots, anonymised: each under the participant's number in the workshop,
    proxies marked; with nicknames only when the facilitator asks for them."""
    by_id = {p.id: p for p in people}
    method = Method(r.method)
    # A ballot names its group only where the round shows that group's figures.
    names = {g["id"]: g["name"] for g in groups}
    shown = {
        g["group_id"]: names.get(g["group_id"])
        for g in (r.results or {}).get("groups", [])
        if not g["withheld"]
    }
    answers: list[RecordAnswer] = []
    for pid, entries in sorted(
        read_ballots(s, r.id).items(), key=lambda item: by_id[item[0]].number
    ):
        answer: RecordAnswer = {
            "participant": by_id[pid].number,
            "proxy": by_id[pid].is_proxy,
            # A proxy's label is the facilitator's note (often a real name): never exported.
            "nickname": None if by_id[pid].is_proxy else by_id[pid].nickname,
            "group": shown.get(by_id[pid].group_id or 0),
            "entries": entries_out(method, entries),
        }
        if not nicknames:
            del answer["nickname"]
        answers.append(answer)
    return answers


def record(s: Session, w: models.Workshop, *, nicknames: bool = False) -> Record:
    """The complete workshop for exports: factors with their fate, every closed round's
    results and measures, its ballots under participant numbers, and the audit log. No
    cookies, secrets or IP addresses; nicknames only when asked for."""
    factors = _factors(s, w)
    categories = {c.id: c.name for c in _categories(s, w)}
    people = list(
        s.scalars(select(models.Participant).where(models.Participant.workshop_id == w.id))
    )
    groups = _groups(s, w)
    rounds = _rounds(s, w)
    return {
        "workshop": {
            "code": w.code,
            "title": w.title,
            "language": w.language,
            "time_zone": w.time_zone,
            "step": w.step,
            "created_at": w.created_at.isoformat() + "Z",
            "participants": len(people),
            "proxies": sum(1 for p in people if p.is_proxy),
            "doors_closed": w.doors_closed,
            "consensus_rule": _rule_view(_rule(w)),
            "moderation_policy": w.moderation_policy,
        },
        "categories": list(categories.values()),
        "groups": groups,
        "factors": [
            {
                "id": f.id,
                "category": categories[f.category_id],
                "title": f.title,
                "description": f.description,
                "origin": f.origin,
                "status": f.status,
                "removal_reason": f.removal_reason,
                "merged_into_id": f.merged_into_id,
            }
            for f in factors
        ],
        "rounds": [
            {
                **_round_summary(r),
                **results(s, w, r, factors, rounds, for_room=False),
                "answers": _answers(s, r, people, groups, nicknames=nicknames),
            }
            for r in rounds
            if r.state != RoundState.OPEN
        ],
        "reasons": record_reasons(s, w, rounds, factors),
        "log": _log(s, w),
        "preliminary": w.step != Step.CLOSED,
    }
