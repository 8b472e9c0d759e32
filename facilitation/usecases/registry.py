"""Every command by name: its payload schema, who may send it, and the use case it runs.

Layer: use cases. Imports the use cases' modules and the schemas; read by commands.py, which
runs every command the one way (command id, stored answer, validation, authorisation, one
transaction, version bump, publish after the commit), and by the edges, which only look
names up here.

`COMMANDS` are a workshop's (sent over the socket or the API by its facilitator or a
participant); `SERIES_COMMANDS` a series' and its library's (sent from the organizers'
forms, by the series' owner or by any of its organizers). A few changes are deliberately
not commands, each for its reason (in its docstring): creating a workshop or a series
(nothing to lock or to key an answer by yet), deleting one (its stored answers go with it),
and replacing a facilitator link (its answer is the new secret, which no stored answer may
hold, and the old link stops working, so a repeat is refused anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from facilitation.core import schemas
from facilitation.core.domain import Role
from facilitation.usecases import (
    factors,
    groups,
    library,
    moderation,
    participants,
    reasons,
    series,
    voting,
    workshops,
)
from facilitation.usecases.base import SeriesRole


@dataclass(frozen=True)
class Command:
    """A named command: its payload schema, who may send it (a workshop's role, or the role
    needed in a series: any of its organizers, or only its owner), and the use case it runs
    (given the transaction, a `Tx` or a `SeriesTx`, and the parsed payload).

    A staged use case writes nothing itself: it checks and stages its writes last (in
    `tx.ballots`), which the batch writes together, so it needs no savepoint of its own.
    `secret` names a field of the answer's data that is answered once and never stored
    (an invitation's link): sent again, the command's answer goes without it.
    """

    name: str
    schema: type[schemas.Command] | type[schemas.FormCommand]
    role: Role | SeriesRole
    run: Callable[[Any, Any], dict[str, Any]]
    staged: bool = False
    secret: str | None = None


def _table(*commands: Command) -> dict[str, Command]:
    return {command.name: command for command in commands}


PARTICIPANT, FACILITATOR = Role.PARTICIPANT, Role.FACILITATOR
ORGANIZER, OWNER = SeriesRole.MEMBER, SeriesRole.OWNER

COMMANDS = _table(
    Command("factor.propose", schemas.FactorPropose, PARTICIPANT, factors.propose),
    Command("ballot.submit", schemas.BallotSubmit, PARTICIPANT, voting.submit_ballot, staged=True),
    Command("participant.rename", schemas.ParticipantRename, PARTICIPANT, participants.rename),
    Command("group.choose", schemas.GroupChoose, PARTICIPANT, groups.choose),
    Command("reason.submit", schemas.ReasonSubmit, PARTICIPANT, reasons.submit),
    Command("factor.add", schemas.FactorAdd, FACILITATOR, factors.add),
    Command("factor.edit", schemas.FactorEdit, FACILITATOR, factors.edit),
    Command("factor.approve", schemas.FactorRef, FACILITATOR, factors.approve),
    Command("factor.hide", schemas.FactorRef, FACILITATOR, factors.hide),
    Command("factor.remove", schemas.FactorRemove, FACILITATOR, factors.remove),
    Command("factor.restore", schemas.FactorRef, FACILITATOR, factors.restore),
    Command("factor.merge", schemas.FactorMerge, FACILITATOR, factors.merge),
    Command("factor.unmerge", schemas.FactorRef, FACILITATOR, factors.unmerge),
    Command("factor.remove_many", schemas.FactorRemoveMany, FACILITATOR, factors.remove_many),
    Command("category.add", schemas.CategoryAdd, FACILITATOR, workshops.add_category),
    Command("category.rename", schemas.CategoryRename, FACILITATOR, workshops.rename_category),
    Command("workshop.configure", schemas.WorkshopConfigure, FACILITATOR, workshops.configure),
    Command("step.set", schemas.StepSet, FACILITATOR, workshops.set_step),
    Command("timer.set", schemas.TimerSet, FACILITATOR, workshops.set_timer),
    Command("doors.set", schemas.DoorsSet, FACILITATOR, workshops.set_doors),
    Command("round.open", schemas.RoundOpen, FACILITATOR, voting.open_round),
    Command("round.configure", schemas.RoundConfigure, FACILITATOR, voting.configure_round),
    Command("round.close", schemas.RoundRef, FACILITATOR, voting.close_round),
    Command("round.reveal", schemas.RoundRef, FACILITATOR, voting.reveal_round),
    Command("proxy.add", schemas.ProxyAdd, FACILITATOR, participants.add_proxy),
    Command("groups.set", schemas.GroupsSet, FACILITATOR, groups.set_groups),
    Command("reason.approve", schemas.ReasonRef, FACILITATOR, reasons.approve),
    Command("reason.hide", schemas.ReasonRef, FACILITATOR, reasons.hide),
    Command(
        "moderation.policy_set",
        schemas.ModerationPolicySet,
        FACILITATOR,
        moderation.set_policy,
    ),
)

SERIES_COMMANDS = _table(
    Command("series.configure", schemas.SeriesConfigure, OWNER, series.configure),
    Command("series.invite", schemas.Nothing, OWNER, series.invite, secret="token"),
    Command("series.conclude", schemas.SeriesConclude, OWNER, series.conclude),
    Command("series.publish", schemas.SeriesPublish, OWNER, series.publish),
    Command("series.reopen", schemas.Nothing, OWNER, series.reopen),
    Command("member.remove", schemas.MemberRemove, OWNER, series.remove_member),
    Command("workshop.add", schemas.SeriesWorkshopAdd, ORGANIZER, series.add_workshop),
    Command("library.import", schemas.LibraryImport, ORGANIZER, library.import_),
    Command("library.category_add", schemas.LibraryCategoryAdd, ORGANIZER, library.add_category),
    Command(
        "library.category_rename",
        schemas.LibraryCategoryRename,
        ORGANIZER,
        library.rename_category,
    ),
    Command("library.add", schemas.LibraryFactorAdd, ORGANIZER, library.add),
    Command("library.edit", schemas.LibraryFactorEdit, ORGANIZER, library.edit),
    Command("library.retire", schemas.LibraryFactorRef, ORGANIZER, library.retire),
    Command("library.restore", schemas.LibraryFactorRef, ORGANIZER, library.restore),
    Command("library.promote", schemas.WorkshopFactorRef, ORGANIZER, library.promote),
    Command("library.adopt", schemas.WorkshopFactorRef, ORGANIZER, library.adopt),
)
