"""Languages: which one a page or a connection speaks, translated errors, and the strings the
browser scripts need.

Layer: edge. Swedish and English, with Flask-Babel's catalogues under translations/ (compiled
at set-up). A person's own choice wins; else the workshop's language; else the browser's.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel, force_locale, get_locale, gettext
from flask_babel import lazy_gettext as _l

from facilitation.core.domain import LANGUAGES

babel = Babel()


def select_locale() -> str:
    """The language of the current request."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    workshop_language = g.get("workshop_language")
    if workshop_language in LANGUAGES:
        return str(workshop_language)
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)


def language_for(workshop_language: str) -> str:
    """The language of a connection to a workshop: the person's choice, else the workshop's."""
    chosen = session.get("lang")
    return str(chosen) if chosen in LANGUAGES else workshop_language


# Names that error messages may carry as parameters, in words people read.
_PARAM_WORDS: dict[str, Any] = {
    "title": _l("title"),
    "description": _l("description"),
    "category": _l("category"),
    "category_id": _l("category"),
    "reason": _l("reason"),
    "nickname": _l("nickname"),
    "policy": _l("moderation policy"),
    "name": _l("name"),
    "entries": _l("votes"),
    "budget": _l("budget"),
    "cap": _l("cap"),
    "language": _l("language"),
    "factors": _l("factors"),
    "categories": _l("categories"),
    "active": _l("active"),
    "proposed": _l("proposed"),
    "hidden": _l("hidden"),
    "removed": _l("removed"),
    "merged": _l("merged"),
    "pending": _l("waiting for approval"),
    "shown": _l("shown"),
    "step": _l("step"),
    "method": _l("voting method"),
    "factor_id": _l("factor"),
    "round_id": _l("round"),
    "command_id": _l("command id"),
    "approval_required": _l("approval"),
    "payload": _l("message"),
    "body": _l("message"),
}


# Parameters that name a thing of ours (a field, a status), never text someone typed.
_WORD_PARAMS = ("field", "status")


def _word(value: str) -> str:
    """A field ("factors.0.title" → "title") or status in words of the current language."""
    last = value.rsplit(".", 1)[-1]
    return str(_PARAM_WORDS[last]) if last in _PARAM_WORDS else value


def _fill(template: str, params: dict[str, Any]) -> str:
    words = {
        k: _word(v) if k in _WORD_PARAMS and isinstance(v, str) else v for k, v in params.items()
    }
    for k, v in params.items():
        if isinstance(v, dict) and "message" in v:  # a message inside the message
            words[k] = _fill(v["message"], v.get("params") or {})
    return str(gettext(template, **words))


def localise(answer: dict[str, Any], language: str | None = None) -> dict[str, Any]:
    """An answer with its error message translated and filled in (ok answers pass as they are)."""
    if answer.get("ok", True):
        return answer
    error = dict(answer["error"])
    params = error.pop("params", {})
    if language:
        with force_locale(language):
            error["message"] = _fill(error["message"], params)
    else:
        error["message"] = _fill(error["message"], params)
    return {**answer, "error": error}


def client_messages() -> dict[str, Any]:
    """The words the browser scripts show, in the current language. Placeholders are
    %(name)s; plural pairs are [one, other]. Made once per language: every page has them,
    and a room of phones joins at once."""
    return _client_messages(str(get_locale()))


