"""The rules of a workshop: its steps, its categories and factors, and their moderation.

Layer: pure core. Imports only the standard library — no Flask, Socket.IO or SQLAlchemy — so
every rule here is tested directly. Services load state, call these functions, and persist.
Voting rules live in ballots.py, what ballots add up to in tally.py, and the maths of
agreement in consensus.py.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a message for translation without translating it: the edges translate."""
    return message


class DomainError(Exception):
    """A rule said no. `code` is stable for clients; `message` is an English template filled
    in from `params`; `path` names the input at fault (e.g. "factors.3.title"), if one is."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.code = code
        self.message = message
        self.params = params
        self.path: str | None = None

    def at(self, path: str) -> DomainError:
        """The same error, located at `path` in the input."""
        self.path = path
        return self


class Role(StrEnum):
    FACILITATOR = "facilitator"
    PARTICIPANT = "participant"


class Step(StrEnum):
    PREPARE = "prepare"
    COMPLETE = "complete"
    PRUNE = "prune"
    PRIORITISE = "prioritise"
    RESULTS = "results"
    CLOSED = "closed"


STEPS: tuple[Step, ...] = tuple(Step)


class Origin(StrEnum):
    SEEDED = "seeded"
    PROPOSED = "proposed"
    FACILITATOR = "facilitator"


class FactorStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    HIDDEN = "hidden"
    REMOVED = "removed"
    MERGED = "merged"


class Method(StrEnum):
    KEEP_REMOVE = "keep_remove"
    DOTS = "dots"
    POINTS = "points"
    RATING = "rating"
    RANKING = "ranking"
    MATRIX = "matrix"


class RoundState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    REVEALED = "revealed"


TITLE_MAX = 200
DESCRIPTION_MAX = 1000
REASON_MAX = 500
# A workshop's moderation policy, as the facilitator writes it for the phones.
POLICY_MAX = 2000
CATEGORY_MAX = 60
NICKNAME_MAX = 40
WORKSHOP_TITLE_MAX = 200
# The time zone a workshop's times are written in (exports): an IANA name. Stockholm for
# every language: Samsyn is made for Swedish public bodies, and a workshop held in English
# is still held in the same room (the facilitator sets another zone when it is not).
DEFAULT_TIME_ZONE = "Europe/Stockholm"
CATEGORIES_MAX = 12
GROUP_NAME_MAX = 60
GROUPS_MAX = 12
FACTORS_MAX = 500
# What participants' proposals may take of a workshop, so that however many cookies someone
# holds, the facilitator can always add, approve and merge. Proposals stop once the
# workshop holds FACTORS_MAX - FACILITATOR_RESERVE factors (the facilitator keeps at least
# 100 places for themselves), and at PROPOSALS_MAX proposals in all (of every status: none
# is deleted), well past what a room of 300 proposes (tens) yet below a board anyone reads.
FACILITATOR_RESERVE = 100
PROPOSALS_MAX = 200
# Proposals waiting for approval at once: the facilitator's queue stays one they can read.
PENDING_MAX = 50
# Ids and participant numbers are INTEGER columns: 32 bits on PostgreSQL.
ID_MAX = 2**31 - 1

LANGUAGES: tuple[str, ...] = ("sv", "en")

# Well-known category sets, named in each language. They are domain data (the names a
# workshop stores), not UI text, so they live here rather than in the message catalogues.
CATEGORY_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "pestel": {
        "sv": (
            "Politiska",
            "Ekonomiska",
            "Sociala",
            "Teknologiska",
            "Miljömässiga",
            "Legala",
        ),
        "en": (
            "Political",
            "Economic",
            "Social",
            "Technological",
            "Environmental",
            "Legal",
        ),
    },
    "swot": {
        "sv": ("Styrkor", "Svagheter", "Möjligheter", "Hot"),
        "en": ("Strengths", "Weaknesses", "Opportunities", "Threats"),
    },
}
DEFAULT_CATEGORY_SET = "pestel"
# Where a seed factor without a category goes.
OTHER_CATEGORY = {"sv": "Övrigt", "en": "Other"}

# Join codes avoid letters and digits that are easily confused when read aloud or typed.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


def new_join_code() -> str:
    """A random join code: six characters, about 30 bits."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """The join code as stored, from what a person typed (any case, spaces and dashes).
    Codes hold only letters and digits, so everything else is dropped: a lookup then never
    sends the database a character it cannot take (NUL, a lone surrogate)."""
    return re.sub(r"[^0-9A-Za-z]", "", typed).upper()


# Characters that draw nothing, yet change what a text says or how it reads: zero-width
# spaces and joiners, the soft hyphen, bidirectional controls (the embeddings, overrides,
# isolates and marks that can make one title read like another), the byte order mark,
# fillers and variation selectors: every character of Unicode's Default_Ignorable_Code_Point
# (DerivedCoreProperties.txt; Python's unicodedata does not expose it), and below every
# format (Cf), control (Cc) and surrogate (Cs) character too. Neither Swedish nor English
# needs any of them. Emoji need three kinds, kept only where they make a picture (`_emoji`).
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_ZWJ = "\u200d"  # joins 👩 and 💻 into 👩‍💻
_PRESENTATION = "\ufe0e\ufe0f"  # text or emoji style of the character before: ❤︎ ❤️
_BLACK_FLAG = "\U0001f3f4"  # with tag characters, a subdivision's flag: 🏴󠁧󠁢󠁳󠁣󠁴󠁿
_TAGS = range(0xE0020, 0xE0080)
_PICTURES = ("So", "Sk", "Cn")
# What a presentation selector may follow: symbols (❤, ©, ↔), a newer emoji, and the bases
# of keycaps and a few punctuation emoji (1️⃣, #️⃣, ‼️); never a letter, where it would only
# make "Klimat" and "Klimat\ufe0f" two titles that look the same.
_VARIED = ("So", "Sm", "Cn")
_KEYCAPS = "0123456789#*\u203c\u2049\u3030\u303d"
# Looks like a character but draws a blank, so it is a space: Braille's empty cell.
_BLANKS = "\u2800"


def _invisible(ch: str) -> bool:
    """Whether `ch` draws nothing (or is no character: a surrogate, a noncharacter)."""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Cc", "Cf", "Cs")
        or _IGNORABLE.match(ch) is not None
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFE == 0xFFFE
    )


def _emoji(ch: str, before: str, after: str) -> bool:
    """Whether the invisible `ch` is part of an emoji, between `before` (the last characters
    kept) and `after` (the next one typed): a zero-width joiner between two pictures, a
    presentation selector right after a symbol or a keycap's base, or a tag after the black flag
    (or after another tag). Pictures are symbols (So; Sk for skin tones), or unassigned in
    this Python's Unicode (a newer emoji)."""
    if ch == _ZWJ:
        last = before[-1:]
        if last and last in _PRESENTATION:
            last = before[-2:-1]
        return (
            bool(last and after)
            and unicodedata.category(last) in _PICTURES
            and unicodedata.category(after) in _PICTURES
            and not _invisible(after)
        )
    if ch in _PRESENTATION:
        last = before[-1:]
        return bool(last) and (unicodedata.category(last) in _VARIED or last in _KEYCAPS)
    if ord(ch) in _TAGS:
        return before[-1:] == _BLACK_FLAG or (bool(before) and ord(before[-1]) in _TAGS)
    return False


