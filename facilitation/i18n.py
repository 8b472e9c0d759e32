"""Languages: which one a page or a connection speaks, translated errors, and the strings the
browser scripts need.

Layer: edge. Swedish and English, with Flask-Babel's catalogues under translations/ (compiled
at set-up). A person's own choice wins; else the workshop's language; else the browser's.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel, force_locale, gettext
from flask_babel import lazy_gettext as _l

from .domain import LANGUAGES

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
    %(name)s; plural pairs are [one, other]."""
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
                "unknown_workshop": gettext("This workshop no longer exists."),
                "workshop_closed": gettext("The workshop is closed. Thank you for your interest!"),
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
        "voted_of": gettext("%(voted)s of %(joined)s have voted"),
        "voted_progress": gettext("You have voted on %(done)s of %(total)s factors."),
        "participants": [gettext("%(n)s participant"), gettext("%(n)s participants")],
        "connected": gettext("%(n)s connected"),
        "saved": gettext("Saved"),
        "sending": gettext("Sending…"),
        "proposal_sent": gettext("Thank you! Your factor is on the board."),
        "proposal_waiting": gettext("Thank you! The facilitator will look at your factor."),
        "waiting_round": gettext("Waiting for the facilitator to open the vote."),
        "round_closed": gettext(
            "The vote is closed. Results come when the facilitator shows them."
        ),
        "round_open_keep": gettext("Vote keep or remove on each factor."),
        "round_open_dots": gettext("Spread your dots over the factors that matter most."),
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
        "methods": {"keep_remove": gettext("Keep or remove"), "dots": gettext("Dot voting")},
        "by_participant": gettext("from participant %(number)s"),
        "ballots": [gettext("%(n)s ballot"), gettext("%(n)s ballots")],
        "nothing_pending": gettext("Nothing waiting for approval."),
        "console": {
            "open_keep_remove": gettext("Open the keep-or-remove vote"),
            "open_dots": gettext("Open dot voting"),
            "close_round": gettext("Close the vote"),
            "reveal_round": gettext("Show the results to everyone"),
            "preview_note": gettext("Only you see these results until you show them."),
            "budget": gettext("Dots per participant"),
            "cap": gettext("Most dots on one factor"),
            "approve": gettext("Approve"),
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
                    "Open dot voting: everyone spreads their dots over the factors that matter most."
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
