"""Configuration read from ``WELLBEING_*`` environment variables when the app is created."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

MIN_GROUP_SIZE_FLOOR = 5
# Raw answers are kept this many days after a released wave closes, unless configured otherwise.
DEFAULT_RETENTION_DAYS = 400
# A hundred years: anything longer is a typing mistake, and "keep for ever" is 0 (or off).
MAX_RETENTION_DAYS = 36500


class ConfigError(RuntimeError):
    """The deployment's configuration cannot run the product; the message says what to set."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _days_or_off(value: str) -> int:
    """A whole number of days; ``off`` is 0, which keeps raw answers for ever."""
    text = value.strip().lower()
    return 0 if text == "off" else int(text)


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
    ("WELLBEING_RATE_LIMIT_STORAGE", "RATELIMIT_STORAGE_URI", str),
    ("WELLBEING_SESSION_IDLE_MINUTES", "SESSION_IDLE_MINUTES", float),
    ("WELLBEING_TRUSTED_PROXIES", "TRUSTED_PROXIES", int),
    ("WELLBEING_DEFAULT_TIME_ZONE", "DEFAULT_TIME_ZONE", str),
    ("WELLBEING_SUGGEST_BELOW", "SUGGEST_BELOW", float),
    ("WELLBEING_SCHEDULER_LEASE_SECONDS", "SCHEDULER_LEASE_SECONDS", float),
    ("WELLBEING_SCHEDULER_HEARTBEAT_SECONDS", "SCHEDULER_HEARTBEAT_SECONDS", float),
    ("WELLBEING_SCHEDULER_SENDS", "SCHEDULER_SENDS", _bool),
    ("WELLBEING_RETENTION_DAYS", "RETENTION_DAYS", _days_or_off),
    ("WELLBEING_OIDC_ISSUER", "OIDC_ISSUER", str),
    ("WELLBEING_OIDC_DISCOVERY_URL", "OIDC_DISCOVERY_URL", str),
    ("WELLBEING_OIDC_CLIENT_ID", "OIDC_CLIENT_ID", str),
    ("WELLBEING_OIDC_CLIENT_SECRET", "OIDC_CLIENT_SECRET", str),
    ("WELLBEING_OIDC_SCOPES", "OIDC_SCOPES", str),
    ("WELLBEING_OIDC_GROUPS_CLAIM", "OIDC_GROUPS_CLAIM", str),
    ("WELLBEING_OIDC_GROUP_MAP", "OIDC_GROUP_MAP", str),
    ("WELLBEING_OIDC_PROVIDER_NAME", "OIDC_PROVIDER_NAME", str),
    ("WELLBEING_OIDC_KEEP_PASSWORDS", "OIDC_KEEP_PASSWORDS", _bool),
    ("WELLBEING_OIDC_TIMEOUT_SECONDS", "OIDC_TIMEOUT_SECONDS", float),
]

# Single sign-on is on when these are all set, and refused when only some are.
_SSO_REQUIRED = {
    "OIDC_ISSUER": "WELLBEING_OIDC_ISSUER",
    "OIDC_CLIENT_ID": "WELLBEING_OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET": "WELLBEING_OIDC_CLIENT_SECRET",
    "OIDC_GROUP_MAP": "WELLBEING_OIDC_GROUP_MAP",
}

ENVIRONMENT_VARIABLES = [name for name, _, _ in _ENV_SETTINGS]

