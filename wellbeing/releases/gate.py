"""The one gate through which every page, export, email and API reads results.

Consumers get ``ReleasedCell`` values only from ``released_cells``: it reads the stored
release, never raw responses, and a viewer's role and scope only remove cells.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa

from wellbeing.auth.access import AccessDenied, can_see_unit, check_unit, scope_of
from wellbeing.auth.models import User
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.releases.models import CellScope, Release, ReleaseCell, ReleasedComment
from wellbeing.releases.service import latest_release


class UnknownRequest(ValueError):
    """A consumer asked the gate for something it does not know; nothing is returned."""


class ReleasedCell(NamedTuple):
    """A published cell exactly as stored in its release (hidden cells carry no value).

    A named tuple: pages read thousands of these, and it is the cheapest immutable record.
    """

    cell_id: int
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
    measures: Collection[str] | None = None,
    metrics: Collection[str] | None = None,
) -> list[ReleasedCell]:
    """The cells of a wave's release the viewer may see, optionally narrowed.

    A unit outside the viewer's scope raises AccessDenied (callers answer 404).
    """
    return released_history(
        viewer,
        wave_ids=[wave_id],
        unit_id=unit_id,
        scope=scope,
        cut=cut,
        measures=measures,
        metrics=metrics,
    )


def released_history(
    viewer: User,
    *,
    wave_ids: Collection[int],
    unit_id: int | None = None,
    scope: str | None = None,
    cut: str | None = None,
    measures: Collection[str] | None = None,
    metrics: Collection[str] | None = None,
) -> list[ReleasedCell]:
    """The same as ``released_cells`` for several waves at once, in one read.

    Each wave contributes the cells of its release in force (the latest version).
    """
    batches = released_batches(
        viewer,
        wave_ids=wave_ids,
        unit_id=unit_id,
        scope=scope,
        cut=cut,
        measures=measures,
        metrics=metrics,
        size=None,
    )
    return [cell for batch in batches for cell in batch]


def released_batches(
    viewer: User,
    *,
    wave_ids: Collection[int],
    unit_id: int | None = None,
    scope: str | None = None,
    cut: str | None = None,
    measures: Collection[str] | None = None,
    metrics: Collection[str] | None = None,
    size: int | None = 2000,
) -> Iterator[list[ReleasedCell]]:
    """``released_history`` read in batches of ``size`` cells, so memory stays flat however
    much is read (exports); ``None`` reads everything at once (pages, which want it all).
    """
    if scope is not None and scope not in {s.value for s in CellScope}:
        raise UnknownRequest(f"unknown scope {scope!r}")
    if cut is not None and cut != "" and cut not in current_bank().cuts:
        raise UnknownRequest(f"unknown cut {cut!r}")
    if not wave_ids:
        return
    query = (
        sa.select(*_CELL_COLUMNS)
        .join(Release, Release.id == ReleaseCell.release_id)
        .join(Unit, Unit.id == ReleaseCell.unit_id)
        .where(ReleaseCell.release_id.in_(_in_force(wave_ids)))
        .order_by(
            Release.wave_id,
            Unit.path,
            ReleaseCell.scope,
            ReleaseCell.cut,
            ReleaseCell.cut_value,
            ReleaseCell.id,
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
    if measures is not None:
        query = query.where(ReleaseCell.measure.in_(list(measures)))
    if metrics is not None:
        query = query.where(ReleaseCell.metric.in_(list(metrics)))
    sees = scope_of(viewer)
    visible: dict[int, bool] = {}
    connection = db.session.connection()
    if size is None:
        parts: Iterable[Sequence[sa.Row[Any]]] = [connection.execute(query).all()]
    else:
        parts = connection.execute(query.execution_options(yield_per=size)).partitions()
    for rows in parts:
        cells = []
        for row in rows:
            cell = ReleasedCell._make(row)
            if cell.unit_id not in visible:
                visible[cell.unit_id] = sees(cell.unit_id, cell.unit_path)
            if visible[cell.unit_id]:
                cells.append(cell)
        yield cells


def _in_force(wave_ids: Collection[int]) -> list[int]:
    """The release in force for each wave: its latest version."""
    latest: dict[int, tuple[int, int]] = {}
    rows = db.session.execute(
        sa.select(Release.wave_id, Release.version, Release.id).where(
            Release.wave_id.in_(list(wave_ids))
        )
    )
    for wave_id, version, release_id in rows:
        if wave_id not in latest or version > latest[wave_id][0]:
            latest[wave_id] = (version, release_id)
    return [release_id for _, release_id in latest.values()]


# In the order of ReleasedCell's fields: rows are read as plain tuples, not ORM objects.
_CELL_COLUMNS = (
    ReleaseCell.id,
    Release.wave_id,
    ReleaseCell.release_id,
    ReleaseCell.unit_id,
    Unit.path,
    ReleaseCell.scope,
    ReleaseCell.cut,
    ReleaseCell.cut_value,
    ReleaseCell.measure,
    ReleaseCell.metric,
    ReleaseCell.value,
    ReleaseCell.ci_low,
    ReleaseCell.ci_high,
    ReleaseCell.n_band,
    ReleaseCell.hidden,
    ReleaseCell.reason,
    ReleaseCell.change,
    ReleaseCell.change_value,
)


@dataclass(frozen=True)
class ReleasedCommentView:
    """A released comment as every reader gets it: masked text, its topics, its group."""

    wave_id: int
    unit_id: int
    unit_path: str
    body: str
    topics: tuple[str, ...]


def released_comments(
    viewer: User, *, wave_id: int, unit_id: int | None = None
) -> list[ReleasedCommentView]:
    """The comments of a wave's release in force, for units the viewer may see."""
    release = latest_release(wave_id)
    if release is None:
        return []
    query = (
        sa.select(ReleasedComment, Unit)
        .join(Unit, Unit.id == ReleasedComment.unit_id)
        .where(ReleasedComment.release_id == release.id)
        .order_by(Unit.path, ReleasedComment.id)
    )
    if unit_id is not None:
        unit = db.session.get(Unit, unit_id)
        if unit is None:
            raise AccessDenied("no such unit")
        check_unit(viewer, unit)
        query = query.where(ReleasedComment.unit_id == unit_id)
    return [
        ReleasedCommentView(wave_id, unit.id, unit.path, comment.body, tuple(comment.topics))
        for comment, unit in db.session.execute(query).tuples()
        if can_see_unit(viewer, unit)
    ]


def rolled_up(viewer: User, *, wave_id: int) -> dict[int, Unit | None]:
    """For each hidden unit the viewer may see, the lowest shown unit above it that includes it.

    Small teams are not dropped from the results, they are counted in a larger group; pages say
    which one. None where no unit above is shown, or none the viewer may see.
    """
    counts = released_cells(
        viewer,
        wave_id=wave_id,
        scope=CellScope.SUBTREE.value,
        cut="",
        measures={"respondents"},
        metrics={"count"},
    )
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
