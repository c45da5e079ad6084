"""What an export covers: a program, a unit's subtree (or the viewer's whole scope) and waves.

Every export, from a page or the command line, starts here, so the scope rules are the pages'
own: a unit outside the viewer's scope is "not found", and units the viewer may not see are
simply absent. Cells are read wave by wave through the gate, so memory stays flat however many
waves an export spans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import sqlalchemy as sa

from wellbeing.actions.models import FollowUp
from wellbeing.auth.models import Role, User
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.pulse.models import PulseProgram
from wellbeing.releases.gate import (
    ReleasedCell,
    ReleasedCommentView,
    released_batches,
    released_comments,
    released_history,
)
from wellbeing.releases.service import latest_release
from wellbeing.reports import service as reports
from wellbeing.reports.service import NotInScope, WaveInfo

FORMATS = ("csv", "xlsx", "pdf")
Progress = Callable[[int], None]


class ExportError(ValueError):
    """The request cannot be met as asked; the message says what to change."""


def operator() -> User:
    """The viewer of exports made on the server's command line without ``--as``: every unit.

    It is never stored; the access log names it "command line".
    """
    return User(email="command line", role=Role.COORDINATOR, password_hash="")


@dataclass(frozen=True)
class Selection:
    """The program, units and waves one export covers, for one viewer."""

    viewer: User
    program: PulseProgram
    root: Unit | None  # the subtree asked for; None for the viewer's whole scope
    units: list[Unit]  # every unit covered that the viewer may see, in tree order
    waves: list[WaveInfo]  # oldest first

    @cached_property
    def unit_ids(self) -> set[int]:
        return {u.id for u in self.units}

    @property
    def latest(self) -> WaveInfo:
        return self.waves[-1]

    @cached_property
    def tops(self) -> list[Unit]:
        """The highest units covered: the root asked for, else the viewer's scope roots."""
        if self.root is not None:
            return [self.root]
        wanted = self.unit_ids
        return [u for u in reports.scope_roots(self.viewer) if u.id in wanted]

    def depth(self, unit: Unit) -> int:
        top = min((u.depth for u in self.tops), default=0)
        return unit.depth - top

    @property
    def period(self) -> str:
        first, last = self.waves[0], self.waves[-1]
        return first.label if first == last else f"{first.label} to {last.label}"

    @property
    def title(self) -> str:
        where = self.root.name if self.root is not None else ", ".join(u.name for u in self.tops)
        return f"{self.program.name}: {where or 'no units'}, {self.period}"

    def describe(self) -> str:
        """The export in words for the access log."""
        where = self.root.path if self.root is not None else "the viewer's scope"
        waves = ",".join(str(w.id) for w in self.waves)
        return f"program {self.program.key}, {where}, waves {waves}"

    def cells(
        self,
        *,
        scope: str | None = None,
        cut: str | None = None,
        measures: set[str] | None = None,
        metrics: set[str] | None = None,
        progress: Progress | None = None,
    ) -> Iterator[tuple[WaveInfo, list[ReleasedCell]]]:
        """Each wave's released cells for the covered units, one wave at a time."""
        wanted = self.unit_ids
        for wave in self.waves:
            cells = released_history(
                self.viewer,
                wave_ids=[wave.id],
                scope=scope,
                cut=cut,
                measures=measures,
                metrics=metrics,
            )
            yield wave, [c for c in cells if c.unit_id in wanted]
            if progress is not None:
                progress(1)

    def cell_batches(
        self, progress: Progress | None = None
    ) -> Iterator[tuple[WaveInfo, list[ReleasedCell]]]:
        """Every released cell of the covered units, wave by wave in batches: flat memory."""
        wanted = self.unit_ids
        for wave in self.waves:
            for batch in released_batches(self.viewer, wave_ids=[wave.id]):
                yield wave, [c for c in batch if c.unit_id in wanted]
            if progress is not None:
                progress(1)

    def comments(self) -> Iterator[tuple[WaveInfo, list[ReleasedCommentView]]]:
        """Each wave's released comments within the covered units."""
        wanted = self.unit_ids
        for wave in self.waves:
            found = released_comments(self.viewer, wave_id=wave.id)
            yield wave, [c for c in found if c.unit_id in wanted]

    def release_version(self, wave: WaveInfo) -> int:
        release = latest_release(wave.id)
        return release.version if release is not None else 0


