"""``wellbeing pulse``, ``wellbeing programs`` and ``wellbeing staff``: run pulses by hand."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app

from wellbeing.auth.access_log import audited
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.logging import log_to_stderr
from wellbeing.org import service as org
from wellbeing.org.models import Person
from wellbeing.privacy import min_group_size
from wellbeing.pulse import mailer, sender
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import InvalidTransition, PulseProgram, Wave, WaveStatus
from wellbeing.scheduler import jobs

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
KEY_PATTERN = re.compile(r"[a-z0-9_\-]{1,64}")


@contextmanager
def _unit_of_work() -> Iterator[None]:
    """Commit what the command did, or roll it all back and report the reason."""
    try:
        yield
        db.session.commit()
    except (pulse.PulseError, InvalidTransition, org.PersonNotFound) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        raise click.ClickException(
            "another process changed the same data at the same moment; nothing was written, "
            "run the command again"
        ) from exc
    except BaseException:
        db.session.rollback()
        raise


def _when(wave: Wave) -> str:
    return wave.closes_at.strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------- wellbeing pulse


@click.group("pulse", help="Open and close pulse waves, send their emails, and see how they stand.")
def pulse_cli() -> None:
    pass


@pulse_cli.command("open")
@click.argument("program_key")
@click.option(
    "--now",
    "send_now",
    is_flag=True,
    help="Send the invitations right away instead of at the program's hour in each time zone.",
)
@audited
def open_wave(program_key: str, send_now: bool) -> None:
    """Open PROGRAM_KEY's next wave today and invite its audience."""
    with _unit_of_work():
        program = pulse.get_program(program_key)
        wave = pulse.open_wave(program)
        if send_now:
            mailer.invite_now(wave)
        wave_id, invited = wave.id, len(wave.item_ids)
        summary = pulse.delivery_summary(wave)
    click.echo(
        f"Opened wave {wave_id} of {program_key} (#{wave.sequence}): {summary.pending} "
        f"people invited, {invited} questions, closes {_when(wave)}."
    )
    if not send_now:
        click.echo(
            f"Invitations go out at {program.invite_hour}:00 in each person's time zone "
            "(at once where that hour has passed) while the scheduler runs."
        )
        return
    _report(mailer.send_due())


@pulse_cli.command("close")
@click.argument("wave_id", type=int)
@audited
def close_wave(wave_id: int) -> None:
    """Close WAVE_ID now, write its answers and release it, as the scheduler does."""
    with _unit_of_work():
        was_open = pulse.get_wave(wave_id).status is WaveStatus.OPEN
        jobs.close_and_write_answers(wave_id)
    if was_open:
        click.echo(f"Closed wave {wave_id}; its answers are written.")
    else:
        click.echo(f"Wave {wave_id} was already closed; its answers are written.")
    try:
        with _unit_of_work():
            jobs.release(wave_id)
    except Exception as exc:
        raise click.ClickException(
            f"the release of wave {wave_id} could not be computed ({exc}); the scheduler tries "
            "again every few minutes"
        ) from exc
    if pulse.get_wave(wave_id).status is WaveStatus.RELEASED:
        click.echo("Its results are released.")


@pulse_cli.command("send")
def send() -> None:
    """Send every invitation and reminder that is due now."""
    _report(mailer.send_due())


@click.command("sender")
@click.option(
    "--every",
    type=click.FloatRange(min=0, min_open=True),
    default=15.0,
    show_default=True,
    help="Seconds to wait after a sending pass before looking for due email again.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=mailer.BATCH_SIZE,
    show_default=True,
    help="Emails claimed at a time and sent over one connection to the mail server.",
)
def sender_command(every: float, batch_size: int) -> None:
    """Send due invitations and reminders until stopped (Ctrl+C or SIGTERM).

    Run as many as you like, on one machine or several: they share the sending and never send
    an email twice. Set WELLBEING_SCHEDULER_SENDS=false to leave all the sending to them.
    """
    log_to_stderr()
    sender.run_in_foreground(current_app._get_current_object(), every, batch_size)  # type: ignore[attr-defined]


def _report(report: mailer.SendingReport) -> None:
    click.echo(
        f"Sent {report.invitations} invitations and {report.reminders} reminders; "
        f"{report.rejected} addresses refused."
    )
    if report.smtp_error:
        retry = report.retry_at.strftime("%H:%M UTC") if report.retry_at else "later"
        raise click.ClickException(
            f"the mail server could not take mail ({report.smtp_error}); "
            f"{report.deferred} emails will be tried again from {retry}."
        )