@functools.cache
def _client_messages(language: str) -> dict[str, Any]:
    return {
        "steps": {
            "prepare": gettext("Preparing"),
            "complete": gettext("Add factors"),
            "prune": gettext("Keep or remove"),
            "prioritise": gettext("Prioritise"),
            "results": gettext("Results"),
            "closed": gettext("Closed"),
        },
        "status": {
            "proposed": gettext("awaiting approval"),
            "active": gettext("on the board"),
            "hidden": gettext("hidden"),
            "removed": gettext("removed"),
            "merged": gettext("merged into another factor"),
        },
        "connection": {
            "online": gettext("Connected"),
            "offline": gettext(
                "Offline: your actions are kept and sent when the connection returns."
            ),
            "connecting": gettext("Connecting…"),
            "pending": [
                gettext("%(n)s action waiting to be sent"),
                gettext("%(n)s actions waiting to be sent"),
            ],
            "no_answer": gettext("The server did not answer. Please try again."),
            "too_large": gettext("That is too much to send at once."),
            "refusals": {
                "not_joined": gettext("Open the workshop's join link again to take part."),
                "forbidden": gettext(
                    "Only the facilitator can open this page. Use your facilitator link."
                ),
                "access_ended": gettext(
                    "Your access to this workshop has ended: this screen gets nothing more."
                    " Open it again with a facilitator link, or from your organizer account."
                ),
                "unknown_workshop": gettext("This workshop no longer exists."),
                "workshop_closed": gettext("The workshop is closed. Thank you for your interest!"),
                "doors_closed": gettext(
                    "The workshop takes no new participants: everyone taking part is already in."
                ),
                "too_many_joins": gettext(
                    "Very many are joining at once. This page tries again by itself shortly."
                ),
                "too_many_tries": gettext(
                    "Too many tries from this network. Wait a minute, then reload."
                ),
                "bad_handshake": gettext("This page could not connect. Reload it."),
            },
        },
        "keep": gettext("Keep"),
        "remove": gettext("Remove"),
        "most_keep": gettext("Most say keep"),
        "most_remove": gettext("Most say remove"),
        "tie": gettext("Tied"),
        "no_votes": gettext("No votes"),
        "agreement": gettext("%(percent)s agree"),
        "keep_remove_counts": gettext("%(keep)s keep, %(remove)s remove"),
        "dots": [gettext("%(n)s dot"), gettext("%(n)s dots")],
        "dots_left": gettext("%(left)s of %(budget)s dots left"),
        "cap_note": gettext("At most %(cap)s on one factor."),
        "add_dot": gettext("Add a dot to %(title)s"),
        "remove_dot": gettext("Take a dot from %(title)s"),
        "points": [gettext("%(n)s point"), gettext("%(n)s points")],
        "points_left": [gettext("%(n)s point left"), gettext("%(n)s points left")],
        "add_points": gettext("Add 10 points to %(title)s"),
        "remove_points": gettext("Take 10 points from %(title)s"),
        "points_for": gettext("Points for %(title)s"),
        "points_whole": gettext("Points are whole numbers."),
        "points_share": gettext("%(percent)s of all points"),
        "points_given_by": [
            gettext("given by %(n)s participant"),
            gettext("given by %(n)s participants"),
        ],
        "points_mean": gettext("mean %(mean)s"),
        "voted_of": gettext("%(voted)s of %(joined)s have voted"),
        "voted_progress": gettext("You have voted on %(done)s of %(total)s factors."),
        "participants": [gettext("%(n)s participant"), gettext("%(n)s participants")],
        "connected": gettext("%(n)s connected"),
        "saved": gettext("Saved"),
        "sending": gettext("Sending…"),
        "proposal_sent": gettext("Thank you! Your factor is on the board."),
        "proposal_waiting": gettext("Thank you! The facilitator will look at your factor."),
        "alike_choose": gettext("That's it"),
        "alike_choose_label": gettext("“%(title)s” is what I meant"),
        "alike_chosen": gettext("Good: “%(title)s” is already there, no need to propose it."),
        "waiting_round": gettext("Waiting for the facilitator to open the vote."),
        "round_closed": gettext(
            "The vote is closed. Results come when the facilitator shows them."
        ),
        "round_open_keep": gettext("Vote keep or remove on each factor."),
        "round_open_dots": gettext("Spread your dots over the factors that matter most."),
        "round_open_points": gettext(
            "Share out 100 points over the factors that matter most. You need not use them all."
        ),
        "no_factors": gettext("No factors yet."),
        "reason": gettext("Reason: %(reason)s"),
        "confirm_close": gettext(
            "Close the workshop? Nobody can change anything until you reopen it."
        ),
        "error": gettext("Something went wrong: %(message)s"),
        "round": gettext("Round %(number)s"),
        "round_states": {
            "open": gettext("open"),
            "closed": gettext("closed, not yet shown"),
            "revealed": gettext("shown to everyone"),
        },
        "methods": {
            "keep_remove": gettext("Keep or remove"),
            "dots": gettext("Dot voting"),
            "points": gettext("100 points"),
            "rating": gettext("Rating"),
            "ranking": gettext("Ranking"),
            "matrix": gettext("Impact and uncertainty"),
        },
        "round_open_rating": gettext("Rate how important each factor is, from 1 to %(scale)s."),
        "round_open_ranking": gettext("Pick the %(top_k)s factors that matter most, in order."),
        "round_open_matrix": gettext("Rate each factor's impact on us and how uncertain it is."),
        "scale_legend": gettext("1 = very little, %(scale)s = very much."),
        "delphi_note": gettext(
            "This is a new round: you see what the group said last time, and may change your mind."
        ),
        "reuse_previous": gettext("Start from my previous answers"),
        "group_last_time": gettext("Group last time: %(summary)s"),
        # Reasons from the edges (core/reasons.py): kind words, nobody named.
        "reasons_heading": gettext("Why some answered differently · round %(number)s"),
        "outside_value": gettext(
            "You answered %(answer)s; the middle half of the group answered %(q1)s–%(q3)s."
        ),
        "outside_axis": gettext(
            "%(axis)s: you answered %(answer)s; the middle half of the group answered "
            "%(q1)s–%(q3)s."
        ),
        "reason_label": gettext("Your reason (optional, at most 280 characters)"),
        "reason_send": gettext("Share my reason"),
        "reason_change": gettext("Change my reason"),
        "reason_sent": gettext(
            "Thank you. Your reason is shown beside the result, without your name."
        ),
        "reason_waiting": gettext(
            "Thank you. Your reason is shown without your name once the facilitator has approved it."
        ),
        "reason_states": {
            "pending": gettext("waiting for the facilitator"),
            "shown": gettext("shown to the group"),
            "hidden": gettext("hidden by the facilitator"),
        },
        "your_reason": gettext("Your reason (%(state)s): %(text)s"),
        "you_last_time": gettext("you: %(answer)s"),
        "no_opinion": gettext("No opinion"),
        "no_opinion_count": [
            gettext("%(n)s without an opinion"),
            gettext("%(n)s without an opinion"),
        ],
        "place": gettext("place %(rank)s"),
        "matrix_answer": gettext("impact %(impact)s, uncertainty %(uncertainty)s"),
        "rate_as": gettext("%(title)s: %(value)s of %(scale)s"),
        "impact": gettext("Impact"),
        "uncertainty": gettext("Uncertainty"),
        "axis_as": gettext("%(title)s, %(axis)s: %(value)s of %(scale)s"),
        "ranked_of": gettext("You have ranked %(n)s of %(top_k)s."),
        "your_ranking": gettext("Your ranking"),
        "ranking_empty": gettext("Add up to %(top_k)s factors below, most important first."),
        "not_ranked": gettext("Not ranked"),
        "add_to_ranking": gettext("Add to my ranking"),
        "rank_add": gettext("Add %(title)s to your ranking"),
        "move_up": gettext("Move %(title)s up"),
        "move_down": gettext("Move %(title)s down"),
        "unrank": gettext("Take %(title)s out of your ranking"),
        "own_proposal": gettext("Your proposal: the others decide on it"),
        "median": gettext("median %(median)s"),
        "iqr": gettext("middle half %(q1)s–%(q3)s"),
        "distribution": gettext("ratings 1–%(scale)s: %(counts)s"),
        "mean_place": gettext("average place %(place)s"),
        "ranked_by": gettext("in %(n)s of %(ballots)s rankings"),
        "impact_is": gettext("impact %(median)s (%(q1)s–%(q3)s)"),
        "uncertainty_is": gettext("uncertainty %(median)s (%(q1)s–%(q3)s)"),
        "quadrants": {
            "key_trend": gettext("Key trend"),
            "critical_uncertainty": gettext("Critical uncertainty"),
            "weak_signal": gettext("Watch"),
            "minor_trend": gettext("Minor trend"),
        },
        "matrix_label": gettext(
            "Impact and uncertainty of each factor: the list beside it gives every value."
        ),
        "consensus_reached": gettext("Consensus reached"),
        "consensus_announce": gettext("The group has reached consensus in round %(number)s."),
        # Said to screen readers, once, when a round opens, closes or is revealed.
        "round_announce": {
            "open": gettext("Round %(number)s is open: %(method)s."),
            "closed": gettext("Round %(number)s is closed."),
            "revealed": gettext("The results of round %(number)s are shown."),
        },
        "consensus_w": gettext("Concordance (Kendall's W) %(w)s; consensus at %(rule)s"),
        "consensus_factors": gettext("%(meeting)s of %(factors)s factors have consensus"),
        "consensus_no_answers": gettext("No answers yet"),
        "verdicts": {
            "in": gettext("consensus in"),
            "out": gettext("consensus out"),
            "none": gettext("no consensus"),
            "divided": gettext("divided"),
            "too_few": gettext("too few answers"),
        },
        "presets": {
            "agreement": gettext("agreement share"),
            "cos": gettext("core outcome set (70/15)"),
            "iqr": gettext("interquartile range"),
            "agreement_iqr": gettext("agreement share and interquartile range"),
        },
        "rule_text": gettext("Rule: %(rule)s"),
        "rule_agreement": gettext("%(percent)s agree"),
        "rule_iqr": gettext("middle half within %(iqr)s"),
        "rule_w": gettext("Kendall's W at least %(w)s"),
        "rule_enough": gettext("judged when %(share)s of ballots answer, at least %(n)s"),
        "rule_every_group": gettext("in every group"),
        "too_few_on": gettext("Too few answers: %(factors)s"),
        "divided_on": gettext("Divided: %(factors)s"),
        "small_panel": gettext(
            "Fewer than 10 ballots: the middle half and W change a lot with a single answer."
        ),
        "rule_changed": gettext(
            "The rule was changed after the results were seen. Declared: %(rule)s"
        ),
        "by_group": gettext("By stakeholder group"),
        "group_line": gettext("%(group)s: %(verdict)s"),
        "groups_behind": gettext("Not yet agreed in every group: %(groups)s"),
        "groups_withheld": gettext(
            "No figures for %(groups)s: fewer than three answered, or the figures would show"
            " what one or two people answered."
        ),
        "turnout": gettext("%(joined)s joined · %(answered)s answered · %(skipped)s skipped"),
        "turnout_dropped": gettext("%(n)s who answered the round before did not answer this one"),
        "turnout_group": gettext("%(group)s: %(answered)s of %(joined)s answered"),
        "group": {
            "heading": gettext("Which group do you belong to?"),
            "why": gettext(
                "The results are also shown per group. Nobody sees which group you chose,"
                " and no group's figures are shown when fewer than three in it answered."
            ),
            "none": gettext("I would rather not say"),
            "save": gettext("Save"),
            "chosen": gettext("You are in the group %(group)s."),
            "fixed": gettext("Your group stays as it is now that you have voted."),
            "change": gettext("Change group"),
            "required": gettext("Choose your group before you vote."),
        },
        "history": gettext("The rounds so far"),
        "stability": gettext("order kept: %(rho)s"),
        # How far a factor's answers moved since the previous round, and the next step the
        # console recommends (docs/consensus.md, "Stability and when to stop").
        "change_moved": gettext("moved %(percent)s since the previous round"),
        "change_stable": gettext("stable: moved %(percent)s since the previous round"),
        "next_step": {
            "stop_consensus": gettext("Next step: stop. The group has reached consensus."),
            "stop_stable": gettext(
                "Next step: stop. No consensus, but the answers are stable: no factor without "
                "consensus moved more than %(percent)s since the previous round, so another "
                "round will not move them."
            ),
            "stop_max_rounds": gettext(
                "Next step: stop. The %(max)s rounds set in advance have been held."
            ),
            "continue": gettext("Next step: another round."),
        },
        "still_moving": gettext("Still moving (more than %(percent)s): %(factors)s"),
        "nothing_to_compare": gettext("Nothing to compare with yet: %(factors)s"),
        "nothing_to_compare_yet": gettext(
            "This is the first round of its kind: nothing to compare with yet."
        ),
        "rounds_held": gettext("Rounds held: %(rounds)s of at most %(max)s"),
        "live": gettext("live"),
        "time_up": gettext("Time is up"),
        "time_left": gettext("%(time)s left"),
        "pause_updates": gettext("Pause updates"),
        "resume_updates": gettext("Resume updates"),
        "updates_paused": gettext(
            "Updates are paused. The board shows what it showed when paused."
        ),
        "preview_not_sent": gettext("Preview: nothing is sent."),
        "by_participant": gettext("from participant %(number)s"),
        "ballots": [gettext("%(n)s ballot"), gettext("%(n)s ballots")],
        "nothing_pending": gettext("Nothing waiting for approval."),
        "exports": _export_messages(language),
        "console": {
            "replace_link": gettext(
                "Replace the facilitator link? Screens opened with the old one, such as the "
                "board on another computer, are disconnected and must be opened again with "
                "the new link."
            ),
            "link_copied": gettext("Copied. Keep the link somewhere safe."),
            "duplicate_pair": gettext("“%(from)s” looks like “%(into)s”"),
            "moved": {
                "caption": gettext("How the picture moved, round by round"),
                "factor": gettext("Factor"),
                "final": gettext("Where it ended"),
                "kept_by": gettext("kept by %(percent)s"),
                "hint": gettext(
                    "Each revealed round's figure and verdict per factor. Where it ended is "
                    "the factor's last measured result, with its round."
                ),
                "in_round": gettext("round %(number)s"),
            },
            "merge_duplicate": gettext("Merge"),
            "merge_duplicate_label": gettext("Merge “%(from)s” into “%(into)s”"),
            "link_not_copied": gettext(
                "Could not copy: the link is selected, copy it with Ctrl+C (⌘C on a Mac)."
            ),
            "open": {
                "keep_remove": gettext("Open the keep-or-remove vote"),
                "dots": gettext("Open dot voting"),
                "points": gettext("Open 100 points"),
                "rating": gettext("Open the rating"),
                "ranking": gettext("Open the ranking"),
                "matrix": gettext("Open impact and uncertainty"),
            },
            "open_again": gettext("Open another round (the group sees this one's results)"),
            "method": gettext("How the group prioritises"),
            "scale": gettext("Scale"),
            "scale_top": gettext("Scale from 1 to"),
            "top_k": gettext("Factors each person ranks"),
            "live_results": gettext("Show the results live, while people vote"),
            "shuffle": gettext("Each phone lists the factors in its own order (against anchoring)"),
            "no_own_votes": gettext("Nobody votes on a factor they proposed themselves"),
            "shuffled": gettext("each phone in its own order"),
            "own_excluded": gettext("no votes on one's own proposals"),
            "merge": gettext("Merge"),
            "merged_here": gettext("Merged into this factor"),
            "unmerge": gettext("Undo the merge"),
            "unmerge_label": gettext("Undo the merge of %(title)s"),
            "voted_out_heading": gettext("Voted out in round %(number)s"),
            "voted_out_hint": gettext(
                "The group voted to remove these factors. Check each reason, then remove "
                "them one by one or all at once."
            ),
            "voted_out_reason": gettext(
                "Voted out in round %(number)s: %(share)s voted to remove "
                "(the rule asks for %(threshold)s)."
            ),
            "reason_for": gettext("Reason for removing %(title)s"),
            "remove_one": gettext("Remove %(title)s"),
            "remove_all": [
                gettext("Remove the voted-out factor"),
                gettext("Remove all %(n)s voted-out factors"),
            ],
            "proxy_name": gettext("Proxy %(number)s"),
            "of_them_proxies": [
                gettext("%(n)s of them a proxy"),
                gettext("%(n)s of them proxies"),
            ],
            "doors_closed": gettext("The doors are closed: nobody new can join."),
            "doors_opened": gettext("The doors are open: new participants can join."),
            "vote_for": gettext("Enter their votes"),
            "no_group": gettext("No group"),
            "group_number": gettext("Group %(n)s"),
            "by_a_participant": gettext("by a participant"),
            "actions": {
                "workshop.created": gettext("Workshop created"),
                "facilitator_link.replaced": gettext("Facilitator link replaced"),
                "workshop.configured": gettext("Settings changed"),
                "step.changed": gettext("Step changed"),
                "category.added": gettext("Category added"),
                "category.renamed": gettext("Category renamed"),
                "factor.added": gettext("Factor added"),
                "factor.proposed": gettext("Factor proposed"),
                "factor.edited": gettext("Factor edited"),
                "factor.approved": gettext("Factor approved"),
                "factor.hidden": gettext("Factor hidden"),
                "factor.removed": gettext("Factor removed"),
                "factor.restored": gettext("Factor restored"),
                "factor.merged": gettext("Factor merged"),
                "factor.unmerged": gettext("Merge undone"),
                "round.opened": gettext("Round opened"),
                "round.configured": gettext("Live results switched"),
                "round.closed": gettext("Round closed"),
                "round.revealed": gettext("Results shown"),
                "proxy.added": gettext("Proxy added"),
                "groups.set": gettext("Stakeholder groups changed"),
                "reason.given": gettext("Reason given"),
                "reason.approved": gettext("Reason approved"),
                "reason.hidden": gettext("Reason hidden"),
                "doors.closed": gettext("Doors closed to new participants"),
                "doors.opened": gettext("Doors opened to new participants"),
            },
            "close_round": gettext("Close the vote"),
            "reveal_round": gettext("Show the results to everyone"),
            "preview_note": gettext("Only you see these results until you show them."),
            "budget": gettext("Dots per participant"),
            "cap": gettext("Most dots on one factor"),
            "points_cap": gettext("Most points on one factor (empty: no cap)"),
            "points_cap_set": gettext("Most points on one factor"),
            "points_budget": gettext("Points per participant: 100"),
            "no_cap": gettext("no cap"),
            "approve": gettext("Approve"),
            "show_reason": gettext("Show"),
            "reason_of": gettext("%(factor)s · round %(number)s"),
            "no_reasons": gettext(
                "No reasons yet. After a rating, 100-points or matrix round is shown, those "
                "whose answer lay outside the middle half may give one."
            ),
            "edit": gettext("Edit"),
            "hide": gettext("Hide"),
            "restore": gettext("Restore"),
            "voting_elsewhere": gettext(
                "Voting happens in the steps “Keep or remove” and “Prioritise”."
            ),
            "step_blocked": gettext("Close the open vote before changing step."),
            "step_hints": {
                "prepare": gettext(
                    "Check the factors and categories. Participants who join now wait for the start."
                ),
                "complete": gettext("Participants propose missing factors from their phones."),
                "prune": gettext("Open a vote: everyone says keep or remove for each factor."),
                "prioritise": gettext(
                    "Open a round: dot voting, 100 points, rating, ranking, or impact and uncertainty. Another round of the same kind lets the group revise."
                ),
                "results": gettext("The board shows the results of the latest vote."),
                "closed": gettext(
                    "The workshop is locked. Export the results, or step back to reopen it."
                ),
            },
            "origins": {
                "seeded": gettext("prepared"),
                "proposed": gettext("proposed by a participant"),
                "facilitator": gettext("added by you"),
            },
        },
    }


