"""What the screens and exports receive, as types: the room's, the phones' and the console's
state, a participant's own part (`me`), the export record, the series' combined record and
the public follow page, down to each voting method's result rows.

Layer: queries (the read side). Imports nothing of the project: the queries build these, the
edges pass them on, and tests/test_read_models.py holds them against docs/protocol.md and
docs/export-schema.json and against what the app really sends.

They are TypedDicts, so that what travels stays what it was: plain JSON objects, unchanged
on the wire, each checked by mypy where it is built and where it is read. Every key is
required unless marked `NotRequired`: nearly every key is always there (null when it has no
value), and the few that are not are the exceptions worth naming — a nickname only when the
facilitator asks for it, the organizers' figures that the public page leaves out. Marking
the exceptions (rather than `total=False` and marking what is always there) lets mypy
refuse a view built without one of its keys.

Unlike the other modules, this one does not postpone its annotations: on Python 3.11 a
TypedDict only knows which keys are `NotRequired` (`__required_keys__`) when they are
evaluated as the class is made, and the tests read them.
"""

from typing import Any, NotRequired, TypedDict

# --- Shared pieces -------------------------------------------------------------------------


class Rule(TypedDict):
    """A consensus rule: how factors are judged, its thresholds, and how many must answer
    (consensus.Rule)."""

    preset: str
    agreement: float
    iqr: float
    kendall_w: float
    min_share: float
    min_answers: int
    every_group: bool
    stable_change: float
    max_rounds: int | None


class Verdict(TypedDict):
    """How far a round is from the rule (consensus.Verdict)."""

    reached: bool
    progress: float
    measure: str
    value: float | None
    threshold: float
    factors_meeting: int | None
    factors: int | None
    too_few: list[int]
    divided: list[int]
    small_panel: bool
    groups_behind: list[int]


class Recommendation(TypedDict):
    """The next step after a closed round (consensus.Recommendation): "stop_consensus",
    "stop_stable", "stop_max_rounds" or "continue", with the factors still moving."""

    next: str
    moving: list[int]
    unmeasured: list[int]
    threshold: float
    rounds: int
    max_rounds: int | None


class Concordance(TypedDict):
    """Kendall's W with its significance (consensus.Concordance)."""

    w: float | None
    chi_square: float | None
    df: int
    p_value: float | None
    raters: int
    items: int


class RoundSettings(TypedDict):
    """A round's stored settings: only those of its method (ballots.RoundSettings)."""

    budget: NotRequired[int]
    cap: NotRequired[int]
    scale: NotRequired[int]
    top_k: NotRequired[int]
    live: NotRequired[bool]
    shuffle: NotRequired[bool]
    no_own_votes: NotRequired[bool]


class Person(TypedDict):
    """A participant as the console and `me` name them: never who, only a number."""

    number: int
    nickname: str | None


# A ballot's answers by factor id: dots, ratings and places as numbers, keep/remove and
# "no opinion" as words, a matrix answer as [impact, uncertainty].
Entries = dict[str, int | str | list[int]]


class LogEntry(TypedDict):
    at: str
    actor: str
    action: str
    factor_id: int | None
    details: dict[str, Any]


# --- A round's tally: a row per factor, by method (core/tally.py) ---------------------------


class Sides(TypedDict):
    """What a verdict reads of a factor (consensus.Answers): who answered it ("no opinion"
    included), whose answer enters a statistic, how many answered in the top and the bottom
    third, the side its agreement points to ("in", "out" or null), and whether the answers
    form two camps; and how far its answers moved since the previous round (0–1, null with
    nothing to compare: tally.change). `barred`, only where any: the ballots that could not
    answer the factor (its proposer's, in a round where nobody votes on their own proposal),
    which the share that must answer leaves out."""

    responses: int
    opinions: int
    high: int
    low: int
    lean: str | None
    divided: bool
    change: float | None
    barred: NotRequired[int]


class KeepRemoveRow(Sides):
    factor_id: int
    keep: int
    remove: int
    votes: int
    majority: str | None
    agreement: float | None


class DotsRow(Sides):
    factor_id: int
    dots: int
    voters: int
    agreement: float | None
    rank: int


