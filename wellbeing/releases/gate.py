"""The one gate through which every page, export, email and API reads results.

Consumers get ``ReleasedCell`` values only from ``released_cells``: it reads the stored
release, never raw responses, and a viewer's role and scope only remove cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from wellbeing.auth.access import AccessDenied, can_see_unit, check_unit
from wellbeing.auth.models import User
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.releases.models import CellScope, ReleaseCell
from wellbeing.releases.service import latest_release


class UnknownRequest(ValueError):
    """A consumer asked the gate for something it does not know; nothing is returned."""


@dataclass(frozen=True)
class ReleasedCell:
    """A published cell exactly as stored in its release (hidden cells carry no value)."""

    wave_id: int
    release_id: int
    unit_id: int
    unit_path: str
    scope: CellScope
    cut: str
    cut_value: str
    measure: str
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n_band: str | None
    hidden: bool
    reason: str | None
    change: str | None
    change_value: float | None


def released_cells(
    viewer: User,
    *,
    wave_id: int,
    unit_id: int | None = None,
    scope: str | None = None,
    cut: str | None = None,
) -> list[ReleasedCell]:
    """The cells of a wave's release the viewer may see, optionally narrowed.

    A unit outside the viewer's scope raises AccessDenied (callers answer 404).
    """
    if scope is not None and scope not in {s.value for s in CellScope}:
        raise UnknownRequest(f"unknown scope {scope!r}")
    if cut is not None and cut != "" and cut not in current_bank().cuts:
        raise UnknownRequest(f"unknown cut {cut!r}")
    release = latest_release(wave_id)
    if release is None:
        return []
    query = (
        sa.select(ReleaseCell, Unit)
        .join(Unit, Unit.id == ReleaseCell.unit_id)
        .where(ReleaseCell.release_id == release.id)
        .order_by(
            Unit.path, ReleaseCell.scope, ReleaseCell.cut, ReleaseCell.cut_value, ReleaseCell.id
        )
    )
    if unit_id is not None:
        unit = db.session.get(Unit, unit_id)
        if unit is None:
            raise AccessDenied("no such unit")
        check_unit(viewer, unit)
        query = query.where(ReleaseCell.unit_id == unit_id)
    if scope is not None:
        query = query.where(ReleaseCell.scope == CellScope(scope))
    if cut is not None:
        query = query.where(ReleaseCell.cut == cut)
    visible: dict[int, bool] = {}
    cells = []
    for cell, unit in db.session.execute(query).tuples():
        if unit.id not in visible:
            visible[unit.id] = can_see_unit(viewer, unit)
        if not visible[unit.id]:
            continue
        cells.append(
            ReleasedCell(
                wave_id=wave_id,
                release_id=release.id,
                unit_id=unit.id,
                unit_path=unit.path,
                scope=cell.scope,
                cut=cell.cut,
                cut_value=cell.cut_value,
                measure=cell.measure,
                metric=cell.metric,
                value=cell.value,
                ci_low=cell.ci_low,
                ci_high=cell.ci_high,
                n_band=cell.n_band,
                hidden=cell.hidden,
                reason=cell.reason,
                change=cell.change,
                change_value=cell.change_value,
            )
        )
    return cells


def rolled_up(viewer: User, *, wave_id: int) -> dict[int, Unit | None]:
    """For each hidden unit the viewer may see, the lowest shown unit above it that includes it.

    Small teams are not dropped from the results, they are counted in a larger group; pages say
    which one. None where no unit above is shown, or none the viewer may see.
    """
    counts = [
        c
        for c in released_cells(viewer, wave_id=wave_id, scope=CellScope.SUBTREE.value, cut="")
        if c.measure == "respondents"
    ]
    shown = {c.unit_id for c in counts if not c.hidden}
    result: dict[int, Unit | None] = {}
    for cell in counts:
        if not cell.hidden:
            continue
        unit = db.session.get(Unit, cell.unit_id)
        parent = db.session.get(Unit, unit.parent_id) if unit and unit.parent_id else None
        while parent is not None and parent.id not in shown:
            parent = db.session.get(Unit, parent.parent_id) if parent.parent_id else None
        result[cell.unit_id] = (
            parent if parent is not None and can_see_unit(viewer, parent) else None
        )
    return result
