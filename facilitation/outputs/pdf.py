"""ReportLab plumbing for the PDF report: the fonts, text the fonts can draw, escaping what
people typed before it is parsed as markup, the impact × uncertainty matrix as a drawing, and
the page footer.

Layer: outputs (used by pdf_document.py and pdf_charts.py). No database, no Flask.
"""

from __future__ import annotations

import os
import unicodedata
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.shapes import Circle, Drawing, Group, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT, BOLD = "SamsynSans", "SamsynSans-Bold"
INK, MUTED, RULE, FILL = (
    colors.black,
    colors.HexColor("#4a4a4a"),
    colors.HexColor("#b0b0b0"),
    colors.HexColor("#1f4e79"),
)
WIDTH = A4[0] - 36 * mm  # the frame between the margins
DASH = "–"


@cache
def glyphs() -> frozenset[int]:
    """Register the Vera family that ReportLab ships (once); the characters it can draw."""
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    faces = {FONT: "Vera.ttf", BOLD: "VeraBd.ttf", "SamsynSans-It": "VeraIt.ttf"}
    faces["SamsynSans-BoldIt"] = "VeraBI.ttf"
    for name, file in faces.items():
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=BOLD, italic="SamsynSans-It", boldItalic="SamsynSans-BoldIt"
    )
    return frozenset(pdfmetrics.getFont(FONT).face.charToGlyph)


def drawable(text: str) -> str:
    """Text the font can draw: a letter it lacks falls back to its base letter (ő → o); what
    has none (emoji, other scripts) stays, and shows as the font's empty box."""
    covered = glyphs()
    if all(ord(ch) in covered for ch in text):
        return text
    out = []
    for ch in text:
        if ord(ch) in covered or ch == "\n":
            out.append(ch)
        elif not unicodedata.combining(ch):
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if ord(c) in covered)
            out.append(base or ch)
    return "".join(out)


def markup(text: str) -> str:
    """Any text as Paragraph markup: drawable, escaped, line breaks kept."""
    return escape(drawable(text)).replace("\n", "<br/>")


def fit(text: str, width: float, size: float, font: str = FONT) -> str:
    """`text` shortened with an ellipsis to fit `width` points (for charts and the footer)."""
    text = drawable(text)
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if pdfmetrics.stringWidth(text[:mid] + "…", font, size) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


def text(
    d: Drawing,
    x: float,
    y: float,
    text: str,
    size: float = 8,
    *,
    bold: bool = False,
    anchor: str = "start",
    color: Any = INK,
) -> None:
    """Text on a chart (never parsed as markup), in a font that can draw it."""
    font = BOLD if bold else FONT
    d.add(
        String(
            x, y, drawable(text), fontName=font, fontSize=size, fillColor=color, textAnchor=anchor
        )
    )