class PointsRow(Sides):
    factor_id: int
    points: int
    share: float | None
    voters: int
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    mean: float | None
    agreement: float | None
    rank: int


class ScaleSummary(TypedDict):
    """Answers on a scale summed up: a rating's, or one axis of the matrix."""

    distribution: list[int]
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    mean: float | None
    agreement: float | None
    high: int
    low: int
    lean: str | None
    divided: bool


class RatingRow(Sides):
    factor_id: int
    answers: int
    no_opinion: int
    distribution: list[int]
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    mean: float | None
    agreement: float | None
    rank: int | None  # null when nobody rated it


class RankingRow(Sides):
    factor_id: int
    ranked_by: int
    mean_rank: float | None
    median_rank: float | None
    agreement: float | None
    rank: int


class MatrixRow(Sides):
    factor_id: int
    answers: int
    impact: ScaleSummary
    uncertainty: ScaleSummary
    agreement: float | None
    quadrant: str | None
    rank: int | None  # null when nobody answered


TallyRow = KeepRemoveRow | DotsRow | PointsRow | RatingRow | RankingRow | MatrixRow


class GroupTally(TypedDict):
    """A stakeholder group's own tally in a round; only `group_id` and `withheld` where its
    figures could tell what one or two people answered (consensus.shown_groups)."""

    group_id: int
    withheld: bool
    ballots: NotRequired[int]
    factors: NotRequired[list[TallyRow]]
    concordance: NotRequired[Concordance | None]


class Turnout(TypedDict):
    """Who took part in a round (tally.participation): of those who had joined by its end,
    who answered, who skipped it, and who answered the round before but not this one."""

    joined: int
    answered: int
    skipped: int
    dropped: int | None


class GroupTurnout(TypedDict):
    """A group's turnout; only `group_id` and `withheld` where its counts could single
    someone out."""

    group_id: int
    withheld: bool
    joined: NotRequired[int]
    answered: NotRequired[int]
    skipped: NotRequired[int]
    dropped: NotRequired[int | None]


class RoundParticipation(Turnout):
    groups: list[GroupTurnout]


class Tally(TypedDict):
    """A round's tally, as stored with the round when it closes (tally.tally); a tally
    stored before stakeholder groups has neither `groups` nor `participation`."""

    method: str
    ballots: int
    factors: list[TallyRow]
    concordance: Concordance | None
    scores: dict[str, float]
    stability: float | None
    groups: NotRequired[list[GroupTally]]
    participation: NotRequired[RoundParticipation]


class FactorNow(TypedDict):
    """What a result row says of its factor as it is now (it may have changed since), and
    its verdict under the round's rule: "in", "out", "none", "divided" or "too_few"."""

    title: str
    category_id: int
    status: str
    merged_into_id: int | None
    verdict: str


class KeepRemoveResult(KeepRemoveRow, FactorNow):
    pass


class DotsResult(DotsRow, FactorNow):
    pass


class PointsResult(PointsRow, FactorNow):
    pass


class RatingResult(RatingRow, FactorNow):
    pass


class RankingResult(RankingRow, FactorNow):
    pass


class MatrixResult(MatrixRow, FactorNow):
    pass


ResultRow = (
    KeepRemoveResult | DotsResult | PointsResult | RatingResult | RankingResult | MatrixResult
)

# Each method's rows, by the name rounds carry (`method`).
TALLY_ROWS: dict[str, type] = {
    "keep_remove": KeepRemoveRow,
    "dots": DotsRow,
    "points": PointsRow,
    "rating": RatingRow,
    "ranking": RankingRow,
    "matrix": MatrixRow,
}
RESULT_ROWS: dict[str, type] = {
    "keep_remove": KeepRemoveResult,
    "dots": DotsResult,
    "points": PointsResult,
    "rating": RatingResult,
    "ranking": RankingResult,
    "matrix": MatrixResult,
}


class GroupResult(GroupTally):
    """A group's tally as screens show it, with each factor's verdict in the group (by
    factor id) and the group's own verdict, unless withheld."""

    verdicts: NotRequired[dict[str, str]]
    verdict: NotRequired[Verdict]


