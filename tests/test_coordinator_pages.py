"""Coordinators set up programs, open waves, watch banded participation and pause staff."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests import pulse_helpers as h
from tests.web import csrf_token, sign_in
from wellbeing.auth.models import Role
from wellbeing.extensions import db
from wellbeing.org.models import Person
from wellbeing.pulse.models import Invitation, PulseProgram, Wave


def _program_form(client: FlaskClient, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": csrf_token(client, "/programs/new"),
        "key": "biweekly",
        "name": "Biweekly pulse",
        "units": ["Riverside"],
        "cadence_days": "14",
        "invite_weekday": "1",
        "invite_hour": "9",
        "window_days": "7",
        "reminder_days": "3, 6",
        "languages": ["en", "es"],
    }
    data.update(overrides)
    return data


def test_only_coordinators_and_admins_reach_program_pages(app: Flask, client: FlaskClient) -> None:
    assert client.get("/programs").status_code == 302  # to the login page
    h.staff("North", 2)
    sign_in(client, "lead@example.org", Role.LEADER, ["Riverside/North"])
    for path in ("/programs", "/programs/new", "/staff"):
        assert client.get(path).status_code == 404, path


def test_coordinator_creates_edits_and_opens_a_program(app: Flask, client: FlaskClient) -> None:
    h.staff("North", 9)
    h.staff("South", 3)
    sign_in(client, "coord@example.org", Role.COORDINATOR)
    page = client.get("/programs").get_data(as_text=True)
    assert "No pulse programs yet" in page

    response = client.post("/programs/new", data=_program_form(client))
    assert response.status_code == 302
    program = db.session.scalar(sa.select(PulseProgram).where(PulseProgram.key == "biweekly"))
    assert program is not None and program.reminder_days == [3, 6]
    assert [u.path for u in program.units] == ["Riverside"]

    bad = client.post(
        "/programs/biweekly/edit",
        data=_program_form(client, reminder_days="3, 9"),
    )
    assert bad.status_code == 422
    assert "reminder day 9 is outside the 7-day window" in bad.get_data(as_text=True)
    ok = client.post("/programs/biweekly/edit", data=_program_form(client, name="Team pulse"))
    assert ok.status_code == 302 and program.name == "Team pulse"

    opened = client.post(
        "/programs/biweekly/open", data={"csrf_token": csrf_token(client, "/programs")}
    )
    assert opened.status_code == 302
    wave = db.session.scalar(sa.select(Wave).where(Wave.program_id == program.id))
    assert wave is not None and opened.headers["Location"] == f"/waves/{wave.id}"
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Invitation).where(Invitation.wave_id == wave.id)
        )
        == 12
    )
    page = client.get(f"/waves/{wave.id}").get_data(as_text=True)
    assert "0 sent, 12 waiting to be sent" in page
    assert page.count("hidden — fewer than 5 invited or answered") >= 2  # nobody has answered yet

    again = client.post(
        "/programs/biweekly/open", data={"csrf_token": csrf_token(client, "/programs")}
    )
    assert again.status_code == 302
    assert "still open" in client.get("/programs").get_data(as_text=True)


def test_duplicate_key_and_missing_units_are_explained(app: Flask, client: FlaskClient) -> None:
    h.staff("North", 2)
    sign_in(client, "coord@example.org", Role.COORDINATOR)
    assert client.post("/programs/new", data=_program_form(client)).status_code == 302
    dup = client.post("/programs/new", data=_program_form(client))
    assert dup.status_code == 422
    assert "a program with the key &#39;biweekly&#39; already exists" in dup.get_data(as_text=True)
    none = client.post("/programs/new", data=_program_form(client, key="other", units=[]))
    assert none.status_code == 422
    assert "needs at least one unit" in none.get_data(as_text=True)


def test_unknown_program_and_wave_are_404(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "admin@example.org", Role.ADMIN)
    assert client.get("/programs/nope/edit").status_code == 404
    assert client.get("/waves/999999").status_code == 404


def test_pause_and_resume_a_person(app: Flask, client: FlaskClient) -> None:
    (email,) = h.staff("North", 1)
    sign_in(client, "coord@example.org", Role.COORDINATOR)
    page = client.get("/staff?q=north").get_data(as_text=True)
    assert email in page
    person = db.session.scalar(sa.select(Person).where(Person.email == email))
    assert person is not None
    token = csrf_token(client, "/staff?q=north")
    response = client.post(f"/staff/{person.id}/pause", data={"csrf_token": token, "q": "north"})
    assert response.status_code == 302 and person.paused
    assert "is paused" in client.get("/staff?q=north").get_data(as_text=True)
    client.post(f"/staff/{person.id}/resume", data={"csrf_token": token})
    assert not person.paused
    assert client.post("/staff/999999/pause", data={"csrf_token": token}).status_code == 404
    assert "Nobody on the roster matches" in client.get("/staff?q=zzz").get_data(as_text=True)
