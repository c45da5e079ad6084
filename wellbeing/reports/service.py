"""What leaders see, assembled from released cells only (through ``releases.gate``).

Every function here takes the viewer and reads through the gate, so a viewer's role and scope
only ever remove cells. Nothing here reads responses, and nothing computes a new number from
hidden ones: a value on a page is a released cell's value, and the run-chart rules run on
published values only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import sqlalchemy as sa

from wellbeing.actions import follow_up
from wellbeing.actions import service as actions
from wellbeing.actions.models import Action
from wellbeing.actions.service import Milestone, Suggestion
from wellbeing.auth.access import AccessDenied, can_see_unit, check_unit, scope_of
from wellbeing.auth.models import User
from wellbeing.auth.service import visible_units
from wellbeing.bank import current_bank
from wellbeing.bank.schema import Cut, Domain
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.pulse.models import PulseProgram, Wave, WaveStatus
from wellbeing.releases.gate import (
    ReleasedCell,
    ReleasedCommentView,
    released_cells,
    released_comments,
    released_history,
    rolled_up,
)
from wellbeing.releases.models import CellScope, Release
from wellbeing.releases.service import latest_release
from wellbeing.reports.runchart import RunChart, analyse

SUBTREE = CellScope.SUBTREE.value
# Field measures reported as a share of people as well as an index.
PREVALENCE_MEASURES = ("burnout", "secondary_trauma")


class NotInScope(Exception):
    """The unit, wave or program does not exist or is not the viewer's to see (answer 404)."""


# ------------------------------------------------------------------ waves, programs, scope


@dataclass(frozen=True)
class WaveInfo:
    """A released wave as pages name it."""

    id: int
    program_key: str
    program_name: str
    sequence: int
    scheduled_for: date

    @cached_property
    def label(self) -> str:
        return f"{self.scheduled_for.day} {self.scheduled_for:%b %Y}"

    @cached_property
    def iso(self) -> str:
        return self.scheduled_for.isoformat()


def released_programs() -> list[PulseProgram]:
    """Programs with at least one released wave, by name."""
    return list(
        db.session.scalars(
            sa.select(PulseProgram)
            .where(
                PulseProgram.id.in_(
                    sa.select(Wave.program_id).where(Wave.status == WaveStatus.RELEASED)
                )
            )
            .order_by(PulseProgram.name)
        )
    )


def choose_program(key: str | None) -> PulseProgram | None:
    """The program a page is about: the one asked for, else the most recently released one."""
    programs = released_programs()
    if key is not None:
        for program in programs:
            if program.key == key:
                return program
        raise NotInScope(f"no released program {key!r}")
    if not programs:
        return None
    latest = db.session.scalar(
        sa.select(Wave.program_id)
        .where(Wave.status == WaveStatus.RELEASED)
        .order_by(Wave.scheduled_for.desc(), Wave.id.desc())
        .limit(1)
    )
    return next(p for p in programs if p.id == latest)


def released_waves(program: PulseProgram) -> list[WaveInfo]:
    """The program's released waves, oldest first."""
    has_release = sa.exists().where(Release.wave_id == Wave.id)
    rows = db.session.execute(
        sa.select(Wave.id, Wave.sequence, Wave.scheduled_for)
        .where(Wave.program_id == program.id, Wave.status == WaveStatus.RELEASED, has_release)
        .order_by(Wave.sequence)
    )
    return [WaveInfo(id, program.key, program.name, seq, when) for id, seq, when in rows]


def choose_wave(waves: list[WaveInfo], wave_id: int | None) -> WaveInfo | None:
    """The wave asked for (it must be one of ``waves``), else the latest."""
    if wave_id is None:
        return waves[-1] if waves else None
    for wave in waves:
        if wave.id == wave_id:
            return wave
    raise NotInScope(f"no released wave {wave_id}")


def units_in_scope(viewer: User) -> list[Unit]:
    """Every unit the viewer may see, in tree order."""
    units = db.session.scalars(sa.select(Unit).order_by(Unit.path))
    sees = scope_of(viewer)
    return [u for u in units if sees(u.id, u.path)]


