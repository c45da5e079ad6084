"""``wellbeing roster``: bring the staff roster in from a CSV file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Never

import click
from flask import current_app
from tqdm import tqdm

from wellbeing.auth.access_log import audited
from wellbeing.extensions import db
from wellbeing.org import roster

# Files smaller than this finish before a progress bar would be worth drawing.
PROGRESS_THRESHOLD_ROWS = 500


@click.group("roster", help="Manage the staff roster.")
def roster_cli() -> None:
    pass


@roster_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dry-run", is_flag=True, help="Check the file and show what would change; write nothing."
)
@click.option(
    "--skip-invalid", is_flag=True, help="Import the valid rows even if some rows are invalid."
)
@click.option(
    "--deactivate-missing",
    is_flag=True,
    help="Mark people who are not in the file as inactive (they are never deleted).",
)
@audited
def import_roster(
    csv_file: Path, dry_run: bool, skip_invalid: bool, deactivate_missing: bool
) -> None:
    """Import staff from CSV_FILE.

    Columns: email and unit (a path such as 'Agency/Program/Team'), and optionally name,
    locale (en or es), time_zone (such as America/Chicago) and employee_id. Comma or semicolon
    separated, UTF-8 with or without a byte-order mark, headers in any case.
    """
    try:
        text = roster.decode(csv_file.read_bytes())
        total = max(text.count("\n"), 1)
        with _bar(total, "Checking") as bar:
            check = roster.check_roster(text, progress=_advance(bar))
    except roster.RosterFileError as exc:
        raise click.ClickException(f"{csv_file}: {exc}. Nothing was imported.") from exc

    if check.ignored_columns:
        click.echo(f"Ignoring columns: {', '.join(check.ignored_columns)}")
    for problem in check.problems:
        click.echo(f"{csv_file}: {problem}", err=True)
    if check.problems and not skip_invalid:
        raise click.ClickException(
            f"{len(check.problems)} invalid row(s); nothing was imported. "
            "Fix them, or pass --skip-invalid to import the valid rows only."
        )

    try:
        with _bar(len(check.rows), "Importing") as bar:
            summary = roster.apply_roster(
                check.rows,
                deactivate_missing=deactivate_missing,
                default_time_zone=current_app.config.get("DEFAULT_TIME_ZONE", "UTC"),
                progress=_advance(bar),
            )
    except roster.RosterFileError as exc:
        db.session.rollback()
        raise click.ClickException(f"{csv_file}: {exc}. Nothing was imported.") from exc
    summary.skipped = len(check.problems)

    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written. The import would make these changes:")
    else:
        db.session.commit()
        click.echo(f"Imported {csv_file}:")
    for line in summary.lines():
        click.echo(f"  {line}")


def _bar(total: int, label: str) -> tqdm[Never]:
    return tqdm(
        total=total,
        desc=label,
        unit="row",
        disable=total < PROGRESS_THRESHOLD_ROWS,
        leave=False,
    )


def _advance(bar: tqdm[Never]) -> Callable[[int], None]:
    def step(n: int) -> None:
        bar.update(n)

    return step