def select(
    viewer: User,
    *,
    program_key: str | None = None,
    unit_id: int | None = None,
    unit_path: str | None = None,
    wave_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Selection:
    """Resolve an export request; NotInScope for what the viewer may not see, else ExportError."""
    if wave_id is not None and (date_from is not None or date_to is not None):
        raise ExportError("Ask for one wave or for a period (from and to), not both.")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ExportError(f"The period starts ({date_from}) after it ends ({date_to}).")
    program = reports.choose_program(program_key)
    if program is None:
        raise ExportError(
            "Nothing has been released yet: exports appear once a wave has closed and its "
            "release is computed."
        )
    root = _root(viewer, unit_id, unit_path)
    waves = reports.released_waves(program)
    if wave_id is not None:
        waves = [reports.choose_wave(waves, wave_id) or waves[-1]]
    else:
        waves = [
            w
            for w in waves
            if (date_from is None or w.scheduled_for >= date_from)
            and (date_to is None or w.scheduled_for <= date_to)
        ]
    if not waves:
        raise ExportError(
            f"No released wave of {program.name} falls in that period; "
            "widen the dates or leave them out for every wave."
        )
    units = reports.units_in_scope(viewer)
    if root is not None:
        units = [u for u in units if u.id == root.id or u.path.startswith(root.path + "/")]
    return Selection(viewer, program, root, units, waves)


def _root(viewer: User, unit_id: int | None, unit_path: str | None) -> Unit | None:
    if unit_id is not None:
        return reports.unit_for(viewer, unit_id)
    if not unit_path:
        return None
    path = unit_path.strip().strip("/")
    unit = db.session.scalar(sa.select(Unit).where(Unit.path == path))
    if unit is None:
        raise NotInScope(f"no unit with the path {path!r} in your scope")
    return reports.unit_for(viewer, unit.id)


METRIC_LABELS = {
    "index": "Index (0-100)",
    "mean": "Mean",
    "favourable_pct": "% favourable",
    "unfavourable_pct": "% unfavourable",
    "prevalence_pct": "% of staff",
    "count": "Respondents",
    "rate": "Participation %",
}
COUNT_LABELS = {"respondents": "Respondents", "participation": "Participation"}


class Labels:
    """Measures, metrics and cuts in the users' words, looked up once per export."""

    def __init__(self) -> None:
        bank = current_bank()
        self.measures: dict[str, tuple[str, str]] = {
            **{m: (m, label) for m, label in COUNT_LABELS.items()},
            **{i: ("item", item.text.get("en")) for i, item in bank.items.items()},
            **{d: (domain.kind, domain.name.get("en")) for d, domain in bank.domains.items()},
            **{
                f.item_id: ("follow_up", f.text_en) for f in db.session.scalars(sa.select(FollowUp))
            },
        }
        self.cuts: dict[tuple[str, str], str] = {("", ""): ""}
        for cut_id, cut in bank.cuts.items():
            for option in cut.options:
                self.cuts[(cut_id, option.value)] = (
                    f"{cut.question.get('en')}: {option.label.get('en')}"
                )

    def measure(self, measure: str) -> str:
        return self.measures.get(measure, (measure, measure))[1]

    def measure_type(self, measure: str) -> str:
        return self.measures.get(measure, (measure, measure))[0]

    def metric(self, metric: str) -> str:
        if metric.startswith("dist_"):
            return f"% answering {metric.removeprefix('dist_')}"
        return METRIC_LABELS.get(metric, metric)

    def cut(self, cut: str, value: str) -> str:
        found = self.cuts.get((cut, value))
        return f"{cut}: {value}" if found is None else found


def change_words(cell: ReleasedCell) -> str:
    """The change rule's verdict in words, as the pages say it."""
    if cell.hidden or cell.change is None:
        return ""
    sign = f" ({cell.change_value:+g})" if cell.change_value is not None else ""
    if cell.change in ("up", "down"):
        verdict = "worse" if reports.worse(cell) else "better"
        return f"{cell.change}{sign}, a real change for the {verdict}"
    return f"{cell.change}{sign}"


__all__ = [
    "FORMATS",
    "ExportError",
    "Labels",
    "NotInScope",
    "Selection",
    "change_words",
    "operator",
    "select",
]
