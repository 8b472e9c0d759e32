"""The shape of every command's payload and of the JSON API's input.

Layer: pure core (pydantic schemas). Checks types and sizes only; the rules themselves
(steps, budgets, which factor may be voted on) live in the core. Every model refuses fields
it does not know, and types are strict: "5" is not a number, true is not 1.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from facilitation.core.domain import (
    CATEGORIES_MAX,
    DEFAULT_TIME_ZONE,
    FACTORS_MAX,
    GROUPS_MAX,
    ID_MAX,
    Method,
    Step,
)

# Sizes here are transport limits, generous on purpose: the core checks the real lengths
# after normalising whitespace, with messages people can act on.
CommandId = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Id = Annotated[StrictInt, Field(ge=1, le=ID_MAX)]
ShortText = Annotated[StrictStr, Field(max_length=1_000)]
LongText = Annotated[StrictStr, Field(max_length=5_000)]
FactorKey = Annotated[StrictStr, Field(pattern=r"^[1-9][0-9]{0,15}$")]
Language = Literal["sv", "en"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Command(Strict):
    """Every command carries a client-made id; a repeated id gets the first answer again."""

    command_id: CommandId


class FactorAdd(Command):
    title: ShortText
    description: LongText = ""
    category_id: Id


class FactorPropose(FactorAdd):
    pass


class FactorEdit(Command):
    factor_id: Id
    title: ShortText | None = None
    description: LongText | None = None
    category_id: Id | None = None


class FactorRef(Command):
    factor_id: Id


class FactorRemove(Command):
    factor_id: Id
    reason: LongText


class FactorRemoval(Strict):
    factor_id: Id
    reason: LongText


class FactorRemoveMany(Command):
    """Several removals at once (what a keep/remove round voted out), each with its reason."""

    removals: Annotated[list[FactorRemoval], Field(min_length=1, max_length=FACTORS_MAX)]


class ReasonSubmit(Command):
    """A participant's reason for an answer outside the middle half of a revealed round."""

    round_id: Id
    factor_id: Id
    text: ShortText


class ReasonRef(Command):
    reason_id: Id


class CategoryAdd(Command):
    name: ShortText


class CategoryRename(Command):
    category_id: Id
    name: ShortText


class WorkshopConfigure(Command):
    title: ShortText | None = None
    language: Language | None = None
    # An IANA time zone name, for the times in the exports (domain.check_time_zone).
    time_zone: Annotated[StrictStr, Field(max_length=64)] | None = None
    approval_required: StrictBool | None = None
    # The consensus rule (consensus.Rule; its own checks give the ranges): how factors are
    # judged, agreement per factor (0.5–1), the widest IQR, Kendall's W (0–1], the share of
    # ballots that must answer a factor (0–1), the fewest opinions, and whether every
    # stakeholder group must agree too.
    consensus_preset: Literal["agreement", "cos", "iqr", "agreement_iqr"] | None = None
    consensus_agreement: StrictFloat | StrictInt | None = None
    consensus_iqr: StrictFloat | StrictInt | None = None
    consensus_kendall_w: StrictFloat | StrictInt | None = None
    consensus_min_share: StrictFloat | StrictInt | None = None
    consensus_min_answers: StrictInt | None = None
    consensus_every_group: StrictBool | None = None
    # When to stop: the most a factor's answers may move and still count as stable (0–1), and
    # the most rounds of a method (1–50; 0 for no maximum).
    consensus_stable_change: StrictFloat | StrictInt | None = None
    consensus_max_rounds: StrictInt | None = None
    # A round whose results were seen, to be judged by the changed rule too (logged, and
    # shown wherever the round is).
    consensus_round_id: Id | None = None


class ModerationPolicySet(Command):
    # The facilitator's moderation policy; blank clears it (domain.POLICY_MAX after cleaning).
    policy: LongText


class TimerSet(Command):
    """A countdown of `seconds` from now; 0 stops it."""

    seconds: Annotated[StrictInt, Field(ge=0, le=4 * 3600)]


class DoorsSet(Command):
    """Close the workshop to new participants (true), or open it again (false)."""

    closed: StrictBool


class StepSet(Command):
    step: Step


class RoundOpen(Command):
    method: Method
    budget: StrictInt | None = None
    cap: StrictInt | None = None
    scale: StrictInt | None = None
    top_k: StrictInt | None = None
    live: StrictBool = False
    # Against anchoring: every phone in its own order (on unless said), and nobody voting
    # on their own proposal (off unless said).
    shuffle: StrictBool = True
    no_own_votes: StrictBool = False


