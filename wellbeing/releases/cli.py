"""``wellbeing release``: compute and inspect the release of a closed wave."""

from __future__ import annotations

import click

from wellbeing.auth.access_log import audited
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Wave
from wellbeing.releases import service
from wellbeing.retention.service import deletion_of


@click.group("release", help="Releases: the audited results of closed waves.")
def release_cli() -> None:
    pass


@release_cli.command("compute")
@click.argument("wave_id", type=int)
@click.option("--recompute", is_flag=True, help="Compute a new version even though one exists.")
@audited
def compute(wave_id: int, recompute: bool) -> None:
    """Compute the release of a closed wave (the close job does this on its own)."""
    try:
        wave = pulse.get_wave(wave_id)
        service.compute_release(wave, recompute=recompute)
    except (pulse.PulseError, service.ReleaseError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    _show(wave)


@release_cli.command("show")
@click.argument("wave_id", type=int)
def show(wave_id: int) -> None:
    """Summarise a wave's release: how much was published and hidden, never the hidden values."""
    try:
        wave = pulse.get_wave(wave_id)
    except pulse.PulseError as exc:
        raise click.ClickException(str(exc)) from exc
    _show(wave)


def _show(wave: Wave) -> None:
    try:
        summary = service.release_summary(wave)
    except service.ReleaseError as exc:
        raise click.ClickException(
            f"{exc}. Close the wave first: wellbeing pulse close {wave.id}"
        ) from exc
    release = summary.release
    audit = release.audit or {}
    click.echo(
        f"Release {release.id} (version {release.version}) of wave {wave.id}, {wave.program.name} #{wave.sequence}"
    )
    click.echo(
        f"  computed {release.computed_at:%Y-%m-%d %H:%M} UTC with minimum group size {release.min_group_size}"
    )
    click.echo(f"  groups: {summary.groups} ({summary.hidden_groups} hidden)")
    click.echo(f"  cells:  {summary.cells} ({summary.hidden_cells} hidden)")
    click.echo(f"  comments released: {summary.comments} in {summary.comment_groups} group(s)")
    click.echo(
        f"  audit: {'passed' if audit.get('passed') else 'NOT passed — everything hidden'} after {audit.get('rounds', 0)} round(s)"
    )
    fixed = audit.get("exposures_fixed") or []
    if fixed:
        click.echo(
            f"  {len(fixed)} more group(s) hidden because the audit found they could be worked out"
        )
    crossed = audit.get("cross_wave_hidden") or []
    if crossed:
        click.echo(
            f"  {len(crossed)} group(s) hidden because only a joiner or leaver separates them from last wave"
        )
    families = audit.get("cut_families_hidden") or []
    if families:
        click.echo(
            "  equity cuts hidden whole because the audit could not clear them: "
            + ", ".join(families)
        )
    click.echo(f"  why cells are hidden: {summary.reason}")
    deleted = deletion_of(wave.id)
    if deleted is not None:
        click.echo(
            f"  raw answers deleted on {deleted.deleted_at:%Y-%m-%d} (retention period ended); "
            "this release can no longer be recomputed"
        )
