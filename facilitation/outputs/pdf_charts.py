"""The charts of the PDF reports: a round's dots as bars, its ratings as small bar charts per
factor, its answers on the impact × uncertainty matrix, and a series' combined priority as
bars with each workshop's mark.

Layer: outputs. Each chart takes the `Document` being written (for its words, numbers and
paragraphs) and plain data from the record, and returns flowables: an introduction first,
then the drawings. No database, no Flask.
"""

from __future__ import annotations

from typing import Any

from reportlab.graphics.shapes import Drawing, Line, Rect
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Table, TableStyle

from facilitation.outputs.export import WORDS
from facilitation.outputs.pdf import (
    BOLD,
    FILL,
    FONT,
    INK,
    MUTED,
    RULE,
    WIDTH,
    Matrix,
    drawable,
    fit,
    text,
)
from facilitation.outputs.pdf_document import Document

BARS_PER_CHART = 40  # a drawing never splits across pages, so long bar charts come in parts
_QUADRANTS = WORDS["quadrant"]


def dots(doc: Document, r: dict[str, Any]) -> list[Any]:
    """Dot totals as horizontal bars, most first, each with its number."""
    intro, none = (
        doc._("Dots per factor, most first."),
        doc._("Factors that received no dots: %(n)s"),
    )
    return _bars(doc, r, "dots", intro, none)


def points(doc: Document, r: dict[str, Any]) -> list[Any]:
    """Points as horizontal bars, most first, each with its number."""
    intro = doc._("Points per factor, most first.")
    return _bars(doc, r, "points", intro, doc._("Factors that received no points: %(n)s"))


def label(doc: Document, row: dict[str, Any]) -> str:
    """A factor's label on a chart: its place in the round, if it has one, and its title."""
    title = doc.factor_title(row)
    return title if row.get("rank") is None else f"{row['rank']}. {title}"


def wrapped(words: str, width: float, size: float = 8) -> tuple[list[str], float]:
    """`words` in lines that fit `width` points, broken between words, in a type small enough
    for the longest word to fit (never below 5.5 points): the lines and the size."""
    words = drawable(words)
    longest = max((pdfmetrics.stringWidth(w, FONT, size) for w in words.split()), default=0.0)
    if longest > width:
        size = max(5.5, size * width / longest)
    return simpleSplit(words, FONT, size, width) or [""], size


def _bars(doc: Document, r: dict[str, Any], key: str, intro: str, none: str) -> list[Any]:
    """Each factor's total of `key` as a horizontal bar, in the round's order, each with its
    number and its whole title (on more lines if need be); then how many factors got nothing."""
    rows = [row for row in r["factors"] if row[key]]
    most = max((row[key] for row in rows), default=1)
    label_w, value_w, line = 0.4 * WIDTH, 40.0, 9.5
    out: list[Any] = [doc.para(intro)]
    for start in range(0, len(rows), BARS_PER_CHART):
        part = [
            (row, *wrapped(label(doc, row), label_w - 6))
            for row in rows[start : start + BARS_PER_CHART]
        ]
        heights = [max(14.0, line * len(lines) + 4) for _, lines, _ in part]
        d = Drawing(WIDTH, sum(heights) + 2)
        y = d.height
        for (row, lines, size), height in zip(part, heights, strict=True):
            y -= height
            for i, words in enumerate(lines):
                text(d, 0, y + height - 10 - i * line, words, size)
            length = (WIDTH - label_w - value_w) * row[key] / most
            top = y + height - 2
            d.add(Rect(label_w, top - 10, length, 10, fillColor=FILL, strokeColor=None))
            text(d, label_w + length + 4, top - 8, doc.num(row[key]))
        d.add(Line(label_w, 0, label_w, d.height, strokeColor=INK, strokeWidth=0.5))
        out.append(d)
    unvoted = len(r["factors"]) - len(rows)
    if unvoted:
        out.append(doc.para(none % {"n": unvoted}))
    return out