@functools.cache
def _export_messages(language: str) -> dict[str, Any]:
    """The words of export links that show their progress (static/js/exports.js)."""
    return {
        "preparing": gettext("Preparing the export…"),
        "queued": gettext("%(file)s waits its turn (%(ahead)s before it)."),
        "running": gettext("%(file)s: %(stage)s, %(percent)s done."),
        "ready": gettext("%(file)s is ready: it is in your downloads."),
        "failed": gettext("The export failed. Please try again."),
        "offline": gettext("The server cannot be reached. Try the export again."),
        "stages": {
            "reading": gettext("reading the record"),
            "json": gettext("writing the JSON file"),
            "csv": gettext("writing the CSV file"),
            "xlsx": gettext("writing the Excel workbook"),
            "pdf": gettext("writing the PDF report"),
            "zip": gettext("packing the zip file"),
            "working": gettext("working"),
        },
    }


def picture_messages() -> dict[str, Any]:
    """The words of the combined picture (organizers' page and the follow page)."""
    return _picture_messages(str(get_locale()))


@functools.cache
def _picture_messages(language: str) -> dict[str, Any]:
    return {
        "steps": _client_messages(language)["steps"],
        "methods": _client_messages(language)["methods"],
        "exports": _export_messages(language),
        "connection": _client_messages(language)["connection"],
        "workshops": gettext("The workshops"),
        "no_workshops": gettext("No workshop has been held yet."),
        "workshop_line": gettext("%(letter)s: %(group)s"),
        "revealed": [gettext("%(n)s round shown"), gettext("%(n)s rounds shown")],
        "consensus_reached": gettext("consensus reached"),
        "consensus_not": gettext("no consensus yet"),
        "picture": gettext("Priority across the workshops"),
        "picture_note": gettext(
            "Each factor's priority across the workshops, from 0 to 1, highest first. The bars below it are each workshop's own priority."
        ),
        "nothing_yet": gettext(
            "Nothing to combine yet: results count once a workshop has shown a prioritisation round."
        ),
        "priority": gettext("priority %(value)s"),
        "rank": gettext("Rank"),
        "factor": gettext("Factor"),
        "category": gettext("Category"),
        "combined": gettext("Combined"),
        "between": gettext("Between the groups"),
        "place_of": gettext("place %(place)s of %(of)s"),
        "agreed": gettext("consensus"),
        "coverage": gettext("prioritised in %(n)s of %(total)s workshops"),
        "agreement": {
            "agree": gettext("The groups agree"),
            "partly": gettext("The groups partly agree"),
            "differ": gettext("The groups differ"),
        },
        "fate": {
            "kept": gettext("kept"),
            "removed": gettext("removed"),
            "merged": gettext("merged"),
            "absent": gettext("not in this workshop"),
            "hidden": gettext("not on the board"),
        },
        "tier": {
            "high": gettext("high"),
            "medium": gettext("middle"),
            "low": gettext("low"),
            "removed": gettext("removed"),
        },
        "merged_into": gettext("merged into %(title)s"),
        "called_here": gettext("called “%(title)s” here"),
        "side_by_side": gettext("Each workshop's result, side by side"),
        "table_label": gettext("The combined picture as a table"),
        "differ_heading": gettext("Where the groups differ"),
        "differ_none": gettext("No factor is high for one group and low for another."),
        "concordance": gettext(
            "How alike the groups' orders are (Kendall's W): %(w)s, over %(items)s factors they all prioritised"
        ),
        "concordance_none": gettext(
            "How alike the groups' orders are can be told once two workshops have prioritised the same factors."
        ),
        "final": gettext("The final agreed list"),
        "final_none": gettext("The series has not been concluded yet."),
        "evidence": gettext("Evidence"),
        "updated": gettext("The picture was updated."),
        "unpublished": gettext("This page is no longer public."),
        "open": {
            "about": gettext("About the process"),
            "coming": gettext("Coming workshops"),
            "held": gettext("held %(date)s"),
            "not_held": gettext("not held yet"),
            "took_part": [gettext("%(n)s person took part"), gettext("%(n)s people took part")],
            "few": gettext("fewer than %(n)s took part"),
            "concluded": gettext("The final list was concluded on %(date)s."),
            "decisions": gettext("Decisions"),
            "decisions_note": gettext(
                "Factors of the starting list that a workshop removed, with the reasons the organizer published."
            ),
            "decision": gettext("%(group)s removed “%(title)s”"),
            "reason": gettext("Reason: %(reason)s"),
            "no_decisions": gettext("No workshop has removed a factor of the starting list."),
        },
        "figures": {
            "median": gettext("median %(median)s"),
            "dots": [gettext("%(n)s dot"), gettext("%(n)s dots")],
            "points": [gettext("%(n)s point"), gettext("%(n)s points")],
            "share": gettext("%(percent)s of all points"),
            "mean_rank": gettext("average place %(place)s"),
            "agreement": gettext("%(percent)s agree"),
        },
    }