class Results(TypedDict):
    """A round's results as screens and exports show them (state.results)."""

    method: str
    ballots: int
    factors: list[ResultRow]
    concordance: Concordance | None
    scores: dict[str, float]
    stability: float | None
    round_id: int
    number: int
    settings: RoundSettings
    live: bool
    verdict: Verdict
    # The rule the round is judged by, the one declared when it opened, and whether the
    # facilitator changed it after the results were seen.
    rule: Rule
    declared_rule: Rule
    rule_changed: bool
    # Each voting group's tally with its verdicts (by factor id) and its own verdict, side
    # by side; empty where the room is not shown the groups.
    groups: list[GroupResult]
    participation: NotRequired[RoundParticipation]
    # What to do next, once the round is closed (null while it is open).
    recommendation: Recommendation | None


# --- The room's state: boards, phones and the console (docs/protocol.md) ---------------------


class WorkshopInfo(TypedDict):
    code: str
    title: str
    language: str
    step: str
    approval_required: bool
    doors_closed: bool
    group_required: bool
    groups_shown: bool
    # The facilitator's moderation policy, in their words (None: none written).
    moderation_policy: str | None


class Group(TypedDict):
    id: int
    name: str


class Timer(TypedDict):
    ends_at: str


class Category(TypedDict):
    id: int
    name: str


class Factor(TypedDict):
    """An active factor as the room sees it."""

    id: int
    category_id: int
    title: str
    description: str
    origin: str


class RoundSummary(TypedDict):
    id: int
    number: int
    method: str
    state: str
    settings: RoundSettings


class Participation(TypedDict):
    joined: int
    voted: int


class HistoryEntry(TypedDict):
    round_id: int
    number: int
    verdict: Verdict
    concordance: Concordance | None
    stability: float | None


class _Room(TypedDict):
    """What every screen of the room shows alike."""

    version: int
    workshop: WorkshopInfo
    rule: Rule
    timer: Timer | None
    categories: list[Category]
    groups: list[Group]
    round: RoundSummary | None
    results: Results | None
    previous: Results | None
    history: list[HistoryEntry]


class SharedReason(TypedDict):
    """A reason shown beside a factor's result in a revealed round: its text only, never
    who gave it (core/reasons.py)."""

    round_id: int
    number: int
    factor_id: int
    text: str


class PhoneView(_Room):
    """The room's view as phones get it: without the live participation counts."""

    factors: list[Factor]
    reasons: list[SharedReason]


class RoomView(PhoneView):
    """What the board sees, and the base of the other views (state.room_view)."""

    participation: Participation


class ConsoleFactor(Factor):
    status: str
    removal_reason: str | None
    merged_into_id: int | None
    proposed_by: Person | None


class ConsoleRound(RoundSummary):
    verdict: Verdict | None


class ConsoleReason(SharedReason):
    """A reason as the facilitator moderates it (still without who gave it)."""

    id: int
    status: str


class DotDefaults(TypedDict):
    """What a new dot-voting round gets unless the facilitator says otherwise
    (ballots.default_dot_budget and default_dot_cap, over the active factors)."""

    budget: int
    cap: int


class TrajectoryRound(TypedDict):
    round_id: int
    number: int
    method: str


class TrajectoryCell(TypedDict):
    """A factor in one revealed round: its place, its figure (the share who kept it, dots,
    points, the median rating, the mean place, the median impact), the matrix's quadrant,
    and its verdict under the round's rule."""

    round_id: int
    rank: int | None
    value: float | None
    quadrant: str | None
    verdict: str


class TrajectoryFactor(TypedDict):
    factor_id: int
    title: str
    status: str
    cells: list[TrajectoryCell]
    final: TrajectoryCell | None


class Trajectory(TypedDict):
    """How the picture moved, round by round (trajectory.trajectory)."""

    rounds: list[TrajectoryRound]
    factors: list[TrajectoryFactor]


class Duplicate(TypedDict):
    """Two factors that look alike (core/similar.py): `factor_id`, the later, to merge into
    `into_id`, the earlier; `score` 0-100."""

    factor_id: int
    into_id: int
    score: float


class ConsoleView(_Room):
    """The room's view with what only the facilitator sees (state.console_view)."""

    factors: list[ConsoleFactor]
    reasons: list[ConsoleReason]
    participation: Participation
    rounds: list[ConsoleRound]
    proxies: list[Person]
    log: list[LogEntry]
    dot_defaults: DotDefaults
    duplicates: list[Duplicate]
    trajectory: Trajectory


