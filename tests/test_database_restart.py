"""PostgreSQL crashes and restarts while staff send their answers: nothing acknowledged is lost.

The database is a private throwaway server (``tests/pg_instance.py``), never the suite's own:
crashing that would break every other connection to it. Client threads answer surveys through
a real HTTP server; part-way through, the database is stopped the hard way (as a crash would
stop it) and started again. Every client must then have been told either "thank you" or "please
try again" (503 with Retry-After), and the database must hold exactly the answers it said
"thank you" for, or that were committed just as the crash cut the reply off.

The test brings its own server whichever database the rest of the suite uses, so it runs once,
in the SQLite pass, and is skipped in the PostgreSQL pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from tests import pulse_helpers as h
from tests import survey_helpers as s
from tests.browser import serving
from tests.conftest import BACKEND
from tests.conftest import test_config as config_for
from tests.pg_instance import PostgresInstance, binaries
from wellbeing import create_app
from wellbeing.boundary import database_unavailable
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation
from wellbeing.responses.models import Response, Submission
from wellbeing.scheduler import jobs
from wellbeing.types import utcnow

PEOPLE = 150
CLIENTS = 6
# A person reads the page before answering; it keeps the clients busy through the outage.
READING_SECONDS = 0.05
RETRY_PAUSE_SECONDS = 0.2  # the page asks for 5 s; the test is in a hurry
DOWN_SECONDS = 1.0
_LINK = re.compile(r"/s/.*")
_OPTION = re.compile(r'name="(answer-[\w-]+)" value="([^"]+)"')
RETRY_TEXT = "Please try again"
ALREADY_IN_TEXT = "already"


@dataclass
class Seen:
    """One HTTP answer a client got, kept for the checks after the run."""

    method: str
    path: str
    status: int
    retry_after: str | None
    body: str


@dataclass
class Client:
    """One person with an emailed link, and everything the server told them."""

    token: str
    invitation_id: int
    seen: list[Seen] = field(default_factory=list)
    acknowledged: bool = False
    already_in: bool = False
    retried: int = 0

    def note(self, response: requests.Response) -> None:
        for answer in [*response.history, response]:
            self.seen.append(
                Seen(
                    answer.request.method or "",
                    _LINK.sub("/s/<token>", urlsplit(answer.url).path),
                    answer.status_code,
                    answer.headers.get("Retry-After"),
                    answer.text,
                )
            )

    def load_form(self, base: str, browser: requests.Session) -> dict[str, str] | None:
        """Follow the emailed link to the form; None when the server did not show it."""
        page = browser.get(f"{base}/s/{self.token}", timeout=30)
        self.note(page)
        if page.status_code != 200 or "csrf_token" not in page.text:
            self.already_in = self.already_in or (
                page.status_code == 200 and ALREADY_IN_TEXT in page.text
            )
            return None
        data = {"csrf_token": s.csrf_token(page.text)}
        for name, value in _OPTION.findall(page.text):
            data.setdefault(name, value)  # each question's first option
        return data

    def post(self, base: str, browser: requests.Session, data: dict[str, str]) -> None:
        sent = browser.post(f"{base}/survey", data=data, timeout=30, allow_redirects=False)
        self.note(sent)
        self.acknowledged = sent.status_code == 303
        self.already_in = self.already_in or sent.status_code == 409

    def done(self) -> bool:
        return self.acknowledged or self.already_in

    def answer(self, base: str, attempts: int = 200) -> None:
        """Answer the survey; on "please try again", wait and start again from the link."""
        for _ in range(attempts):
            with requests.Session() as browser:
                data = self.load_form(base, browser)
                if data is not None:
                    time.sleep(READING_SECONDS)
                    self.post(base, browser, data)
            if self.done():
                return
            self.retried += 1
            time.sleep(RETRY_PAUSE_SECONDS)


@pytest.fixture
def database() -> Iterator[PostgresInstance]:
    """A PostgreSQL server of this test's own, removed afterwards."""
    if BACKEND != "sqlite":
        pytest.skip("runs once, in the SQLite pass: it brings its own PostgreSQL server")
    bindir = binaries()
    if bindir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    with PostgresInstance(bindir) as instance:
        yield instance


