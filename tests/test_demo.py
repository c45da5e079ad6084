"""The demo: its organisation, its mail catcher and mailbox pages, and `wellbeing demo` itself."""

from __future__ import annotations

import http.client
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from wellbeing import create_app
from wellbeing.auth.models import Role, User
from wellbeing.auth.service import authenticate
from wellbeing.demo.mailcatcher import MailCatcher, start_mail_catcher, stop_mail_catcher
from wellbeing.demo.seed import AGENCY, DEMO_PASSWORD, TIME_ZONES, seed_demo
from wellbeing.extensions import db
from wellbeing.org.models import Person, Unit

LOGINS = {
    "admin@riverside.example": Role.ADMIN,
    "coordinator@riverside.example": Role.COORDINATOR,
    "lead.homevisiting@riverside.example": Role.LEADER,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the demo organisation -------------------------------------------------------------------


def test_seed_builds_an_agency_with_varied_teams_and_three_logins(app: Flask) -> None:
    summary = seed_demo()

    assert not summary.reused
    assert (summary.agency, summary.programs, summary.teams) == (AGENCY, 3, 12)
    assert 140 <= summary.people <= 160
    programs = db.session.scalars(sa.select(Unit.name).where(Unit.depth == 1)).all()
    assert sorted(programs) == ["Child Welfare", "Early Care & Education", "Home Visiting"]
    team_sizes = Counter(
        db.session.scalars(
            sa.select(Unit.path).select_from(Person).join(Person.unit).where(Unit.depth == 2)
        )
    )
    assert len(team_sizes) == 12
    assert sum(team_sizes.values()) == summary.people
    assert len([n for n in team_sizes.values() if n < 5]) >= 2
    assert max(team_sizes.values()) >= 20

    people = db.session.scalars(sa.select(Person)).all()
    spanish = sum(p.locale == "es" for p in people) / len(people)
    assert 0.15 <= spanish <= 0.35
    assert {p.time_zone for p in people} == set(TIME_ZONES)
    assert all(p.email.endswith("@riverside.example") and p.name for p in people)

    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    assert {email: u.role for email, u in users.items()} == LOGINS
    assert [u.path for u in users["lead.homevisiting@riverside.example"].units] == [
        f"{AGENCY}/Home Visiting"
    ]
    for email in LOGINS:
        assert authenticate(email, DEMO_PASSWORD) is not None


def test_seeding_again_reuses_the_demo_organisation(app: Flask) -> None:
    first = seed_demo()
    emails = set(db.session.scalars(sa.select(Person.email)))

    second = seed_demo()

    assert second.reused
    assert (second.programs, second.teams, second.people) == (
        first.programs,
        first.teams,
        first.people,
    )
    assert set(db.session.scalars(sa.select(Person.email))) == emails
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 3


# --- the mail catcher and the mailbox pages --------------------------------------------------


@pytest.fixture
def mailbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "demo-mailbox"


@pytest.fixture
def mailbox_client(migrated: str, mailbox_dir: Path) -> Iterator[FlaskClient]:
    app = create_app(
        {
            "TESTING": True,
            "WELLBEING_ENV": "testing",
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": migrated,
            "DEMO_MAILBOX_DIR": str(mailbox_dir),
        }
    )
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def catcher(mailbox_dir: Path) -> Iterator[MailCatcher]:
    running = start_mail_catcher(mailbox_dir, free_port())
    yield running
    stop_mail_catcher(running)


def invitation(subject: str, to: str, sent: datetime | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Wellbeing Pulse <pulse@riverside.example>"
    message["To"] = to
    message["Subject"] = subject
    if sent is not None:
        message["Date"] = format_datetime(sent)
    message.set_content(
        "Hola María,\nResponde aquí: http://127.0.0.1:5000/s/demo-token-abc.\nGracias.\n"
    )
    message.add_alternative(
        "<!doctype html><html><head><title>Pulse</title></head><body>"
        '<p>Hola "María" &amp; equipo</p>'
        '<a href="http://127.0.0.1:5000/s/demo-token-abc">Responder</a></body></html>',
        subtype="html",
    )
    return message


def send(catcher: MailCatcher, message: EmailMessage) -> None:
    with smtplib.SMTP(catcher.host, catcher.port, timeout=10) as smtp:
        smtp.send_message(message)


def test_caught_mail_is_listed_newest_first_and_shown(
    catcher: MailCatcher, mailbox_client: FlaskClient
) -> None:
    send(
        catcher,
        invitation("Primera encuesta", "ana@riverside.example", datetime(2026, 3, 2, tzinfo=UTC)),
    )
    send(
        catcher,
        invitation(
            "Tu encuesta de bienestar — 2 minutos",
            "María Pérez <maria.perez@riverside.example>",
            datetime(2026, 3, 16, tzinfo=UTC),
        ),
    )

    listing = mailbox_client.get("/mailbox")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "nothing here leaves this machine" in page
    assert "<caption>" in page and 'scope="col"' in page
    assert page.index("Tu encuesta de bienestar — 2 minutos") < page.index("Primera encuesta")
    assert "maria.perez@riverside.example" in page
    assert "16 Mar 2026" in page

    keys = sorted(p.name for p in (catcher.directory / "new").iterdir())
    newest = next(k for k in keys if b"bienestar" in (catcher.directory / "new" / k).read_bytes())
    assert f'href="/mailbox/{newest}"' in page

    shown = mailbox_client.get(f"/mailbox/{newest}")
    assert shown.status_code == 200
    message = shown.get_data(as_text=True)
    assert "<dt>From</dt><dd>Wellbeing Pulse &lt;pulse@riverside.example&gt;</dd>" in message
    assert "<dt>Subject</dt><dd>Tu encuesta de bienestar — 2 minutos</dd>" in message
    # The plain-text part, with its link made clickable.
    assert "Hola María," in message
    assert (
        '<a href="http://127.0.0.1:5000/s/demo-token-abc">'
        "http://127.0.0.1:5000/s/demo-token-abc</a>." in message
    )
    # The HTML part, escaped once into a sandboxed frame whose links open a new tab.
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in message
    assert (
        'srcdoc="&lt;!doctype html&gt;&lt;html&gt;&lt;head&gt;&lt;base target=&#34;_blank&#34;&gt;'
        in message
    )
    assert "Hola &#34;María&#34; &amp;amp; equipo" in message
    assert "<p>Hola" not in message


def test_empty_mailbox_says_when_mail_will_arrive(mailbox_client: FlaskClient) -> None:
    response = mailbox_client.get("/mailbox")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "No emails yet" in page
    assert "as soon as a pulse wave opens" in page


def test_unknown_message_is_not_found(catcher: MailCatcher, mailbox_client: FlaskClient) -> None:
    send(catcher, invitation("Hello", "ana@riverside.example"))
    assert mailbox_client.get("/mailbox/1700000000.M1P1Q1.nowhere").status_code == 404
    assert mailbox_client.get("/mailbox/..%2F..%2Fsecret_key").status_code == 404


def test_odd_mail_still_opens(mailbox_dir: Path, mailbox_client: FlaskClient) -> None:
    mailbox_dir.mkdir()  # an existing, empty folder is made into a mailbox too
    catcher = start_mail_catcher(mailbox_dir, free_port())
    try:
        with smtplib.SMTP(catcher.host, catcher.port, timeout=10) as smtp:
            smtp.sendmail(
                "pulse@riverside.example",
                ["hidden@riverside.example"],
                b"Subject: Odd\r\nContent-Type: text/plain; charset=klingon\r\n\r\nqapla\r\n",
            )
    finally:
        stop_mail_catcher(catcher)

    page = mailbox_client.get("/mailbox").get_data(as_text=True)
    assert "hidden@riverside.example" in page  # no To header: the envelope recipient
    (key,) = (p.name for p in (mailbox_dir / "new").iterdir())
    shown = mailbox_client.get(f"/mailbox/{key}")
    assert shown.status_code == 200
    assert "qapla" in shown.get_data(as_text=True)


def test_mailbox_exists_only_when_the_demo_asks_for_it(app: Flask, client: FlaskClient) -> None:
    assert "DEMO_MAILBOX_DIR" not in app.config
    assert client.get("/mailbox").status_code == 404
    assert not any(rule.rule.startswith("/mailbox") for rule in app.url_map.iter_rules())


# --- `wellbeing demo` as a user runs it ------------------------------------------------------


def demo_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("wellbeing")
    if script.exists():
        return [str(script), "demo", *args]
    return [sys.executable, "-c", "from wellbeing.cli import main; main()", "demo", *args]


def clean_environment() -> dict[str, str]:
    """The caller's environment without any WELLBEING_* setting, as on a fresh machine."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WELLBEING_")}


def http_get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def wait_until_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"wellbeing demo exited early with code {process.returncode}")
        try:
            if http_get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"wellbeing demo did not answer /healthz within {timeout} seconds")


def test_wellbeing_demo_serves_the_app_and_its_mailbox(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    web, smtp = free_port(), free_port()
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    command = demo_command(
        "--instance", str(instance), "--port", str(web), "--smtp-port", str(smtp), "--history", "0"
    )
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=clean_environment(), stdout=out, stderr=err
        )
        try:
            wait_until_healthy(web, process)
            assert http_get(web, "/login")[0] == 200
            assert http_get(web, "/mailbox")[0] == 200

            with smtplib.SMTP("127.0.0.1", smtp, timeout=10) as client:
                client.send_message(invitation("Your pulse is open", "ana@riverside.example"))
            status, page = http_get(web, "/mailbox")
            assert status == 200
            assert "Your pulse is open" in page
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    output = out_path.read_text()
    assert process.returncode == 0, err_path.read_text()
    assert f"http://127.0.0.1:{web}/" in output
    assert f"http://127.0.0.1:{web}/mailbox" in output
    for email in LOGINS:
        assert email in output
    assert DEMO_PASSWORD in output
    assert "Ctrl+C to stop" in output
    assert "Demo stopped." in output
    assert "Scheduler:    running in this process" in output
    assert (instance / "demo.sqlite").exists()


def test_wellbeing_demo_reuses_its_data_and_resets_on_request(tmp_path: Path) -> None:
    instance = tmp_path / "instance"

    def run(*args: str) -> str:
        result = subprocess.run(
            demo_command("--instance", str(instance), "--no-serve", *args),
            cwd=tmp_path,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    first = run("--history", "1")
    assert "Created Riverside Family Services: 3 programs, 12 teams" in first
    assert "Released 1 past wave of made-up answers." in first
    assert "admin@riverside.example" in first
    (instance / "demo-mailbox" / "new").mkdir(parents=True)

    again = run("--history", "1")
    assert "Reusing the demo organisation" in again
    assert "Released" not in again  # the history is made once

    reset = run("--reset", "--history", "0")
    assert "Deleted the demo database and mailbox." in reset
    assert "Created Riverside Family Services" in reset
    assert not (instance / "demo-mailbox").exists()