def scope_roots(viewer: User) -> list[Unit]:
    """The top units of the viewer's scope, without any unit that lies below another."""
    roots = visible_units(viewer)
    return [u for u in roots if not any(_is_below(u, other) for other in roots if other != u)]


def _is_below(unit: Unit, other: Unit) -> bool:
    return unit.path.startswith(other.path + "/")


def unit_for(viewer: User, unit_id: int) -> Unit:
    """The unit, if it exists and is in the viewer's scope; NotInScope otherwise."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotInScope("no such unit")
    try:
        check_unit(viewer, unit)
    except AccessDenied as exc:
        raise NotInScope("unit outside the viewer's scope") from exc
    return unit


def report_measures() -> list[Domain]:
    """The five essentials, then the field measures, in the bank's order."""
    domains = list(current_bank().domains.values())
    return [d for d in domains if d.kind == "essential"] + [
        d for d in domains if d.kind == "field_measure"
    ]


# ------------------------------------------------------------------ trends


@dataclass(frozen=True)
class TrendPoint:
    """One wave of a series: the released cell, or None where the wave had no such cell."""

    wave: WaveInfo
    cell: ReleasedCell | None

    @property
    def value(self) -> float | None:
        return None if self.cell is None or self.cell.hidden else self.cell.value


@dataclass(frozen=True)
class Trend:
    """A measure's series for one unit over every released wave, with its run-chart reading."""

    measure: str
    metric: str
    name: str
    points: list[TrendPoint]
    runchart: RunChart

    @property
    def latest(self) -> TrendPoint | None:
        with_cells = [p for p in self.points if p.cell is not None]
        return with_cells[-1] if with_cells else None

    @property
    def has_data(self) -> bool:
        return any(p.cell is not None for p in self.points)


def _trends(
    cells: list[ReleasedCell], waves: list[WaveInfo], wanted: list[tuple[str, str, str]]
) -> list[Trend]:
    by_key: dict[tuple[str, str], dict[int, ReleasedCell]] = defaultdict(dict)
    for cell in cells:
        by_key[(cell.measure, cell.metric)][cell.wave_id] = cell
    trends = []
    for measure, metric, name in wanted:
        series = by_key.get((measure, metric), {})
        points = [TrendPoint(w, series.get(w.id)) for w in waves]
        trends.append(Trend(measure, metric, name, points, analyse([p.value for p in points])))
    return trends


def _wanted_series() -> list[tuple[str, str, str]]:
    wanted = [(d.id, "index", d.name.get("en")) for d in report_measures()]
    names = {d.id: d.name.get("en") for d in report_measures()}
    wanted += [
        (m, "prevalence_pct", f"{names.get(m, m)}: share of staff") for m in PREVALENCE_MEASURES
    ]
    return wanted


def unit_trends(viewer: User, unit: Unit, waves: list[WaveInfo]) -> list[Trend]:
    """Index series per domain (and the two prevalence shares) for a unit's whole subtree."""
    wanted = _wanted_series()
    cells = released_history(
        viewer,
        wave_ids=[w.id for w in waves],
        unit_id=unit.id,
        scope=SUBTREE,
        cut="",
        measures={m for m, _, _ in wanted} | {"respondents", "participation"},
        metrics={"index", "prevalence_pct", "count", "rate"},
    )
    return _trends(cells, waves, [*wanted, ("participation", "rate", "Participation")])


# ------------------------------------------------------------------ overview


@dataclass(frozen=True)
class UnitSummary:
    """One top unit on the overview: its latest numbers and what the rules say about them."""

    unit: Unit
    respondents: ReleasedCell | None
    participation: ReleasedCell | None
    trends: list[Trend]
    counted_in: Unit | None = None


@dataclass(frozen=True)
class Watch:
    """A released change worth a look: a real move down (or up in a burden measure)."""

    unit: Unit
    measure: str
    cell: ReleasedCell