def without_invisible(line: str) -> str:
    """One line without the characters that draw nothing (see _IGNORABLE), except where an
    emoji needs them; whitespace of any kind (tabs too) becomes a plain space."""
    kept: list[str] = []
    for i, ch in enumerate(line):
        if ch.isspace() or ch in _BLANKS:
            kept.append(" ")
        elif not _invisible(ch) or _emoji(ch, "".join(kept[-2:]), line[i + 1 : i + 2]):
            kept.append(ch)
    return "".join(kept)


def _visible(text: str) -> bool:
    """Whether anything in `text` draws: a letter, number, punctuation or symbol (a lone
    combining mark or selector does not count); private-use and unassigned characters
    count, since a newer emoji is unassigned to an older Python."""
    return any(
        unicodedata.category(ch)[0] in "LNPS" or unicodedata.category(ch) in ("Co", "Cn")
        for ch in text
    )


def plain_text(value: str) -> str:
    """Text as stored, unchecked: Unicode NFC, the characters that draw nothing dropped
    (`without_invisible`), spaces collapsed, at most one blank line between paragraphs;
    empty when nothing visible is left."""
    lines = unicodedata.normalize("NFC", value).splitlines()
    text = "\n".join(" ".join(without_invisible(line).split()) for line in lines).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    # Dropping a character may have brought a letter and its accent together: compose them.
    text = unicodedata.normalize("NFC", text)
    return text if _visible(text) else ""


def clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """Text as stored (`plain_text`), or an error: `required` when nothing visible is left
    (a title of zero-width characters is no title), `too_long` past `max_length`."""
    text = plain_text(value)
    if required and not text:
        raise DomainError("required", N_("The %(field)s must not be empty."), field=field).at(field)
    if len(text) > max_length:
        raise DomainError(
            "too_long",
            N_("The %(field)s can be at most %(max)s characters."),
            field=field,
            max=max_length,
        ).at(field)
    return text


def clean_title(
    value: str, *, field: str = "title", max_length: int = TITLE_MAX, required: bool = True
) -> str:
    """A one-line title: like clean_text, with line breaks turned into spaces."""
    return clean_text(
        " ".join(value.splitlines()), field=field, max_length=max_length, required=required
    )


@dataclass(frozen=True)
class SeedFactor:
    title: str
    category: str | None = None
    description: str = ""


def category_names(language: str) -> set[str]:
    """Every name of the built-in category sets, in `language` and the others (casefolded),
    so that "Social: …" finds the category "Sociala" in a Swedish workshop."""
    return {
        name.casefold()
        for names in CATEGORY_SETS.values()
        for lang in names.values()
        for name in lang
    } | {name.casefold() for name in OTHER_CATEGORY.values()}


def parse_seed_lines(text: str, categories: Iterable[str]) -> list[SeedFactor]:
    """Factors pasted one a line, each optionally prefixed `Category: title`.

    A prefix that is not a known category name is part of the title: "EU: new rules" stays
    whole unless there is a category "EU".
    """
    known = {name.casefold() for name in categories}
    factors = []
    for raw in text.splitlines():
        # A line with nothing visible on it is a blank line, however it was typed.
        line = plain_text(raw).lstrip("-•*").strip()
        if not line:
            continue
        category = None
        head, sep, tail = line.partition(":")
        if sep and head.strip().casefold() in known and tail.strip():
            category, line = head.strip(), tail.strip()
        factors.append(SeedFactor(title=clean_title(line), category=category))
    return factors