class RoundConfigure(Command):
    round_id: Id
    live: StrictBool


class RoundRef(Command):
    round_id: Id


# One answer in a ballot: dots, a rating or a rank (a number); "keep" or "remove"; a rating's
# "no_opinion"; or [impact, uncertainty] in the matrix.
AnswerIn = (
    StrictInt
    | Literal["keep", "remove", "no_opinion"]
    | Annotated[list[StrictInt], Field(min_length=2, max_length=2)]
)


class BallotSubmit(Command):
    """A whole ballot for one round, by factor id."""

    round_id: Id
    entries: Annotated[dict[FactorKey, AnswerIn], Field(max_length=FACTORS_MAX)]


class ProxyAdd(Command):
    label: ShortText = ""
    group_id: Id | None = None


class FactorMerge(Command):
    factor_id: Id
    into_id: Id


class ParticipantRename(Command):
    nickname: ShortText


class GroupIn(Strict):
    """A stakeholder group as the facilitator lists it: an existing one by id (renamed if
    its name changed), or a new one without."""

    id: Id | None = None
    name: ShortText


class GroupsSet(Command):
    """The workshop's stakeholder groups (those left out are removed), whether a phone must
    pick one, and whether the room sees them side by side (`shown`); each left as it is
    when None."""

    groups: Annotated[list[GroupIn], Field(max_length=GROUPS_MAX * 2)] | None = None
    required: StrictBool | None = None
    shown: StrictBool | None = None


class GroupChoose(Command):
    """A participant says which group they belong to (None: they would rather not say)."""

    group_id: Id | None


class SeedFactorIn(Strict):
    title: ShortText
    category: ShortText | None = None
    description: LongText = ""


class WorkshopCreate(Strict):
    """POST /api/workshops."""

    title: ShortText
    language: Language = "sv"
    time_zone: Annotated[StrictStr, Field(max_length=64)] = DEFAULT_TIME_ZONE
    categories: Annotated[list[ShortText], Field(max_length=CATEGORIES_MAX)] | None = None
    factors: Annotated[list[SeedFactorIn], Field(max_length=FACTORS_MAX)] | None = None


# --- Series, their library and organizers (issue #7) -----------------------------------------
# These come from the organizer's HTML forms, so numbers and yes/no are read leniently from
# form text ("5", "on"); sizes are checked as for commands.

FormId = Annotated[int, Field(ge=1, le=ID_MAX)]
Template = Literal["pestel", "swot", "municipal_trends", "none"]


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FormCommand(Form):
    """A series or library command from a form: its page made the id (one per rendered
    form), so a form sent twice gets the first answer again."""

    command_id: CommandId


class SeriesCreate(Form):
    title: ShortText
    language: Language = "sv"
    description: LongText = ""
    template: Template = "pestel"


class SeriesConfigure(FormCommand):
    title: ShortText | None = None
    description: LongText | None = None
    public: bool | None = None


class SeriesPublish(FormCommand):
    """What the follow page tells of the process besides the picture (its transparency)."""

    process: LongText = ""
    coming: LongText = ""
    participation: bool = False
    factor_ids: Annotated[list[FormId], Field(max_length=FACTORS_MAX)] = []


class SeriesConclude(FormCommand):
    factor_ids: Annotated[list[FormId], Field(max_length=FACTORS_MAX)] = []


class Nothing(FormCommand):
    pass


class MemberRemove(FormCommand):
    organizer_id: FormId


class SeriesWorkshopAdd(FormCommand):
    title: ShortText = ""
    stakeholder: ShortText = ""
    language: Language | None = None


class LibraryCategoryAdd(FormCommand):
    name: ShortText


class LibraryCategoryRename(FormCommand):
    category_id: FormId
    name: ShortText


class LibraryFactorAdd(FormCommand):
    category_id: FormId
    title: ShortText
    description: LongText = ""
    # One item a line: a source or a figure, with a link anywhere in it.
    evidence: LongText = ""


class LibraryFactorEdit(FormCommand):
    factor_id: FormId
    category_id: FormId | None = None
    title: ShortText | None = None
    description: LongText | None = None
    evidence: LongText | None = None


class LibraryFactorRef(FormCommand):
    factor_id: FormId


class LibraryImport(FormCommand):
    template: Template | None = None
    csv: Annotated[bytes, Field(max_length=512 * 1024)] | None = None


class WorkshopFactorRef(FormCommand):
    """A factor of one of the series' workshops (to promote or adopt into the library)."""

    factor_id: FormId
    library_factor_id: FormId | None = None
