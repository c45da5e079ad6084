"""The application skeleton: configuration, health, packaging."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from wellbeing import config as settings
from wellbeing import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_checks_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    app = create_app(
        {
            "WELLBEING_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'no.sqlite'}",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}


def test_production_refuses_to_start_without_a_secret_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(settings, "environment", lambda: {"WELLBEING_ENV": "production"})
    with pytest.raises(settings.ConfigError, match="Set WELLBEING_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "WELLBEING_ENV": "production",
        "WELLBEING_SECRET_KEY": "s3cret",
        "WELLBEING_DATABASE_URL": "sqlite://",
        "WELLBEING_BASE_URL": "https://pulse.example.org",
        "WELLBEING_MIN_GROUP_SIZE": "7",
        "WELLBEING_MAIL_SERVER": "smtp.example.org",
        "WELLBEING_MAIL_PORT": "587",
        "WELLBEING_MAIL_USE_TLS": "true",
        "WELLBEING_MAIL_SENDER": "Pulse <pulse@example.org>",
    }
    monkeypatch.setattr(settings, "environment", lambda: env)
    app = create_app()
    assert app.config["SECRET_KEY"] == "s3cret"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
    assert app.config["BASE_URL"] == "https://pulse.example.org"
    assert app.config["MIN_GROUP_SIZE"] == 7
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"]) == (
        "smtp.example.org",
        587,
        True,
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_minimum_group_size_can_only_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "environment", lambda: {"WELLBEING_MIN_GROUP_SIZE": "3"})
    with pytest.raises(settings.ConfigError, match="below the floor of 5"):
        create_app({"SECRET_KEY": "x"})


def test_bad_number_in_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "environment", lambda: {"WELLBEING_MAIL_PORT": "twenty-five"})
    with pytest.raises(
        settings.ConfigError, match="WELLBEING_MAIL_PORT='twenty-five' is not valid"
    ):
        create_app({"SECRET_KEY": "x"})


def test_development_keeps_a_generated_secret_in_the_instance_folder(app: Flask) -> None:
    dev = create_app({"WELLBEING_ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    again = create_app({"WELLBEING_ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert dev.config["SECRET_KEY"] and dev.config["SECRET_KEY"] == again.config["SECRET_KEY"]


def test_cli_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wellbeing", "--help"],
        capture_output=True,
        text=True,
        env={"WELLBEING_ENV": "testing", "WELLBEING_SECRET_KEY": "x", "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("db", "roster", "users", "demo", "retention"):
        assert command in result.stdout


def test_wheel_carries_templates_surveys_and_migrations(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("wellbeing_pulse-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import wellbeing.resources as r, sys;"
        "print(r.resource_dir('templates'), r.resource_dir('surveys'), r.resource_dir('migrations'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
        check=True,
    )
    found = [Path(p) for p in result.stdout.split()]
    assert all(str(p).startswith(str(target)) for p in found), found
    assert (found[0] / "base.html").is_file()
    assert (found[1] / "items.yaml").is_file()
    assert (found[2] / "env.py").is_file()
