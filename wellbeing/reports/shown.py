"""How a released cell is shown on every page: its number, its interval, its band, its change.

Every number shown comes from a released cell, and its markup names the cell (``data-cell``,
``data-cell-interval``, ``data-cell-band``) so tests can check it against the release. These are
Python rather than template macros because pages show thousands of them; only numbers, fixed
words and escaped text go into the markup.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from markupsafe import Markup, escape

from wellbeing.releases.suppression import HIDDEN_REASON
from wellbeing.reports.service import worse

NO_DATA = (
    '<span class="no-data" title="Not asked in this wave">—'
    '<span class="visually-hidden"> no data</span></span>'
)
NO_BAND = Markup('<span class="no-data">—<span class="visually-hidden"> no data</span></span>')
HIDDEN = str(Markup('<span class="hidden-cell" title="{}">hidden</span>').format(HIDDEN_REASON))
NO_CHANGE = Markup('<span class="hint">no earlier wave to compare</span>')


def cell_value(cell: Any, suffix: str = "") -> Markup:
    """The cell's number, "hidden" with the reason, or "—" where it was not asked."""
    return Markup(_value(cell, str(escape(suffix)) if suffix else ""))  # noqa: S704 - built safe


def _value(cell: Any, suffix: str) -> str:
    if cell is None:
        return NO_DATA
    if cell.hidden:
        return HIDDEN
    value = float(cell.value)
    return f'<data value="{value}" data-cell="{int(cell.cell_id)}">{value:g}{suffix}</data>'


def cell_interval(cell: Any, suffix: str = "") -> Markup:
    """The cell's 95% interval, or nothing where it has none or is hidden."""
    if cell is None or cell.hidden or cell.ci_low is None:
        return Markup("")
    low, high = float(cell.ci_low), float(cell.ci_high)
    return Markup(  # noqa: S704 - numbers and escaped text only
        f'<span class="interval" data-cell-interval="{int(cell.cell_id)}">'
        f"{low:g}–{high:g}{escape(suffix)}</span>"
    )


def cell_band(cell: Any) -> Markup:
    """The cell's size band (never an exact count), "hidden", or "—"."""
    if cell is None:
        return NO_BAND
    if cell.hidden:
        return Markup(HIDDEN)  # noqa: S704 - built safe above
    return Markup(  # noqa: S704 - the band is escaped
        f'<span data-cell-band="{int(cell.cell_id)}">{escape(cell.n_band)}</span>'
    )


def cell_change(cell: Any) -> Markup:
    """What the change rule said about the move from the wave before."""
    if cell is None or cell.hidden or cell.change is None:
        return NO_CHANGE
    moved = f" {float(cell.change_value):+g}" if cell.change_value is not None else ""
    if cell.change == "within normal variation":
        amount = f" ({float(cell.change_value):+g})" if cell.change_value is not None else ""
        return Markup(  # noqa: S704 - fixed words and a number
            f'<span class="change change-flat">within normal variation{amount}</span>'
        )
    bad = worse(cell)
    arrow = "▲ up" if cell.change == "up" else "▼ down"
    kind, verdict = (
        ("change-worse", "for the worse") if bad else ("change-better", "for the better")
    )
    return Markup(  # noqa: S704 - fixed words and a number
        f'<span class="change {kind}">{arrow}{moved} · a real change, {verdict}</span>'
    )


def heat_class(cell: Any) -> str:
    """A colour class for a heatmap cell: five index bands, hidden, or no data."""
    if cell is None:
        return "heat-none"
    if cell.hidden or cell.value is None:
        return "heat-hidden"
    return f"heat-{min(4, int(cell.value // 20))}"


def heat_cells(cells: dict[str, Any], measures: list[Any]) -> Markup:
    """A heatmap table row's cells, one per measure: colour band and shown value."""
    shown = [cells.get(d.id) for d in measures]
    return Markup(  # noqa: S704 - fixed class names and markup built above
        "".join(f'<td class="num {heat_class(c)}">{_value(c, "")}</td>' for c in shown)
    )


def trend_rows(trend: Any, suffix: str = "") -> Markup:
    """A trend's table rows, one per wave: value, interval and change."""
    rows = (
        f'<tr><th scope="row">{escape(p.wave.label)}</th>'
        f'<td class="num">{cell_value(p.cell, suffix)}</td>'
        f"<td>{cell_interval(p.cell, suffix)}</td><td>{cell_change(p.cell)}</td></tr>"
        for p in trend.points
    )
    return Markup("\n".join(rows))  # noqa: S704 - escaped label and markup built above


def register(app: Flask) -> None:
    """Make these available to every template."""
    helpers = (
        cell_value,
        cell_interval,
        cell_band,
        cell_change,
        heat_class,
        heat_cells,
        trend_rows,
    )
    for helper in helpers:
        app.add_template_global(helper)