@dataclass
class Overview:
    program: PulseProgram | None
    programs: list[PulseProgram]
    waves: list[WaveInfo]
    wave: WaveInfo | None
    summaries: list[UnitSummary] = field(default_factory=list)
    watch: list[Watch] = field(default_factory=list)


def worse(cell: ReleasedCell) -> bool:
    """Whether a released change is a real change for the worse."""
    if cell.change not in ("up", "down"):
        return False
    burden = cell.metric == "prevalence_pct"
    return cell.change == ("up" if burden else "down")


def overview(viewer: User, program_key: str | None = None) -> Overview:
    program = choose_program(program_key)
    programs = released_programs()
    if program is None:
        return Overview(None, programs, [], None)
    waves = released_waves(program)
    wave = waves[-1] if waves else None
    result = Overview(program, programs, waves, wave)
    if wave is None:
        return result
    counted_in = rolled_up(viewer, wave_id=wave.id)
    for root in scope_roots(viewer):
        trends = unit_trends(viewer, root, waves)
        by_measure = {t.measure: t for t in trends if t.metric in ("index", "prevalence_pct")}
        if not any(t.has_data for t in by_measure.values()):
            continue
        last = {t.measure: t.points[-1].cell for t in trends if t.metric in ("count", "rate")}
        latest_cells = released_cells(
            viewer,
            wave_id=wave.id,
            unit_id=root.id,
            scope=SUBTREE,
            cut="",
            measures={"respondents"},
            metrics={"count"},
        )
        result.summaries.append(
            UnitSummary(
                unit=root,
                respondents=latest_cells[0] if latest_cells else None,
                participation=last.get("participation"),
                trends=[t for t in trends if t.measure != "participation"],
                counted_in=counted_in.get(root.id),
            )
        )
    result.watch = watch_list(viewer, wave)
    return result


def watch_list(viewer: User, wave: WaveInfo) -> list[Watch]:
    """Every shown unit and measure whose change from the last wave is a real one for the worse."""
    measures = {d.id for d in report_measures()} | set(PREVALENCE_MEASURES)
    cells = released_cells(
        viewer,
        wave_id=wave.id,
        scope=SUBTREE,
        cut="",
        measures=measures,
        metrics={"index", "prevalence_pct"},
    )
    units = {u.id: u for u in units_in_scope(viewer)}
    return [
        Watch(units[c.unit_id], c.measure, c)
        for c in cells
        if not c.hidden and worse(c) and c.unit_id in units
    ]


# ------------------------------------------------------------------ unit page


@dataclass(frozen=True)
class ItemRow:
    """One item of the chosen wave for the unit: its released cells by metric."""

    item_id: str
    text: str
    domain: str
    cells: dict[str, ReleasedCell]
    options: tuple[tuple[int, str], ...] = ()

    def cell(self, metric: str) -> ReleasedCell | None:
        return self.cells.get(metric)

    @cached_property
    def distribution(self) -> list[tuple[str, ReleasedCell]]:
        """The released per-option shares, labelled; empty where the release does not show them."""
        shown = []
        for value, label in self.options:
            cell = self.cells.get(f"dist_{value}")
            if cell is not None and not cell.hidden:
                shown.append((label, cell))
        return shown


@dataclass
class UnitReport:
    unit: Unit
    program: PulseProgram | None
    programs: list[PulseProgram]
    ancestors: list[Unit]
    children: list[Unit]
    waves: list[WaveInfo]
    wave: WaveInfo | None
    trends: list[Trend] = field(default_factory=list)
    participation: Trend | None = None
    respondents: ReleasedCell | None = None
    items: list[ItemRow] = field(default_factory=list)
    comments: list[ReleasedCommentView] = field(default_factory=list)
    themes: list[tuple[str, int]] = field(default_factory=list)
    counted_in: Unit | None = None
    actions: list[Action] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)


