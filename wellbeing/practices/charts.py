"""Plotly figures (JSON-ready dicts) for practice indicators and self-assessment progress.

Same layout and palette as the results charts. These numbers are figures coordinators record
about their own units, not survey answers, so their traces say so: ``meta.kind`` is
``"practice_values"`` for recorded values, ``"reference_line"`` for a line from the field
(drawn dashed, its source in the legend and the hover) and ``"practice_assessment"`` for
self-assessment shares.
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from typing import Any

from wellbeing.practices.service import AssessmentSummary, IndicatorSeries
from wellbeing.reports.charts import (
    BLUE,
    GREEN,
    MUTED,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    Figure,
    _layout,
)

# Reference lines take the colours the values do not, so a line never reads as data.
REFERENCE_COLOURS = [VERMILLION, ORANGE, PURPLE, GREEN, MUTED]
PAD = timedelta(days=15)
# Characters per line of a legend entry and of an axis title; charts sit in narrow cards.
LEGEND_WIDTH = 52
AXIS_TITLE_WIDTH = 26


def indicator_figure(series: IndicatorSeries) -> Figure:
    """The recorded months as a line, with each reference line dashed across the chart."""
    x = [m.isoformat() for m in series.months]
    suffix = series.suffix
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": series.values,
            "name": series.label,
            "line": {"color": BLUE, "width": 2},
            "marker": {"size": 7, "color": BLUE},
            "connectgaps": False,
            "hovertemplate": f"%{{x|%b %Y}}: %{{y}}{suffix}<extra></extra>",
            "meta": {"kind": "practice_values", "indicator": series.id},
        }
    ]
    span = _span(series.months)
    for position, line in enumerate(series.reference_lines):
        label = line.label.en
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": span or [],
                "y": [line.value, line.value] if span else [],
                "name": _wrapped(f"{label} ({line.source})", LEGEND_WIDTH),
                "line": {
                    "color": REFERENCE_COLOURS[position % len(REFERENCE_COLOURS)],
                    "dash": "dash",
                    "width": 1.5,
                },
                "hovertemplate": (
                    f"{_plain(label)}: {line.direction_words} {line.value:g}{suffix}"
                    f"<br>Source: {_plain(line.source)}<extra></extra>"
                ),
                "meta": {
                    "kind": "reference_line",
                    "direction": line.direction,
                    "source": line.source,
                },
            }
        )
    tallest = max([*series.values, *(line.value for line in series.reference_lines), 1.0])
    top = max(100.0, tallest) if series.suffix == "%" else tallest * 1.15
    layout = _layout(
        # The plot keeps its height however many legend lines sit under it.
        height=250 + 16 * sum(1 + trace["name"].count("<br>") for trace in data),
        margin={"l": 56, "r": 16, "t": 16, "b": 48},
        yaxis={
            "range": [0, round(top, 2)],
            "title": {"text": _wrapped(series.unit_label, AXIS_TITLE_WIDTH)},
            "fixedrange": True,
        },
        xaxis={"type": "date", "range": span, "fixedrange": True},
        legend={"orientation": "h", "y": -0.2, "font": {"size": 11}},
    )
    return {"data": data, "layout": layout}


def indicator_figures(series: list[IndicatorSeries]) -> dict[str, Figure]:
    """A figure for each indicator that has at least one recorded month, by indicator id."""
    return {s.id: indicator_figure(s) for s in series if s.has_data}


def progress_figure(summaries: list[AssessmentSummary]) -> Figure:
    """Share of items in place (and in place or partly) per assessment, over time."""
    x = [s.assessment.assessed_on.isoformat() for s in summaries]
    custom = [[s.assessment.id, s.in_place, s.total] for s in summaries]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": [s.in_place_pct for s in summaries],
            "customdata": custom,
            "name": "In place",
            "line": {"color": BLUE, "width": 2},
            "marker": {"size": 8, "color": BLUE},
            "hovertemplate": (
                "%{x}: %{y}% in place (%{customdata[1]} of %{customdata[2]} items)<extra></extra>"
            ),
            "meta": {"kind": "practice_assessment", "share": "in_place"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": [s.at_least_partly_pct for s in summaries],
            "customdata": custom,
            "name": "In place or partly",
            "line": {"color": SKY, "width": 2, "dash": "dot"},
            "marker": {"size": 7, "color": SKY, "symbol": "square"},
            "hovertemplate": "%{x}: %{y}% in place or partly<extra></extra>",
            "meta": {"kind": "practice_assessment", "share": "at_least_partly"},
        },
    ]
    days = [s.assessment.assessed_on for s in summaries]
    layout = _layout(
        height=300,
        yaxis={"range": [0, 100], "title": {"text": "% of checklist items"}, "fixedrange": True},
        xaxis={"type": "date", "range": _span(days), "fixedrange": True},
    )
    return {"data": data, "layout": layout}


def _span(days: list[date]) -> list[str] | None:
    if not days:
        return None
    return [(min(days) - PAD).isoformat(), (max(days) + PAD).isoformat()]


def _wrapped(text: str, width: int) -> str:
    """Plotly does not wrap legend or axis text: break long text into lines itself."""
    return "<br>".join(textwrap.wrap(_plain(text), width)) or _plain(text)


def _plain(text: str) -> str:
    """Text from the file, made safe for a Plotly hover template (no placeholders, no tags)."""
    return text.replace("%{", "% {").replace("<", "&lt;").replace(">", "&gt;")