def _distinct(
    names: Iterable[str], *, field: str, max_length: int, twice: tuple[str, str]
) -> list[str]:
    """Names as stored: cleaned, each once regardless of case (`twice`: the code and the
    message that name the one given again)."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for name in names:
        text = clean_title(name, field=field, max_length=max_length)
        if text.casefold() in seen:
            raise DomainError(*twice, name=text)
        seen.add(text.casefold())
        cleaned.append(text)
    return cleaned


def check_categories(names: Iterable[str]) -> list[str]:
    """Category names as stored: cleaned, unique regardless of case, at least one."""
    twice = ("duplicate_category", N_("The category %(name)s appears twice."))
    cleaned = _distinct(names, field="category", max_length=CATEGORY_MAX, twice=twice)
    if not cleaned:
        raise DomainError("no_categories", N_("A workshop needs at least one category."))
    if len(cleaned) > CATEGORIES_MAX:
        raise DomainError(
            "too_many_categories",
            N_("A workshop can have at most %(max)s categories."),
            max=CATEGORIES_MAX,
        )
    return cleaned


def check_groups(names: Iterable[str]) -> list[str]:
    """Stakeholder group names as stored: cleaned, unique regardless of case; none at all
    is a workshop without groups."""
    twice = ("duplicate_group", N_("The group %(name)s appears twice."))
    try:
        cleaned = _distinct(names, field="groups", max_length=GROUP_NAME_MAX, twice=twice)
    except DomainError as error:
        raise error.at("groups") from None
    if len(cleaned) > GROUPS_MAX:
        raise DomainError(
            "too_many_groups",
            N_("A workshop can have at most %(max)s groups."),
            max=GROUPS_MAX,
        ).at("groups")
    return cleaned


def check_group_change(*, has_voted: bool, required: bool, group_chosen: bool) -> None:
    """A participant picks their stakeholder group, or leaves it open where that is allowed,
    until they first vote: after that their answers are counted in it, and a change would
    rewrite what the group said."""
    if required and not group_chosen:
        raise DomainError("group_required", N_("Choose the group you belong to."))
    if has_voted:
        raise DomainError("group_fixed", N_("Your group cannot change once you have voted."))


def plan_categories(
    language: str, names: list[str] | None, seeds: list[SeedFactor]
) -> tuple[list[str], list[int]]:
    """A new workshop's categories, and for each seed factor the index of its category.

    Without names, the built-in PESTEL set in the workshop's language. A seed's category is
    found by name regardless of case, or by its name in a built-in set's other language
    ("Social" finds "Sociala"); an unknown name becomes a new category; a seed without one
    goes to "Other".
    """
    check_factor_count(len(seeds))
    categories = check_categories(
        names if names is not None else CATEGORY_SETS[DEFAULT_CATEGORY_SET][language]
    )
    index = {name.casefold(): i for i, name in enumerate(categories)}
    for names_by_language in CATEGORY_SETS.values():
        for i, name in enumerate(names_by_language[language]):
            if name.casefold() in index:
                for other in names_by_language.values():
                    index.setdefault(other[i].casefold(), index[name.casefold()])
    placement = []
    for seed in seeds:
        name = seed.category or OTHER_CATEGORY[language]
        key = clean_title(name, field="category", max_length=CATEGORY_MAX).casefold()
        if key not in index:
            categories = check_categories([*categories, name])
            index[key] = len(categories) - 1
        placement.append(index[key])
    return categories, placement


# --- Steps ---------------------------------------------------------------------------------


def check_time_zone(name: str) -> str:
    """An IANA time zone name the system knows ("Europe/Stockholm"), as given."""
    if name not in zoneinfo.available_timezones():
        raise DomainError(
            "bad_time_zone",
            N_("Give a time zone by its standard name, such as Europe/Stockholm or UTC."),
        ).at("time_zone")
    return name


def check_something_to_change(*values: object) -> None:
    """An edit must name at least one thing to change."""
    if all(value is None for value in values):
        raise DomainError("nothing_to_change", N_("Say what to change."))


def check_step_change(current: Step, target: Step, *, round_open: bool) -> None:
    """The facilitator may move to any step, forward or back, once no round is open."""
    if target is current:
        raise DomainError("same_step", N_("The workshop is already in that step."))
    if round_open:
        raise DomainError("round_open", N_("Close the open round before changing step."))


def check_can_join(step: Step, *, doors_closed: bool) -> None:
    """Someone new may join until the workshop is closed, or until the facilitator closes
    the doors (the room is in); those who joined before may always come back."""
    if step is Step.CLOSED:
        raise DomainError("workshop_closed", N_("The workshop is closed."))
    if doors_closed:
        raise DomainError("doors_closed", N_("The workshop takes no new participants."))


def check_can_propose(step: Step) -> None:
    """Participants propose factors while the workshop is being completed."""
    if step is not Step.COMPLETE:
        raise DomainError(
            "proposals_closed",
            N_("Factors can only be proposed while the group is adding factors."),
        )


def check_factor_count(total: int) -> None:
    """A workshop holds a bounded number of factors (every status counts: none is deleted)."""
    if total > FACTORS_MAX:
        raise DomainError(
            "too_many_factors", N_("A workshop can have at most %(max)s factors."), max=FACTORS_MAX
        ).at("factors")


def check_proposal_quota(proposed_so_far: int, quota: int) -> None:
    """A participant may propose a limited number of factors per workshop."""
    if proposed_so_far >= quota:
        raise DomainError(
            "proposal_quota",
            N_("You have proposed %(max)s factors, the most one person can."),
            max=quota,
        )


def check_proposal_room(*, factors: int, proposals: int, pending: int) -> None:
    """Participants together may take only part of a workshop's factors (`factors` in all,
    `proposals` by participants, `pending` of them awaiting approval), so that the facilitator
    always has room of their own and a queue they can go through."""
    if proposals >= PROPOSALS_MAX or factors >= FACTORS_MAX - FACILITATOR_RESERVE:
        raise DomainError("proposals_full", N_("The workshop takes no more proposals."))
    if pending >= PENDING_MAX:
        raise DomainError(
            "proposals_waiting",
            N_(
                "%(max)s proposals are waiting for the facilitator. Try again once they "
                "have gone through them."
            ),
            max=PENDING_MAX,
        )


def proposal_status(approval_required: bool) -> FactorStatus:
    """What a participant's proposal becomes: active at once, or waiting for approval."""
    return FactorStatus.PROPOSED if approval_required else FactorStatus.ACTIVE


