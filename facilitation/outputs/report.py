"""The PDF report: the agreed picture as a document to send on. The workshop, the steps taken,
the final factors by category with their latest results, charts, every round's consensus
measures, and what was removed or merged and why.

Layer: edge formatting, like export.py. Takes the record built by the services (plain data)
and writes an A4 PDF with ReportLab; no database, no Flask. Every fixed text goes through the
`gettext` given; everything a person typed is escaped before ReportLab's Paragraph parses it
as markup. Answers (even by participant number) are never printed.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from reportlab.graphics.shapes import (
    Drawing,
    Line,
    Rect,
)
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from facilitation.core.domain import N_
from facilitation.outputs import pdf
from facilitation.outputs.export import WORDS
from facilitation.outputs.pdf import (
    BOLD,
    DASH,
    FILL,
    FONT,
    INK,
    MUTED,
    RULE,
    WIDTH,
    FooterCanvas,
    Matrix,
    drawable,
    fit,
    markup,
    text,
)

BARS_PER_CHART = 40  # a drawing never splits across pages, so long bar charts come in parts
_PRIORITISING = ("dots", "rating", "ranking", "matrix")
_METHODS = WORDS["method"]
_STEPS = WORDS["step"]
_ROUND_STATES = WORDS["round_state"]
_QUADRANTS = WORDS["quadrant"]
_GONE = WORDS["status"]
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
)


def to_pdf(record: dict[str, Any], gettext: Callable[[str], str]) -> bytes:
    """The workshop's report as an A4 PDF, in the language `gettext` translates to."""
    return _Report(record, gettext).build()


