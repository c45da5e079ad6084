"""``wellbeing export``: the coordinator's exports from the server's command line."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Never

import click
import sqlalchemy as sa
from tqdm import tqdm

from wellbeing.auth.models import User
from wellbeing.exports import service
from wellbeing.exports.selection import (
    FORMATS,
    ExportError,
    NotInScope,
    Progress,
    operator,
    select,
)
from wellbeing.extensions import db

PROGRESS_THRESHOLD_STEPS = 4


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="File type.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--unit", "unit_path", help="A unit's path (Agency/Program/Team): it and below.")
@click.option("--wave", "wave_id", type=int, help="One released wave, by its id.")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@click.option("--program", "program_key", help="Pulse program key (default: latest released).")
@click.option(
    "--as",
    "as_email",
    help="Export with this user's scope, logged in their name (default: every unit).",
)
def export_command(
    fmt: str,
    out: Path,
    unit_path: str | None,
    wave_id: int | None,
    date_from: datetime | None,
    date_to: datetime | None,
    program_key: str | None,
    as_email: str | None,
) -> None:
    """Export released results as CSV, XLSX or a PDF board report.

    Without --wave or --from/--to, every released wave of the program is included. The file
    appears at --out only when it is complete.
    """
    viewer = _viewer(as_email)
    try:
        selection = select(
            viewer,
            program_key=program_key,
            unit_path=unit_path,
            wave_id=wave_id,
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
        )
    except NotInScope as exc:
        raise click.ClickException(
            f"{exc}. Paths are written as on the Staff page, such as Agency/Program/Team."
        ) from exc
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    target = out.resolve()
    if not target.parent.is_dir():
        raise click.ClickException(f"The folder {target.parent} does not exist.")
    total = service.steps(selection, fmt)
    handle, partial = tempfile.mkstemp(prefix=".export-", dir=target.parent)
    os.close(handle)
    try:
        with tqdm(
            total=total,
            desc=f"Writing {fmt.upper()}",
            unit="step",
            disable=total < PROGRESS_THRESHOLD_STEPS,
            leave=False,
        ) as bar:
            service.write(selection, fmt, Path(partial), _advance(bar))
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    service.log(selection, fmt, "command line")
    db.session.commit()
    click.echo(
        f"Wrote {target} ({target.stat().st_size:,} bytes): {selection.title}, "
        f"{len(selection.units)} unit(s), {len(selection.waves)} wave(s)."
    )


def _advance(bar: tqdm[Never]) -> Progress:
    def step(n: int) -> None:
        bar.update(n)

    return step


def _viewer(email: str | None) -> User:
    if not email:
        return operator()
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user {email}; create one with: wellbeing users create")
    return user