def unit_report(
    viewer: User,
    unit_id: int,
    *,
    program_key: str | None = None,
    wave_id: int | None = None,
    suggest_below: float = 60.0,
) -> UnitReport:
    unit = unit_for(viewer, unit_id)
    ancestors: list[Unit] = []
    parent = unit.parent
    while parent is not None:
        if can_see_unit(viewer, parent):
            ancestors.insert(0, parent)
        parent = parent.parent
    program = choose_program(program_key)
    waves = released_waves(program) if program else []
    wave = choose_wave(waves, wave_id)
    report = UnitReport(
        unit=unit,
        program=program,
        programs=released_programs(),
        ancestors=ancestors,
        children=[c for c in unit.children if can_see_unit(viewer, c)],
        waves=waves,
        wave=wave,
        actions=actions.actions_on(unit),
        milestones=actions.milestones(unit),
    )
    if wave is None:
        return report
    trends = unit_trends(viewer, unit, waves)
    report.trends = [t for t in trends if t.metric in ("index", "prevalence_pct")]
    report.suggestions = actions.suggestions(report.trends, suggest_below)
    report.participation = next((t for t in trends if t.measure == "participation"), None)
    report.counted_in = rolled_up(viewer, wave_id=wave.id).get(unit.id)
    cells = released_cells(viewer, wave_id=wave.id, unit_id=unit.id, scope=SUBTREE, cut="")
    report.respondents = next((c for c in cells if c.measure == "respondents"), None)
    report.items = _item_rows(unit, wave, cells)
    report.comments = [
        c
        for c in released_comments(viewer, wave_id=wave.id)
        if c.unit_id == unit.id or c.unit_path.startswith(unit.path + "/")
    ]
    report.themes = comment_themes(report.comments)
    return report


def _item_rows(unit: Unit, wave: WaveInfo, cells: list[ReleasedCell]) -> list[ItemRow]:
    stored = db.session.get(Wave, wave.id)
    if stored is None:
        return []
    bank = follow_up.bank_for(stored)
    item_ids = [i for i in stored.item_ids if follow_up.applies_to(i, unit, stored.id)]
    by_item: dict[str, dict[str, ReleasedCell]] = defaultdict(dict)
    for cell in cells:
        by_item[cell.measure][cell.metric] = cell
    rows = []
    for item_id in item_ids:
        item = bank.items.get(item_id)
        if item is None or item_id not in by_item:
            continue
        options = tuple((o.value, o.label.get("en")) for o in bank.scales[item.scale].options)
        rows.append(ItemRow(item_id, item.text.get("en"), item.domain, by_item[item_id], options))
    return rows


