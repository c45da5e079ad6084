"""The PDF board report, drawn on the server with ReportLab: no browser, no network.

Headline indices with their intervals, trend charts with their bands, the heatmap, comment
themes, the action log and a one-page note on method and privacy. Charts are vector drawings
of released values only; hidden waves are gaps marked "hidden", never a number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from reportlab.graphics.shapes import Drawing, Group, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from wellbeing.bank import current_bank
from wellbeing.exports import content
from wellbeing.exports.method import method_note
from wellbeing.exports.selection import Progress, Selection, change_words
from wellbeing.releases.gate import ReleasedCell
from wellbeing.releases.suppression import HIDDEN_REASON
from wellbeing.reports import charts
from wellbeing.reports.service import Trend

PAGE_WIDTH = LETTER[0] - 1.5 * inch
INK = colors.HexColor(charts.INK)
MUTED = colors.HexColor(charts.MUTED)
LINE = colors.HexColor("#d5d9de")
HIDDEN = colors.HexColor(charts.HIDDEN_FILL)
BAND = colors.HexColor("#cfe3f3")
SERIES = colors.HexColor(charts.BLUE)
# The heatmap's five index bands, as on the screens (0-19, 20-39, ... 80-100).
HEAT = [
    (colors.HexColor("#b35806"), colors.white),
    (colors.HexColor("#f1a340"), INK),
    (colors.HexColor("#f7f7f7"), INK),
    (colors.HexColor("#b2abd2"), INK),
    (colors.HexColor("#542788"), colors.white),
]
HEAT_ROWS_PER_PAGE = 32


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=9.5, leading=13)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], alignment=TA_LEFT, fontSize=20),
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontSize=15, spaceBefore=6),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=11.5, spaceBefore=8),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5),
    }


def write_board_report(
    selection: Selection, out: str | Path | IO[bytes], progress: Progress | None = None
) -> None:
    """Write the board report for ``selection`` to a path or a binary file."""
    if isinstance(out, Path):
        out = str(out)
    styles = _styles()
    story: list[Flowable] = []
    story += _cover(selection, styles)
    if progress is not None:
        progress(1)
    story += _trends(selection, styles)
    if progress is not None:
        progress(1)
    story += _heatmap(selection, styles)
    story += _themes(selection, styles)
    story += _actions(selection, styles)
    story += _method(selection, styles)
    if progress is not None:
        progress(1)
    made = datetime.now(UTC)

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(
            0.75 * inch,
            0.5 * inch,
            f"Wellbeing Pulse · released results only · made {made:%d %b %Y}",
        )
        canvas.drawRightString(LETTER[0] - 0.75 * inch, 0.5 * inch, f"Page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        leftMargin=0.75 * inch,
        rightMargin=0.75 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.8 * inch,
        title=f"Wellbeing results: {selection.title}",
        author="Wellbeing Pulse",
        subject="Staff wellbeing pulse results, as released",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


def _box(x: float, y: float, width: float, height: float, **style: Any) -> Rect:
    """A rectangle with its fill and stroke set (``fillColor``, ``strokeColor``, ...)."""
    box = Rect(x, y, width, height)
    for name, value in style.items():
        setattr(box, name, value)
    return box


# ------------------------------------------------------------------ cover and headline


def _number(cell: ReleasedCell | None, suffix: str = "") -> str:
    if cell is None:
        return "—"
    if cell.hidden or cell.value is None:
        return "hidden"
    return f"{cell.value:g}{suffix}"


def _interval(cell: ReleasedCell | None) -> str:
    if cell is None or cell.hidden or cell.ci_low is None or cell.ci_high is None:
        return ""
    return f"{cell.ci_low:g}-{cell.ci_high:g}"


def _cover(selection: Selection, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph("Staff wellbeing: results for the board", styles["title"]),
        Paragraph(selection.title, styles["h2"]),
        Paragraph(
            f"{len(selection.waves)} released wave(s), latest {selection.latest.label}. Every "
            "figure comes from the audited release of its wave; figures that could point to "
            "a small group are marked “hidden”. The last page explains how to read them.",
            styles["body"],
        ),
        Spacer(1, 10),
    ]
    for unit, rows, respondents in content.headline(selection):
        story.append(Paragraph(f"Latest wave: {unit.name}", styles["h1"]))
        story.append(
            Paragraph(
                f"Respondents: {respondents.n_band if respondents and not respondents.hidden else _number(respondents)}.",
                styles["body"],
            )
        )
        data: list[list[Any]] = [["Measure", "Index", "95% interval", "Change from last wave"]]
        for name, cell in rows:
            suffix = "%" if cell is not None and cell.metric == "prevalence_pct" else ""
            data.append(
                [
                    Paragraph(name, styles["cell"]),
                    _number(cell, suffix),
                    _interval(cell),
                    Paragraph(change_words(cell) if cell else "—", styles["cell"]),
                ]
            )
        table = Table(
            data, colWidths=[2.3 * inch, 0.8 * inch, 1.1 * inch, 2.8 * inch], repeatRows=1
        )
        table.setStyle(_table_style(data))
        story += [table, Spacer(1, 6)]
    return story


def _table_style(data: list[list[Any]]) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#0b5cad")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, LINE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for row, values in enumerate(data):
        for column, value in enumerate(values):
            if value == "hidden":
                commands.append(("BACKGROUND", (column, row), (column, row), HIDDEN))
    return TableStyle(commands)


# ------------------------------------------------------------------ trend charts


class TrendChart:
    """A small multiple: one series over the waves with its band, median and hidden gaps."""

    def __init__(self, trend: Trend, width: float, height: float) -> None:
        self.trend, self.width, self.height = trend, width, height
        self.left, self.right, self.top, self.bottom = 26.0, 8.0, 16.0, 22.0

    def x(self, index: int) -> float:
        count = max(1, len(self.trend.points) - 1)
        return self.left + (self.width - self.left - self.right) * index / count

    def y(self, value: float) -> float:
        return self.bottom + (self.height - self.top - self.bottom) * value / 100

    def drawing(self) -> Drawing:
        d = Drawing(self.width, self.height)
        d.add(String(0, self.height - 10, self.trend.name, fontName="Helvetica-Bold", fontSize=8))
        for tick in (0, 25, 50, 75, 100):
            d.add(
                Line(
                    self.left,
                    self.y(tick),
                    self.width - self.right,
                    self.y(tick),
                    strokeColor=LINE,
                    strokeWidth=0.4,
                )
            )
            d.add(
                String(
                    self.left - 3,
                    self.y(tick) - 2.5,
                    str(tick),
                    fontSize=6,
                    fillColor=MUTED,
                    textAnchor="end",
                )
            )
        for segment in self._segments():
            self._draw_segment(d, segment)
        median = self.trend.runchart.median
        if median is not None:
            d.add(
                Line(
                    self.left,
                    self.y(median),
                    self.width - self.right,
                    self.y(median),
                    strokeColor=MUTED,
                    strokeWidth=0.6,
                    strokeDashArray=[2, 2],
                )
            )
        for index, point in enumerate(self.trend.points):
            if point.cell is not None and point.cell.hidden:
                d.add(
                    String(
                        self.x(index),
                        self.bottom + 2,
                        "hidden",
                        fontSize=5.5,
                        fillColor=MUTED,
                        textAnchor="middle",
                    )
                )
        points = self.trend.points
        if points:
            d.add(String(self.left, 8, points[0].wave.label, fontSize=6, fillColor=MUTED))
            if len(points) > 1:
                d.add(
                    String(
                        self.width - self.right,
                        8,
                        points[-1].wave.label,
                        fontSize=6,
                        fillColor=MUTED,
                        textAnchor="end",
                    )
                )
        if self.trend.runchart.signal:
            d.add(
                String(
                    self.width - self.right,
                    self.height - 10,
                    "signal",
                    fontSize=7,
                    fillColor=colors.HexColor(charts.VERMILLION),
                    textAnchor="end",
                )
            )
        return d

    def _segments(self) -> list[list[tuple[int, ReleasedCell]]]:
        """Runs of consecutive waves with a shown value; hidden or missing waves break them."""
        segments: list[list[tuple[int, ReleasedCell]]] = [[]]
        for index, point in enumerate(self.trend.points):
            cell = point.cell
            if cell is None or cell.hidden or cell.value is None:
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append((index, cell))
        return [s for s in segments if s]

    def _draw_segment(self, d: Drawing, segment: list[tuple[int, ReleasedCell]]) -> None:
        upper = [
            (self.x(i), self.y(c.ci_high if c.ci_high is not None else c.value or 0))
            for i, c in segment
        ]
        lower = [
            (self.x(i), self.y(c.ci_low if c.ci_low is not None else c.value or 0))
            for i, c in segment
        ]
        if len(segment) > 1:
            outline = [v for xy in upper + lower[::-1] for v in xy]
            d.add(Polygon(outline, fillColor=BAND, strokeColor=None, strokeWidth=0))
            line = [v for i, c in segment for v in (self.x(i), self.y(c.value or 0))]
            d.add(PolyLine(line, strokeColor=SERIES, strokeWidth=1.4))
        for i, c in segment:
            d.add(
                _box(
                    self.x(i) - 1.3,
                    self.y(c.value or 0) - 1.3,
                    2.6,
                    2.6,
                    fillColor=SERIES,
                    strokeColor=None,
                )
            )


def _trends(selection: Selection, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = []
    width = PAGE_WIDTH / 2 - 6
    for unit, trends in content.trends(selection):
        shown = [t for t in trends if t.has_data]
        if not shown:
            continue
        story.append(PageBreak())
        story.append(Paragraph(f"Trends: {unit.name}", styles["h1"]))
        story.append(
            Paragraph(
                "Each chart shows one measure over the released waves: the line is the index, "
                "the shaded band its 95% interval, the dashed line the median. A gap marked "
                "“hidden” is a wave whose result was kept back to protect anonymity.",
                styles["small"],
            )
        )
        cells: list[Flowable] = [TrendChart(t, width, 118).drawing() for t in shown]
        rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
        if len(rows[-1]) == 1:
            rows[-1].append(Spacer(1, 1))
        grid = Table(rows, colWidths=[width + 6, width + 6])
        grid.setStyle(
            TableStyle(
                [("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]
            )
        )
        story.append(grid)
        notes = [f"{t.name}: {t.runchart.summary()}" for t in shown if t.runchart.evaluated]
        if notes:
            story.append(Paragraph("Run-chart reading. " + " ".join(notes), styles["small"]))
    return story


# ------------------------------------------------------------------ heatmap


def _heat_colours(cell: ReleasedCell | None) -> tuple[Any, Any, str]:
    if cell is None:
        return colors.white, MUTED, "—"
    if cell.hidden or cell.value is None:
        return HIDDEN, INK, "hidden"
    fill, ink = HEAT[min(4, int(cell.value // 20))]
    return fill, ink, f"{cell.value:g}"


def heatmap_drawing(
    rows: list[tuple[Any, int, dict[str, ReleasedCell]]], measures: list[tuple[str, str]]
) -> Drawing:
    """Units (indented by depth) by measures, each cell coloured by its index band."""
    label_width, cell_h, header_h = 150.0, 15.0, 62.0
    cell_w = (PAGE_WIDTH - label_width) / max(1, len(measures))
    height = header_h + cell_h * len(rows)
    d = Drawing(PAGE_WIDTH, height)
    for column, (_, name) in enumerate(measures):
        x = label_width + cell_w * column + cell_w / 2
        d.add(_rotated(String(0, 0, name, fontSize=6.5, fillColor=INK), x, height - header_h + 4))
    for row, (unit, depth, cells) in enumerate(rows):
        y = height - header_h - cell_h * (row + 1)
        name = unit.name if len(unit.name) <= 34 else unit.name[:32] + "..."
        d.add(String(4 + 8 * depth, y + 4.5, name, fontSize=7, fillColor=INK))
        for column, (measure, _) in enumerate(measures):
            fill, ink, text = _heat_colours(cells.get(measure))
            x = label_width + cell_w * column
            d.add(
                _box(
                    x, y, cell_w - 1, cell_h - 1, fillColor=fill, strokeColor=LINE, strokeWidth=0.3
                )
            )
            d.add(
                String(
                    x + cell_w / 2,
                    y + 4.5,
                    text,
                    fontSize=6.5 if text == "hidden" else 7,
                    fillColor=ink,
                    textAnchor="middle",
                )
            )
    return d


def _rotated(label: String, x: float, y: float) -> Group:
    """The label turned 45 degrees up from (x, y), for column headers."""
    group = Group(label)
    group.transform = (0.7071, 0.7071, -0.7071, 0.7071, x, y)
    return group


def _heatmap(selection: Selection, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    heat = content.heatmap(selection)
    if not heat.rows:
        return []
    story: list[Flowable] = []
    for start in range(0, len(heat.rows), HEAT_ROWS_PER_PAGE):
        story.append(PageBreak())
        title = f"Heatmap, wave of {selection.latest.label}"
        if start:
            title += " (continued)"
        story.append(Paragraph(title, styles["h1"]))
        if not start:
            story.append(
                Paragraph(
                    "Each cell is a unit's index (0-100) for a measure, everyone below the unit "
                    "included. Orange is low, purple high; grey cells marked “hidden” are kept "
                    "back to protect anonymity; “—” was not asked.",
                    styles["small"],
                )
            )
        story.append(heatmap_drawing(heat.rows[start : start + HEAT_ROWS_PER_PAGE], heat.measures))
    return story


# ------------------------------------------------------------------ themes, actions, method


def themes_drawing(themes: list[tuple[str, int]]) -> Drawing:
    """Horizontal bars: released comments per theme."""
    label_width, bar_h = 170.0, 14.0
    height = bar_h * len(themes) + 16
    most = max(n for _, n in themes)
    scale = (PAGE_WIDTH - label_width - 30) / most
    d = Drawing(PAGE_WIDTH, height)
    for row, (name, count) in enumerate(themes):
        y = height - bar_h * (row + 1)
        d.add(String(label_width - 6, y + 3.5, name, fontSize=8, fillColor=INK, textAnchor="end"))
        d.add(
            _box(label_width, y + 1, count * scale, bar_h - 4, fillColor=SERIES, strokeColor=None)
        )
        d.add(
            String(label_width + count * scale + 4, y + 3.5, str(count), fontSize=8, fillColor=INK)
        )
    return d


def _themes(selection: Selection, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    themes = content.themes(selection)
    story: list[Flowable] = [
        PageBreak(),
        Paragraph("What staff wrote about: comment themes", styles["h1"]),
    ]
    if not themes:
        story.append(
            Paragraph(
                "No comments were released in this period. Comments are released only for "
                "groups of at least 10 respondents with at least 3 people commenting.",
                styles["body"],
            )
        )
        return story
    story.append(
        Paragraph(
            "How many released comments touch each theme over the period (a comment can touch "
            "several). The comments themselves are in the workbook export.",
            styles["small"],
        )
    )
    story.append(themes_drawing(themes))
    return story


def _actions(selection: Selection, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    rows = content.actions(selection)
    story: list[Flowable] = [
        Spacer(1, 14),
        Paragraph("What we are doing: the action log", styles["h1"]),
    ]
    if not rows:
        story.append(
            Paragraph(
                "No actions have been recorded for these units yet. Leaders and coordinators "
                "record them on each unit's results page.",
                styles["body"],
            )
        )
        return story
    domains = current_bank().domains
    data: list[list[Any]] = [["Unit", "Area", "Action", "Status", "Started"]]
    for action in rows:
        domain = domains.get(action.domain)
        data.append(
            [
                Paragraph(action.unit.name, styles["cell"]),
                Paragraph(domain.name.get("en") if domain else action.domain, styles["cell"]),
                Paragraph(action.title, styles["cell"]),
                action.status.replace("_", " "),
                action.start_date.strftime("%d %b %Y"),
            ]
        )
    table = Table(
        data, colWidths=[1.3 * inch, 1.3 * inch, 2.6 * inch, 0.9 * inch, 0.9 * inch], repeatRows=1
    )
    table.setStyle(_table_style(data))
    story.append(table)
    return story


def _method(selection: Selection, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [PageBreak(), Paragraph("How to read this report", styles["h1"])]
    for heading, body in method_note(selection.latest):
        story.append(
            KeepTogether([Paragraph(heading, styles["h2"]), Paragraph(body, styles["body"])])
        )
    story.append(Spacer(1, 8))
    story.append(Paragraph(f"“hidden” always means: {HIDDEN_REASON}", styles["small"]))
    return story