class _Report:
    """One report being written: the record, the words and numbers of its language."""

    def __init__(self, record: dict[str, Any], gettext: Callable[[str], str]) -> None:
        pdf.glyphs()
        self.record = record
        self._ = gettext
        language = record["workshop"].get("language") or "en"
        self.locale = language if language in ("sv", "en") else "en"
        self.titles = {f["id"]: f["title"] for f in record["factors"]}
        self.styles = {
            "title": ParagraphStyle("title", fontName=BOLD, fontSize=20, leading=25),
            "h1": ParagraphStyle("h1", fontName=BOLD, fontSize=14, leading=18, spaceBefore=14),
            "h2": ParagraphStyle("h2", fontName=BOLD, fontSize=11, leading=14, spaceBefore=10),
            "body": ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, spaceAfter=4),
            "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=10.5),
            "th": ParagraphStyle("th", fontName=BOLD, fontSize=8, leading=10),
            "small": ParagraphStyle(
                "small", fontName=FONT, fontSize=7.5, leading=9.5, textColor=MUTED
            ),
        }
        self._bookmarks = 0

    # --- Words and numbers ------------------------------------------------------------------

    def num(self, value: float | None, digits: int = 1) -> str:
        """A number as the language writes it (4,5 in Swedish), or a dash for none."""
        if value is None:
            return DASH
        return str(format_decimal(round(value, digits), locale=self.locale))

    def pct(self, share: float | None, *, down: bool = False) -> str:
        """A share as a percentage; rounded down where 100 % must mean the rule is met."""
        if share is None:
            return DASH
        return str(
            format_percent(math.floor(share * 100) / 100 if down else share, locale=self.locale)
        )

    def spread(self, axis: dict[str, Any]) -> str:
        """A median with the middle half of the answers: 4,5 (4–5)."""
        q1, q3 = self.num(axis["q1"], 2), self.num(axis["q3"], 2)
        return f"{self.num(axis['median'])} ({q1}–{q3})"

    def p_value(self, p: float | None) -> str:
        """p with its relation: "= 0.127", or "< 0.001" when it is smaller."""
        if p is None:
            return f"= {DASH}"
        return f"< {self.num(0.001, 3)}" if p < 0.001 else f"= {self.num(p, 3)}"

    def date(self, iso: str) -> str:
        return str(
            format_date(datetime.fromisoformat(iso).date(), format="long", locale=self.locale)
        )

    def word(self, words: dict[str, str], code: str | None) -> str:
        """The word for a code of the record (a step, a quadrant …), or a dash for none."""
        message = words.get(code or "")
        return self._(message) if message else DASH

    def method(self, code: str) -> str:
        return self.word(_METHODS, code)

    def round_name(self, r: dict[str, Any]) -> str:
        number = self._("Round %(number)s") % {"number": r["number"]}
        return f"{number}: {self.method(r['method'])}"

    def factor_title(self, row: dict[str, Any]) -> str:
        """A factor's title as it is now, with its fate if it left the board since."""
        title = row["title"]
        gone = _GONE.get(row.get("status") or "active")
        return f"{title} ({self._(gone)})" if gone else title

    # --- Building blocks --------------------------------------------------------------------

    def para(self, text: str, style: str = "body", *, outline: int | None = None) -> Paragraph:
        """A paragraph of plain text (escaped); headings with an `outline` level get a bookmark."""
        paragraph = Paragraph(markup(text), self.styles[style])
        if outline is not None:
            paragraph.outline = (text, outline)
        return paragraph

    def heading(self, text: str, level: int = 0) -> list[Any]:
        """A heading, on a new page if too little room is left below it for what follows."""
        room = 150 if level == 0 else 90
        return [CondPageBreak(room), self.para(text, "h1" if level == 0 else "h2", outline=level)]

    def together(self, head: list[Any], blocks: list[Any]) -> list[Any]:
        """`head` (headings without their breaks) kept on one page with the first of `blocks`:
        a drawing never splits, so a heading would otherwise be left alone above the gap."""
        kept = [f for f in head if not isinstance(f, CondPageBreak)]
        return [KeepTogether(kept + blocks[:1]), *blocks[1:]]

    def table(self, header: Sequence[str], rows: list[list[Any]], widths: Sequence[float]) -> Table:
        """A table with a repeated header row; `widths` are shares of the frame's width."""
        head = [self.para(h, "th") for h in header]
        body = [[self.para(c, "cell") if isinstance(c, str) else c for c in r] for r in rows]
        table = Table([head, *body], colWidths=[w * WIDTH for w in widths], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ("LEFTPADDING", (0, 0), (-1, -1), 4),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        return table

    def pairs(self, rows: list[tuple[str, str]]) -> Table:
        """Label and value, one a line."""
        cells = [[self.para(k, "th"), self.para(v, "cell")] for k, v in rows]
        table = Table(cells, colWidths=[0.3 * WIDTH, 0.7 * WIDTH])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return table

    def factor_cell(self, factor: dict[str, Any]) -> list[Paragraph]:
        cell = [self.para(factor["title"], "cell")]
        if factor.get("description"):
            cell.append(self.para(factor["description"], "small"))
        return cell

    # --- The document -----------------------------------------------------------------------

    def build(self) -> bytes:
        workshop = self.record["workshop"]
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=18 * mm,
            bottomMargin=20 * mm,
            title=workshop["title"],
            subject=self._("Workshop report"),
            author="Samsyn",
            creator="Samsyn",
            lang=self.locale,
        )
        doc.afterFlowable = lambda flowable: self._bookmark(doc.canv, flowable)
        story = [
            *self.title_page(),
            *self.steps(),
            *self.final_factors(),
            *self.charts(),
            *self.consensus(),
            *self.removed(),
        ]
        footer = drawable(workshop["title"])
        words = self._("Page %(page)s of %(pages)s")

        def canvas(*args: Any, **kwargs: Any) -> Canvas:
            return FooterCanvas(*args, title=footer, words=words, **kwargs)

        doc.build(story, canvasmaker=canvas)
        return buffer.getvalue()

    def _bookmark(self, canvas: Canvas, flowable: Any) -> None:
        """Headings become the PDF's outline, for readers that navigate by it."""
        outline = getattr(flowable, "outline", None)
        if outline:
            self._bookmarks += 1
            key = f"h{self._bookmarks}"
            canvas.bookmarkPage(key)
            canvas.addOutlineEntry(outline[0], key, level=outline[1])

    def title_page(self) -> list[Any]:
        w, _ = self.record["workshop"], self._
        rule = w.get("consensus_rule") or {}
        methods = {m: self.method(m) for m in _METHODS}
        agreement = _("Agreement at least %(percent)s (%(methods)s)") % {
            "percent": self.pct(rule.get("agreement")),
            "methods": ", ".join(methods[m] for m in ("keep_remove", "rating", "matrix")),
        }
        concordance = _("Kendall's W at least %(w)s (%(methods)s)") % {
            "w": self.num(rule.get("kendall_w"), 2),
            "methods": ", ".join(methods[m] for m in ("dots", "ranking")),
        }
        participants = _("%(participants)s, of whom %(proxies)s by proxy") % {
            "participants": w["participants"],
            "proxies": w["proxies"],
        }
        step = w.get("step")
        return [
            self.para(w["title"], "title", outline=0),
            self.para(_("Workshop report"), "h2"),
            Spacer(1, 6),
            self.pairs(
                [
                    (_("Exported"), self.date(datetime.now(UTC).isoformat())),
                    (_("Workshop created"), self.date(w["created_at"])),
                    (_("Participants"), participants),
                    (_("Consensus rule"), f"{agreement}\n{concordance}"),
                    (_("Step at export"), self.word(_STEPS, step)),
                ]
            ),
        ]

    def steps(self) -> list[Any]:
        """A readable account of the audit log: steps, counts of factor changes, the rounds."""
        _, log = self._, self.record["log"]
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
        rows.insert(0, (_("Steps, in order"), " › ".join(self.word(_STEPS, s) for s in path)))
        out: list[Any] = [*self.heading(_("The steps taken")), self.pairs(rows)]
        rounds: dict[int, dict[str, Any]] = {}
        for e in log:
            kind = e["action"].removeprefix("round.")
            if kind in ("opened", "closed", "revealed"):
                entry = rounds.setdefault(int(e["details"].get("round", 0)), {})
                entry.setdefault("method", e["details"].get("method"))
                entry[kind] = e["at"]
        if not rounds:
            return [*out, Spacer(1, 6), self.para(_("No rounds were held."))]
        days = {datetime.fromisoformat(e["at"]).date() for e in log}

        def at(iso: str | None) -> str:
            if iso is None:
                return DASH
            return datetime.fromisoformat(iso).strftime(
                "%H:%M" if len(days) == 1 else "%Y-%m-%d %H:%M"
            )

        ballots = {r["number"]: r["ballots"] for r in self.record["rounds"]}
        table = [
            [
                str(number),
                self.method(r.get("method") or ""),
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
            self.table([*header, _("Ballots")], table, [0.1, 0.3, 0.15, 0.15, 0.15, 0.15]),
            self.para(_("Times are in UTC."), "small"),
        ]

    def latest(self, methods: Sequence[str]) -> dict[str, Any] | None:
        """The latest closed round of one of `methods` in the record."""
        rounds = [r for r in self.record["rounds"] if r["method"] in methods]
        return rounds[-1] if rounds else None

    def final_factors(self) -> list[Any]:
        """The active factors by category, each with the latest prioritisation's result."""
        _ = self._
        out: list[Any] = self.heading(_("The final factors"))
        latest = self.latest(_PRIORITISING)
        rows = {row["factor_id"]: row for row in latest["factors"]} if latest else {}
        method = latest["method"] if latest else None
        if latest:
            note = _("Results from the latest prioritisation round: %(round)s.")
            out.append(self.para(note % {"round": self.round_name(latest)}))
        else:
            out.append(self.para(_("No prioritisation round was closed.")))
        active = [f for f in self.record["factors"] if f["status"] == "active"]
        if not active:
            return [*out, self.para(_("No factors are on the board."))]
        columns, widths = self._result_columns(method)
        for category in self.record["categories"]:
            mine = [f for f in active if f["category"] == category]
            if not mine:
                continue
            mine.sort(key=lambda f: rows.get(f["id"], {}).get("rank") or math.inf)
            body = [
                [self.factor_cell(f), *self._result_cells(method, rows.get(f["id"]))] for f in mine
            ]
            out += self.heading(category, 1)
            out.append(self.table([_("Factor"), *columns], body, widths))
        return out

    def _result_columns(self, method: str | None) -> tuple[list[str], list[float]]:
        _ = self._
        if method == "dots":
            return [_("Rank"), _("Dots")], [0.7, 0.15, 0.15]
        if method == "rating":
            header = [_("Rank"), _("Median"), _("IQR"), _("Agreement")]
            return header, [0.38, 0.12, 0.14, 0.18, 0.18]
        if method == "ranking":
            return [_("Rank"), _("Average place")], [0.7, 0.15, 0.15]
        if method == "matrix":
            header = [_("Rank"), _("Impact (median)"), _("Uncertainty (median)"), _("Quadrant")]
            return header, [0.4, 0.12, 0.14, 0.16, 0.18]
        return [], [1.0]

    def _result_cells(self, method: str | None, row: dict[str, Any] | None) -> list[str]:
        if method is None:
            return []
        if row is None:
            return [DASH] * len(self._result_columns(method)[0])
        rank = str(row.get("rank", DASH))
        if method == "dots":
            return [rank, self.num(row["dots"])]
        if method == "rating":
            return [
                rank,
                self.num(row["median"]),
                self.num(row["iqr"], 2),
                self.pct(row["agreement"]),
            ]
        if method == "ranking":
            return [rank, self.num(row["mean_rank"], 2)]
        return [
            rank,
            self.num(row["impact"]["median"]),
            self.num(row["uncertainty"]["median"]),
            self.word(_QUADRANTS, row.get("quadrant")),
        ]

    # --- Charts -----------------------------------------------------------------------------

    def charts(self) -> list[Any]:
        """The latest round of dot voting, of rating and of the matrix, each as a chart."""
        out: list[Any] = []
        for method, draw in (
            ("dots", self.dot_chart),
            ("rating", self.rating_charts),
            ("matrix", self.matrix_chart),
        ):
            latest = self.latest([method])
            if latest and latest["ballots"]:
                head = [] if out else self.heading(self._("Charts"))
                intro, *blocks = draw(latest)
                title = self.heading(self.round_name(latest), 1)
                out += self.together([*head, *title, intro], blocks)
        return out

    def dot_chart(self, r: dict[str, Any]) -> list[Any]:
        """Dot totals as horizontal bars, most first, each with its number."""
        rows = [row for row in r["factors"] if row["dots"]]
        most = max((row["dots"] for row in rows), default=1)
        label_w, value_w, height = 0.4 * WIDTH, 40.0, 14.0
        out: list[Any] = [self.para(self._("Dots per factor, most first."))]
        for start in range(0, len(rows), BARS_PER_CHART):
            part = rows[start : start + BARS_PER_CHART]
            d = Drawing(WIDTH, height * len(part) + 2)
            for i, row in enumerate(part):
                y = d.height - (i + 1) * height
                label = fit(f"{row['rank']}. {self.factor_title(row)}", label_w - 6, 8)
                text(d, 0, y + 4, label)
                length = (WIDTH - label_w - value_w) * row["dots"] / most
                d.add(Rect(label_w, y + 2, length, height - 4, fillColor=FILL, strokeColor=None))
                text(d, label_w + length + 4, y + 4, self.num(row["dots"]))
            d.add(Line(label_w, 0, label_w, d.height, strokeColor=INK, strokeWidth=0.5))
            out.append(d)
        unvoted = len(r["factors"]) - len(rows)
        if unvoted:
            out.append(self.para(self._("Factors that received no dots: %(n)s") % {"n": unvoted}))
        return out

    def rating_charts(self, r: dict[str, Any]) -> list[Any]:
        """How many gave each rating, a small chart per factor, counts written on the bars."""
        scale = int(r["settings"].get("scale") or 5)
        per_line = 4 if scale <= 6 else 3
        cell_w = WIDTH / per_line
        chart_w, chart_h = cell_w - 12, 44.0
        slot = chart_w / scale
        cells = []
        for row in r["factors"]:
            counts = row.get("distribution") or [0] * scale
            most = max(*counts, 1)
            d = Drawing(chart_w, chart_h + 20)
            for i, count in enumerate(counts):
                x, bar = i * slot, chart_h * count / most
                d.add(Rect(x + 1.5, 10, slot - 3, bar, fillColor=FILL, strokeColor=None))
                text(d, x + slot / 2, 12 + bar, str(count), 6.5, anchor="middle")
                text(d, x + slot / 2, 1, str(i + 1), 6.5, anchor="middle", color=MUTED)
            d.add(Line(0, 10, chart_w, 10, strokeColor=INK, strokeWidth=0.5))
            stats = self._("Median %(median)s · IQR %(iqr)s · n = %(n)s") % {
                "median": self.num(row["median"]),
                "iqr": self.num(row["iqr"], 2),
                "n": row["answers"],
            }
            title = fit(f"{row['rank']}. {self.factor_title(row)}", chart_w * 2.6, 8)
            cells.append([self.para(title, "th"), d, self.para(stats, "small")])
        # A table per line of charts, so that pages break between lines.
        lines = []
        for start in range(0, len(cells), per_line):
            line = Table([cells[start : start + per_line]], colWidths=[cell_w] * per_line)
            line.hAlign = "LEFT"
            line.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            lines.append(line)
        legend = self._("1 = very little, %(scale)s = very much.") % {"scale": scale}
        intro = self._("How many gave each rating, per factor.")
        return [self.para(f"{intro} {legend}"), *lines]

    def matrix_chart(self, r: dict[str, Any]) -> list[Any]:
        """The impact × uncertainty matrix: each factor at its medians with its interquartile
        ranges as a cross, numbered as in the table below it (and as on the board)."""
        _ = self._
        grid = Matrix(int(r["settings"].get("scale") or 5))
        grid.frame(_("Uncertainty"), _("Impact"), {k: _(v) for k, v in _QUADRANTS.items()})
        answered = [(n, row) for n, row in enumerate(r["factors"], start=1) if row["answers"]]
        grid.points([(n, row["impact"], row["uncertainty"]) for n, row in answered])
        note = _(
            "Each factor sits at its medians; the lines across it span the middle half of the "
            "answers (from the first to the third quartile). Factors with the same medians share "
            "a point. The table gives every value: median (first–third quartile)."
        )
        table = [
            [
                str(n),
                self.factor_title(row),
                self.spread(row["impact"]),
                self.spread(row["uncertainty"]),
                self.word(_QUADRANTS, row.get("quadrant")),
            ]
            for n, row in answered
        ]
        header = ["#", _("Factor"), _("Impact"), _("Uncertainty"), _("Quadrant")]
        widths = [0.07, 0.43, 0.15, 0.15, 0.2]
        return [self.para(note, "small"), grid.drawing, self.table(header, table, widths)]

    # --- Consensus --------------------------------------------------------------------------

    def consensus(self) -> list[Any]:
        """Per closed round: the verdict and its measures, then each factor's figures."""
        _ = self._
        head = self.heading(_("Consensus, round by round"))
        if not self.record["rounds"]:
            return [*head, self.para(_("No round was closed."))]
        out: list[Any] = []
        for r in self.record["rounds"]:
            measures = self.pairs(self._measures(r))
            out += self.together([*head, *self.heading(self.round_name(r), 1)], [measures])
            out += [Spacer(1, 6), self._per_factor(r)]
            head = []
        return out

    def _measures(self, r: dict[str, Any]) -> list[tuple[str, str]]:
        _, verdict = self._, r.get("verdict") or {}
        rows = [(_("Ballots"), str(r["ballots"]))]
        if r.get("state") in _ROUND_STATES:
            rows.append((_("State"), self.word(_ROUND_STATES, r["state"])))
        settings = r.get("settings") or {}
        named = (
            ("budget", N_("Dots per participant"), ": "),
            ("cap", N_("Most dots on one factor"), ": "),
            ("scale", N_("Scale from 1 to"), " "),
            ("top_k", N_("Factors each person ranks"), ": "),
        )
        said = [f"{_(label)}{sep}{settings[key]}" for key, label, sep in named if key in settings]
        if said:
            rows.append((_("Settings"), "; ".join(said)))
        reached = _("Consensus reached") if verdict.get("reached") else _("Not reached")
        progress = _("%(percent)s of the way to the rule") % {
            "percent": self.pct(verdict.get("progress"), down=True)
        }
        rows.append((_("Consensus"), f"{reached} ({progress})"))
        if verdict.get("measure") == "kendall_w":
            rule = _("Kendall's W at least %(w)s") % {"w": self.num(verdict.get("threshold"), 2)}
            rows.append((_("Rule"), rule))
        elif verdict:
            rule = _("Agreement at least %(percent)s on every factor with answers")
            rows.append((_("Rule"), rule % {"percent": self.pct(verdict.get("threshold"))}))
            meeting = _("%(meeting)s of %(factors)s") % {
                "meeting": verdict.get("factors_meeting") or 0,
                "factors": verdict.get("factors") or 0,
            }
            rows.append((_("Factors meeting the rule"), meeting))
            rows.append((_("Lowest agreement"), self.pct(verdict.get("value"))))
        concordance = r.get("concordance")
        if concordance:
            w = _("%(w)s (chi-square %(chi)s, df = %(df)s, p %(p)s)") % {
                "w": self.num(concordance.get("w"), 2),
                "chi": self.num(concordance.get("chi_square"), 2),
                "df": concordance.get("df"),
                "p": self.p_value(concordance.get("p_value")),
            }
            rows.append((_("Kendall's W"), w))
        stability = r.get("stability")
        rows.append(
            (
                _("Stability since the previous round"),
                self.num(stability, 2) if stability is not None else DASH,
            )
        )
        return rows

    def _per_factor(self, r: dict[str, Any]) -> Table:
        _, method = self._, r["method"]
        rows = r["factors"]
        if method == "keep_remove":
            header = [_("Factor"), _("Keep"), _("Remove"), _("Agreement")]
            body = [
                [self.factor_title(f), str(f["keep"]), str(f["remove"]), self.pct(f["agreement"])]
                for f in rows
            ]
            return self.table(header, body, [0.51, 0.16, 0.16, 0.17])
        header = [_("Rank"), _("Factor")]
        if method == "dots":
            header += [_("Dots"), _("Voters")]
            cells = [[self.num(f["dots"]), str(f["voters"])] for f in rows]
            widths = [0.11, 0.55, 0.16, 0.18]
        elif method == "rating":
            header += [_("Median"), _("IQR"), _("Agreement"), _("Answers"), _("No opinion")]
            cells = [
                [
                    self.num(f["median"]),
                    self.num(f["iqr"], 2),
                    self.pct(f["agreement"]),
                    str(f["answers"]),
                    str(f["no_opinion"]),
                ]
                for f in rows
            ]
            widths = [0.11, 0.24, 0.1, 0.16, 0.17, 0.1, 0.12]
        elif method == "ranking":
            header += [_("Average place"), _("Median place"), _("Ranked by")]
            cells = [
                [self.num(f["mean_rank"], 2), self.num(f["median_rank"]), str(f["ranked_by"])]
                for f in rows
            ]
            widths = [0.11, 0.41, 0.16, 0.16, 0.16]
        else:
            header += [_("Impact"), _("Uncertainty"), _("Agreement")]
            iqr = _("IQR")
            cells = [
                [
                    f"{self.num(f[a]['median'])} ({iqr} {self.num(f[a]['iqr'], 2)})"
                    for a in ("impact", "uncertainty")
                ]
                + [self.pct(f["agreement"])]
                for f in rows
            ]
            widths = [0.11, 0.33, 0.19, 0.19, 0.18]
        body = [
            [str(f.get("rank", DASH)), self.factor_title(f), *c]
            for f, c in zip(rows, cells, strict=True)
        ]
        return self.table(header, body, widths)

    def removed(self) -> list[Any]:
        """The factors that left the board: removed with the reason, or merged into another."""
        _ = self._
        out: list[Any] = self.heading(_("Removed and merged factors"))
        gone = [f for f in self.record["factors"] if f["status"] in ("removed", "merged")]
        if not gone:
            return [*out, self.para(_("No factor was removed or merged."))]
        body, merged_into = [], _("Merged into")
        for f in gone:
            if f["status"] == "removed":
                why = f.get("removal_reason") or DASH
            else:
                why = f"{merged_into}: {self.titles.get(f['merged_into_id'], DASH)}"
            body.append([self.factor_cell(f), f["category"], self.word(_GONE, f["status"]), why])
        header = [_("Factor"), _("Category"), _("Status"), _("Reason")]
        return [*out, self.table(header, body, [0.35, 0.17, 0.13, 0.35])]
