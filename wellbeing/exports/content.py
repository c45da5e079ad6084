"""The pieces the workbook and the board report share, read through the gate for a selection."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from wellbeing.actions.models import Action
from wellbeing.bank import current_bank
from wellbeing.exports.selection import Selection
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.releases.gate import ReleasedCell, released_cells
from wellbeing.reports.service import (
    PREVALENCE_MEASURES,
    SUBTREE,
    Trend,
    report_measures,
    unit_trends,
)

Headline = tuple[Unit, list[tuple[str, ReleasedCell | None]], ReleasedCell | None]


def headline_series() -> list[tuple[str, str, str]]:
    """(measure, metric, name) for the headline: each index, then the two shares of staff."""
    measures = report_measures()
    names = {d.id: d.name.get("en") for d in measures}
    return [(d.id, "index", d.name.get("en")) for d in measures] + [
        (m, "prevalence_pct", f"{names.get(m, m)}: % of staff") for m in PREVALENCE_MEASURES
    ]


def headline(selection: Selection) -> list[Headline]:
    """For each top unit, the latest wave's index per measure and its respondents band."""
    series = headline_series()
    out: list[Headline] = []
    for unit in selection.tops:
        cells = released_cells(
            selection.viewer,
            wave_id=selection.latest.id,
            unit_id=unit.id,
            scope=SUBTREE,
            cut="",
            measures={m for m, _, _ in series} | {"respondents"},
            metrics={"index", "prevalence_pct", "count"},
        )
        by_key = {(c.measure, c.metric): c for c in cells}
        rows = [(name, by_key.get((m, metric))) for m, metric, name in series]
        out.append((unit, rows, by_key.get(("respondents", "count"))))
    return out


def trends(selection: Selection) -> Iterator[tuple[Unit, list[Trend]]]:
    """Each top unit's trends over the selection's waves (index and the two shares)."""
    for unit in selection.tops:
        found = unit_trends(selection.viewer, unit, selection.waves)
        yield unit, [t for t in found if t.metric in ("index", "prevalence_pct")]


@dataclass(frozen=True)
class HeatmapRows:
    measures: list[tuple[str, str]]  # (id, name)
    rows: list[tuple[Unit, int, dict[str, ReleasedCell]]]  # unit, depth, cells by measure


def heatmap(selection: Selection) -> HeatmapRows:
    """The latest wave's index by unit and measure, in tree order."""
    measures = report_measures()
    cells = released_cells(
        selection.viewer,
        wave_id=selection.latest.id,
        scope=SUBTREE,
        cut="",
        measures={d.id for d in measures},
        metrics={"index"},
    )
    wanted = selection.unit_ids
    by_unit: dict[int, dict[str, ReleasedCell]] = defaultdict(dict)
    for cell in cells:
        if cell.unit_id in wanted:
            by_unit[cell.unit_id][cell.measure] = cell
    asked = {m for mine in by_unit.values() for m in mine}
    return HeatmapRows(
        [(d.id, d.name.get("en")) for d in measures if d.id in asked],
        [(u, selection.depth(u), by_unit[u.id]) for u in selection.units if u.id in by_unit],
    )


def themes(selection: Selection) -> list[tuple[str, int]]:
    """Released comments per topic over the selection, most first."""
    names = {t.id: t.label.get("en") for t in current_bank().topics}
    counts: Counter[str] = Counter()
    for _, comments in selection.comments():
        counts.update(names.get(t, t) for c in comments for t in c.topics)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class ActionRow:
    unit: Unit
    domain: str
    title: str
    status: str
    start_date: date
    heard: str
    plan: str
    owner_role: str


def actions(selection: Selection) -> list[ActionRow]:
    """Actions recorded on the covered units, by start date."""
    units = {u.id: u for u in selection.units}
    if not units:
        return []
    found = db.session.scalars(
        sa.select(Action)
        .where(Action.unit_id.in_(list(units)))
        .order_by(Action.start_date, Action.id)
    )
    return [
        ActionRow(
            units[a.unit_id],
            a.domain,
            a.title,
            a.status.value,
            a.start_date,
            a.heard,
            a.plan,
            a.owner_role,
        )
        for a in found
    ]
