"""Use cases of stakeholder groups: the facilitator lists a workshop's groups; a participant
says which one they belong to.

Layer: use cases. A group is only a label a participant picks for themselves: it is counted,
never checked, and its results are shown only where they cannot tell what one or two people
answered (consensus.shown_groups).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from facilitation.core import domain, schemas
from facilitation.core.domain import N_, DomainError
from facilitation.infrastructure import models
from facilitation.usecases.base import Tx


def workshop_groups(tx: Tx) -> list[models.ParticipantGroup]:
    """The workshop's groups, in the order they were added."""
    return list(
        tx.session.scalars(
            select(models.ParticipantGroup)
            .where(models.ParticipantGroup.workshop_id == tx.workshop.id)
            .order_by(models.ParticipantGroup.id)
        )
    )


def set_groups(tx: Tx, p: schemas.GroupsSet) -> dict[str, Any]:
    """The facilitator lists the groups: existing ones (by id) keep their members and are
    renamed if their name changed, new ones are added, and those left out are removed, which
    is refused for a group someone has picked. Without groups nobody can be asked for one."""
    domain.check_something_to_change(p.groups, p.required, p.shown)
    if p.groups is not None:
        _list(tx, p.groups)
    w = tx.workshop
    if p.required is not None:
        w.group_required = p.required
    if p.shown is not None:
        w.groups_shown = p.shown
    listed = workshop_groups(tx)
    w.group_required = w.group_required and bool(listed)
    tx.log(
        "groups.set",
        groups=[g.name for g in listed],
        required=w.group_required,
        shown=w.groups_shown,
    )
    return {"groups": [{"id": g.id, "name": g.name} for g in listed]}


def _list(tx: Tx, given: list[schemas.GroupIn]) -> None:
    """Keep, rename, add and remove groups to match the list given."""
    names = domain.check_groups(g.name for g in given)
    existing = {g.id: g for g in workshop_groups(tx)}
    kept = {g.id for g in given if g.id is not None}
    if not kept <= existing.keys() or len(kept) < sum(1 for g in given if g.id):
        raise DomainError("unknown_group", N_("There is no such group.")).at("groups")
    for gone in existing.keys() - kept:
        if tx.session.scalar(select(exists().where(models.Participant.group_id == gone))):
            raise DomainError(
                "group_chosen",
                N_("%(name)s has been chosen by participants and cannot be removed."),
                name=existing[gone].name,
            ).at("groups")
        tx.session.delete(existing[gone])
    for g, name in zip(given, names, strict=True):
        if g.id is None:
            tx.session.add(models.ParticipantGroup(workshop_id=tx.workshop.id, name=name))
        else:
            existing[g.id].name = name
    tx.session.flush()


def choose(tx: Tx, p: schemas.GroupChoose) -> dict[str, Any]:
    """A participant says which group they belong to, or that they would rather not (where
    the workshop allows it), until their first vote."""
    participant = tx.participant
    assert participant is not None
    if p.group_id is not None:
        group = tx.session.get(models.ParticipantGroup, p.group_id)
        if group is None or group.workshop_id != tx.workshop.id:
            raise DomainError("unknown_group", N_("There is no such group."))
    if p.group_id == participant.group_id:
        domain.check_group_change(
            has_voted=False,
            required=tx.workshop.group_required,
            group_chosen=p.group_id is not None,
        )
        return {"group_id": p.group_id}
    domain.check_group_change(
        has_voted=bool(
            tx.session.scalar(
                select(exists().where(models.Ballot.participant_id == participant.id))
            )
        ),
        required=tx.workshop.group_required,
        group_chosen=p.group_id is not None,
    )
    participant.group_id = p.group_id
    tx.change.participants.add(participant.id)
    return {"group_id": p.group_id}