@pulse_cli.command("status")
def status() -> None:
    """Programs, open waves with their email delivery, and banded participation."""
    overview = pulse.program_overview()
    if not overview:
        click.echo("No pulse programs yet. Create one with: wellbeing programs create")
        return
    click.echo("Programs:")
    for entry in overview:
        click.echo(f"  {_describe_program(entry.program)}")
        if entry.latest is None:
            click.echo(f"    no wave yet; the first is due {entry.next_date.isoformat()}")
        elif entry.latest.status is not WaveStatus.OPEN:
            click.echo(
                f"    last wave {entry.latest.id} is {entry.latest.status.value}; "
                f"the next is due {entry.next_date.isoformat()}"
            )
    open_waves = [e.latest for e in overview if e.latest and e.latest.status is WaveStatus.OPEN]
    if not open_waves:
        click.echo("No wave is open.")
        return
    k = min_group_size()
    for wave in open_waves:
        delivery = pulse.delivery_summary(wave)
        click.echo(
            f"\nWave {wave.id} of {wave.program.key} (#{wave.sequence}), closes {_when(wave)}"
        )
        click.echo(
            f"  Emails: {delivery.sent} sent, {delivery.pending} pending, "
            f"{delivery.rejected} refused"
        )
        for address, error in delivery.rejected_addresses:
            click.echo(f"    refused: {address} ({error})")
        click.echo(f"  Participation (shown only where at least {k} were invited and answered):")
        for row in pulse.participation_by_unit(wave):
            shown = row.shown
            figures = (
                "hidden"
                if shown.hidden
                else f"{shown.rate_percent}% ({shown.responded_band} of {shown.invited_band})"
            )
            click.echo(f"    {'  ' * row.depth}{row.path}: {figures}")


def _describe_program(program: PulseProgram) -> str:
    reminders = ", ".join(str(d) for d in program.reminder_days) or "none"
    state = "" if program.active else " [paused]"
    units = "; ".join(u.path for u in program.units)
    return (
        f"{program.key}: {program.name}{state} — every {program.cadence_days} days on "
        f"{WEEKDAYS[program.invite_weekday].title()} at {program.invite_hour}:00 local time, "
        f"open {program.window_days} days, reminders on days {reminders}; units: {units}"
    )


# ---------------------------------------------------------------- wellbeing programs


@click.group("programs", help="Set up pulse programs: who is asked, and when.")
def programs_cli() -> None:
    pass


def _weekday(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().lower()
    if text.isdigit() and 0 <= int(text) <= 6:
        return int(text)
    matches = [i for i, day in enumerate(WEEKDAYS) if len(text) >= 3 and day.startswith(text)]
    if len(matches) != 1:
        raise click.BadParameter("give a day name such as 'tuesday' or 'tue', or 0–6 from Monday")
    return matches[0]


def _day_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    text = value.strip().lower()
    if text in {"", "none"}:
        return []
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter("give days as numbers separated by commas, e.g. 3,6") from None


def _languages(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip().lower() for part in value.split(",") if part.strip()]


@programs_cli.command("create")
@click.argument("key")
@click.option("--name", required=True, help="What staff and coordinators call the program.")
@click.option(
    "--unit",
    "units",
    multiple=True,
    required=True,
    metavar="PATH",
    help="A unit whose staff are invited, with everything below it (repeatable).",
)
@click.option("--cadence-days", type=int, help="Days between waves (7–366).")
@click.option("--weekday", callback=_weekday, help="Invitation day, e.g. tuesday.")
@click.option("--hour", type=int, help="Invitation hour in each person's time zone (0–23).")
@click.option("--window-days", type=int, help="Days each wave stays open.")
@click.option(
    "--reminder-days", callback=_day_list, help="Days after the invitation to remind, e.g. 3,6."
)
@click.option("--languages", callback=_languages, help="Email and survey languages, e.g. en,es.")
@audited
def create_program(
    key: str,
    name: str,
    units: tuple[str, ...],
    cadence_days: int | None,
    weekday: int | None,
    hour: int | None,
    window_days: int | None,
    reminder_days: list[int] | None,
    languages: list[str] | None,
) -> None:
    """Create a pulse program with the key KEY; unset options take the question bank's plan."""
    if not KEY_PATTERN.fullmatch(key):
        raise click.ClickException(
            "the key must be 1–64 lowercase letters, digits, '-' or '_', e.g. standard_pulse"
        )
    settings = pulse.default_settings(current_bank(), name, list(units))
    changes: dict[str, Any] = {
        "cadence_days": cadence_days,
        "invite_weekday": weekday,
        "invite_hour": hour,
        "window_days": window_days,
        "reminder_days": reminder_days,
        "languages": languages,
    }
    settings = dataclasses.replace(settings, **{k: v for k, v in changes.items() if v is not None})
    with _unit_of_work():
        program = pulse.create_program(key, settings)
        description = _describe_program(program)
    click.echo(f"Created {description}")


# ---------------------------------------------------------------- wellbeing staff


@click.group("staff", help="Pause invitations for people on leave, and resume them.")
def staff_cli() -> None:
    pass


def _person(email: str) -> Person:
    person = db.session.scalar(sa.select(Person).where(Person.email == email.strip().lower()))
    if person is None:
        raise click.ClickException(f"nobody on the roster has the email {email!r}")
    return person


@staff_cli.command("pause")
@click.argument("email")
@audited
def pause(email: str) -> None:
    """Stop inviting EMAIL (on leave) until resumed; emails already due wait too."""
    with _unit_of_work():
        org.set_paused(_person(email).id, True)
    click.echo(f"Paused {email}: no invitations or reminders until you resume them.")


@staff_cli.command("resume")
@click.argument("email")
@audited
def resume(email: str) -> None:
    """Invite EMAIL again from now on, including any email held for an open wave."""
    with _unit_of_work():
        org.set_paused(_person(email).id, False)
    click.echo(
        f"Resumed {email}: invited again from the next wave; anything held for an open wave "
        "goes out with the next sending pass."
    )