# As `state` is sent: with the server's time, and for boards and consoles the participants
# with a phone connected to this process (added by the edges as they send).


class PhoneState(PhoneView):
    server_time: str


class BoardState(RoomView):
    connected: int
    server_time: str


class ConsoleState(ConsoleView):
    connected: int
    server_time: str


class OwnBallot(TypedDict):
    round_id: int
    entries: Entries


class Proposal(TypedDict):
    id: int
    title: str
    category_id: int
    status: str
    removal_reason: str | None


class Outlying(TypedDict):
    """One axis on which one's answer lay outside the middle half (`value`, or the matrix's
    `impact` or `uncertainty`), with the group's quartiles."""

    axis: str
    answer: int
    q1: float
    q3: float


class OwnReason(TypedDict):
    id: int
    text: str
    status: str


class OutsideFactor(TypedDict):
    factor_id: int
    axes: list[Outlying]
    reason: OwnReason | None


class Outside(TypedDict):
    """Where one's answers lay outside the middle half of the round reasons may be given on
    (only while they may: from its reveal until the next round closes)."""

    round_id: int
    number: int
    method: str
    factors: list[OutsideFactor]


class Me(TypedDict):
    """A participant's own part, sent to their phones as `me` (state.personal_view)."""

    version: int
    participant: Person
    # The stakeholder group they are in, and whether it is fixed (once they have voted).
    group_id: int | None
    group_fixed: bool
    ballot: OwnBallot | None
    previous_ballot: OwnBallot | None
    proposals: list[Proposal]
    outside: Outside | None


class Snapshot(TypedDict):
    """The whole state for one screen, on connect and on `state.get`; a phone's with `me`."""

    state: RoomView | PhoneView | ConsoleView
    me: NotRequired[Me]


# --- The export record (docs/export-schema.json) --------------------------------------------


class RecordWorkshop(TypedDict):
    code: str
    title: str
    language: str
    # The IANA time zone the workshop's times are written in by the PDF, CSV and workbook;
    # every time in the record stays in UTC.
    time_zone: str
    step: str
    created_at: str
    participants: int
    proxies: int
    doors_closed: bool
    consensus_rule: Rule
    moderation_policy: str | None


class RecordFactor(TypedDict):
    id: int
    category: str
    title: str
    description: str
    origin: str
    status: str
    removal_reason: str | None
    merged_into_id: int | None


class RecordAnswer(TypedDict):
    """One ballot, under the participant's number in the workshop."""

    participant: int
    proxy: bool
    nickname: NotRequired[str | None]  # only when the facilitator asks for nicknames
    # The stakeholder group, where the round shows the group's figures (else None).
    group: str | None
    entries: Entries


class RecordRound(Results):
    """A closed round: its summary, its results and its ballots."""

    id: int
    state: str
    answers: list[RecordAnswer]


class RecordReason(TypedDict):
    """A reason, of every status, for the facilitator's record: never who gave it."""

    round: int
    round_id: int
    factor_id: int
    factor: str
    text: str
    status: str
    created_at: str


class Record(TypedDict):
    """The complete workshop for exports (state.record)."""

    workshop: RecordWorkshop
    categories: list[str]
    groups: list[Group]
    factors: list[RecordFactor]
    rounds: list[RecordRound]
    reasons: list[RecordReason]
    log: list[LogEntry]
    # Exported before the workshop was closed: the results may still change.
    preliminary: bool


class WorkshopDocument(Record):
    """The JSON export: the record with its schema and version (outputs/export.py)."""

    schema: str
    schema_version: int
    exported_at: str


# --- A series' combined picture and its public follow page ----------------------------------


class SeriesInfo(TypedDict):
    title: str
    language: str
    description: str
    created_at: str
    concluded_at: str | None


class PublicWorkshop(TypedDict):
    """A workshop of the series, as the follow page shows it."""

    key: str
    letter: str
    title: str
    stakeholder: str | None
    step: str
    language: str
    created_at: str
    revealed_rounds: int
    method: str | None
    consensus: bool | None


