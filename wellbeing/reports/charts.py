"""Plotly figures (as plain JSON-ready dicts) drawn from released cells only.

Every trace that plots a number says where it came from: ``meta.kind`` is ``"cells"`` for
traces whose ``y`` (or ``z``/``x``) values are released values and whose ``customdata`` starts
with the cell id, ``"interval"`` for interval bands built from released interval ends, and
``"median"`` for the run-chart centre line (the median of released values). Hidden waves are
drawn as labelled gaps, never as points, so no hidden cell ever has a position on a chart.
The palette is Okabe and Ito's, which stays distinct for the common colour-vision types.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from wellbeing.actions.service import Milestone
from wellbeing.reports.service import Heatmap, ItemRow, Trend

BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
PURPLE = "#CC79A7"
SKY = "#56B4E9"
VERMILLION = "#D55E00"
YELLOW = "#F0E442"
INK = "#1b1f24"
MUTED = "#4a5561"
PALETTE = [BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW, INK]
# A diverging scale that colour-blind readers can still order: orange (low) to purple (high).
INDEX_SCALE = [
    [0.0, "#b35806"],
    [0.25, "#f1a340"],
    [0.5, "#f7f7f7"],
    [0.75, "#998ec3"],
    [1.0, "#542788"],
]
HIDDEN_FILL = "#d9d9d9"
FONT = {
    "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
    "size": 13,
    "color": INK,
}

Figure = dict[str, Any]


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "font": FONT,
        "margin": {"l": 48, "r": 16, "t": 16, "b": 48},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": PALETTE,
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.25},
    }
    layout.update(extra)
    return layout


MILESTONE_WORDS = {
    "started": "Started",
    "done": "Done",
    "stopped": "Stopped",
    "resumed": "Resumed",
}
MILESTONE_COLOURS = {"stopped": MUTED}


def trend_figure(trend: Trend, milestones: list[Milestone] | None = None) -> Figure:
    """A run chart: released values with their intervals, the median, gaps for hidden waves."""
    x = [p.wave.iso for p in trend.points]
    shown = [p.cell if p.cell is not None and not p.cell.hidden else None for p in trend.points]
    values = [c.value if c else None for c in shown]
    ids = [[c.cell_id] if c else [None] for c in shown]
    lows = [c.ci_low if c else None for c in shown]
    highs = [c.ci_high if c else None for c in shown]
    suffix = "%" if trend.metric in ("prevalence_pct", "rate") else ""
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": highs,
            "customdata": ids,
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
            "connectgaps": False,
            "meta": {"kind": "interval", "end": "high"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": lows,
            "customdata": ids,
            "line": {"width": 0},
            "fill": "tonexty",
            "fillcolor": "rgba(0,114,178,0.18)",
            "name": "95% interval",
            "hoverinfo": "skip",
            "connectgaps": False,
            "meta": {"kind": "interval", "end": "low"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": values,
            "customdata": ids,
            "name": trend.name,
            "line": {"color": BLUE, "width": 2},
            "marker": {"size": 7, "color": BLUE},
            "connectgaps": False,
            "hovertemplate": f"%{{x}}: %{{y}}{suffix}<extra></extra>",
            "meta": {"kind": "cells"},
        },
    ]
    run = trend.runchart
    if run.shift and run.run_indexes:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [x[i] for i in run.run_indexes],
                "y": [values[i] for i in run.run_indexes],
                "customdata": [ids[i] for i in run.run_indexes],
                "name": f"Shift ({run.longest_run} waves {run.run_side} the median)",
                "marker": {
                    "size": 11,
                    "symbol": "diamond-open",
                    "color": VERMILLION,
                    "line": {"width": 2},
                },
                "hovertemplate": "%{x}: part of a shift<extra></extra>",
                "meta": {"kind": "cells"},
            }
        )
    if run.median is not None and len(x) > 1:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [x[0], x[-1]],
                "y": [run.median, run.median],
                "name": "Median",
                "line": {"color": MUTED, "dash": "dash", "width": 1.5},
                "hovertemplate": "Median %{y}<extra></extra>",
                "meta": {"kind": "median"},
            }
        )
    annotations: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    for point in trend.points:
        if point.cell is not None and point.cell.hidden:
            annotations.append(
                {
                    "x": point.wave.iso,
                    "y": 0.02,
                    "yref": "paper",
                    "text": "hidden",
                    "showarrow": False,
                    "font": {"size": 11, "color": MUTED},
                    "hovertext": point.cell.reason or "hidden",
                    "textangle": -90,
                }
            )
    for milestone in milestones or []:
        if trend.measure not in milestone.domains or not x:
            continue
        day = milestone.on_date.isoformat()
        colour = MILESTONE_COLOURS.get(milestone.what, GREEN)
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": day,
                "x1": day,
                "y0": 0,
                "y1": 1,
                "line": {"color": colour, "width": 2, "dash": "dot"},
            }
        )
        annotations.append(
            {
                "x": day,
                "y": 1,
                "yref": "paper",
                "yanchor": "bottom",
                "text": f"{MILESTONE_WORDS[milestone.what]}: {milestone.title[:32]}",
                "showarrow": False,
                "font": {"size": 11, "color": "#00583f"},
                "hovertext": f"{day} · action {MILESTONE_WORDS[milestone.what].lower()}: "
                f"{milestone.title}",
                "meta": {
                    "kind": "action",
                    "action_id": milestone.action_id,
                    "what": milestone.what,
                },
            }
        )
    span = _date_span(trend)
    layout = _layout(
        height=280,
        margin={"l": 48, "r": 16, "t": 28, "b": 48},
        yaxis={
            "range": [0, 100],
            "title": {"text": "%" if suffix else "Index (0–100)"},
            "fixedrange": True,
        },
        xaxis={"type": "date", "range": span, "fixedrange": True},
        annotations=annotations,
        shapes=shapes,
    )
    return {"data": data, "layout": layout}


def _date_span(trend: Trend) -> list[str] | None:
    if not trend.points:
        return None
    first: date = trend.points[0].wave.scheduled_for
    last: date = trend.points[-1].wave.scheduled_for
    pad = timedelta(days=5)
    return [(first - pad).isoformat(), (last + pad).isoformat()]


def heatmap_figure(heatmap: Heatmap, urls: dict[int, str]) -> Figure:
    """Units × domains coloured by index; hidden cells grey and labelled, missing ones blank."""
    rows = list(reversed(heatmap.rows))  # Plotly draws the first row at the bottom
    labels = ["› " * row.depth + row.unit.name for row in rows]
    columns = [d.name.get("en") for d in heatmap.measures]
    z: list[list[float | None]] = []
    hidden_z: list[list[float | None]] = []
    custom: list[list[list[Any]]] = []
    hidden_custom: list[list[list[Any]]] = []
    text: list[list[str]] = []
    for row in rows:
        cells = [row.cells.get(measure.id) for measure in heatmap.measures]
        shown = [c if c is not None and not c.hidden else None for c in cells]
        hidden = [c if c is not None and c.hidden else None for c in cells]
        z.append([c.value if c else None for c in shown])
        custom.append([[c.cell_id if c else None] for c in shown])
        hidden_z.append([1.0 if c else None for c in hidden])
        hidden_custom.append([[c.cell_id, c.reason or "hidden"] if c else [None] for c in hidden])
        text.append(
            [
                "hidden" if h else f"{c.value:g}" if c else ""
                for c, h in zip(shown, hidden, strict=True)
            ]
        )
    data = [
        {
            "type": "heatmap",
            "x": columns,
            "y": labels,
            "z": z,
            "customdata": custom,
            "text": text,
            "texttemplate": "%{text}",
            "zmin": 0,
            "zmax": 100,
            "colorscale": INDEX_SCALE,
            "colorbar": {"title": {"text": "Index"}, "thickness": 12},
            "hovertemplate": "%{y} · %{x}: %{z}<extra>open the unit page</extra>",
            "xgap": 2,
            "ygap": 2,
            "meta": {"kind": "cells"},
        },
        {
            "type": "heatmap",
            "x": columns,
            "y": labels,
            "z": hidden_z,
            "customdata": hidden_custom,
            "text": [["hidden" if v is not None else "" for v in r] for r in hidden_z],
            "texttemplate": "%{text}",
            "colorscale": [[0, HIDDEN_FILL], [1, HIDDEN_FILL]],
            "showscale": False,
            "hovertemplate": "%{y} · %{x}: %{customdata[1]}<extra></extra>",
            "xgap": 2,
            "ygap": 2,
            "meta": {"kind": "hidden"},
        },
    ]
    height = max(240, 60 + 28 * len(rows))
    layout = _layout(
        height=height,
        margin={"l": 220, "r": 16, "t": 16, "b": 110},
        xaxis={"side": "bottom", "tickangle": -30, "fixedrange": True},
        yaxis={"automargin": True, "fixedrange": True},
    )
    # One link per row, not per cell: the page's script opens the row's unit when a cell is hit.
    layout["meta"] = {"row_links": [urls.get(row.unit.id, "") for row in rows]}
    return {"data": data, "layout": layout}


def themes_figure(themes: list[tuple[str, int]]) -> Figure:
    """How many released comments touch each theme."""
    ordered = list(reversed(themes))
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [n for _, n in ordered],
            "y": [name for name, _ in ordered],
            "marker": {"color": BLUE},
            "hovertemplate": "%{y}: %{x} comments<extra></extra>",
            "meta": {"kind": "comment_counts"},
        }
    ]
    layout = _layout(
        height=max(180, 40 + 30 * len(themes)),
        margin={"l": 200, "r": 16, "t": 8, "b": 40},
        xaxis={"title": {"text": "Released comments"}, "dtick": 1, "fixedrange": True},
        yaxis={"fixedrange": True},
    )
    return {"data": data, "layout": layout}


def distribution_figure(items: list[ItemRow]) -> Figure | None:
    """Stacked shares per answer option, for items whose release shows the distribution."""
    shown = [item for item in items if item.distribution]
    if not shown:
        return None
    labels = [item.text if len(item.text) <= 48 else item.text[:47] + "…" for item in shown]
    options: list[str] = []
    for item in shown:
        for label, _ in item.distribution:
            if label not in options:
                options.append(label)
    colours = ["#b35806", "#f1a340", "#bdbdbd", "#998ec3", "#542788"]
    data = []
    for position, option in enumerate(options):
        xs, ids = [], []
        for item in shown:
            cell = dict(item.distribution).get(option)
            xs.append(cell.value if cell else None)
            ids.append([cell.cell_id if cell else None])
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": option,
                "x": xs,
                "y": labels,
                "customdata": ids,
                "marker": {"color": colours[position % len(colours)]},
                "hovertemplate": f"{option}: %{{x}}%<extra></extra>",
                "meta": {"kind": "cells", "axis": "x"},
            }
        )
    layout = _layout(
        barmode="stack",
        height=max(200, 80 + 40 * len(shown)),
        margin={"l": 260, "r": 16, "t": 8, "b": 60},
        xaxis={"range": [0, 100], "title": {"text": "% of answers"}, "fixedrange": True},
        yaxis={"fixedrange": True, "automargin": True},
    )
    return {"data": data, "layout": layout}


def equity_figure(
    measures: list[tuple[str, str]], groups: list[tuple[str, dict[str, Any]]]
) -> Figure:
    """Index per measure for each group of a cut, side by side with intervals."""
    data = []
    names = [name for _, name in measures]
    for position, (label, cells) in enumerate(groups):
        ys: list[float | None] = []
        ids: list[list[int | None]] = []
        plus: list[float | None] = []
        minus: list[float | None] = []
        for measure_id, _ in measures:
            cell = cells.get(measure_id)
            if cell is None or cell.hidden:
                ys.append(None)
                ids.append([None])
                plus.append(None)
                minus.append(None)
                continue
            ys.append(cell.value)
            ids.append([cell.cell_id])
            plus.append(round((cell.ci_high or cell.value) - cell.value, 1))
            minus.append(round(cell.value - (cell.ci_low or cell.value), 1))
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "x": names,
                "y": ys,
                "customdata": ids,
                "error_y": {"type": "data", "array": plus, "arrayminus": minus, "visible": True},
                "marker": {"size": 10, "color": PALETTE[position % len(PALETTE)]},
                "hovertemplate": f"{label} · %{{x}}: %{{y}}<extra></extra>",
                "meta": {"kind": "cells"},
            }
        )
    layout = _layout(
        height=320,
        yaxis={"range": [0, 100], "title": {"text": "Index (0–100)"}, "fixedrange": True},
        xaxis={"fixedrange": True},
        scattermode="group",
    )
    return {"data": data, "layout": layout}


def overview_figure(trends: list[Trend]) -> Figure:
    """Several index series on one chart (hidden waves are gaps), for the overview."""
    data = []
    for position, trend in enumerate(trends):
        shown = [p.cell if p.cell is not None and not p.cell.hidden else None for p in trend.points]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": trend.name,
                "x": [p.wave.iso for p in trend.points],
                "y": [c.value if c else None for c in shown],
                "customdata": [[c.cell_id] if c else [None] for c in shown],
                "line": {"color": PALETTE[position % len(PALETTE)], "width": 2},
                "marker": {
                    "size": 6,
                    "symbol": ["circle", "square", "diamond", "triangle-up", "x"][position % 5],
                },
                "connectgaps": False,
                "hovertemplate": f"{trend.name} %{{x}}: %{{y}}<extra></extra>",
                "meta": {"kind": "cells"},
            }
        )
    span = _date_span(trends[0]) if trends else None
    layout = _layout(
        height=340,
        yaxis={"range": [0, 100], "title": {"text": "Index (0–100)"}, "fixedrange": True},
        xaxis={"type": "date", "range": span, "fixedrange": True},
        legend={"orientation": "h", "y": -0.2},
    )
    return {"data": data, "layout": layout}
