"""Use cases of a workshop as a whole: create it, configure it, move it through its steps.

Layer: use cases. Each command function takes the transaction and a validated payload, applies
the core's rules, changes the models, logs, and returns the data of its acknowledgement.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facilitation.core import ballots, domain, schemas
from facilitation.core.consensus import Rule
from facilitation.core.domain import (
    N_,
    DomainError,
    FactorStatus,
    Origin,
    RoundState,
    SeedFactor,
    Step,
)
from facilitation.infrastructure import models
from facilitation.usecases.base import Tx, hash_secret, new_secret


def create(
    session: Session,
    *,
    title: str,
    language: str,
    categories: list[str] | None,
    seeds: list[SeedFactor],
    time_zone: str = domain.DEFAULT_TIME_ZONE,
) -> tuple[models.Workshop, str]:
    """A new workshop with its categories and seed factors; returns it and the facilitator
    secret, which is stored only as a hash and shown once."""
    domain.check_time_zone(time_zone)
    try:
        names, placement = domain.plan_categories(language, categories, seeds)
    except DomainError as error:
        if error.path == "category":  # a category name, given or in a factor
            error.at("categories")
        raise
    secret = new_secret()
    workshop = models.Workshop(
        code=_unused_code(session),
        title=domain.clean_title(title, max_length=domain.WORKSHOP_TITLE_MAX),
        language=language,
        time_zone=time_zone,
        step=Step.PREPARE.value,
        facilitator_secret_hash=hash_secret(secret),
    )
    session.add(workshop)
    session.flush()
    rows = [
        models.Category(workshop_id=workshop.id, position=i, name=n) for i, n in enumerate(names)
    ]
    session.add_all(rows)
    session.flush()
    for i, (seed, index) in enumerate(zip(seeds, placement, strict=True)):
        try:
            title = domain.clean_title(seed.title)
            description = domain.clean_text(
                seed.description,
                field="description",
                max_length=domain.DESCRIPTION_MAX,
                required=False,
            )
        except DomainError as error:
            raise error.at(f"factors.{i}.{error.path}") from None
        session.add(
            models.Factor(
                workshop_id=workshop.id,
                category_id=rows[index].id,
                title=title,
                description=description,
                origin=Origin.SEEDED.value,
                status=FactorStatus.ACTIVE.value,
            )
        )
    session.add(
        models.LogEntry(
            workshop_id=workshop.id,
            actor="facilitator",
            action="workshop.created",
            details={"factors": len(seeds)},
        )
    )
    return workshop, secret


def _unused_code(session: Session) -> str:
    """A join code no other workshop has (collisions are rare; a few tries suffice)."""
    for _ in range(20):
        code = domain.new_join_code()
        if session.scalar(select(models.Workshop.id).where(models.Workshop.code == code)) is None:
            return code
    raise RuntimeError("no free join code found")


def configure(tx: Tx, p: schemas.WorkshopConfigure) -> dict[str, Any]:
    """Change the workshop's title, language, time zone, whether proposals need approval, or
    its consensus rule."""
    w = tx.workshop
    rule_given = {
        name: value
        for name, value in {
            "preset": p.consensus_preset,
            "agreement": p.consensus_agreement,
            "iqr": p.consensus_iqr,
            "kendall_w": p.consensus_kendall_w,
            "min_share": p.consensus_min_share,
            "min_answers": p.consensus_min_answers,
            "every_group": p.consensus_every_group,
            "stable_change": p.consensus_stable_change,
            "max_rounds": p.consensus_max_rounds,
        }.items()
        if value is not None
    }
    domain.check_something_to_change(
        p.title,
        p.language,
        p.time_zone,
        p.approval_required,
        *rule_given.values(),
        p.consensus_round_id,
    )
    changed: dict[str, Any] = {}
    if p.title is not None:
        changed["title"] = w.title = domain.clean_title(
            p.title, max_length=domain.WORKSHOP_TITLE_MAX
        )
    if p.language is not None:
        changed["language"] = w.language = p.language
    if p.time_zone is not None:
        changed["time_zone"] = w.time_zone = domain.check_time_zone(p.time_zone)
    if p.approval_required is not None:
        changed["approval_required"] = w.approval_required = p.approval_required
    if rule_given or p.consensus_round_id is not None:
        changed["consensus"] = _set_rule(tx, rule_given, p.consensus_round_id)
    tx.log("workshop.configured", **changed)
    return changed


def _set_rule(tx: Tx, given: dict[str, Any], round_id: int | None) -> dict[str, Any]:
    """The workshop's consensus rule changed: it holds for the rounds to come, and for an
    open round whose results nobody has seen. A round whose results were seen is judged by
    it only when named (`round_id`); it keeps the rule it declared, and the change is logged
    so that every screen and export can say so."""
    w = tx.workshop
    try:
        rule = Rule.from_dict({**Rule.from_dict(w.consensus or {}).as_dict(), **given}).as_dict()
    except ValueError:
        raise DomainError(
            "bad_rule",
            N_(
                "Agreement must be between 50 and 100 %, the interquartile range between 0 and"
                " 10, Kendall's W above 0 and at most 1, the share that must answer between 0"
                " and 100 %, the fewest answers between 1 and 1000, the stable change between 0"
                " and 100 % and the most rounds between 0 (none) and 50."
            ),
        ) from None
    w.consensus = rule
    open_ = tx.open_round()
    if open_ is not None and not ballots.results_seen(RoundState(open_.state), open_.settings):
        open_.rule = open_.declared_rule = rule
    if round_id is not None:
        round_ = tx.round(round_id)
        if not ballots.results_seen(RoundState(round_.state), round_.settings):
            raise DomainError(
                "rule_not_seen",
                N_("Nobody has seen this round's results yet: the new rule holds for it anyway."),
            )
        if round_.rule != rule:
            tx.log("round.rule_changed", round=round_.number, before=round_.rule, after=rule)
            round_.rule = rule
    return rule


def set_step(tx: Tx, p: schemas.StepSet) -> dict[str, Any]:
    """Move the workshop to another step (forward or back); closing it locks it."""
    domain.check_step_change(tx.step, p.step, round_open=tx.open_round() is not None)
    tx.log("step.changed", before=tx.workshop.step, after=p.step.value)
    tx.workshop.step = p.step.value
    return {"step": p.step.value}


def set_doors(tx: Tx, p: schemas.DoorsSet) -> dict[str, Any]:
    """The facilitator closes the doors once the room is in, so that nobody new joins (fresh
    cookies make no more participants, nor ballots), or opens them again. Those who joined
    keep reconnecting and voting."""
    if tx.workshop.doors_closed != p.closed:
        tx.workshop.doors_closed = p.closed
        tx.log("doors.closed" if p.closed else "doors.opened")
    return {"closed": p.closed}


def set_timer(tx: Tx, p: schemas.TimerSet) -> dict[str, Any]:
    """The facilitator starts a countdown that every screen shows (0 seconds stops it). The
    deadline comes from the server, so every screen agrees."""
    ends = models.utcnow() + timedelta(seconds=p.seconds) if p.seconds else None
    tx.workshop.timer_ends_at = ends
    tx.log("timer.set", seconds=p.seconds)
    return {"ends_at": ends.isoformat() + "Z" if ends else None}


def add_category(tx: Tx, p: schemas.CategoryAdd) -> dict[str, Any]:
    """Add a category at the end."""
    existing = _categories(tx)
    names = domain.check_categories([*(c.name for c in existing), p.name])
    category = models.Category(workshop_id=tx.workshop.id, position=len(existing), name=names[-1])
    tx.session.add(category)
    tx.session.flush()
    tx.log("category.added", name=category.name)
    return {"category_id": category.id}


def rename_category(tx: Tx, p: schemas.CategoryRename) -> dict[str, Any]:
    """Rename a category."""
    category = tx.category(p.category_id)
    others = [c.name for c in _categories(tx) if c.id != category.id]
    name = domain.check_categories([*others, p.name])[-1]
    tx.log("category.renamed", before=category.name, after=name)
    category.name = name
    return {"category_id": category.id}


def _categories(tx: Tx) -> list[models.Category]:
    return list(
        tx.session.scalars(
            select(models.Category)
            .where(models.Category.workshop_id == tx.workshop.id)
            .order_by(models.Category.position)
        )
    )


def deletion(
    session: Session, workshop: models.Workshop, *, actor: str = "facilitator"
) -> models.Deletion:
    """The line that stays when a workshop is deleted: how much went, nothing of what."""

    def count(model: type[models.Participant | models.Factor | models.Round]) -> int:
        return (
            session.scalar(
                select(func.count()).select_from(model).where(model.workshop_id == workshop.id)
            )
            or 0
        )

    return models.Deletion(
        actor=actor,
        participants=count(models.Participant),
        factors=count(models.Factor),
        rounds=count(models.Round),
    )


def find(session: Session, code: str) -> models.Workshop:
    """The workshop with this join code, or an error."""
    workshop = session.scalars(
        select(models.Workshop).where(models.Workshop.code == domain.normalise_code(code))
    ).one_or_none()
    if workshop is None:
        raise DomainError("unknown_workshop", N_("There is no workshop with that code."))
    return workshop