class SeriesWorkshop(PublicWorkshop):
    """A workshop of the series, as its organizers see it."""

    code: str
    ballots: int | None
    rule: Rule


class Figures(TypedDict):
    """A factor's figures in a workshop's latest revealed prioritisation: those its method has."""

    rank: NotRequired[int | None]
    dots: NotRequired[int]
    points: NotRequired[int]
    share: NotRequired[float | None]
    median: NotRequired[float | None]
    q1: NotRequired[float | None]
    q3: NotRequired[float | None]
    iqr: NotRequired[float | None]
    mean_rank: NotRequired[float | None]
    agreement: NotRequired[float | None]
    quadrant: NotRequired[str | None]
    impact: NotRequired[float | None]
    uncertainty: NotRequired[float | None]


class KeepFigures(TypedDict):
    """A factor's keep/remove votes in a workshop's latest revealed prune round."""

    keep: int
    remove: int
    agreement: float | None


class PublicCell(TypedDict):
    """A library factor in one workshop, on the common scale (combined.Placed)."""

    status: str
    priority: float | None
    tier: str | None
    place: float | None
    of: int
    consensus: bool | None
    merged_into: NotRequired[str | None]  # the title of the factor it was merged into


class Cell(PublicCell):
    """A cell as the organizers see it: also the workshop's wording and its figures."""

    title_here: NotRequired[str]
    figures: NotRequired[Figures]
    keep: NotRequired[KeepFigures]


class PictureFactor(TypedDict):
    """A library factor in the combined picture (combined.CombinedFactor)."""

    id: int
    category: str
    title: str
    description: str
    evidence: list[dict[str, Any]]
    retired: bool
    origin: str
    rank: int | None
    priority: float | None
    coverage: int
    spread: float | None
    agreement: str | None
    kept: int
    removed: int
    kept_overall: bool


class PublicFactor(PictureFactor):
    cells: dict[str, PublicCell]


class CombinedFactor(PictureFactor):
    cells: dict[str, Cell]


class Similarity(TypedDict):
    a: str
    b: str
    rho: float | None


class FinalFactor(TypedDict):
    id: int
    category: str
    title: str
    rank: int | None
    priority: float | None


class Final(TypedDict):
    """The final agreed list, frozen when the organizer concluded the series."""

    factors: list[FinalFactor]
    concordance: Concordance


class Absorbed(TypedDict):
    id: int
    title: str


class Added(TypedDict):
    """A factor a workshop added that the library lacks, for its organizers to take over."""

    factor_id: int
    workshop: str
    workshop_title: str
    title: str
    description: str
    origin: str
    status: str
    absorbed: list[Absorbed]


class _Picture(TypedDict):
    series: SeriesInfo
    categories: list[str]
    concordance: Concordance
    similarity: list[Similarity]
    final: Final | None
    as_of: str


class CombinedRecord(_Picture):
    """The series' combined picture with every figure, for its organizers and exports."""

    workshops: list[SeriesWorkshop]
    factors: list[CombinedFactor]
    added: list[Added]


class HeldAt(TypedDict):
    """When a workshop was held (its first round opened), and how many took part in it:
    only if the organizer opted in, and never fewer than `group_min` (`few` says so)."""

    key: str
    held_at: str | None
    participants: int | None
    few: bool


class Decision(TypedDict):
    """A workshop removed a library factor: when, and why if the organizer published it."""

    workshop: str
    title: str
    at: str | None
    reason: str | None


class Transparency(TypedDict):
    """What the follow page tells of the process besides the picture (docs/process.md)."""

    process: str
    coming: str
    concluded_at: str | None
    workshops: list[HeldAt]
    decisions: list[Decision]
    group_min: int


class FollowView(_Picture):
    """The public follow page's state: nothing about any participant (docs/process.md)."""

    workshops: list[PublicWorkshop]
    factors: list[PublicFactor]
    follow_code: str
    transparency: Transparency


class FollowPage(FollowView):
    """A follow page's state as the use cases hand it to the edges: with the series' id,
    which the edges take off before sending (they need it to know whom to send to)."""

    id: NotRequired[int]


class SeriesDocument(CombinedRecord):
    """The series' JSON export: the combined record with its schema and version."""

    schema: str
    schema_version: int
    exported_at: str
