"""Use cases of moderation in the open: the facilitator's moderation policy, which phones
can read (what each moderation did is in the audit log, and in the moderation export).

Layer: use cases (see base.py for what it may import).
"""

from __future__ import annotations

from typing import Any

from facilitation.core import domain, schemas
from facilitation.usecases.base import Tx


def set_policy(tx: Tx, p: schemas.ModerationPolicySet) -> dict[str, Any]:
    """The facilitator writes (or, with a blank text, clears) the workshop's moderation
    policy: what will be hidden, merged, edited or removed, and why. Logged whole, so the
    record shows what the room could read when."""
    text = domain.clean_text(p.policy, field="policy", max_length=domain.POLICY_MAX, required=False)
    policy = text or None
    if policy != tx.workshop.moderation_policy:
        tx.workshop.moderation_policy = policy
        tx.log("moderation.policy_set", policy=policy)
    return {"policy": policy}
