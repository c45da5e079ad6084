"""``wellbeing demo``: run the whole product on one machine, with a demo organisation and mailbox."""

from __future__ import annotations

import logging
import logging.config
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from wellbeing import create_app
from wellbeing.demo.history import build_history, has_history
from wellbeing.demo.mailcatcher import (
    LOOPBACK,
    MailCatcher,
    MailCatcherError,
    start_mail_catcher,
    stop_mail_catcher,
)
from wellbeing.demo.seed import DemoSummary, seed_demo
from wellbeing.extensions import db
from wellbeing.logging import install_log_scrubber

DATABASE_FILE = "demo.sqlite"
MAILBOX_FOLDER = "demo-mailbox"
# Six months of biweekly waves: every rotating module twice, and enough points for the
# run-chart rules (which start at ten).
DEFAULT_HISTORY_WAVES = 13


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve the app on.")
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="App port."
)
@click.option(
    "--smtp-port",
    default=8025,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the built-in mail catcher (always on 127.0.0.1).",
)
@click.option(
    "--instance",
    "instance_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo database, mailbox and secret key [default: the app's instance folder].",
)
@click.option("--reset", is_flag=True, help="Delete the demo database and mailbox first.")
@click.option("--no-serve", is_flag=True, help="Set up the demo organisation, then exit.")
@click.option(
    "--history",
    "history_waves",
    type=click.IntRange(0, 26),
    default=DEFAULT_HISTORY_WAVES,
    show_default=True,
    help="Past biweekly waves to answer and release when the demo is first made.",
)
def demo_command(
    host: str,
    port: int,
    smtp_port: int,
    instance_dir: Path | None,
    reset: bool,
    no_serve: bool,
    history_waves: int,
) -> None:
    """Create or reuse the demo instance and serve it with a mail catcher.

    Everything lives in the instance folder: a SQLite database, the caught mail and a secret
    key. Development settings are built in; WELLBEING_* database and mail settings are ignored,
    so the demo never touches a real database or sends real mail.
    """
    instance = (instance_dir or _default_instance()).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    mailbox_dir = instance / MAILBOX_FOLDER
    if reset:
        _delete_demo_data(instance, mailbox_dir)
        click.echo("Deleted the demo database and mailbox.")

    app = create_demo_app(instance, mailbox_dir, host, port, smtp_port)
    with app.app_context():
        upgrade()
        _show_logs()
        summary = seed_demo()
        db.session.commit()
        _build_history(history_waves)
    if summary.reused:
        click.echo(
            f"Reusing the demo organisation in {instance / DATABASE_FILE} (--reset starts afresh)."
        )
    else:
        click.echo(
            f"Created {summary.agency}: {summary.programs} programs, {summary.teams} teams, "
            f"{summary.people} staff on the roster."
        )
    if no_serve:
        click.echo(_logins(summary))
        _dispose(app)
        return
    try:
        _serve(app, summary, host, port, smtp_port, mailbox_dir)
    finally:
        _dispose(app)


def _build_history(waves: int) -> None:
    """Answer and release past waves the first time, with a progress bar."""
    if not waves or has_history():
        return
    with click.progressbar(
        length=waves, label="Answering and releasing past waves", show_pos=True
    ) as bar:
        added = build_history(waves, progress=lambda done, total: bar.update(1))
    if added:
        waves_word = "wave" if added == 1 else "waves"
        click.echo(f"Released {added} past {waves_word} of made-up answers.")


def create_demo_app(
    instance: Path, mailbox_dir: Path, host: str, port: int, smtp_port: int
) -> Flask:
    """The app with development settings, its data in ``instance`` and its mail to the catcher."""
    return create_app(
        {
            "WELLBEING_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / DATABASE_FILE}",
            "BASE_URL": _url(host, port),
            "MAIL_SERVER": LOOPBACK,
            "MAIL_PORT": smtp_port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_USERNAME": None,
            "MAIL_PASSWORD": None,
            "MAIL_DEFAULT_SENDER": "Wellbeing Pulse <pulse@riverside.example>",
            "DEMO_MAILBOX_DIR": str(mailbox_dir),
        },
        instance_path=str(instance),
    )


def _serve(
    app: Flask, summary: DemoSummary, host: str, port: int, smtp_port: int, mailbox_dir: Path
) -> None:
    """Run the catcher, the scheduler and the web server until Ctrl+C or SIGTERM."""
    try:
        catcher = start_mail_catcher(mailbox_dir, smtp_port)
    except MailCatcherError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        try:
            server = make_server(host, port, app, threaded=True)
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve the app on {host}:{port} ({exc.strerror}); "
                "choose another port with --port"
            ) from exc
        from wellbeing.scheduler.runner import start_in_process  # APScheduler only when serving

        scheduler = start_in_process(app)
        try:
            click.echo(_banner(summary, host, port, catcher))
            with _stopped_by_signals():
                server.serve_forever()  # returns on Ctrl+C (werkzeug swallows the interrupt)
        finally:
            server.server_close()
            scheduler.shutdown()
    finally:
        stop_mail_catcher(catcher)
    click.echo("Demo stopped.")


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Ctrl+C and SIGTERM both stop the server tidily, even if the shell ignored SIGINT."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    """Turn a stop signal into the interrupt the server loop knows how to end on."""
    raise KeyboardInterrupt


def _banner(summary: DemoSummary, host: str, port: int, catcher: MailCatcher) -> str:
    url = _url(host, port)
    lines = [
        "",
        "Wellbeing Pulse demo is running.",
        "",
        f"  App:      {url}/",
        f"  Mailbox:  {url}/mailbox   (every email the demo sends is caught here)",
        "",
        _logins(summary),
        "",
        f"  Mail catcher: SMTP on {catcher.host}:{catcher.port}, filed in {catcher.directory}",
        "  Scheduler:    running in this process (opens waves, sends invitations and reminders)",
    ]
    if host not in ("127.0.0.1", "localhost", "::1"):
        lines.append(
            f"  Warning: serving on {host} lets other machines read the demo mailbox and sign in."
        )
    lines += ["", "Ctrl+C to stop.", ""]
    return "\n".join(lines)


def _logins(summary: DemoSummary) -> str:
    width = max(len(login.label) for login in summary.logins)
    lines = [f"  Demo logins (password for all three: {summary.password}; for this demo only):"]
    lines += [f"    {login.label:<{width}}  {login.email}" for login in summary.logins]
    return "\n".join(lines)


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - display only
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _default_instance() -> Path:
    """The instance folder ``create_app()`` uses by default, asked of Flask so the two agree."""
    return Path(Flask("wellbeing").instance_path)


def _delete_demo_data(instance: Path, mailbox_dir: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        (instance / f"{DATABASE_FILE}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(mailbox_dir, ignore_errors=True)


def _show_logs() -> None:
    """Print the app's and the web server's messages on the console.

    The migrations' logging setup (alembic.ini via fileConfig) disables every logger that existed
    before it ran, so they are switched back on here and given a console handler.
    """
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "root": {"level": "WARNING", "handlers": ["console"]},
            "loggers": {"wellbeing": {"level": "INFO"}, "werkzeug": {"level": "INFO"}},
        }
    )
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and name.split(".")[0] in ("wellbeing", "werkzeug"):
            logger.disabled = False
    install_log_scrubber()


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