RATE_LIMIT_STORAGES = {"memory", "redis", "rediss", "redis+unix"}
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
        # Each worker counts in its own memory unless the workers share a Redis server.
        "RATELIMIT_STORAGE_URI": "memory://",
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
        # Off when ``wellbeing sender`` workers do all the sending and the scheduler none.
        "SCHEDULER_SENDS": True,
        # Days after a released wave closes until its raw answers and comments are deleted;
        # 0 keeps them for ever. Releases are never deleted.
        "RETENTION_DAYS": DEFAULT_RETENTION_DAYS,
        # Single sign-on (OpenID Connect) stays off until an issuer and the rest are set.
        "OIDC_ISSUER": None,
        "OIDC_DISCOVERY_URL": None,
        "OIDC_CLIENT_ID": None,
        "OIDC_CLIENT_SECRET": None,
        "OIDC_SCOPES": "openid email profile",
        "OIDC_GROUPS_CLAIM": "groups",
        "OIDC_GROUP_MAP": None,
        "OIDC_PROVIDER_NAME": "single sign-on",
        "OIDC_KEEP_PASSWORDS": False,
        "OIDC_TIMEOUT_SECONDS": 10.0,
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
    days = config["RETENTION_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RETENTION_DAYS:
        raise ConfigError(
            f"WELLBEING_RETENTION_DAYS={days!r} is not valid: give a whole number of days from 1 "
            f"to {MAX_RETENTION_DAYS}, or 0 (or off) to keep raw answers for ever."
        )
    for name, key in _RATE_LIMITS:
        try:
            parse_many(str(config[key]))
        except ValueError as exc:
            raise ConfigError(
                f"{name}={config[key]!r} is not a rate limit; write it like '5 per minute' "
                "or '100 per hour; 10 per minute'."
            ) from exc
    _check_rate_limit_storage(config)
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
    _check_single_sign_on(config, production=env == "production")


def _check_rate_limit_storage(config: dict[str, Any]) -> None:
    """Only memory or Redis; while a Redis server is unreachable each worker counts alone."""
    storage = str(config["RATELIMIT_STORAGE_URI"])
    scheme = urlsplit(storage).scheme
    if scheme not in RATE_LIMIT_STORAGES:
        raise ConfigError(
            f"WELLBEING_RATE_LIMIT_STORAGE={storage!r} is not supported; use memory:// (each "
            "worker counts alone) or a Redis URL such as redis://127.0.0.1:6379/0"
        )
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = scheme != "memory"


def sso_enabled(config: Mapping[str, Any]) -> bool:
    """Whether single sign-on is configured (``finalise`` has checked it is complete)."""
    return bool(config.get("OIDC_ISSUER"))


def _check_single_sign_on(config: dict[str, Any], production: bool) -> None:
    """Refuse half-configured single sign-on; load and check the group map."""
    given = [key for key in _SSO_REQUIRED if config.get(key)]
    if not given:
        return
    if missing := [_SSO_REQUIRED[key] for key in _SSO_REQUIRED if not config.get(key)]:
        raise ConfigError(
            "Single sign-on is half configured: set "
            + ", ".join(missing)
            + " as well, or unset "
            + ", ".join(_SSO_REQUIRED[key] for key in given)
            + " to use passwords only."
        )
    issuer = str(config["OIDC_ISSUER"]).strip()
    parts = urlsplit(issuer)
    if parts.scheme not in {"https", "http"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"WELLBEING_OIDC_ISSUER={issuer!r} is not an issuer URL, "
            "e.g. https://login.example.org/realms/agency"
        )
    if production and parts.scheme != "https":
        raise ConfigError(
            f"WELLBEING_OIDC_ISSUER={issuer!r} must use https in production: "
            "sign-in tokens must never travel in clear text."
        )
    config["OIDC_ISSUER"] = issuer
    discovery = config.get("OIDC_DISCOVERY_URL") or (
        issuer.rstrip("/") + "/.well-known/openid-configuration"
    )
    if urlsplit(discovery).scheme not in {"https", "http"}:
        raise ConfigError(f"WELLBEING_OIDC_DISCOVERY_URL={discovery!r} is not a URL")
    config["OIDC_DISCOVERY_URL"] = discovery
    if "openid" not in str(config["OIDC_SCOPES"]).split():
        raise ConfigError(
            f"WELLBEING_OIDC_SCOPES={config['OIDC_SCOPES']!r} must include 'openid', "
            "e.g. 'openid email profile'"
        )
    if not str(config["OIDC_GROUPS_CLAIM"]).strip():
        raise ConfigError("WELLBEING_OIDC_GROUPS_CLAIM is empty; the default is 'groups'")
    if float(config["OIDC_TIMEOUT_SECONDS"]) <= 0:
        raise ConfigError("WELLBEING_OIDC_TIMEOUT_SECONDS must be a positive number of seconds")
    from wellbeing.auth import group_map

    try:
        config["OIDC_GROUP_MAP"] = group_map.load(config["OIDC_GROUP_MAP"])
    except group_map.GroupMapError as exc:
        raise ConfigError(f"WELLBEING_OIDC_GROUP_MAP is not usable: {exc}") from exc


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
