"""The PDF report of a series: the workshops held, the combined picture as charts and a table
with every workshop side by side, where the groups differ, and the final agreed list.

Layer: edge formatting, like report.py, whose building blocks it reuses (paragraphs,
headings, tables, the footer, escaping): the combined record in, A4 PDF bytes out. Everything
a person typed is escaped before ReportLab parses it; no participant appears in it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reportlab.graphics.shapes import Drawing, Line, Rect
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Spacer

from facilitation.outputs.export import WORDS
from facilitation.outputs.pdf import (
    DASH,
    FILL,
    INK,
    MUTED,
    RULE,
    WIDTH,
    FooterCanvas,
    drawable,
    fit,
    text,
)
from facilitation.outputs.report import BARS_PER_CHART, _Report

_FATE = WORDS["fate"]
_AGREEMENT = WORDS["agreement"]
_STEPS = WORDS["step"]
_METHODS = WORDS["method"]


def to_pdf(record: dict[str, Any], gettext: Callable[[str], str]) -> bytes:
    """The series' report as an A4 PDF, in the language `gettext` translates to."""
    return _SeriesReport(record, gettext).build()


class _SeriesReport(_Report):
    def __init__(self, record: dict[str, Any], gettext: Callable[[str], str]) -> None:
        super().__init__({"workshop": record["series"], "factors": []}, gettext)
        self.series = record
        self.letters = {w["key"]: w["letter"] for w in record["workshops"]}

    def build(self) -> bytes:
        s, _ = self.series["series"], self._
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=18 * mm,
            bottomMargin=20 * mm,
            title=s["title"],
            subject=_("The combined picture"),
            author="Samsyn",
            creator="Samsyn",
            lang=self.locale,
        )
        doc.afterFlowable = lambda flowable: self._bookmark(doc.canv, flowable)
        story = [
            *self.front(),
            *self.priority_chart(),
            *self.side_by_side(),
            *self.differences(),
            *self.final_list(),
            *self.method_note(),
        ]
        footer = drawable(s["title"])
        words = _("Page %(page)s of %(pages)s")

        def canvas(*args: Any, **kwargs: Any) -> Canvas:
            return FooterCanvas(*args, title=footer, words=words, **kwargs)

        doc.build(story, canvasmaker=canvas)
        return buffer.getvalue()

    def front(self) -> list[Any]:
        s, _ = self.series["series"], self._
        w = self.series["concordance"]["w"]
        out: list[Any] = [
            self.para(s["title"], "title", outline=0),
            self.para(_("The combined picture"), "h2"),
            Spacer(1, 6),
            self.pairs(
                [
                    (_("Exported"), self.date(datetime.now(UTC).isoformat())),
                    (_("Series created"), self.date(s["created_at"])),
                    (_("Workshops"), str(len(self.series["workshops"]))),
                    (_("Concordance between the groups (Kendall's W)"), self.num(w, 2)),
                ]
            ),
        ]
        if s.get("description"):
            out += [Spacer(1, 6), self.para(s["description"])]
        rows = [
            [
                w["letter"],
                w["stakeholder"] or DASH,
                w["title"],
                self.word(_STEPS, w["step"]),
                self.word(_METHODS, w["method"]),
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
        out += self.heading(_("The workshops"))
        if rows:
            out.append(self.table(header, rows, [0.06, 0.22, 0.3, 0.14, 0.16, 0.12]))
        else:
            out.append(self.para(_("No workshop has been held yet.")))
        return out

    def priority_chart(self) -> list[Any]:
        """The combined priority per factor as bars, highest first, each workshop's
        priority as a tick on its bar, marked with its letter."""
        rows = [f for f in self.series["factors"] if f["priority"] is not None]
        if not rows:
            return []
        _ = self._
        label_w, value_w, height = 0.42 * WIDTH, 36.0, 16.0
        span = WIDTH - label_w - value_w
        intro = _(
            "Priority across the workshops (0–1), highest first. The letters mark each "
            "workshop's own priority for the factor."
        )
        out: list[Any] = [self.para(intro)]
        for start in range(0, len(rows), BARS_PER_CHART):
            part = rows[start : start + BARS_PER_CHART]
            d = Drawing(WIDTH, height * len(part) + 2)
            for i, f in enumerate(part):
                y = d.height - (i + 1) * height
                text(d, 0, y + 5, fit(f"{f['rank']}. {f['title']}", label_w - 6, 8))
                length = span * f["priority"]
                d.add(Rect(label_w, y + 3, length, height - 6, fillColor=FILL, strokeColor=None))
                text(d, label_w + span + 4, y + 5, self.num(f["priority"], 2))
                for key, cell in f["cells"].items():
                    if cell["priority"] is None:
                        continue
                    x = label_w + span * cell["priority"]
                    d.add(Line(x, y + 1, x, y + height - 1, strokeColor=INK, strokeWidth=0.8))
                    text(d, x + 1.5, y + height - 6, self.letters[key], 5.5, color=MUTED)
            d.add(Line(label_w, 0, label_w, d.height, strokeColor=INK, strokeWidth=0.5))
            d.add(Line(label_w + span, 0, label_w + span, d.height, strokeColor=RULE))
            out.append(d)
        return self.together(self.heading(_("Priority across the workshops")), out)

    def _cell(self, cell: dict[str, Any]) -> str:
        if cell["status"] == "kept" and cell["place"] is not None:
            place = f"{self.num(cell['place'])}/{cell['of']}"
            agreed = " ✓" if cell["consensus"] else ""
            return f"{place}{agreed}"
        return self.word(_FATE, cell["status"])

    def side_by_side(self) -> list[Any]:
        """Every library factor with each workshop's place (of how many), in priority order."""
        _ = self._
        workshops = self.series["workshops"]
        out: list[Any] = self.heading(_("Each workshop's result, side by side"))
        out.append(
            self.para(
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
                self.num(f["priority"], 2),
                self.word(_AGREEMENT, f["agreement"]),
            ]
            for f in self.series["factors"]
        ]
        header = [_("Rank"), _("Factor"), *(w["letter"] for w in workshops), _("Priority"), ""]
        widths = [0.07, 0.25, *([share] * len(workshops)), 0.08, 0.1]
        out.append(self.table(header, rows, widths))
        return out

    def differences(self) -> list[Any]:
        _ = self._
        differ = [f for f in self.series["factors"] if f["agreement"] == "differ"]
        out: list[Any] = self.heading(_("Where the groups differ"))
        if not differ:
            return [*out, self.para(_("No factor is high for one group and low for another."))]
        names = {w["key"]: w["stakeholder"] or w["title"] for w in self.series["workshops"]}
        for f in differ:
            said = "; ".join(
                f"{names[k]}: {self.word(WORDS['tier'], c['tier'])}"
                for k, c in f["cells"].items()
                if c["tier"]
            )
            out.append(self.para(f"{f['title']} — {said}"))
        return out

    def final_list(self) -> list[Any]:
        _ = self._
        final = (self.series.get("final") or {}).get("factors")
        out: list[Any] = self.heading(_("The final agreed list"))
        if not final:
            return [*out, self.para(_("The series has not been concluded yet."))]
        rows = [[str(i), f["title"], f["category"]] for i, f in enumerate(final, start=1)]
        return [*out, self.table(["", _("Factor"), _("Category")], rows, [0.08, 0.6, 0.32])]

    def method_note(self) -> list[Any]:
        _ = self._
        note = _(
            "Within a workshop, a factor's priority is its place in the group's order of the "
            "factors it kept, from 1 (first) to 0 (last); a factor the group removed counts 0. "
            "Across workshops it is the mean of those priorities, each workshop weighing the "
            "same. The groups agree on a factor when all put it in the same third of their "
            "order, and differ when one puts it in its top third and another in its bottom "
            "third or out."
        )
        return [*self.heading(_("How the picture is combined")), self.para(note)]
