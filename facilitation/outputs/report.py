"""The PDF report: the agreed picture as a document to send on. A first page that reads on
its own (the picture agreed, the top priorities, key trends and critical uncertainties, the
verdicts, participation per round), then the details: the steps taken, the final factors by
category each with its last measured result, charts, every round's consensus measures, and
what was removed or merged and why.

Layer: outputs. Takes the record built by the read side (plain data) and writes an A4 PDF
on a `Document` (pdf_document.py); how each voting method's rounds are shown is in
report_methods.py, the charts in pdf_charts.py. No database, no Flask. Every fixed text goes
through the `gettext` given; everything a person typed is escaped before ReportLab's
Paragraph parses it as markup. Answers (even by participant number) are never printed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from reportlab.platypus import PageBreak, Spacer

from facilitation.core.domain import N_
from facilitation.outputs.export import WORDS, word
from facilitation.outputs.pdf import DASH
from facilitation.outputs.pdf_document import Document
from facilitation.outputs.report_methods import METHODS, round_measures, turnout, verdict_cell

# The share of a round's table that its verdict column takes ("för få svar (12 av 40)").
VERDICT_WIDTH = 0.14
# How many of the top priorities the first page names.
TOP = 5

_METHODS = WORDS["method"]
_STEPS = WORDS["step"]
_GONE = WORDS["status"]
_PRIORITISING = [m for m, view in METHODS.items() if view.result]
# What the log counts about factors; the first four are shown even when none happened.
_COUNTED = (
    ("factor.added", N_("Added by the facilitator")),
    ("factor.proposed", N_("Proposed by participants")),
    ("factor.removed", N_("Removed")),
    ("factor.merged", N_("Merged into another factor")),
    ("factor.approved", N_("Approved by the facilitator")),
    ("factor.edited", N_("Edited")),
    ("factor.hidden", N_("Hidden")),
    ("factor.restored", N_("Restored")),
    ("factor.unmerged", N_("Merge undone")),
)


def to_pdf(record: dict[str, Any], gettext: Callable[[str], str]) -> bytes:
    """The workshop's report as an A4 PDF, in the language `gettext` translates to."""
    w = record["workshop"]
    return _Report(record, Document(gettext, w.get("language"), w.get("time_zone"))).build()


