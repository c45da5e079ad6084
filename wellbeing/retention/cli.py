"""``wellbeing retention``: delete the raw answers of old released waves, and see where it stands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Never

import click
from tqdm import tqdm

from wellbeing.extensions import db
from wellbeing.responses.service import RawCounts
from wellbeing.retention import service
from wellbeing.retention.models import RunTrigger
from wellbeing.retention.service import Outcome, RetentionReport, WaveRetention

# Fewer waves than this are done before a progress bar would be worth drawing.
PROGRESS_THRESHOLD_WAVES = 20
BY = {RunTrigger.COMMAND: "command line", RunTrigger.SCHEDULER: "scheduler"}
OFF = "Retention is off (WELLBEING_RETENTION_DAYS=0): raw answers and comments are kept for ever."


@click.group(
    "retention", help="Delete the raw answers of released waves after the retention period."
)
def retention_cli() -> None:
    pass


def _counts(counts: RawCounts | None) -> str:
    c = counts or RawCounts()
    return (
        f"{c.responses:,} responses, {c.answers:,} answers, {c.comments:,} comments, "
        f"{c.submissions:,} buffered submissions"
    )


def _cutoff(cutoff: datetime | None) -> str:
    return f"{cutoff:%Y-%m-%d %H:%M} UTC" if cutoff else "—"


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
def run(dry_run: bool) -> None:
    """Delete the raw answers and comments of released waves past the retention period.

    Releases stay as they are, so every result reads the same afterwards. Waves without a
    release keep their raw answers whatever their age. The scheduler does this every day.
    """
    if service.retention_days() == 0:
        click.echo(OFF)
        return
    with _bar(service.waves_past_period()) as bar:
        try:
            report = service.run_retention(dry_run=dry_run, progress=_advance(bar))
        finally:
            db.session.rollback()  # a dry run leaves nothing to commit; a real one committed
    _print(report)
    failed = report.having(Outcome.FAILED)
    if failed:
        raise click.ClickException(
            f"{len(failed)} wave(s) could not be deleted and keep all their raw answers; "
            "the application log says why, and the next run tries again."
        )


def _print(report: RetentionReport) -> None:
    scope = (
        f"the raw answers of released waves closed before {_cutoff(report.cutoff)} "
        f"(retention period: {report.days} days)"
    )
    if report.dry_run:
        click.echo(f"Dry run: {scope} would be deleted.")
    else:
        click.echo(f"Deleting {scope}.")
    if not report.waves:
        click.echo("Nothing to delete: no wave closed before then still holds raw answers.")
    for wave in report.waves:
        click.echo(f"  {wave.label}: {_line(wave)}")
    deleted = report.having(Outcome.DELETED, Outcome.WOULD_DELETE)
    kept = report.having(*service.KEPT)
    if report.dry_run:
        click.echo(
            f"Dry run: nothing was deleted. A run would delete the raw answers of "
            f"{len(deleted)} wave(s) ({_counts(report.totals)}) and keep {len(kept)}."
        )
    elif report.waves:
        click.echo(
            f"Run {report.run_id}: deleted the raw answers of {len(deleted)} wave(s) "
            f"({_counts(report.totals)}); {len(kept)} kept. Releases and results are unchanged."
        )


def _line(wave: WaveRetention) -> str:
    if wave.outcome is Outcome.DELETED:
        return f"deleted {_counts(wave.counts)}"
    if wave.outcome is Outcome.WOULD_DELETE:
        return f"would delete {_counts(wave.counts)}"
    if wave.outcome in service.KEPT:
        return f"kept: {wave.detail}"
    if wave.outcome is Outcome.ALREADY_DELETED:
        return f"skipped: {wave.detail}"
    return f"FAILED: {wave.detail}"


@retention_cli.command("status")
def status() -> None:
    """The retention period, waves due or kept now, and what earlier runs deleted."""
    state = service.retention_status()
    if state.days == 0:
        click.echo(OFF)
    else:
        click.echo(
            f"Retention period: {state.days} days (WELLBEING_RETENTION_DAYS). The raw answers of "
            f"released waves closed before {_cutoff(state.cutoff)} are due for deletion."
        )
        if state.due:
            click.echo(
                f"Due now ({len(state.due)} wave(s); `wellbeing retention run` deletes them, "
                "the scheduler does so daily):"
            )
            for wave in state.due:
                click.echo(f"  {wave.label}: {_counts(wave.counts)}")
        else:
            click.echo("Due now: nothing.")
        if state.kept:
            click.echo(f"Kept although past the period ({len(state.kept)} wave(s)):")
            for wave in state.kept:
                click.echo(f"  {wave.label}: {wave.detail}")
        if state.next_due is not None:
            wave, day = state.next_due
            click.echo(f"Next due: {wave.label}, on {day}.")
    click.echo(
        f"Deleted so far: the raw answers of {state.deleted_waves} wave(s) "
        f"({_counts(state.deleted)})."
    )
    if not state.runs:
        click.echo("No retention run yet.")
        return
    click.echo("Latest runs:")
    for run in state.runs:
        finished = (
            f"finished {run.finished_at:%H:%M}" if run.finished_at is not None else "did not finish"
        )
        failed = f", {run.waves_failed} failed" if run.waves_failed else ""
        click.echo(
            f"  run {run.id}: {run.started_at:%Y-%m-%d %H:%M} UTC from the {BY[run.trigger]}, "
            f"{finished}; {run.retention_days} days; {run.waves_deleted} wave(s) deleted, "
            f"{run.waves_kept} kept{failed}"
        )
        for deletion in run.deletions:
            click.echo(
                f"    wave {deletion.wave_id}: "
                f"{_counts(RawCounts(deletion.responses, deletion.answers, deletion.comments, deletion.submissions))}"
            )


def _bar(total: int) -> tqdm[Never]:
    return tqdm(
        total=total,
        desc="Retention",
        unit="wave",
        disable=total < PROGRESS_THRESHOLD_WAVES,
        leave=False,
    )


def _advance(bar: tqdm[Never]) -> Callable[[int], None]:
    def step(n: int) -> None:
        bar.update(n)

    return step
