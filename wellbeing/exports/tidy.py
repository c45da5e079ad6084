"""The CSV export: tidy long format, one row per released cell, streamed in small batches.

Columns (documented in the README under "Exports"):

- ``program``, ``wave_id``, ``wave_date`` (ISO), ``wave_number``, ``release_version``
- ``unit_path`` (levels joined by "/"), ``scope`` (``subtree``: the unit and everyone below it;
  ``direct``: only the unit's own members)
- ``cut``, ``cut_value``, ``cut_label`` (empty for everyone together)
- ``measure_type`` (``essential``, ``field_measure``, ``item``, ``follow_up`` (the question
  asked after an action), ``respondents``, ``participation``), ``measure``, ``measure_label``
- ``metric``, ``metric_label``, ``value``, ``ci_low``, ``ci_high`` (the 95% interval)
- ``n_band`` (respondents, or people invited for participation, as a band)
- ``hidden`` (``yes``/``no``), ``hidden_reason``: a hidden row has no value, interval or band
- ``change``, ``change_value``: the change rule's verdict against the previous wave
- ``cell_id``: the released cell, so an auditor can trace every row to the release

The file is UTF-8 with a byte-order mark, so Excel opens it with accents intact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from wellbeing.exports.selection import Labels, Progress, Selection
from wellbeing.releases.gate import ReleasedCell
from wellbeing.releases.suppression import HIDDEN_REASON

COLUMNS = [
    "program",
    "wave_id",
    "wave_date",
    "wave_number",
    "release_version",
    "unit_path",
    "scope",
    "cut",
    "cut_value",
    "cut_label",
    "measure_type",
    "measure",
    "measure_label",
    "metric",
    "metric_label",
    "value",
    "ci_low",
    "ci_high",
    "n_band",
    "hidden",
    "hidden_reason",
    "change",
    "change_value",
    "cell_id",
]


def number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def row(labels: Labels, wave: list[str], cell: ReleasedCell) -> list[str]:
    """One cell's row; ``wave`` holds the first five columns, the same for the whole wave."""
    return [
        *wave,
        cell.unit_path,
        cell.scope.value,
        cell.cut,
        cell.cut_value,
        labels.cut(cell.cut, cell.cut_value),
        labels.measure_type(cell.measure),
        cell.measure,
        labels.measure(cell.measure),
        cell.metric,
        labels.metric(cell.metric),
        number(cell.value),
        number(cell.ci_low),
        number(cell.ci_high),
        cell.n_band or "",
        "yes" if cell.hidden else "no",
        HIDDEN_REASON if cell.hidden else "",
        cell.change or "",
        number(cell.change_value),
        str(cell.cell_id),
    ]


def csv_chunks(selection: Selection, progress: Progress | None = None) -> Iterator[bytes]:
    """The CSV as byte chunks of a few thousand rows, for a streamed response or a file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    labels = Labels()
    firsts: dict[int, list[str]] = {}
    for wave, cells in selection.cell_batches(progress=progress):
        if wave.id not in firsts:
            version = selection.release_version(wave)
            key = selection.program.key
            firsts[wave.id] = [key, str(wave.id), wave.iso, str(wave.sequence), str(version)]
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(row(labels, firsts[wave.id], cell) for cell in cells)
        yield buffer.getvalue().encode("utf-8")
