"""Configuration read from ``WELLBEING_*`` environment variables when the app is created."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from limits import parse_many

MIN_GROUP_SIZE_FLOOR = 5


class ConfigError(RuntimeError):
    """The deployment's configuration cannot run the product; the message says what to set."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


# (environment variable, Flask config key, parser)
_ENV_SETTINGS: list[tuple[str, str, Any]] = [
    ("WELLBEING_ENV", "WELLBEING_ENV", str),
    ("WELLBEING_DATABASE_URL", "SQLALCHEMY_DATABASE_URI", str),
    ("WELLBEING_SECRET_KEY", "SECRET_KEY", str),
    ("WELLBEING_BASE_URL", "BASE_URL", str),
    ("WELLBEING_MIN_GROUP_SIZE", "MIN_GROUP_SIZE", int),
    ("WELLBEING_MAIL_SERVER", "MAIL_SERVER", str),
    ("WELLBEING_MAIL_PORT", "MAIL_PORT", int),
    ("WELLBEING_MAIL_USE_TLS", "MAIL_USE_TLS", _bool),
    ("WELLBEING_MAIL_USE_SSL", "MAIL_USE_SSL", _bool),
    ("WELLBEING_MAIL_USERNAME", "MAIL_USERNAME", str),
    ("WELLBEING_MAIL_PASSWORD", "MAIL_PASSWORD", str),
    ("WELLBEING_MAIL_SENDER", "MAIL_DEFAULT_SENDER", str),
    ("WELLBEING_SURVEYS_DIR", "SURVEYS_DIR", str),
    ("WELLBEING_LOGIN_RATE_LIMIT", "LOGIN_RATE_LIMIT", str),
    ("WELLBEING_SURVEY_RATE_LIMIT", "SURVEY_RATE_LIMIT", str),
    ("WELLBEING_API_RATE_LIMIT", "API_RATE_LIMIT", str),
    ("WELLBEING_SESSION_IDLE_MINUTES", "SESSION_IDLE_MINUTES", float),
    ("WELLBEING_TRUSTED_PROXIES", "TRUSTED_PROXIES", int),
    ("WELLBEING_DEFAULT_TIME_ZONE", "DEFAULT_TIME_ZONE", str),
    ("WELLBEING_SUGGEST_BELOW", "SUGGEST_BELOW", float),
    ("WELLBEING_SCHEDULER_LEASE_SECONDS", "SCHEDULER_LEASE_SECONDS", float),
    ("WELLBEING_SCHEDULER_HEARTBEAT_SECONDS", "SCHEDULER_HEARTBEAT_SECONDS", float),
]

ENVIRONMENT_VARIABLES = [name for name, _, _ in _ENV_SETTINGS]

_RATE_LIMITS = [
    ("WELLBEING_LOGIN_RATE_LIMIT", "LOGIN_RATE_LIMIT"),
    ("WELLBEING_SURVEY_RATE_LIMIT", "SURVEY_RATE_LIMIT"),
    ("WELLBEING_API_RATE_LIMIT", "API_RATE_LIMIT"),
]


def defaults(instance_path: str) -> dict[str, Any]:
    """Settings that hold unless the environment or the caller says otherwise."""
    return {
        "WELLBEING_ENV": "production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'wellbeing.sqlite'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BASE_URL": "http://localhost:5000",
        "MIN_GROUP_SIZE": MIN_GROUP_SIZE_FLOOR,
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_DEFAULT_SENDER": "Wellbeing Pulse <pulse@localhost>",
        "SURVEYS_DIR": None,
        "LOGIN_RATE_LIMIT": "5 per minute",
        # Generous: everyone in an office behind one address may answer in the same minute.
        "SURVEY_RATE_LIMIT": "60 per minute",
        "API_RATE_LIMIT": "300 per minute",
        "SESSION_IDLE_MINUTES": 30.0,
        # How many proxies in front of the app add X-Forwarded-For and -Proto; 0 trusts none.
        "TRUSTED_PROXIES": 0,
        "DEFAULT_TIME_ZONE": "UTC",
        # A unit page suggests change concepts for a domain whose index is below this line
        # (or whose run chart shows a shift down).
        "SUGGEST_BELOW": 60.0,
        # A standby scheduler takes over once the active one has missed its lease (SQLite), and
        # checks for that (or for PostgreSQL's advisory lock) every heartbeat.
        "SCHEDULER_LEASE_SECONDS": 30.0,
        "SCHEDULER_HEARTBEAT_SECONDS": 10.0,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF's strict check wants a Referer on every HTTPS form post, but survey pages
        # send none (Referrer-Policy: no-referrer, so links never carry an address off-site).
        # The CSRF token and the SameSite session cookie still guard every form.
        "WTF_CSRF_SSL_STRICT": False,
        "MAX_CONTENT_LENGTH": 256 * 1024,
    }


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment gives, converted to their types."""
    found: dict[str, Any] = {}
    for name, key, parse in _ENV_SETTINGS:
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            found[key] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} is not valid: {exc}") from exc
    return found


def finalise(config: dict[str, Any], instance_path: str) -> None:
    """Check the merged settings and fill in what depends on others."""
    env = config["WELLBEING_ENV"]
    if env not in {"production", "development", "testing"}:
        raise ConfigError(
            f"WELLBEING_ENV={env!r} is unknown; use production, development or testing."
        )
    if int(config["MIN_GROUP_SIZE"]) < MIN_GROUP_SIZE_FLOOR:
        raise ConfigError(
            f"WELLBEING_MIN_GROUP_SIZE={config['MIN_GROUP_SIZE']} is below the floor of "
            f"{MIN_GROUP_SIZE_FLOOR}; the minimum group size can only be raised."
        )
    for name, key in _RATE_LIMITS:
        try:
            parse_many(str(config[key]))
        except ValueError as exc:
            raise ConfigError(
                f"{name}={config[key]!r} is not a rate limit; write it like '5 per minute' "
                "or '100 per hour; 10 per minute'."
            ) from exc
    if float(config["SESSION_IDLE_MINUTES"]) <= 0:
        raise ConfigError(
            f"WELLBEING_SESSION_IDLE_MINUTES={config['SESSION_IDLE_MINUTES']} must be above 0."
        )
    if int(config["TRUSTED_PROXIES"]) < 0:
        raise ConfigError(f"WELLBEING_TRUSTED_PROXIES={config['TRUSTED_PROXIES']} is below 0.")
    if not config.get("SECRET_KEY"):
        if env == "production":
            raise ConfigError(
                "No secret key is set. Set WELLBEING_SECRET_KEY to a long random value, "
                "for example the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'"
            )
        config["SECRET_KEY"] = _instance_secret(instance_path)
    if env == "production":
        # Production runs behind TLS; cookies must never travel in clear text.
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True


def _instance_secret(instance_path: str) -> str:
    """A development secret kept in the instance folder so restarts keep sessions and tokens."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def environment() -> Mapping[str, str]:
    """The process environment (a seam for tests)."""
    return os.environ
