"""Making an export: one entry point for the pages and the command line.

``write`` produces the file for a selection in the chosen format; ``steps`` says how many
progress steps it will report. Every export is written to the access log by its caller's
channel ("export"), with what it covered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

from wellbeing.auth import access_log
from wellbeing.exports.board import write_board_report
from wellbeing.exports.selection import Progress, Selection
from wellbeing.exports.tidy import csv_chunks
from wellbeing.exports.workbook import XLSX_PASSES, write_workbook

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
PDF_STEPS = 3


def steps(selection: Selection, fmt: str) -> int:
    """How many progress steps writing ``fmt`` reports."""
    return {"csv": len(selection.waves), "xlsx": XLSX_PASSES * len(selection.waves)}.get(
        fmt, PDF_STEPS
    )


def write(
    selection: Selection, fmt: str, out: IO[bytes] | Path, progress: Progress | None = None
) -> None:
    """Write the export of ``selection`` in ``fmt`` to a binary file or a path."""
    if fmt == "csv":
        if isinstance(out, Path):
            with out.open("wb") as handle:
                for chunk in csv_chunks(selection, progress):
                    handle.write(chunk)
        else:
            for chunk in csv_chunks(selection, progress):
                out.write(chunk)
    elif fmt == "xlsx":
        write_workbook(selection, out, progress)
    elif fmt == "pdf":
        write_board_report(selection, out, progress)
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def filename(selection: Selection, fmt: str) -> str:
    """A file name that says what the export covers."""
    where = selection.root.path if selection.root is not None else "all"
    slug = re.sub(r"[^a-z0-9]+", "-", f"{selection.program.key} {where}".lower()).strip("-")
    first, last = selection.waves[0].iso, selection.waves[-1].iso
    period = first if first == last else f"{first}-to-{last}"
    return f"wellbeing-{slug}-{period}.{fmt}"


def log(selection: Selection, fmt: str, how: str) -> None:
    """Write the export to the access log (added to the unit of work)."""
    access_log.record(selection.viewer, "export", f"{how}: {fmt} of {selection.describe()}")