def comment_themes(comments: list[ReleasedCommentView]) -> list[tuple[str, int]]:
    """How many released comments touch each topic, most first (counts of shown text only)."""
    names = {t.id: t.label.get("en") for t in current_bank().topics}
    counts = Counter(topic for c in comments for topic in c.topics)
    return [(names.get(t, t), n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


# ------------------------------------------------------------------ heatmap


@dataclass(frozen=True)
class HeatRow:
    unit: Unit
    depth: int
    cells: dict[str, ReleasedCell]


@dataclass
class Heatmap:
    program: PulseProgram | None
    programs: list[PulseProgram]
    waves: list[WaveInfo]
    wave: WaveInfo | None
    measures: list[Domain] = field(default_factory=list)
    rows: list[HeatRow] = field(default_factory=list)


def heatmap(viewer: User, *, program_key: str | None = None, wave_id: int | None = None) -> Heatmap:
    program = choose_program(program_key)
    waves = released_waves(program) if program else []
    wave = choose_wave(waves, wave_id)
    result = Heatmap(program, released_programs(), waves, wave)
    if wave is None:
        return result
    measures = report_measures()
    cells = released_cells(
        viewer,
        wave_id=wave.id,
        scope=SUBTREE,
        cut="",
        measures={d.id for d in measures},
        metrics={"index"},
    )
    by_unit: dict[int, dict[str, ReleasedCell]] = defaultdict(dict)
    for cell in cells:
        by_unit[cell.unit_id][cell.measure] = cell
    asked = {c.measure for c in cells}
    result.measures = [d for d in measures if d.id in asked]
    roots = scope_roots(viewer)
    top = min((u.depth for u in roots), default=0)
    result.rows = [
        HeatRow(u, u.depth - top, by_unit[u.id]) for u in units_in_scope(viewer) if u.id in by_unit
    ]
    return result


# ------------------------------------------------------------------ equity


@dataclass(frozen=True)
class EquityGroup:
    """One answer to a cut question within a unit: its released cells by measure."""

    value: str
    label: str
    respondents: ReleasedCell | None
    cells: dict[str, ReleasedCell]


@dataclass(frozen=True)
class EquityCut:
    cut: Cut
    groups: list[EquityGroup]

    @property
    def all_hidden(self) -> bool:
        return all(g.respondents is None or g.respondents.hidden for g in self.groups)


@dataclass(frozen=True)
class EquityUnit:
    unit: Unit
    cuts: list[EquityCut]


@dataclass
class Equity:
    program: PulseProgram | None
    programs: list[PulseProgram]
    waves: list[WaveInfo]
    wave: WaveInfo | None
    measures: list[Domain] = field(default_factory=list)
    units: list[EquityUnit] = field(default_factory=list)
    hidden_families: list[str] = field(default_factory=list)


def equity(viewer: User, *, program_key: str | None = None, wave_id: int | None = None) -> Equity:
    program = choose_program(program_key)
    waves = released_waves(program) if program else []
    wave = choose_wave(waves, wave_id)
    result = Equity(program, released_programs(), waves, wave)
    if wave is None:
        return result
    bank = current_bank()
    measures = report_measures()
    release = latest_release(wave.id)
    result.hidden_families = list(
        (release.audit or {}).get("cut_families_hidden", []) if release else []
    )
    wanted = {d.id for d in measures} | {"respondents"}
    by_unit: dict[int, dict[str, dict[str, dict[str, ReleasedCell]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict))
    )
    for cut_id in bank.cuts:
        for cell in released_cells(
            viewer,
            wave_id=wave.id,
            scope=SUBTREE,
            cut=cut_id,
            measures=wanted,
            metrics={"index", "count"},
        ):
            by_unit[cell.unit_id][cut_id][cell.cut_value][cell.measure] = cell
    asked: set[str] = set()
    for unit in units_in_scope(viewer):
        if unit.id not in by_unit:
            continue
        cuts = []
        for cut_id, cut in bank.cuts.items():
            values = by_unit[unit.id].get(cut_id)
            if not values:
                continue
            labels = {o.value: o.label.get("en") for o in cut.options}
            groups = []
            for option in cut.options:
                mine = values.get(option.value)
                if mine is None:
                    continue
                asked |= {m for m in mine if m != "respondents"}
                groups.append(
                    EquityGroup(
                        option.value,
                        labels[option.value],
                        mine.get("respondents"),
                        {m: c for m, c in mine.items() if m != "respondents"},
                    )
                )
            cuts.append(EquityCut(cut, groups))
        result.units.append(EquityUnit(unit, cuts))
    result.measures = [d for d in measures if d.id in asked]
    return result


# ------------------------------------------------------------------ participation


@dataclass
class Participation:
    program: PulseProgram | None
    programs: list[PulseProgram]
    waves: list[WaveInfo]
    rows: list[tuple[Unit, int, dict[int, ReleasedCell]]] = field(default_factory=list)


def participation(viewer: User, *, program_key: str | None = None) -> Participation:
    """Banded participation by unit and wave, only as released."""
    program = choose_program(program_key)
    waves = released_waves(program) if program else []
    result = Participation(program, released_programs(), waves)
    if not waves:
        return result
    cells = released_history(
        viewer,
        wave_ids=[w.id for w in waves],
        scope=SUBTREE,
        cut="",
        measures={"participation"},
        metrics={"rate"},
    )
    by_unit: dict[int, dict[int, ReleasedCell]] = defaultdict(dict)
    for cell in cells:
        by_unit[cell.unit_id][cell.wave_id] = cell
    roots = scope_roots(viewer)
    top = min((u.depth for u in roots), default=0)
    result.rows = [
        (u, u.depth - top, by_unit[u.id]) for u in units_in_scope(viewer) if u.id in by_unit
    ]
    return result
