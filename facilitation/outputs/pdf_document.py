"""A PDF document being written: the words and numbers of its language, and the blocks its
pages are built of (paragraphs, headings, tables, label and value pairs), laid out on A4 with
a footer and an outline. The workshop's report and the series' report each write one.

Layer: outputs. Imports ReportLab, Babel, pdf.py and the words of export.py; no database, no
Flask. Everything a person typed is escaped before ReportLab's Paragraph parses it as markup.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
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

from facilitation.core.domain import DEFAULT_TIME_ZONE
from facilitation.outputs import pdf
from facilitation.outputs.export import WORDS
from facilitation.outputs.pdf import BOLD, DASH, FONT, MUTED, RULE, WIDTH, FooterCanvas, markup

_GONE = WORDS["status"]
# A table cell's padding, left and right; the smallest type a cell shrinks to for a long word.
_PADDING, _SMALLEST = 4.0, 5.5
# A text as a cell of `Document.table`: paragraphs, each (style, text).
Cell = list[tuple[str, str]]


class Document:
    """One PDF being written, in the language `gettext` translates to and `language` (sv or
    en) writes numbers and dates in, its times in `time_zone` (an IANA name)."""

    def __init__(
        self, gettext: Callable[[str], str], language: str | None, time_zone: str | None = None
    ) -> None:
        pdf.glyphs()
        self._ = gettext
        language = language or "en"
        self.locale = language if language in ("sv", "en") else "en"
        self.time_zone = time_zone or DEFAULT_TIME_ZONE
        self.zone = ZoneInfo(self.time_zone)
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

    def local(self, iso: str) -> datetime:
        """A time of the record (UTC) in the workshop's time zone."""
        at = datetime.fromisoformat(iso)
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(self.zone)

    def date(self, iso: str) -> str:
        """A day, in the workshop's time zone, as the language writes it in full (4 mars 2026)."""
        return str(format_date(self.local(iso).date(), format="long", locale=self.locale))

    def word(self, words: dict[str, str], code: str | None) -> str:
        """The word for a code of the record (a step, a quadrant …), or a dash for none."""
        message = words.get(code or "")
        return self._(message) if message else DASH

    def factor_title(self, row: dict[str, Any]) -> str:
        """A factor's title as it is now, with its fate if it left the board since (a kept
        factor's title alone: most are kept)."""
        title, status = row["title"], row.get("status") or "active"
        gone = _GONE.get(status) if status != "active" else None
        return f"{title} ({self._(gone)})" if gone else title

    # --- Building blocks --------------------------------------------------------------------

    def para(
        self,
        text: str,
        style: str = "body",
        *,
        outline: int | None = None,
        width: float | None = None,
    ) -> Paragraph:
        """A paragraph of plain text (escaped); headings with an `outline` level get a bookmark.
        Within a `width`, its type shrinks until its longest word fits: lines break between
        words, never inside one ("sammanslag|en")."""
        paragraph = Paragraph(markup(text), self.fitted(text, style, width))
        if outline is not None:
            paragraph.outline = (text, outline)
        return paragraph

    def fitted(self, text: str, style: str, width: float | None) -> ParagraphStyle:
        """`style`, or a smaller copy of it in which the longest word of `text` fits `width`."""
        chosen = self.styles[style]
        if width is None:
            return chosen
        font, size = chosen.fontName, chosen.fontSize
        longest = max(
            (pdfmetrics.stringWidth(w, font, size) for w in re.split(r"\s+", pdf.drawable(text))),
            default=0.0,
        )
        if longest <= width:
            return chosen
        smaller = max(_SMALLEST, math.floor(size * width / longest * 10) / 10)
        return ParagraphStyle(
            f"{chosen.name}-{smaller}",
            parent=chosen,
            fontSize=smaller,
            leading=chosen.leading * smaller / size,
        )

    def heading(self, text: str, level: int = 0) -> list[Any]:
        """A heading, on a new page if too little room is left below it for what follows."""
        room = 150 if level == 0 else 90
        return [CondPageBreak(room), self.para(text, "h1" if level == 0 else "h2", outline=level)]

    def together(self, head: list[Any], blocks: list[Any]) -> list[Any]:
        """`head` (headings without their breaks) kept on one page with the first of `blocks`:
        a drawing never splits, so a heading would otherwise be left alone above the gap."""
        kept = [f for f in head if not isinstance(f, CondPageBreak)]
        return [KeepTogether(kept + blocks[:1]), *blocks[1:]]

    def cell(self, value: Any, style: str, width: float) -> Any:
        """A table's cell: text (a string, or a `Cell` of styled paragraphs) set to fit
        `width` points; anything else (a drawing) as it is."""
        inside = width - 2 * _PADDING
        if isinstance(value, str):
            return self.para(value, style, width=inside)
        if isinstance(value, list) and all(isinstance(part, tuple) for part in value):
            return [self.para(text, kind, width=inside) for kind, text in value]
        return value

    def table(self, header: Sequence[str], rows: list[list[Any]], widths: Sequence[float]) -> Table:
        """A table with a repeated header row; `widths` are shares of the frame's width."""
        points = [w * WIDTH for w in widths]
        head = [self.cell(h, "th", w) for h, w in zip(header, points, strict=True)]
        body = [[self.cell(c, "cell", w) for c, w in zip(r, points, strict=True)] for r in rows]
        table = Table([head, *body], colWidths=points, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ("LEFTPADDING", (0, 0), (-1, -1), _PADDING),
                    ("RIGHTPADDING", (0, 0), (-1, -1), _PADDING),
                ]
            )
        )
        return table

    def pairs(self, rows: list[tuple[str, str]]) -> Table:
        """Label and value, one a line."""
        cells = [
            [self.cell(k, "th", 0.3 * WIDTH), self.cell(v, "cell", 0.7 * WIDTH)] for k, v in rows
        ]
        table = Table(cells, colWidths=[0.3 * WIDTH, 0.7 * WIDTH])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ("LEFTPADDING", (0, 0), (-1, -1), _PADDING),
                    ("RIGHTPADDING", (0, 0), (-1, -1), _PADDING),
                ]
            )
        )
        return table

    def front(self, title: str, subtitle: str, facts: list[tuple[str, str]]) -> list[Any]:
        """The first page's head: the title, what the document is, and when it was exported
        followed by `facts`, label and value."""
        exported = (self._("Exported"), self.date(datetime.now(UTC).isoformat()))
        return [
            self.para(title, "title", outline=0),
            self.para(subtitle, "h2"),
            Spacer(1, 6),
            self.pairs([exported, *facts]),
        ]

    def factor_cell(self, factor: dict[str, Any]) -> Cell:
        """A factor's title with its description below it, small."""
        cell = [("cell", factor["title"])]
        if factor.get("description"):
            cell.append(("small", factor["description"]))
        return cell

    # --- The pages --------------------------------------------------------------------------

    def build(self, story: list[Any], *, title: str, subject: str) -> bytes:
        """`story` laid out on A4 pages: `title` in the footer of each, headings in the
        outline; the PDF's bytes."""
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=18 * mm,
            bottomMargin=20 * mm,
            title=title,
            subject=subject,
            author="Samsyn",
            creator="Samsyn",
            lang=self.locale,
        )
        doc.afterFlowable = lambda flowable: self._bookmark(doc.canv, flowable)
        footer = pdf.drawable(title)
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