class Matrix:
    """The impact × uncertainty matrix as the board draws it: uncertainty across, impact up,
    each step of the scale a cell with the answers in its middle, the middle of the scale
    dividing the four quadrants."""

    SIZE, PAD = 400.0, 42.0

    def __init__(self, scale: int) -> None:
        self.scale = scale
        self.span = self.SIZE - 2 * self.PAD
        self.drawing = Drawing(self.SIZE, self.PAD + self.span + 6)

    def at(self, value: float) -> float:
        """Where a value of the scale lies along either axis."""
        return self.PAD + (value - 0.5) / self.scale * self.span

    def frame(self, across: str, up: str, quadrants: dict[str, str]) -> None:
        d, pad, span, middle = self.drawing, self.PAD, self.span, (1 + self.scale) / 2
        d.add(Rect(pad, pad, span, span, fillColor=None, strokeColor=INK, strokeWidth=0.75))
        for x1, y1, x2, y2 in (
            (self.at(middle), pad, self.at(middle), pad + span),
            (pad, self.at(middle), pad + span, self.at(middle)),
        ):
            d.add(Line(x1, y1, x2, y2, strokeColor=INK, strokeWidth=1, strokeDashArray=[4, 3]))
        for v in range(1, self.scale + 1):
            text(d, self.at(v), pad - 11, str(v), 7, anchor="middle")
            text(d, pad - 6, self.at(v) - 2.5, str(v), 7, anchor="end")
        text(d, self.SIZE / 2, 6, across, 9, bold=True, anchor="middle")
        label = Group(String(0, 0, drawable(up), fontName=BOLD, fontSize=9, textAnchor="middle"))
        label.translate(12, self.SIZE / 2)
        label.rotate(90)
        d.add(label)
        for code, on_left, on_top in (
            ("key_trend", True, True),
            ("critical_uncertainty", False, True),
            ("minor_trend", True, False),
            ("weak_signal", False, False),
        ):
            text(
                d,
                pad + 6 if on_left else pad + span - 6,
                pad + span - 14 if on_top else pad + 6,
                fit(quadrants[code], span / 2 - 8, 9, BOLD),
                9,
                bold=True,
                anchor="start" if on_left else "end",
                color=MUTED,
            )

    def points(self, factors: list[tuple[int, dict[str, Any], dict[str, Any]]]) -> None:
        """Each (number, impact, uncertainty) at its medians with its quartiles as a cross."""
        d, at = self.drawing, self.at
        places: dict[tuple[float, float], list[int]] = {}
        for number, impact, uncertainty in factors:
            cx, cy = at(uncertainty["median"]), at(impact["median"])
            d.add(Line(at(uncertainty["q1"]), cy, at(uncertainty["q3"]), cy, strokeColor=MUTED))
            d.add(Line(cx, at(impact["q1"]), cx, at(impact["q3"]), strokeColor=MUTED))
            places.setdefault((cx, cy), []).append(number)
        for (cx, cy), numbers in places.items():
            d.add(Circle(cx, cy, 7, fillColor=colors.white, strokeColor=FILL, strokeWidth=1.2))
            if len(numbers) == 1:
                text(d, cx, cy - 2.5, str(numbers[0]), 7, bold=True, anchor="middle")
            else:
                d.add(Circle(cx, cy, 2, fillColor=FILL, strokeColor=None))
                self._numbers(cx, cy, numbers)

    def _numbers(self, cx: float, cy: float, numbers: list[int]) -> None:
        """The numbers of the factors that share a point, beside it on a white ground: up to
        eleven, then how many more (the table lists them all)."""
        shown = [str(n) for n in numbers[:11]]
        if len(numbers) > 11:
            shown.append(f"+{len(numbers) - 11}")
        lines = [", ".join(shown[i : i + 4]) for i in range(0, len(shown), 4)]
        wide = max(pdfmetrics.stringWidth(line, FONT, 6.5) for line in lines)
        start = cx + 9 if cx < self.PAD + self.span * 0.75 else cx - 11 - wide
        top = cy + 8
        ground = Rect(start - 1, top - 8 * len(lines) - 1, wide + 2, 8 * len(lines))
        ground.fillColor, ground.strokeColor = colors.white, None
        self.drawing.add(ground)
        for i, line in enumerate(lines):
            text(self.drawing, start, top - 8 * (i + 1) + 1, line, 6.5)


class FooterCanvas(Canvas):  # type: ignore[misc]
    """Holds every page until the last, so that each footer can say "page 3 of 12"."""

    def __init__(self, *args: Any, title: str, words: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._title, self._words = title, words
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, page in enumerate(self._pages, start=1):
            self.__dict__.update(page)
            self._footer(number, total)
            super().showPage()
        super().save()

    def _footer(self, number: int, total: int) -> None:
        left, right, y = 18 * mm, A4[0] - 18 * mm, 11 * mm
        page = drawable(self._words % {"page": number, "pages": total})
        self.setFont(FONT, 8)
        self.setFillColor(MUTED)
        self.drawRightString(right, y, page)
        space = right - left - pdfmetrics.stringWidth(page, FONT, 8) - 24
        self.drawString(left, y, fit(self._title, space, 8))
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(left, y + 10, right, y + 10)
