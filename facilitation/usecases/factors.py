"""Use cases of factors: add, propose, edit, and moderate (approve, hide, remove, restore,
merge and undo a merge).

Layer: use cases. Factors are never deleted while the workshop lives; moderation changes their
status, and a removal keeps its reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from facilitation.core import ballots, domain, schemas
from facilitation.core.ballots import RoundSettings
from facilitation.core.domain import FactorStatus, Method, Origin
from facilitation.infrastructure import models
from facilitation.queries.ballots import read_ballots
from facilitation.usecases.ballot_box import write_ballots
from facilitation.usecases.base import Tx


def _description(text: str) -> str:
    return domain.clean_text(
        text, field="description", max_length=domain.DESCRIPTION_MAX, required=False
    )


def _check_room(tx: Tx) -> None:
    total = tx.session.scalar(
        select(func.count()).where(models.Factor.workshop_id == tx.workshop.id)
    )
    domain.check_factor_count((total or 0) + 1)


def _check_proposal_room(tx: Tx) -> None:
    """Participants' proposals together stay within their share of the workshop."""
    counts = tx.session.execute(
        select(models.Factor.origin, models.Factor.status, func.count())
        .where(models.Factor.workshop_id == tx.workshop.id)
        .group_by(models.Factor.origin, models.Factor.status)
    ).all()
    domain.check_proposal_room(
        factors=sum(n for _, _, n in counts),
        proposals=sum(n for origin, _, n in counts if origin == Origin.PROPOSED),
        pending=sum(n for _, status, n in counts if status == FactorStatus.PROPOSED),
    )


def add(tx: Tx, p: schemas.FactorAdd) -> dict[str, Any]:
    """The facilitator adds a factor; it is active at once."""
    _check_room(tx)
    factor = models.Factor(
        workshop_id=tx.workshop.id,
        category_id=tx.category(p.category_id).id,
        title=domain.clean_title(p.title),
        description=_description(p.description),
        origin=Origin.FACILITATOR.value,
        status=FactorStatus.ACTIVE.value,
    )
    tx.session.add(factor)
    tx.session.flush()
    tx.log("factor.added", factor, title=factor.title)
    return {"factor_id": factor.id, "status": factor.status}


def propose(tx: Tx, p: schemas.FactorPropose) -> dict[str, Any]:
    """A participant proposes a factor: active at once, or waiting for the facilitator's
    approval when the workshop asks for it."""
    assert tx.participant is not None
    domain.check_can_propose(tx.step)
    proposed = tx.session.scalar(
        select(func.count()).where(models.Factor.proposed_by_id == tx.participant.id)
    )
    domain.check_proposal_quota(proposed or 0, tx.workshop.proposal_quota)
    _check_proposal_room(tx)
    factor = models.Factor(
        workshop_id=tx.workshop.id,
        category_id=tx.category(p.category_id).id,
        title=domain.clean_title(p.title),
        description=_description(p.description),
        origin=Origin.PROPOSED.value,
        status=domain.proposal_status(tx.workshop.approval_required).value,
        proposed_by_id=tx.participant.id,
    )
    tx.session.add(factor)
    tx.session.flush()
    tx.log("factor.proposed", factor, title=factor.title)
    tx.change.participants.add(tx.participant.id)
    return {"factor_id": factor.id, "status": factor.status}


def edit(tx: Tx, p: schemas.FactorEdit) -> dict[str, Any]:
    """The facilitator edits a factor's title, description or category."""
    domain.check_something_to_change(p.title, p.description, p.category_id)
    factor = tx.factor(p.factor_id)
    changes: dict[str, list[Any]] = {}
    if p.title is not None:
        title = domain.clean_title(p.title)
        changes["title"] = [factor.title, title]
        factor.title = title
    if p.description is not None:
        description = _description(p.description)
        changes["description"] = [factor.description, description]
        factor.description = description
    if p.category_id is not None:
        changes["category_id"] = [factor.category_id, tx.category(p.category_id).id]
        factor.category_id = p.category_id
    tx.log("factor.edited", factor, **changes)
    _touch_proposer(tx, factor)
    return {"factor_id": factor.id}


_LOGGED_AS = {
    "approve": "factor.approved",
    "hide": "factor.hidden",
    "remove": "factor.removed",
    "restore": "factor.restored",
}


def _moderate(tx: Tx, factor_id: int, action: str, reason: str | None = None) -> dict[str, Any]:
    factor = tx.factor(factor_id)
    factor.status = domain.moderate(FactorStatus(factor.status), action).value
    factor.removal_reason = reason
    details = {"reason": reason} if reason else {}
    tx.log(_LOGGED_AS[action], factor, **details)
    _touch_proposer(tx, factor)
    return {"factor_id": factor.id, "status": factor.status}


def _touch_proposer(tx: Tx, factor: models.Factor) -> None:
    """A proposer sees their own proposals' fate on their phone."""
    if factor.proposed_by_id is not None:
        tx.change.participants.add(factor.proposed_by_id)


