"""The PDF report of a series: the workshops held, the combined picture as charts and a table
with every workshop side by side, where the groups differ, and the final agreed list.

Layer: outputs. Written on a `Document` (pdf_document.py), like the workshop's report, with
the priority chart of pdf_charts.py: the combined record in, A4 PDF bytes out. No database,
no Flask. Everything a person typed is escaped before ReportLab parses it; no participant
appears in it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.platypus import Spacer

from facilitation.outputs import pdf_charts
from facilitation.outputs.export import WORDS
from facilitation.outputs.pdf import DASH
from facilitation.outputs.pdf_document import Document

_FATE = WORDS["fate"]
_AGREEMENT = WORDS["agreement"]
_STEPS = WORDS["step"]
_METHODS = WORDS["method"]
_TIERS = WORDS["tier"]


def to_pdf(record: dict[str, Any], gettext: Callable[[str], str]) -> bytes:
    """The series' report as an A4 PDF, in the language `gettext` translates to."""
    return _SeriesReport(record, Document(gettext, record["series"].get("language"))).build()


class _SeriesReport:
    """One series' report being written on `doc`."""

    def __init__(self, record: dict[str, Any], doc: Document) -> None:
        self.series, self.doc, self._ = record, doc, doc._
        self.letters = {w["key"]: w["letter"] for w in record["workshops"]}

    def build(self) -> bytes:
        story = [
            *self.front(),
            *self.priority_chart(),
            *self.side_by_side(),
            *self.differences(),
            *self.final_list(),
            *self.method_note(),
        ]
        title = self.series["series"]["title"]
        return self.doc.build(story, title=title, subject=self._("The combined picture"))

    def front(self) -> list[Any]:
        s, doc, _ = self.series["series"], self.doc, self._
        w = self.series["concordance"]["w"]
        out = doc.front(
            s["title"],
            _("The combined picture"),
            [
                (_("Series created"), doc.date(s["created_at"])),
                (_("Workshops"), str(len(self.series["workshops"]))),
                (_("Concordance between the groups (Kendall's W)"), doc.num(w, 2)),
            ],
        )
        if s.get("description"):
            out += [Spacer(1, 6), doc.para(s["description"])]
        rows = [
            [
                w["letter"],
                w["stakeholder"] or DASH,
                w["title"],
                doc.word(_STEPS, w["step"]),
                doc.word(_METHODS, w["method"]),
                _("yes") if w["consensus"] else _("no") if w["consensus"] is False else DASH,
            ]
            for w in self.series["workshops"]
        ]
        header = [
            "",
            _("Stakeholder group"),
            _("Workshop"),
            _("Step"),
            _("Method"),
            _("Consensus"),
        ]
        out += doc.heading(_("The workshops"))
        if rows:
            out.append(doc.table(header, rows, [0.06, 0.22, 0.3, 0.14, 0.16, 0.12]))
        else:
            out.append(doc.para(_("No workshop has been held yet.")))
        return out

    def priority_chart(self) -> list[Any]:
        """The combined priority per factor as bars, highest first, with each workshop's."""
        rows = [f for f in self.series["factors"] if f["priority"] is not None]
        if not rows:
            return []
        chart = pdf_charts.priorities(self.doc, rows, self.letters)
        return self.doc.together(self.doc.heading(self._("Priority across the workshops")), chart)

    def _cell(self, cell: dict[str, Any]) -> str:
        if cell["status"] == "kept" and cell["place"] is not None:
            place = f"{self.doc.num(cell['place'])}/{cell['of']}"
            agreed = " ✓" if cell["consensus"] else ""
            return f"{place}{agreed}"
        return self.doc.word(_FATE, cell["status"])

    def side_by_side(self) -> list[Any]:
        """Every library factor with each workshop's place (of how many), in priority order."""
        doc, _ = self.doc, self._
        workshops = self.series["workshops"]
        out: list[Any] = doc.heading(_("Each workshop's result, side by side"))
        out.append(
            doc.para(
                _(
                    "Place in the workshop's latest prioritisation (of how many it "
                    "prioritised); ✓ where that round reached consensus."
                ),
                "small",
            )
        )
        share = 0.5 / max(1, len(workshops))
        rows = [
            [
                str(f["rank"] or DASH),
                f["title"],
                *(self._cell(f["cells"][w["key"]]) for w in workshops),
                doc.num(f["priority"], 2),
                doc.word(_AGREEMENT, f["agreement"]),
            ]
            for f in self.series["factors"]
        ]
        header = [_("Rank"), _("Factor"), *(w["letter"] for w in workshops), _("Priority"), ""]
        widths = [0.07, 0.25, *([share] * len(workshops)), 0.08, 0.1]
        out.append(doc.table(header, rows, widths))
        return out

    def differences(self) -> list[Any]:
        """The factors one group puts high and another low, with each group's tier."""
        doc, _ = self.doc, self._
        differ = [f for f in self.series["factors"] if f["agreement"] == "differ"]
        out: list[Any] = doc.heading(_("Where the groups differ"))
        if not differ:
            return [*out, doc.para(_("No factor is high for one group and low for another."))]
        names = {w["key"]: w["stakeholder"] or w["title"] for w in self.series["workshops"]}
        for f in differ:
            said = "; ".join(
                f"{names[k]}: {doc.word(_TIERS, c['tier'])}"
                for k, c in f["cells"].items()
                if c["tier"]
            )
            out.append(doc.para(f"{f['title']} — {said}"))
        return out

    def final_list(self) -> list[Any]:
        """The list the series concluded with, in its order."""
        doc, _ = self.doc, self._
        final = (self.series.get("final") or {}).get("factors")
        out: list[Any] = doc.heading(_("The final agreed list"))
        if not final:
            return [*out, doc.para(_("The series has not been concluded yet."))]
        rows = [[str(i), f["title"], f["category"]] for i, f in enumerate(final, start=1)]
        return [*out, doc.table(["", _("Factor"), _("Category")], rows, [0.08, 0.6, 0.32])]

    def method_note(self) -> list[Any]:
        """How the combined picture is reckoned, in words."""
        _ = self._
        note = _(
            "Within a workshop, a factor's priority is its place in the group's order of the "
            "factors it kept, from 1 (first) to 0 (last); a factor the group removed counts 0. "
            "A workshop that has not prioritised yet gives no priorities. Across workshops it "
            "is the mean of those priorities, each workshop weighing the same. The groups "
            "agree on a factor when all put it in the same third of their order, and differ "
            "when one puts it in its top third and another in its bottom third or out."
        )
        return [*self.doc.heading(_("How the picture is combined")), self.doc.para(note)]
