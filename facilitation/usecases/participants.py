"""Use cases of participants: join a workshop, choose a nickname.

Layer: use cases. A participant is a random id from a signed cookie and nothing else: no
name is needed, and no IP address or user agent is stored.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from facilitation.core import domain, schemas
from facilitation.core.domain import N_, DomainError
from facilitation.infrastructure import models
from facilitation.usecases.base import Tx


def new_token() -> str:
    """The random id a participant's cookie carries."""
    return secrets.token_urlsafe(18)


def find(
    session: Session, workshop: models.Workshop, token: str | None
) -> models.Participant | None:
    """The participant of this workshop with this cookie id, if they have joined."""
    if not token:
        return None
    return session.scalars(
        select(models.Participant).where(
            models.Participant.workshop_id == workshop.id, models.Participant.token == token
        )
    ).one_or_none()


# Built once: every command's sender is looked up with it.
_BY_TOKENS = select(models.Participant).where(
    models.Participant.workshop_id == bindparam("workshop_id"),
    models.Participant.token.in_(bindparam("tokens", expanding=True)),
)


def find_all(
    session: Session, workshop: models.Workshop, tokens: set[str | None]
) -> dict[str, models.Participant]:
    """The participants of this workshop with these cookie ids, by cookie id."""
    wanted = {token for token in tokens if token}
    if not wanted:
        return {}
    found = session.scalars(_BY_TOKENS, {"workshop_id": workshop.id, "tokens": list(wanted)})
    return {p.token: p for p in found}


def find_proxy(session: Session, workshop: models.Workshop, number: object) -> models.Participant:
    """The workshop's proxy participant with this number, or an error."""
    proxy = (
        session.scalars(
            select(models.Participant).where(
                models.Participant.workshop_id == workshop.id,
                models.Participant.number == number,
                models.Participant.is_proxy.is_(True),
            )
        ).one_or_none()
        if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= domain.ID_MAX
        else None
    )
    if proxy is None:
        raise DomainError("unknown_proxy", N_("There is no such proxy."))
    return proxy


def admit(
    session: Session,
    workshop: models.Workshop,
    tokens: list[str],
    known: dict[str, models.Participant],
) -> int:
    """Create the participants with these cookie ids who have not joined yet (`known` holds
    those who have, by cookie id, and is given the new ones), numbered on in this order.
    Returns how many are new.

    Runs in the caller's write transaction, with the workshop locked, so that two tabs
    joining at once get one participant and numbers never repeat.
    """
    new = [token for token in dict.fromkeys(tokens) if token not in known]
    if not new:
        return 0
    first = _next_number(session, workshop)
    created = [
        models.Participant(workshop_id=workshop.id, token=token, number=first + i)
        for i, token in enumerate(new)
    ]
    session.add_all(created)
    session.flush()
    known.update((p.token, p) for p in created)
    return len(created)


def _next_number(session: Session, workshop: models.Workshop) -> int:
    return (
        session.scalar(
            select(func.max(models.Participant.number)).where(
                models.Participant.workshop_id == workshop.id
            )
        )
        or 0
    ) + 1


def add_proxy(tx: Tx, p: schemas.ProxyAdd) -> dict[str, Any]:
    """The facilitator adds a proxy: an anonymous participant for someone without a phone,
    whose ballots the facilitator enters. The optional label is seen only by the facilitator."""
    label = _optional_name(p.label)
    if p.group_id is not None:
        group = tx.session.get(models.ParticipantGroup, p.group_id)
        if group is None or group.workshop_id != tx.workshop.id:
            raise DomainError("unknown_group", N_("There is no such group."))
    proxy = models.Participant(
        workshop_id=tx.workshop.id,
        token=new_token(),
        number=_next_number(tx.session, tx.workshop),
        nickname=label,
        is_proxy=True,
        group_id=p.group_id,
    )
    tx.session.add(proxy)
    tx.session.flush()
    tx.log("proxy.added", number=proxy.number)
    return {"proxy": proxy.number}


def rename(tx: Tx, p: schemas.ParticipantRename) -> dict[str, Any]:
    """A participant sets (or, with an empty text, clears) their optional nickname."""
    assert tx.participant is not None
    nickname = _optional_name(p.nickname)
    tx.participant.nickname = nickname
    tx.change.participants.add(tx.participant.id)
    return {"nickname": nickname}


def _optional_name(text: str) -> str | None:
    """A nickname or a proxy's label; None when nothing is left after cleaning (blank, or
    only control characters)."""
    return (
        domain.clean_title(text, field="nickname", max_length=domain.NICKNAME_MAX, required=False)
        or None
    )