def ratings(doc: Document, r: dict[str, Any]) -> list[Any]:
    """How many gave each rating, a small chart per factor, counts written on the bars."""
    scale = int(r["settings"].get("scale") or 5)
    rated = [row for row in r["factors"] if row.get("answers")]
    # Fewer charts a line when a title's longest word would not fit one in small type.
    longest = max(
        (pdfmetrics.stringWidth(w, BOLD, 6.5) for row in rated for w in label(doc, row).split()),
        default=0.0,
    )
    per_line = 4 if scale <= 6 else 3
    while per_line > 2 and longest > WIDTH / per_line - 20:
        per_line -= 1
    cell_w = WIDTH / per_line
    chart_w, chart_h = cell_w - 12, 44.0
    slot = chart_w / scale
    cells = []
    for row in rated:
        counts = row.get("distribution") or [0] * scale
        most = max(*counts, 1)
        d = Drawing(chart_w, chart_h + 20)
        for i, count in enumerate(counts):
            x, bar = i * slot, chart_h * count / most
            d.add(Rect(x + 1.5, 10, slot - 3, bar, fillColor=FILL, strokeColor=None))
            text(d, x + slot / 2, 12 + bar, str(count), 6.5, anchor="middle")
            text(d, x + slot / 2, 1, str(i + 1), 6.5, anchor="middle", color=MUTED)
        d.add(Line(0, 10, chart_w, 10, strokeColor=INK, strokeWidth=0.5))
        stats = doc._("Median %(median)s · IQR %(iqr)s · n = %(n)s") % {
            "median": doc.num(row["median"]),
            "iqr": doc.num(row["iqr"], 2),
            "n": row["answers"],
        }
        title = doc.para(label(doc, row), "th", width=cell_w - 12)
        cells.append([title, d, doc.para(stats, "small", width=cell_w - 12)])
    # A table per line of charts, so that pages break between lines.
    lines = []
    for start in range(0, len(cells), per_line):
        line = Table([cells[start : start + per_line]], colWidths=[cell_w] * per_line)
        line.hAlign = "LEFT"
        line.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        lines.append(line)
    legend = doc._("1 = very little, %(scale)s = very much.") % {"scale": scale}
    intro = doc._("How many gave each rating, per factor.")
    out = [doc.para(f"{intro} {legend}"), *lines]
    unrated = len(r["factors"]) - len(rated)
    if unrated:
        out.append(doc.para(doc._("Factors that nobody rated: %(n)s") % {"n": unrated}))
    return out


def matrix(doc: Document, r: dict[str, Any]) -> list[Any]:
    """The impact × uncertainty matrix: each factor at its medians with its interquartile
    ranges as a cross, numbered as in the table below it (and as on the board)."""
    _ = doc._
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
            doc.factor_title(row),
            doc.spread(row["impact"]),
            doc.spread(row["uncertainty"]),
            doc.word(_QUADRANTS, row.get("quadrant")),
        ]
        for n, row in answered
    ]
    header = ["#", _("Factor"), _("Impact"), _("Uncertainty"), _("Quadrant")]
    widths = [0.07, 0.43, 0.15, 0.15, 0.2]
    out = [doc.para(note, "small"), grid.drawing, doc.table(header, table, widths)]
    unplaced = len(r["factors"]) - len(answered)
    if unplaced:
        out.append(doc.para(_("Factors that nobody placed: %(n)s") % {"n": unplaced}))
    return out


def priorities(doc: Document, factors: list[dict[str, Any]], letters: dict[str, str]) -> list[Any]:
    """A series' combined priority per factor as bars, highest first, each workshop's
    priority as a tick on its bar, marked with the workshop's letter."""
    label_w, value_w, height = 0.42 * WIDTH, 36.0, 16.0
    span = WIDTH - label_w - value_w
    intro = doc._(
        "Priority across the workshops (0–1), highest first. The letters mark each "
        "workshop's own priority for the factor."
    )
    out: list[Any] = [doc.para(intro)]
    for start in range(0, len(factors), BARS_PER_CHART):
        part = factors[start : start + BARS_PER_CHART]
        d = Drawing(WIDTH, height * len(part) + 2)
        for i, f in enumerate(part):
            y = d.height - (i + 1) * height
            text(d, 0, y + 5, fit(f"{f['rank']}. {f['title']}", label_w - 6, 8))
            length = span * f["priority"]
            d.add(Rect(label_w, y + 3, length, height - 6, fillColor=FILL, strokeColor=None))
            text(d, label_w + span + 4, y + 5, doc.num(f["priority"], 2))
            for key, cell in f["cells"].items():
                if cell["priority"] is None:
                    continue
                x = label_w + span * cell["priority"]
                d.add(Line(x, y + 1, x, y + height - 1, strokeColor=INK, strokeWidth=0.8))
                text(d, x + 1.5, y + height - 6, letters[key], 5.5, color=MUTED)
        d.add(Line(label_w, 0, label_w, d.height, strokeColor=INK, strokeWidth=0.5))
        d.add(Line(label_w + span, 0, label_w + span, d.height, strokeColor=RULE))
        out.append(d)
    return out
