"""Exports: CSV, XLSX and the PDF board report hold exactly the released cells a viewer may see.

Each file is reopened as a reader would open it (csv, openpyxl, pdftotext and pdftoppm) and
checked value by value against the stored release; leaders' files stop at their scope, and
every export is in the access log.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from PIL import Image

from tests import report_helpers as reports_h
from tests.test_reports import sign_in
from wellbeing.actions.models import Action, ActionStatus
from wellbeing.auth.models import AccessRecord
from wellbeing.exports.tidy import COLUMNS
from wellbeing.extensions import db
from wellbeing.releases.gate import released_history
from wellbeing.releases.models import ReleaseCell
from wellbeing.releases.suppression import HIDDEN_REASON
from wellbeing.types import utcnow

NEEDS_POPPLER = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils is not installed (apt-get install -y poppler-utils)",
)


@pytest.fixture
def history(app: Flask) -> reports_h.History:
    history = reports_h.build_history(waves=5)
    north = history.unit("Child Welfare/North")
    db.session.add(
        Action(
            unit_id=north.id,
            domain="work_life_harmony",
            title="Protect two no-visit afternoons a month",
            heard="Caseloads are too high",
            plan="Schedule paperwork time and guard it",
            owner_role="Program manager",
            start_date=history.waves[2].scheduled_for + timedelta(days=3),
            status=ActionStatus.IN_PROGRESS,
        )
    )
    db.session.flush()
    return history


def download(client: FlaskClient, fmt: str, **params: object) -> bytes:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    with client.get(f"/results/export/{fmt}?{query}") as response:  # closes its file
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response.get_data()


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def number(text: str) -> float | None:
    return float(text) if text else None


def visible_cell_ids(history: reports_h.History, viewer_email: str) -> set[int]:
    viewer = history.admin if viewer_email == history.admin.email else history.cw_lead
    cells = released_history(viewer, wave_ids=[w.id for w in history.waves])
    return {c.cell_id for c in cells}


# ------------------------------------------------------------------ CSV


def test_the_csv_is_every_released_cell_exactly(
    client: FlaskClient, history: reports_h.History
) -> None:
    sign_in(client, history.admin.email)
    rows = csv_rows(download(client, "csv"))
    assert {int(r["cell_id"]) for r in rows} == visible_cell_ids(history, history.admin.email)
    hidden = 0
    for row in rows:
        cell = db.session.get(ReleaseCell, int(row["cell_id"]))
        assert cell is not None
        assert row["unit_path"] == db.session.get(type(history.unit("")), cell.unit_id).path
        assert (row["scope"], row["cut"], row["cut_value"]) == (
            cell.scope.value,
            cell.cut,
            cell.cut_value,
        )
        assert (row["measure"], row["metric"]) == (cell.measure, cell.metric)
        assert number(row["value"]) == cell.value
        assert number(row["ci_low"]) == cell.ci_low
        assert number(row["ci_high"]) == cell.ci_high
        assert (row["n_band"] or None) == cell.n_band
        assert row["hidden"] == ("yes" if cell.hidden else "no")
        assert (row["change"] or None) == cell.change
        if cell.hidden:
            hidden += 1
            assert row["value"] == row["ci_low"] == row["ci_high"] == row["n_band"] == ""
            assert row["hidden_reason"] == HIDDEN_REASON
    assert hidden > 0, "the history has hidden cells (East, and the cuts)"
    east = [r for r in rows if r["unit_path"].endswith("/East")]
    assert east and all(r["hidden"] == "yes" for r in east)


def test_a_leader_exports_only_their_scope(client: FlaskClient, history: reports_h.History) -> None:
    sign_in(client, history.cw_lead.email)
    rows = csv_rows(download(client, "csv"))
    assert {int(r["cell_id"]) for r in rows} == visible_cell_ids(history, history.cw_lead.email)
    assert all("/Child Welfare" in r["unit_path"] for r in rows)
    north = history.unit("Child Welfare/North")
    below = csv_rows(download(client, "csv", unit=north.id))
    assert below and {r["unit_path"] for r in below} == {north.path}

    west = history.unit("Home Visiting/West")
    root = history.unit("")
    for fmt in ("csv", "xlsx", "pdf"):
        for params in (f"unit={west.id}", f"unit={root.id}", "unit=999999", "program=nope"):
            response = client.get(f"/results/export/{fmt}?{params}")
            assert response.status_code == 404, (fmt, params)
    assert client.get("/results/export/docx").status_code == 404


def test_bad_requests_say_what_to_change(client: FlaskClient, history: reports_h.History) -> None:
    sign_in(client, history.admin.email)
    first = history.waves[0]
    cases = {
        "from=yesterday": "must be a date",
        f"wave={first.id}&from=2026-01-01": "not both",
        "from=2026-06-01&to=2026-01-01": "starts",
        "from=2030-01-01": "No released wave",
    }
    for query, words in cases.items():
        response = client.get(f"/results/export/csv?{query}")
        assert response.status_code == 400, query
        assert words in response.get_data(as_text=True), query
    assert client.get("/results/export/pdf?wave=999999").status_code == 404


def test_one_wave_or_a_period(client: FlaskClient, history: reports_h.History) -> None:
    sign_in(client, history.admin.email)
    first, second = history.waves[0], history.waves[1]
    one = csv_rows(download(client, "csv", wave=second.id))
    assert {r["wave_id"] for r in one} == {str(second.id)}
    period = csv_rows(
        download(client, "csv", **{"from": first.scheduled_for, "to": second.scheduled_for})
    )
    assert {r["wave_id"] for r in period} == {str(first.id), str(second.id)}


def test_every_export_is_in_the_access_log(client: FlaskClient, history: reports_h.History) -> None:
    sign_in(client, history.cw_lead.email)
    north = history.unit("Child Welfare/North")
    for fmt in ("csv", "xlsx", "pdf"):
        download(client, fmt, unit=north.id)
    client.get(f"/results/export/csv?unit={history.unit('Home Visiting/West').id}")
    records = db.session.scalars(
        sa.select(AccessRecord).where(AccessRecord.channel == "export").order_by(AccessRecord.id)
    ).all()
    assert [r.what.split("?")[0] for r in records] == [
        "GET /results/export/csv",
        "GET /results/export/xlsx",
        "GET /results/export/pdf",
    ], "the refused one is not a view"
    assert all(r.user_email == history.cw_lead.email for r in records)
    assert all("Child Welfare" in r.scope for r in records)


def test_download_buttons_on_the_pages(client: FlaskClient, history: reports_h.History) -> None:
    sign_in(client, history.admin.email)
    north = history.unit("Child Welfare/North")
    for path in ("/results/", f"/results/units/{north.id}", "/results/heatmap"):
        html = client.get(path).get_data(as_text=True)
        for fmt in ("pdf", "xlsx", "csv"):
            links = re.findall(rf'href="(/results/export/{fmt}[^"]*)"', html)
            assert links, (path, fmt)
            with client.get(links[0].replace("&amp;", "&")) as response:
                assert response.status_code == 200


# ------------------------------------------------------------------ XLSX


def test_the_workbook_matches_the_release_cell_by_cell(
    client: FlaskClient, history: reports_h.History
) -> None:
    sign_in(client, history.admin.email)
    book = openpyxl.load_workbook(io.BytesIO(download(client, "xlsx")))
    assert book.sheetnames == [
        "Summary",
        "By unit",
        "By item",
        "Participation",
        "Comments",
        "Themes",
        "Actions",
        "About",
    ]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet["A1"].font.bold, sheet.title
        assert sheet.column_dimensions["A"].width > 10, sheet.title

    units = {u.path: u for u in (history.unit(p) for p in ["", *reports_h.TEAMS])}
    units |= {history.unit("Child Welfare").path: history.unit("Child Welfare")}
    units |= {history.unit("Home Visiting").path: history.unit("Home Visiting")}
    waves = {w.scheduled_for.isoformat(): w for w in history.waves}
    sheet = book["By unit"]
    header = [c.value for c in sheet[1]]
    checked = hidden = 0
    for row in sheet.iter_rows(min_row=2):
        wave, unit = waves[row[0].value], units[str(row[1].value).strip()]
        for column, cell in zip(header[4:], row[4:], strict=True):
            measure, metric = measure_of(column)
            stored = stored_cell(wave.id, unit.id, measure, metric)
            if stored is None:
                assert cell.value == "—"
            elif stored.hidden:
                assert cell.value == "hidden" and cell.fill.fgColor.rgb.endswith("D9D9D9")
                hidden += 1
            else:
                assert cell.value == stored.value and cell.number_format in ("0.0", "0")
                checked += 1
    assert checked > 50 and hidden > 10

    summary = book["Summary"]
    for row in summary.iter_rows(min_row=2, max_row=13):
        if row[0].value is None:
            break
        measure, metric = measure_of(str(row[1].value))
        stored = stored_cell(history.waves[-1].id, units[row[0].value].id, measure, metric)
        if stored is not None and not stored.hidden:
            assert (row[2].value, row[3].value, row[4].value) == (
                stored.value,
                stored.ci_low,
                stored.ci_high,
            )

    comments = list(book["Comments"].iter_rows(min_row=2, values_only=True))
    assert comments and all("North" in str(r[1]) or r[1] for r in comments)
    actions = list(book["Actions"].iter_rows(min_row=2, values_only=True))
    assert actions[0][2] == "Protect two no-visit afternoons a month"
    assert actions[0][3] == "in progress"
    about = " ".join(str(r[0]) for r in book["About"].iter_rows(values_only=True) if r[0])
    assert "fewer than 5 people" in about and HIDDEN_REASON in about


def measure_of(column: str) -> tuple[str, str]:
    from wellbeing.reports.service import report_measures

    for domain in report_measures():
        name = domain.name.get("en")
        if column == f"{name}: % of staff":
            return domain.id, "prevalence_pct"
        if column == name:
            return domain.id, "index"
    raise AssertionError(f"unknown column {column!r}")


def stored_cell(wave_id: int, unit_id: int, measure: str, metric: str) -> ReleaseCell | None:
    from wellbeing.releases.models import CellScope, Release

    return db.session.scalar(
        sa.select(ReleaseCell)
        .join(Release)
        .where(
            Release.wave_id == wave_id,
            ReleaseCell.unit_id == unit_id,
            ReleaseCell.scope == CellScope.SUBTREE,
            ReleaseCell.cut == "",
            ReleaseCell.measure == measure,
            ReleaseCell.metric == metric,
        )
        .order_by(Release.version.desc())
        .limit(1)
    )


# ------------------------------------------------------------------ PDF


@NEEDS_POPPLER
def test_the_board_report_has_real_charts_and_only_released_numbers(
    client: FlaskClient, history: reports_h.History, tmp_path: Path
) -> None:
    sign_in(client, history.admin.email)
    pdf = tmp_path / "board.pdf"
    pdf.write_bytes(download(client, "pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.count("\f")
    assert pages >= 5
    for heading in (
        "Staff wellbeing: results for the board",
        "Trends: Riverside",
        "Heatmap, wave of",
        "comment themes",
        "the action log",
        "How to read this report",
    ):
        assert heading in text, heading
    assert "Protect two no-visit afternoons a month" in text

    # The headline table: each measure's index and interval equal the released cell.
    root, latest = history.unit(""), history.waves[-1]
    headline = text.split("Trends: Riverside")[0]
    checked = 0
    for measure, metric, name in headline_rows():
        found = re.search(rf"^\s*{re.escape(name)}\s+(\S+)\s+(\S*)", headline, re.M)
        assert found, name
        stored = stored_cell(latest.id, root.id, measure, metric)
        if stored is None:
            assert found.group(1) == "—"
        elif stored.hidden:
            assert found.group(1) == "hidden"
        else:
            assert found.group(1).rstrip("%") == f"{stored.value:g}"
            assert found.group(2) == f"{stored.ci_low:g}-{stored.ci_high:g}"
            checked += 1
    assert checked >= 8

    # Every number printed is a released value, a count, a tick, a date or a page number.
    ticks_and_rules = {0, 25, 50, 75, 100, 95, 5, 3, 10}  # axis ticks, 95%, k and comment rules
    dates = {float(w.scheduled_for.day) for w in history.waves} | {2026.0}
    allowed = released_numbers(history) | ticks_and_rules | dates | set(range(pages + 1))
    allowed |= {float(len(history.waves)), float(utcnow().day)}  # "5 wave(s)", the day made
    allowed |= {float(a.start_date.day) for a in db.session.scalars(sa.select(Action))}
    results = text.split("How to read this report")[0]  # the method page is fixed wording
    for token in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", results.replace("–", " ")):
        assert float(token) in allowed, f"{token} is not a released number"
    east_line = next(line for line in text.splitlines() if line.strip().startswith("East"))
    assert set(east_line.split()[1:]) == {"hidden"}

    # Rendered pages: the trend page and the heatmap carry the charts' colours.
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    assert has_colour(images[1], (0, 114, 178)), "the trend lines (Okabe-Ito blue)"
    assert has_colour(images[1], (207, 227, 243)), "the interval bands"
    heat_page = next(i for i, page in enumerate(text.split("\f")) if "Heatmap, wave of" in page)
    assert has_colour(images[heat_page], (241, 163, 64)), "the heatmap's low band (North)"


def headline_rows() -> list[tuple[str, str, str]]:
    from wellbeing.exports.content import headline_series

    return headline_series()


def released_numbers(history: reports_h.History) -> set[float]:
    cells = released_history(history.admin, wave_ids=[w.id for w in history.waves])
    numbers: set[float] = set()
    for cell in cells:
        for value in (cell.value, cell.ci_low, cell.ci_high, cell.change_value):
            if value is not None:
                numbers |= {value, abs(value)}
        for part in re.findall(r"\d+", cell.n_band or ""):
            numbers.add(float(part))
    from wellbeing.exports import content, selection

    themes = content.themes(selection.select(history.admin))
    return numbers | {float(count) for _, count in themes}


def has_colour(image_path: Path, rgb: tuple[int, int, int], tolerance: int = 12) -> bool:
    with Image.open(image_path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return any(
        all(abs(channel - want) <= tolerance for channel, want in zip(colour, rgb, strict=True))
        for _, colour in colours
    )


@NEEDS_POPPLER
def test_a_leaders_board_report_stops_at_their_scope(
    client: FlaskClient, history: reports_h.History, tmp_path: Path
) -> None:
    sign_in(client, history.cw_lead.email)
    pdf = tmp_path / "lead.pdf"
    pdf.write_bytes(download(client, "pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Trends: Child Welfare" in text
    assert "Home Visiting" not in text and "West" not in text
    assert "Riverside" not in text.split("How to read this report")[0].replace("Riverside,", "")


# ------------------------------------------------------------------ command line


def test_the_command_line_writes_each_format(
    app: Flask, runner: FlaskCliRunner, history: reports_h.History, tmp_path: Path
) -> None:
    first, last = history.waves[0].scheduled_for, history.waves[-1].scheduled_for
    for fmt in ("csv", "xlsx", "pdf"):
        out = tmp_path / f"board.{fmt}"
        result = runner.invoke(
            args=[
                "export",
                "--format",
                fmt,
                "--unit",
                "Riverside/Child Welfare",
                "--from",
                first.isoformat(),
                "--to",
                last.isoformat(),
                "--out",
                str(out),
            ]
        )
        assert result.exit_code == 0, result.output
        assert f"Wrote {out}" in result.output and "5 wave(s)" in result.output
        assert out.stat().st_size > 1000
    rows = csv_rows((tmp_path / "board.csv").read_bytes())
    assert {r["unit_path"].split("/")[1] for r in rows} == {"Child Welfare"}
    assert list(tmp_path.glob(".export-*")) == [], "no partial file is left behind"
    logged = db.session.scalars(
        sa.select(AccessRecord).where(AccessRecord.channel == "export")
    ).all()
    assert len(logged) == 3 and all(r.user_email == "command line" for r in logged)
    assert all(r.what.startswith("command line:") for r in logged)


def test_the_command_line_refuses_clearly(
    app: Flask, runner: FlaskCliRunner, history: reports_h.History, tmp_path: Path
) -> None:
    out = tmp_path / "x.csv"
    cases = [
        (["--unit", "Riverside/Nowhere"], "no unit with the path"),
        (
            ["--as", history.cw_lead.email, "--unit", "Riverside/Home Visiting"],
            "outside the viewer's scope",
        ),
        (["--as", "nobody@example.org"], "No user nobody@example.org"),
        (["--wave", str(history.waves[0].id), "--from", "2026-01-01"], "not both"),
        (["--from", "2031-01-01"], "No released wave"),
    ]
    for extra, words in cases:
        result = runner.invoke(args=["export", "--format", "csv", "--out", str(out), *extra])
        assert result.exit_code == 1, (extra, result.output)
        assert words.lower() in result.output.lower(), (extra, result.output)
        assert not out.exists()
    missing = runner.invoke(
        args=["export", "--format", "pdf", "--out", str(tmp_path / "no" / "such" / "x.pdf")]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output
    as_lead = runner.invoke(
        args=["export", "--format", "csv", "--as", history.cw_lead.email, "--out", str(out)]
    )
    assert as_lead.exit_code == 0, as_lead.output
    assert all("/Child Welfare" in r["unit_path"] for r in csv_rows(out.read_bytes()))


def test_nothing_to_export_before_the_first_release(
    client: FlaskClient, app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    from tests import factories

    factories.user("admin@example.org")
    sign_in(client, "admin@example.org")
    response = client.get("/results/export/xlsx")
    assert response.status_code == 400
    assert "Nothing has been released yet" in response.get_data(as_text=True)
    result = runner.invoke(args=["export", "--format", "csv", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and "Nothing has been released yet" in result.output