def approve(tx: Tx, p: schemas.FactorRef) -> dict[str, Any]:
    """The facilitator approves a proposed factor: everyone sees it."""
    return _moderate(tx, p.factor_id, "approve")


def hide(tx: Tx, p: schemas.FactorRef) -> dict[str, Any]:
    """The facilitator hides a factor from the room (e.g. one that breaks the rules)."""
    return _moderate(tx, p.factor_id, "hide")


def remove(tx: Tx, p: schemas.FactorRemove) -> dict[str, Any]:
    """The facilitator removes a factor; the reason is kept in the factor and the log."""
    return _remove(tx, p.factor_id, p.reason)


def _remove(tx: Tx, factor_id: int, reason: str) -> dict[str, Any]:
    reason = domain.clean_text(reason, field="reason", max_length=domain.REASON_MAX)
    return _moderate(tx, factor_id, "remove", reason)


def remove_many(tx: Tx, p: schemas.FactorRemoveMany) -> dict[str, Any]:
    """The facilitator removes several factors at once (those the group voted out), each
    with its own reason, all or none: one refusal and nothing is removed."""
    domain.check_distinct([r.factor_id for r in p.removals])
    removed = [_remove(tx, r.factor_id, r.reason) for r in p.removals]
    return {"removed": [r["factor_id"] for r in removed]}


def merge(tx: Tx, p: schemas.FactorMerge) -> dict[str, Any]:
    """The facilitator merges a duplicate into another factor. Votes on the duplicate in the
    open round move to the other factor (ballots.merge_entries says how, so that nobody
    exceeds a budget, counts twice or votes on their own proposal when the round forbids
    it); the duplicate stays in the record as merged."""
    source, target = tx.factor(p.factor_id), tx.factor(p.into_id)
    domain.check_merge(
        FactorStatus(source.status), FactorStatus(target.status), same=source.id == target.id
    )
    moved: dict[int, dict[int, ballots.Answer]] = {}
    record: dict[str, Any] = {"status": source.status, "round_id": None, "ballots": {}}
    round_ = tx.open_round()
    if round_ is not None:
        method, settings = Method(round_.method), RoundSettings.from_dict(round_.settings)
        for participant_id, entries in read_ballots(tx.session, round_.id).items():
            if source.id in entries:
                moved[participant_id] = ballots.merge_entries(
                    method,
                    settings,
                    entries,
                    source.id,
                    target.id,
                    own_target=target.proposed_by_id == participant_id,
                )
                record["ballots"][str(participant_id)] = {
                    "before": ballots.answers_to_json(entries),
                    "after": ballots.answers_to_json(moved[participant_id]),
                }
        write_ballots(tx.session, round_.id, moved)
        tx.change.participants.update(moved)
        record["round_id"] = round_.id
    source.status = FactorStatus.MERGED.value
    source.merged_into_id = target.id
    source.merge_record = record
    tx.log("factor.merged", source, into=target.id, into_title=target.title, ballots=len(moved))
    _touch_proposer(tx, source)
    return {"factor_id": source.id, "into_id": target.id, "ballots_moved": len(moved)}


def unmerge(tx: Tx, p: schemas.FactorRef) -> dict[str, Any]:
    """The facilitator undoes a merge: the factor comes back with the status it had, and,
    while the round the merge happened in is still open, every ballot the merge moved is
    as it was before the merge, unless its participant has voted again since (their latest
    ballot stands). Once that round has closed its ballots stay as they were counted."""
    source = tx.factor(p.factor_id)
    domain.check_unmerge(FactorStatus(source.status))
    record = source.merge_record or {}
    into_id = source.merged_into_id
    source.status = domain.unmerged_status(record.get("status")).value
    source.merged_into_id = None
    source.merge_record = None
    restored: dict[int, dict[int, ballots.Answer]] = {}
    kept = 0
    round_ = tx.open_round()
    moved = record.get("ballots") or {}
    if round_ is not None and round_.id == record.get("round_id"):
        tx.session.flush()  # the factor is votable again before its ballots come back
        current = read_ballots(tx.session, round_.id)
        for participant, change in moved.items():
            ballot = ballots.unmerge_entries(
                ballots.answers_from_json(change["before"]),
                ballots.answers_from_json(change["after"]),
                current.get(int(participant), {}),
            )
            if ballot is None:
                kept += 1
            else:
                restored[int(participant)] = ballot
        write_ballots(tx.session, round_.id, restored)
        tx.change.participants.update(restored)
    else:
        kept = len(moved)
    tx.log(
        "factor.unmerged",
        source,
        into=into_id,
        ballots=len(restored),
        ballots_kept=kept,
    )
    _touch_proposer(tx, source)
    return {
        "factor_id": source.id,
        "status": source.status,
        "ballots_restored": len(restored),
        "ballots_kept": kept,
    }


def restore(tx: Tx, p: schemas.FactorRef) -> dict[str, Any]:
    """The facilitator brings a hidden or removed factor back."""
    return _moderate(tx, p.factor_id, "restore")
