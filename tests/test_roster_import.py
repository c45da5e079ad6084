"""Roster import through the CLI, with the messy files real HR exports produce."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from tests import factories
from wellbeing.extensions import db
from wellbeing.org.models import Person, Unit

AGENCY = "Riverside Family Services"


def write(tmp_path: Path, text: str, name: str = "roster.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def people() -> dict[str, Person]:
    return {p.email: p for p in db.session.scalars(sa.select(Person))}


def run(runner: FlaskCliRunner, path: Path, *flags: str) -> tuple[int, str]:
    result = runner.invoke(args=["roster", "import", str(path), *flags])
    return result.exit_code, result.output


def test_imports_a_bom_semicolon_file_with_mixed_case_headers(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "EMAIL;Unit;Name;LOCALE;Time_Zone;Employee_ID\n"
        f"Ana.Lopez@Example.org;{AGENCY}/Home Visiting/North;Ana López;es-MX;America/Chicago;E1\n"
        f"ben@example.org; {AGENCY} / Home Visiting / South ;Ben;;;\n",
        bom=True,
    )
    code, output = run(runner, path)
    assert code == 0, output
    assert "2 added" in output
    found = people()
    assert set(found) == {"ana.lopez@example.org", "ben@example.org"}
    ana = found["ana.lopez@example.org"]
    assert (ana.name, ana.locale, ana.time_zone, ana.employee_id) == (
        "Ana López",
        "es",
        "America/Chicago",
        "E1",
    )
    assert ana.unit.path == f"{AGENCY}/Home Visiting/North"
    assert found["ben@example.org"].unit.path == f"{AGENCY}/Home Visiting/South"
    assert found["ben@example.org"].locale == "en"
    paths = set(db.session.scalars(sa.select(Unit.path)))
    assert {AGENCY, f"{AGENCY}/Home Visiting"} <= paths


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("bob@;A/B\n", "line 2: email 'bob@' is not a valid address"),
        (",A/B\n", "line 2: email is empty"),
        (
            "a@example.org,A/B\nA@example.org,A/C\n",
            "line 3: email a@example.org also appears on line 2",
        ),
        ("a@example.org,\n", "line 2: unit is empty"),
        (
            "a@example.org,A//B\n",
            "line 2: unit 'A//B': the unit path is empty or has an empty part",
        ),
        ("a@example.org,A/B,,fr\n", "line 2: locale 'fr' is not supported (use en or es)"),
        (
            "a@example.org,A/B,,,Mars/Olympus\n",
            "line 2: time zone 'Mars/Olympus' is unknown (use a name such as America/Chicago)",
        ),
        (
            "a@example.org,A/B,,,,E1\nb@example.org,A/B,,,,E1\n",
            "line 3: employee id 'E1' also appears on line 2",
        ),
    ],
)
def test_each_bad_row_is_reported_and_nothing_is_written(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, rows: str, message: str
) -> None:
    header = "email,unit,name,locale,time_zone,employee_id\n"
    path = write(tmp_path, header + "good@example.org,A/B\n" + rows.replace(";", ","))
    # Line numbers in the cases above count from a file without the extra good row.
    expected = _shift_lines(message, 1)
    code, output = run(runner, path)
    assert code == 1
    assert f"{path}: {expected}" in output
    assert "invalid row(s); nothing was imported" in output
    assert people() == {}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0


def _shift_lines(message: str, by: int) -> str:
    import re

    return re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + by}", message)


def test_all_problems_are_listed_together(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, "email,unit,locale\nnope,A,en\nx@example.org,,en\ny@example.org,A,zz\n")
    code, output = run(runner, path)
    assert code == 1
    assert "line 2: email 'nope' is not a valid address" in output
    assert "line 3: unit is empty" in output
    assert "line 4: locale 'zz' is not supported (use en or es)" in output
    assert "3 invalid row(s)" in output


def test_skip_invalid_imports_the_rest(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "email,unit\nnope,A\nok@example.org,A/B\n")
    code, output = run(runner, path, "--skip-invalid")
    assert code == 0, output
    assert "1 added" in output and "1 invalid rows skipped" in output
    assert set(people()) == {"ok@example.org"}


def test_missing_column_is_a_clear_error(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, "mail,team\na@example.org,A\n")
    code, output = run(runner, path)
    assert code == 1
    assert (
        f"{path}: the file has no 'email' column; the first line must name the columns "
        "(required: email, unit; optional: name, locale, time_zone, employee_id). Nothing was imported."
    ) in output


def test_file_that_is_not_utf8(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,unit,name\na@example.org,A,Jos\xe9\n".encode("latin-1"))
    code, output = run(runner, path)
    assert code == 1
    assert (
        "is not UTF-8 text" in output and "save it from your spreadsheet as 'CSV UTF-8'" in output
    )
    assert people() == {}


def test_dry_run_writes_nothing(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "email,unit\na@example.org,A/B\n")
    code, output = run(runner, path, "--dry-run")
    assert code == 0, output
    assert "Dry run: nothing was written" in output and "1 added" in output
    assert people() == {}


def test_reimport_moves_updates_and_deactivates(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    first = write(
        tmp_path,
        "email,unit,name\nana@example.org,A/North,Ana\nben@example.org,A/North,Ben\ncy@example.org,A/South,Cy\n",
        name="first.csv",
    )
    assert run(runner, first)[0] == 0
    second = write(
        tmp_path,
        "email,unit,name\nana@example.org,A/South,Ana\nben@example.org,A/North,Benjamin\n",
        name="second.csv",
    )
    code, output = run(runner, second, "--deactivate-missing")
    assert code == 0, output
    assert "1 updated (1 moved to another unit)" not in output  # two updates: a move and a rename
    assert "2 updated (1 moved to another unit)" in output
    assert "1 marked inactive" in output
    found = people()
    assert found["ana@example.org"].unit.path == "A/South"
    assert found["ben@example.org"].name == "Benjamin"
    assert found["cy@example.org"].active is False  # kept, never deleted

    third = write(tmp_path, "email,unit\ncy@example.org,A/South\n", name="third.csv")
    code, output = run(runner, third)
    assert code == 0
    assert "1 reactivated" in output
    assert people()["cy@example.org"].active is True
    assert people()["ana@example.org"].active is True  # not deactivated without the flag


def test_employee_id_follows_an_email_change(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    factories.person("old@example.org", "A/B", employee_id="E7")
    path = write(tmp_path, "email,unit,employee_id\nnew@example.org,A/B,E7\n")
    code, output = run(runner, path)
    assert code == 0, output
    assert set(people()) == {"new@example.org"}
