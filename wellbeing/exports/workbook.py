"""The XLSX export: a readable workbook written row by row (openpyxl's write-only mode).

Sheets: Summary, By unit, By item, Participation, Comments, Themes, Actions, About. Headers
are frozen and filterable; hidden cells read "hidden" on grey, as on the screens, and cells
with no data read "—". Rows are written wave by wave, so memory stays flat.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from wellbeing.actions.models import ActionStatus
from wellbeing.bank import current_bank
from wellbeing.exports import content
from wellbeing.exports.method import method_note
from wellbeing.exports.selection import Progress, Selection, change_words
from wellbeing.releases.gate import ReleasedCell
from wellbeing.releases.suppression import HIDDEN_REASON
from wellbeing.reports.service import PREVALENCE_MEASURES, SUBTREE, report_measures

XLSX_PASSES = 3  # By unit, By item and Participation each read every wave
HIDDEN_FILL = PatternFill("solid", fgColor="D9D9D9")
HEADER_FILL = PatternFill("solid", fgColor="0B5CAD")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
WRAP = Alignment(wrap_text=True, vertical="top")
NO_DATA = "—"


class Sheet:
    """A write-only sheet with a styled, frozen, filterable header and set column widths."""

    def __init__(self, book: Workbook, title: str, columns: list[tuple[str, int]]) -> None:
        self.ws: WriteOnlyWorksheet = book.create_sheet(title)
        self.width = len(columns)
        for index, (_, width) in enumerate(columns, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        self.ws.freeze_panes = "A2"
        self.ws.auto_filter.ref = f"A1:{get_column_letter(self.width)}1048576"
        self.ws.append([self._header(name) for name, _ in columns])

    def _header(self, name: str) -> Cell:
        cell = WriteOnlyCell(self.ws, value=name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
        return cell

    def text(self, value: str) -> Cell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell.alignment = WRAP
        return cell

    def value(self, cell: ReleasedCell | None, field: str = "value", fmt: str = "0.0") -> Any:
        """A released number, or the marks the screens use for hidden and no data."""
        if cell is None:
            return NO_DATA
        if cell.hidden:
            marked = WriteOnlyCell(self.ws, value="hidden")
            marked.fill = HIDDEN_FILL
            return marked
        number = getattr(cell, field)
        if number is None:
            return NO_DATA
        out = WriteOnlyCell(self.ws, value=number)
        out.number_format = fmt
        return out

    def band(self, cell: ReleasedCell | None) -> Any:
        if cell is None:
            return NO_DATA
        if cell.hidden:
            return self.value(cell)
        return cell.n_band or NO_DATA

    def append(self, row: Iterable[Any]) -> None:
        self.ws.append(list(row))


def write_workbook(
    selection: Selection, out: str | Path | IO[bytes], progress: Progress | None = None
) -> None:
    """Write the workbook for ``selection`` to a path or a binary file."""
    book = Workbook(write_only=True)
    _summary(book, selection)
    _by_unit(book, selection, progress)
    _by_item(book, selection, progress)
    _participation(book, selection, progress)
    _comments(book, selection)
    _actions(book, selection)
    _about(book, selection)
    book.save(out)


def _summary(book: Workbook, selection: Selection) -> None:
    sheet = Sheet(
        book,
        "Summary",
        [
            ("Unit", 34),
            ("Measure", 30),
            ("Index (0-100)", 14),
            ("95% low", 10),
            ("95% high", 10),
            ("Change from the previous wave", 42),
            ("Respondents", 14),
        ],
    )
    headline = content.headline(selection)
    for unit, rows, respondents in headline:
        for name, cell in rows:
            sheet.append(
                [
                    unit.path,
                    name,
                    sheet.value(cell),
                    sheet.value(cell, "ci_low"),
                    sheet.value(cell, "ci_high"),
                    change_words(cell) if cell is not None else NO_DATA,
                    sheet.band(respondents),
                ]
            )
    sheet.append([])
    sheet.append([sheet.text(selection.title)])
    sheet.append(
        [sheet.text(f"Latest wave: {selection.latest.label}. Made {datetime.now(UTC):%d %b %Y}.")]
    )
    sheet.append([sheet.text(f"“hidden” means: {HIDDEN_REASON} “—” means not asked.")])


def _by_unit(book: Workbook, selection: Selection, progress: Progress | None) -> None:
    measures = report_measures()
    sheet = Sheet(
        book,
        "By unit",
        [("Wave", 12), ("Unit", 40), ("Respondents", 13), ("Participation %", 14)]
        + [(d.name.get("en"), 14) for d in measures]
        + [
            (f"{d.name.get('en')}: % of staff", 16) for d in measures if d.id in PREVALENCE_MEASURES
        ],
    )
    for wave, cells in selection.cells(scope=SUBTREE, cut="", progress=progress):
        by_unit: dict[int, dict[tuple[str, str], ReleasedCell]] = defaultdict(dict)
        for cell in cells:
            by_unit[cell.unit_id][(cell.measure, cell.metric)] = cell
        for unit in selection.units:
            mine = by_unit.get(unit.id)
            if not mine:
                continue
            indent = "  " * selection.depth(unit)
            sheet.append(
                [
                    wave.iso,
                    indent + unit.path,
                    sheet.band(mine.get(("respondents", "count"))),
                    sheet.value(mine.get(("participation", "rate")), fmt="0"),
                    *(sheet.value(mine.get((d.id, "index"))) for d in measures),
                    *(
                        sheet.value(mine.get((d.id, "prevalence_pct")), fmt="0")
                        for d in measures
                        if d.id in PREVALENCE_MEASURES
                    ),
                ]
            )


def _by_item(book: Workbook, selection: Selection, progress: Progress | None) -> None:
    bank = current_bank()
    sheet = Sheet(
        book,
        "By item",
        [
            ("Wave", 12),
            ("Unit", 40),
            ("Area", 24),
            ("Question", 60),
            ("Mean", 9),
            ("% favourable", 13),
            ("95% low", 10),
            ("95% high", 10),
            ("% unfavourable", 14),
            ("Change in % favourable", 40),
        ],
    )
    for wave, cells in selection.cells(scope=SUBTREE, cut="", progress=progress):
        by_key: dict[tuple[int, str], dict[str, ReleasedCell]] = defaultdict(dict)
        for cell in cells:
            if cell.measure in bank.items:
                by_key[(cell.unit_id, cell.measure)][cell.metric] = cell
        for unit in selection.units:
            for item_id, item in bank.items.items():
                mine = by_key.get((unit.id, item_id))
                if not mine:
                    continue
                favourable = mine.get("favourable_pct")
                domain = bank.domains.get(item.domain)
                sheet.append(
                    [
                        wave.iso,
                        unit.path,
                        domain.name.get("en") if domain else item.domain,
                        sheet.text(item.text.get("en")),
                        sheet.value(mine.get("mean"), fmt="0.00"),
                        sheet.value(favourable, fmt="0"),
                        sheet.value(favourable, "ci_low", fmt="0"),
                        sheet.value(favourable, "ci_high", fmt="0"),
                        sheet.value(mine.get("unfavourable_pct"), fmt="0"),
                        change_words(favourable) if favourable is not None else NO_DATA,
                    ]
                )


def _participation(book: Workbook, selection: Selection, progress: Progress | None) -> None:
    sheet = Sheet(
        book,
        "Participation",
        [("Wave", 12), ("Unit", 40), ("Participation %", 15), ("People invited", 15)],
    )
    for wave, cells in selection.cells(
        scope=SUBTREE, cut="", measures={"participation"}, metrics={"rate"}, progress=progress
    ):
        by_unit = {c.unit_id: c for c in cells}
        for unit in selection.units:
            cell = by_unit.get(unit.id)
            if cell is None:
                continue
            sheet.append([wave.iso, unit.path, sheet.value(cell, fmt="0"), sheet.band(cell)])


def _comments(book: Workbook, selection: Selection) -> None:
    topics = {t.id: t.label.get("en") for t in current_bank().topics}
    sheet = Sheet(book, "Comments", [("Wave", 12), ("Unit", 40), ("Themes", 30), ("Comment", 90)])
    counts: Counter[str] = Counter()
    for wave, comments in selection.comments():
        for comment in comments:
            names = [topics.get(t, t) for t in comment.topics]
            counts.update(names)
            sheet.append([wave.iso, comment.unit_path, ", ".join(names), sheet.text(comment.body)])
    themes = Sheet(book, "Themes", [("Theme", 36), ("Released comments", 18)])
    for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        themes.append([name, count])


def _actions(book: Workbook, selection: Selection) -> None:
    sheet = Sheet(
        book,
        "Actions",
        [
            ("Unit", 40),
            ("Area", 24),
            ("Action", 40),
            ("Status", 13),
            ("Started", 12),
            ("What we heard", 50),
            ("What we will do", 50),
            ("Owner", 20),
        ],
    )
    domains = current_bank().domains
    for action in content.actions(selection):
        domain = domains.get(action.domain)
        sheet.append(
            [
                action.unit.path,
                domain.name.get("en") if domain else action.domain,
                sheet.text(action.title),
                ActionStatus(action.status).value.replace("_", " "),
                action.start_date.isoformat(),
                sheet.text(action.heard),
                sheet.text(action.plan),
                action.owner_role,
            ]
        )


def _about(book: Workbook, selection: Selection) -> None:
    sheet = Sheet(book, "About", [("About these numbers", 110)])
    sheet.append([sheet.text(selection.title)])
    for heading, body in method_note(selection.latest):
        title = WriteOnlyCell(sheet.ws, value=heading)
        title.font = Font(bold=True)
        sheet.append([title])
        sheet.append([sheet.text(body)])