# --- Factor moderation -----------------------------------------------------------------------

_MODERATION: dict[str, tuple[frozenset[FactorStatus], FactorStatus]] = {
    "approve": (frozenset({FactorStatus.PROPOSED}), FactorStatus.ACTIVE),
    "hide": (
        frozenset({FactorStatus.PROPOSED, FactorStatus.ACTIVE}),
        FactorStatus.HIDDEN,
    ),
    "remove": (
        frozenset({FactorStatus.PROPOSED, FactorStatus.ACTIVE, FactorStatus.HIDDEN}),
        FactorStatus.REMOVED,
    ),
    "restore": (
        frozenset({FactorStatus.HIDDEN, FactorStatus.REMOVED}),
        FactorStatus.ACTIVE,
    ),
}


S = TypeVar("S", bound=StrEnum)


def transition(
    moves: Mapping[str, tuple[frozenset[S], S]], status: S, action: str, refusal: str
) -> S:
    """The status an action leads to from `status` by the table `moves` (action: the
    statuses it applies to, and the one it gives), or the error `refusal` (naming the
    status) where it does not apply."""
    allowed, result = moves[action]
    if status not in allowed:
        raise DomainError("wrong_status", refusal, status=status.value)
    return result


def moderate(status: FactorStatus, action: str) -> FactorStatus:
    """The status a factor gets from a moderation action, or an error if it does not apply."""
    refusal = N_("This factor is %(status)s; it cannot be changed that way.")
    return transition(_MODERATION, status, action, refusal)


def check_merge(source: FactorStatus, target: FactorStatus, *, same: bool) -> None:
    """A duplicate (source) merges into a factor on the board (target); the source then
    stays in the record as merged, until the facilitator undoes the merge."""
    if same:
        raise DomainError("merge_self", N_("A factor cannot be merged into itself."))
    if target is not FactorStatus.ACTIVE:
        raise DomainError("merge_target", N_("Merge into a factor that is on the board."))
    if source not in (FactorStatus.PROPOSED, FactorStatus.ACTIVE, FactorStatus.HIDDEN):
        raise DomainError(
            "wrong_status",
            N_("This factor is %(status)s; it cannot be changed that way."),
            status=source.value,
        )


def check_unmerge(status: FactorStatus) -> None:
    """Only a merged factor can have its merge undone."""
    if status is not FactorStatus.MERGED:
        raise DomainError("not_merged", N_("This factor is not merged into another."))


def unmerged_status(before: str | None) -> FactorStatus:
    """The status a factor gets back when its merge is undone: the one it had before (a
    merge recorded before merges could be undone brings it back as active)."""
    statuses = (FactorStatus.PROPOSED, FactorStatus.ACTIVE, FactorStatus.HIDDEN)
    return next((s for s in statuses if s.value == before), FactorStatus.ACTIVE)


def check_distinct(factor_ids: Sequence[int]) -> None:
    """A command that names factors names each once."""
    if len(set(factor_ids)) != len(factor_ids):
        raise DomainError("duplicate_factor", N_("The same factor is named twice."))