@pytest.fixture
def served(database: PostgresInstance) -> Iterator[tuple[Flask, str]]:
    """The app on the private database, migrated, answering HTTP on a free port."""
    # Not TESTING: errors must be handled as in production, not raised into the server.
    app = create_app(config_for(database.url, TESTING=False, RATELIMIT_ENABLED=False))
    with app.app_context():
        upgrade()
    try:
        with serving(app) as base:
            yield app, base
    finally:
        with app.app_context():
            db.engine.dispose()


def _people(app: Flask) -> tuple[int, list[Client]]:
    with app.app_context():
        h.staff("North", PEOPLE)
        wave = pulse.open_wave(h.program(), utcnow())
        people = [Client(s.link_token(i), i.id) for i in s.invitations(wave)]
        wave_id = wave.id
        db.session.commit()
    return wave_id, people


def test_a_database_crash_during_submissions_loses_nothing_acknowledged(
    database: PostgresInstance, served: tuple[Flask, str]
) -> None:
    app, base = served
    wave_id, people = _people(app)
    witness, crowd = people[0], people[1:]

    with ThreadPoolExecutor(CLIENTS) as pool:
        running = [pool.submit(client.answer, base) for client in crowd]
        deadline = time.monotonic() + 120
        while sum(c.acknowledged for c in crowd) < len(crowd) // 10:
            assert time.monotonic() < deadline, _odd([a for c in crowd for a in c.seen])
            time.sleep(0.01)
        with requests.Session() as browser:
            form = witness.load_form(base, browser)
            assert form is not None
            # crash_and_restart in its two halves, so that a post meets the server while down.
            database.stop("immediate")  # a crash: no checkpoint, every connection cut
            try:
                witness.post(base, browser, form)  # its answers meet the dead database
                during_outage = witness.seen[-1]
                time.sleep(DOWN_SECONDS)
            finally:
                database.start()
        for task in running:
            task.result()
    witness.answer(base)  # the same emailed link, once the database is back

    seen = [answer for client in people for answer in client.seen]
    assert {answer.status for answer in seen} <= {200, 303, 409, 503}, _odd(seen)
    assert not [a for a in seen if "Traceback" in a.body or "Internal Server Error" in a.body]
    refused = [answer for answer in seen if answer.status == 503]
    assert all(a.retry_after and RETRY_TEXT in a.body for a in refused), _odd(refused)
    assert (during_outage.method, during_outage.status) == ("POST", 503)
    assert witness.acknowledged  # the link still worked, and its answers went in
    assert any(client.retried for client in crowd)  # the crash met clients mid-way
    assert all(client.done() for client in people)
    # "Already in" only where a commit went through as the crash cut its reply off.
    assert all(client.retried for client in people if client.already_in)

    with app.app_context():
        responded = set(
            db.session.scalars(
                sa.select(Invitation.id).where(
                    Invitation.wave_id == wave_id, Invitation.responded.is_(True)
                )
            )
        )
        sealed = db.session.scalar(
            sa.select(sa.func.count()).select_from(Submission).where(Submission.wave_id == wave_id)
        )
        # Everyone acknowledged is in, and each answered invitation has its one sealed answer.
        assert responded == {client.invitation_id for client in people}
        assert sealed == len(responded)
        jobs.close_and_write_answers(wave_id)
        written = db.session.scalar(
            sa.select(sa.func.count()).select_from(Response).where(Response.wave_id == wave_id)
        )
        assert written == PEOPLE  # every sealed answer opens and is written


def _odd(seen: list[Seen]) -> list[tuple[str, str, int, str]]:
    """A few answers worth showing when a check fails."""
    return [(a.method, a.path, a.status, a.body[:300]) for a in seen if a.status != 200][:5]


def test_connection_errors_earn_the_retry_page_and_other_database_errors_do_not() -> None:
    cause = Exception("server closed the connection unexpectedly")
    assert database_unavailable(sa.exc.OperationalError("COMMIT", {}, cause))
    assert database_unavailable(sa.exc.InterfaceError("SELECT 1", {}, cause))
    assert database_unavailable(
        sa.exc.DBAPIError("SELECT 1", {}, cause, connection_invalidated=True)
    )
    assert not database_unavailable(sa.exc.DBAPIError("SELECT 1", {}, cause))
    assert not database_unavailable(sa.exc.IntegrityError("INSERT", {}, cause))
    assert not database_unavailable(sa.exc.ProgrammingError("SELEC 1", {}, cause))