class _Report:
    """One workshop's report being written on `doc`."""

    def __init__(self, record: dict[str, Any], doc: Document) -> None:
        self.record, self.doc, self._ = record, doc, doc._

    def build(self) -> bytes:
        story = [
            *self.title_page(),
            *self.summary(),
            PageBreak(),
            *self.steps(),
            *self.final_factors(),
            *self.charts(),
            *self.consensus(),
            *self.reasons(),
            *self.removed(),
        ]
        title = self.record["workshop"]["title"]
        return self.doc.build(story, title=title, subject=self._("Workshop report"))

    def round_name(self, r: dict[str, Any]) -> str:
        number = self._("Round %(number)s") % {"number": r["number"]}
        return f"{number}: {self.doc.word(_METHODS, r['method'])}"

    def latest(self, methods: Collection[str]) -> dict[str, Any] | None:
        """The latest closed round of one of `methods` in the record."""
        rounds = [r for r in self.record["rounds"] if r["method"] in methods]
        return rounds[-1] if rounds else None

    def active(self) -> list[dict[str, Any]]:
        """The factors on the board: the agreed picture."""
        return [f for f in self.record["factors"] if f["status"] == "active"]

    def last_measured(self, methods: Collection[str]) -> dict[int, tuple[dict[str, Any], Any]]:
        """Each factor's last measured result in a round of `methods`: (round, row) by id. A
        later round that did not measure a factor (nobody answered it, or it was not in it)
        leaves its earlier result standing."""
        found: dict[int, tuple[dict[str, Any], Any]] = {}
        for r in self.record["rounds"]:
            if r["method"] not in methods or not r["ballots"]:
                continue
            view = METHODS[r["method"]]
            for row in r["factors"]:
                if view.measured(row):
                    found[row["factor_id"]] = (r, row)
        return found

    def widest(self) -> dict[str, Any] | None:
        """The latest prioritisation round that measured the most of the kept factors: the
        one whose order the top priorities follow (a later round on a few of them does not
        make the others' order)."""
        kept = {f["id"] for f in self.active()}
        best, most = None, 0
        for r in self.record["rounds"]:
            if r["method"] not in _PRIORITISING or not r["ballots"]:
                continue
            view = METHODS[r["method"]]
            count = sum(
                1 for row in r["factors"] if row["factor_id"] in kept and view.measured(row)
            )
            if count and count >= most:
                best, most = r, count
        return best

    def title_page(self) -> list[Any]:
        w, doc, _ = self.record["workshop"], self.doc, self._
        rule = w.get("consensus_rule") or {}

        def held_to(measure: str) -> str:
            names = [doc.word(_METHODS, m) for m, v in METHODS.items() if v.measure == measure]
            return ", ".join(names)

        agreement = _("Agreement at least %(percent)s (%(methods)s)") % {
            "percent": doc.pct(rule.get("agreement")),
            "methods": held_to("agreement"),
        }
        concordance = _("Kendall's W at least %(w)s (%(methods)s)") % {
            "w": doc.num(rule.get("kendall_w"), 2),
            "methods": held_to("kendall_w"),
        }
        participants = _("%(participants)s, of whom %(proxies)s by proxy") % {
            "participants": w["participants"],
            "proxies": w["proxies"],
        }
        return doc.front(
            w["title"],
            _("Preliminary report, during the workshop")
            if self.record.get("preliminary")
            else _("Workshop report"),
            [
                (_("Workshop created"), doc.date(w["created_at"])),
                (_("Participants"), participants),
                (_("Consensus rule"), f"{agreement}\n{concordance}"),
                (_("Step at export"), doc.word(_STEPS, w.get("step"))),
                (_("Time zone"), doc.time_zone),
            ],
        )

    def summary(self) -> list[Any]:
        """The first page's account, for a reader who reads nothing else: the picture agreed
        by category, the top priorities, the key trends and critical uncertainties (where a
        round placed factors on the matrix), the verdicts and who took part, round by round."""
        doc, _ = self.doc, self._
        out: list[Any] = [*doc.heading(_("The agreed picture"), 1)]
        active = self.active()
        if not active:
            out.append(doc.para(_("No factors are on the board.")))
        by_category = [
            (c, [f["title"] for f in active if f["category"] == c])
            for c in self.record["categories"]
        ]
        rows = [(f"{c} ({len(titles)})", " · ".join(titles)) for c, titles in by_category if titles]
        if rows:
            out.append(doc.pairs(rows))
        out += self.top_priorities()
        out += self.quadrants()
        out += self.verdicts()
        return out

    def top_priorities(self) -> list[Any]:
        """The first kept factors in the order of the round that measured most of them."""
        doc, _ = self.doc, self._
        widest = self.widest()
        if widest is None:
            return []
        view = METHODS[widest["method"]]
        kept = {f["id"] for f in self.active()}
        rows = [
            row
            for row in widest["factors"]
            if row["factor_id"] in kept and view.measured(row) and row.get("rank") is not None
        ]
        rows.sort(key=lambda row: row["rank"])
        note = _("In the order of %(round)s.") % {"round": self.round_name(widest)}
        body = [
            [
                str(row["rank"]),
                row["title"],
                view.standing(doc, row),
                word(_, "verdict", row.get("verdict")) or DASH,
            ]
            for row in rows[:TOP]
        ]
        header = [_("Rank"), _("Factor"), _("Result"), _("Verdict")]
        return [
            *doc.heading(_("Top priorities"), 1),
            doc.para(note, "small"),
            doc.table(header, body, [0.09, 0.39, 0.36, 0.16]),
        ]

    def quadrants(self) -> list[Any]:
        """The kept factors that the matrix last placed as key trends and as critical
        uncertainties; nothing when no round placed factors on the matrix."""
        doc, _ = self.doc, self._
        placed = self.last_measured(["matrix"])
        if not placed:
            return []
        out: list[Any] = []
        for code, heading in (
            ("key_trend", N_("Key trends")),
            ("critical_uncertainty", N_("Critical uncertainties")),
        ):
            titles = [
                f["title"]
                for f in self.active()
                if f["id"] in placed and placed[f["id"]][1].get("quadrant") == code
            ]
            out += doc.heading(_(heading), 1)
            out.append(doc.para(" · ".join(titles) if titles else _("None.")))
        return out

    def verdicts(self) -> list[Any]:
        """Each round's verdict under the rule, and who took part in it."""
        doc, _ = self.doc, self._
        rounds = self.record["rounds"]
        if not rounds:
            return [*doc.heading(_("Consensus verdicts"), 1), doc.para(_("No round was closed."))]
        verdicts, people = [], []
        for r in rounds:
            verdict = r.get("verdict") or {}
            said = _("Consensus reached") if verdict.get("reached") else _("Not reached")
            if verdict.get("measure") == "agreement":
                said += "; " + _("factors meeting the rule: %(meeting)s of %(factors)s") % {
                    "meeting": verdict.get("factors_meeting") or 0,
                    "factors": verdict.get("factors") or 0,
                }
            elif (r.get("concordance") or {}).get("w") is not None:
                said += "; " + _("Kendall's W") + " " + doc.num(r["concordance"]["w"], 2)
            verdicts.append((self.round_name(r), said))
            took_part = turnout(doc, r["participation"]) if r.get("participation") else ""
            ballots = _("%(n)s ballots") % {"n": r["ballots"]}
            people.append((self.round_name(r), f"{ballots}; {took_part}" if took_part else ballots))
        return [
            *doc.heading(_("Consensus verdicts"), 1),
            doc.pairs(verdicts),
            *doc.heading(_("Participation per round"), 1),
            doc.pairs(people),
        ]

    def steps(self) -> list[Any]:
        """A readable account of the audit log: steps, counts of factor changes, the rounds."""
        doc, _, log = self.doc, self._, self.record["log"]
        counts = Counter(e["action"] for e in log)
        prepared = sum(
            int(e["details"].get("factors", 0)) for e in log if e["action"] == "workshop.created"
        )
        rows = [(_("Prepared factors"), str(prepared))]
        rows += [
            (_(label), str(counts[action]))
            for i, (action, label) in enumerate(_COUNTED)
            if i < 4 or counts[action]
        ]
        path = ["prepare"] + [
            e["details"].get("after", "") for e in log if e["action"] == "step.changed"
        ]
        rows.insert(0, (_("Steps, in order"), " › ".join(doc.word(_STEPS, s) for s in path)))
        out: list[Any] = [*doc.heading(_("The steps taken")), doc.pairs(rows)]
        rounds: dict[int, dict[str, Any]] = {}
        for e in log:
            kind = e["action"].removeprefix("round.")
            if kind in ("opened", "closed", "revealed"):
                entry = rounds.setdefault(int(e["details"].get("round", 0)), {})
                entry.setdefault("method", e["details"].get("method"))
                entry[kind] = e["at"]
        if not rounds:
            return [*out, Spacer(1, 6), doc.para(_("No rounds were held."))]
        days = {doc.local(e["at"]).date() for e in log}

        def at(iso: str | None) -> str:
            if iso is None:
                return DASH
            return doc.local(iso).strftime("%H:%M" if len(days) == 1 else "%Y-%m-%d %H:%M")

        ballots = {r["number"]: r["ballots"] for r in self.record["rounds"]}
        table = [
            [
                str(number),
                doc.word(_METHODS, r.get("method") or ""),
                at(r.get("opened")),
                at(r.get("closed")) if "closed" in r else _("still open"),
                at(r.get("revealed")),
                str(ballots.get(number, DASH)),
            ]
            for number, r in sorted(rounds.items())
        ]
        header = [_("Round"), _("Method"), _("Opened"), _("Vote closed"), _("Results shown")]
        return [
            *out,
            Spacer(1, 8),
            doc.table([*header, _("Ballots")], table, [0.1, 0.3, 0.15, 0.15, 0.15, 0.15]),
            doc.para(_("Times in the time zone %(zone)s.") % {"zone": doc.time_zone}, "small"),
        ]

    def final_factors(self) -> list[Any]:
        """The active factors by category, each with its last measured result and the round
        it comes from: a later round that did not measure a factor leaves its earlier result
        standing. In each category, the most recently measured first, by their place."""
        doc, _ = self.doc, self._
        out: list[Any] = doc.heading(_("The final factors"))
        measured = self.last_measured(_PRIORITISING)
        if self.latest(_PRIORITISING):
            out.append(
                doc.para(
                    _(
                        "Each factor's result comes from the last round that measured it, "
                        "named beside it."
                    )
                )
            )
        else:
            out.append(doc.para(_("No prioritisation round was closed.")))
        active = self.active()
        if not active:
            return [*out, doc.para(_("No factors are on the board."))]

        def order(factor: dict[str, Any]) -> tuple[float, float]:
            if factor["id"] not in measured:
                return (math.inf, math.inf)
            r, row = measured[factor["id"]]
            return (-r["number"], row.get("rank") or math.inf)

        def cells(factor: dict[str, Any]) -> list[Any]:
            if factor["id"] not in measured:
                return [doc.factor_cell(factor), DASH, _("not measured"), DASH, DASH]
            r, row = measured[factor["id"]]
            rank = row.get("rank")
            return [
                doc.factor_cell(factor),
                DASH if rank is None else str(rank),
                METHODS[r["method"]].standing(doc, row),
                word(_, "verdict", row.get("verdict")) or DASH,
                self.round_name(r),
            ]

        if measured:
            header = [_("Factor"), _("Rank"), _("Result"), _("Verdict"), _("Round")]
            widths: tuple[float, ...] = (0.32, 0.09, 0.29, 0.15, 0.15)
        else:
            header, widths = [_("Factor")], (1.0,)
        for category in self.record["categories"]:
            mine = sorted((f for f in active if f["category"] == category), key=order)
            if not mine:
                continue
            out += doc.heading(category, 1)
            body = [cells(f)[: len(header)] for f in mine]
            out.append(doc.table(header, body, widths))
        return out

    def charts(self) -> list[Any]:
        """The latest round of each method that has a chart (dots, rating, matrix)."""
        out: list[Any] = []
        for method, view in METHODS.items():
            latest = self.latest([method]) if view.chart else None
            if view.chart and latest and latest["ballots"]:
                head = [] if out else self.doc.heading(self._("Charts"))
                intro, *blocks = view.chart(self.doc, latest)
                title = self.doc.heading(self.round_name(latest), 1)
                out += self.doc.together([*head, *title, intro], blocks)
        return out

    def consensus(self) -> list[Any]:
        """Per closed round: the verdict and its measures, then each factor's figures."""
        doc, _ = self.doc, self._
        head = doc.heading(_("Consensus, round by round"))
        if not self.record["rounds"]:
            return [*head, doc.para(_("No round was closed."))]
        out: list[Any] = []
        for r in self.record["rounds"]:
            measures = doc.pairs(round_measures(doc, r, self.record.get("groups") or []))
            out += doc.together([*head, *doc.heading(self.round_name(r), 1)], [measures])
            out += [Spacer(1, 6), self.per_factor(r)]
            head = []
        return out

    def per_factor(self, r: dict[str, Any]) -> Any:
        """A round's figures, a line per factor, in the columns of its method."""
        doc, _, view = self.doc, self._, METHODS[r["method"]]
        header = [_("Factor"), *(_(h) for h in view.round.header)]
        body = [[doc.factor_title(f), *view.round.cells(doc, f)] for f in r["factors"]]
        if view.ranked:
            header.insert(0, _("Rank"))
            for f, line in zip(r["factors"], body, strict=True):
                rank = f.get("rank")
                line.insert(0, DASH if rank is None else str(rank))
        # The verdict and the coverage take a column of their own from the figures' columns
        # alike: the rank and the factor's title keep their widths, for words to stay whole.
        header.append(_("Verdict"))
        for f, line in zip(r["factors"], body, strict=True):
            line.append(verdict_cell(doc, r, f))
        widths = list(view.round.widths)
        kept = {header.index(_("Factor")), *([0] if view.ranked else [])}
        others = sum(w for i, w in enumerate(widths) if i not in kept)
        widths = [
            w if i in kept else w * (1 - VERDICT_WIDTH / others) for i, w in enumerate(widths)
        ]
        return doc.table(header, body, [*widths, VERDICT_WIDTH])

    def reasons(self) -> list[Any]:
        """Reasons from the edges, per round: those the room was shown, beside their factor,
        and how many the facilitator hid or never approved (their texts stay out of a
        report that may be published). Nothing when no reason was given."""
        doc, _ = self.doc, self._
        given = self.record.get("reasons", [])
        if not given:
            return []
        out: list[Any] = doc.heading(_("Reasons from the edges"))
        out.append(
            doc.para(
                _(
                    "After a round was shown, those whose answer lay outside the middle half "
                    "of the group could tell the group why. Reasons are shown without names."
                )
            )
        )
        for r in self.record["rounds"]:
            on_round = [g for g in given if g["round_id"] == r["id"]]
            if not on_round:
                continue
            shown = [[g["factor"], g["text"]] for g in on_round if g["status"] == "shown"]
            withheld = len(on_round) - len(shown)
            blocks: list[Any] = []
            if shown:
                blocks.append(doc.table([_("Factor"), _("Reason")], shown, [0.35, 0.65]))
            if withheld:
                blocks.append(
                    doc.para(
                        _("Reasons hidden by the facilitator or not approved: %(n)s")
                        % {"n": withheld}
                    )
                )
            out += doc.together(doc.heading(self.round_name(r), 1), blocks)
        return out

    def removed(self) -> list[Any]:
        """The factors that left the board: removed with the reason, or merged into another."""
        doc, _ = self.doc, self._
        out: list[Any] = doc.heading(_("Removed and merged factors"))
        gone = [f for f in self.record["factors"] if f["status"] in ("removed", "merged")]
        if not gone:
            return [*out, doc.para(_("No factor was removed or merged."))]
        titles = {f["id"]: f["title"] for f in self.record["factors"]}
        body, merged_into = [], _("Merged into")
        for f in gone:
            if f["status"] == "removed":
                why = f.get("removal_reason") or DASH
            else:
                why = f"{merged_into}: {titles.get(f['merged_into_id'], DASH)}"
            body.append([doc.factor_cell(f), f["category"], doc.word(_GONE, f["status"]), why])
        header = [_("Factor"), _("Category"), _("Status"), _("Reason")]
        return [*out, doc.table(header, body, [0.35, 0.17, 0.13, 0.35])]
