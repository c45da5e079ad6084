"""Security of the deployment: headers, sessions, rate limits, passwords, who manages users,
the log of changes, and the dependency audit."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import sqlalchemy as sa
from flask import Flask, url_for
from flask.testing import FlaskClient, FlaskCliRunner

from tests import dependency_audit, factories, served, web
from tests import pulse_helpers as h
from tests import report_helpers as reports_h
from tests import survey_helpers as s
from tests.conftest import test_config as config_for
from tests.test_routes import _sample_path
from wellbeing import config as settings
from wellbeing import create_app
from wellbeing.assets import plotly_src
from wellbeing.auth import api_tokens, sessions
from wellbeing.auth import service as accounts
from wellbeing.auth.access import PERMISSIONS
from wellbeing.auth.models import AccessRecord, ApiToken, Role, User
from wellbeing.extensions import db
from wellbeing.org.models import Person
from wellbeing.pulse.models import PulseProgram, Wave
from wellbeing.security import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "X-Frame-Options",
)
NEW_PASSWORD = "a brand new passphrase"


def _methods(rule: Any) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _check_headers(response: Any, where: str) -> None:
    for name in SECURITY_HEADERS:
        assert name in response.headers, (where, response.status_code, name)
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY, where
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def _sign_in(client: FlaskClient, email: str) -> None:
    token = web.csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def _sign_out(client: FlaskClient) -> None:
    client.post("/logout", data={"csrf_token": web.csrf_token(client, "/")})


class OtherBrowser(FlaskClient):
    """A second browser: each request in an app context of its own, as every request is when
    served (the tests' shared context would otherwise keep one browser's signed-in user)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _other_browser(app: Flask) -> FlaskClient:
    return OtherBrowser(app, app.response_class, use_cookies=True)


def _changes() -> list[AccessRecord]:
    return list(
        db.session.scalars(
            sa.select(AccessRecord)
            .where(AccessRecord.channel == "change")
            .order_by(AccessRecord.id)
        )
    )


# ---------------------------------------------------------------- the content security policy


def test_the_policy_allows_only_the_apps_own_scripts() -> None:
    directives = {
        name: value
        for name, _, value in (part.partition(" ") for part in CONTENT_SECURITY_POLICY.split("; "))
    }
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["style-src"] == "'self' 'unsafe-inline'"  # Plotly's inline styles
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_every_route_answers_with_the_security_headers(migrated: str, tmp_path: Path) -> None:
    """Anonymous requests to every route and method, demo mailbox included; nothing is written."""
    app = create_app(config_for(migrated, DEMO_MAILBOX_DIR=str(tmp_path / "mailbox")))
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        path = _sample_path(rule.rule)
        for method in _methods(rule):
            response = client.open(path, method=method)
            assert response.status_code < 500, (rule.endpoint, method, response.status_code)
            _check_headers(response, f"{method} {path}")
            checked += 1
    assert checked >= 40
    with app.test_request_context():
        plotly = client.get(plotly_src())
    assert plotly.status_code == 200
    _check_headers(plotly, "plotly.js")
    plotly.close()
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    _check_headers(missing, "an unknown address")
    with app.app_context():
        db.engine.dispose()


def test_every_route_answers_with_the_headers_for_a_signed_in_admin(
    app: Flask, client: FlaskClient
) -> None:
    factories.user("admin@example.org", Role.ADMIN)
    _sign_in(client, "admin@example.org")
    app.config["WTF_CSRF_ENABLED"] = False  # posts with no fields: refused, never a 500
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("auth.logout", "assets.plotly_js"):
            continue
        path = _sample_path(rule.rule)
        for method in _methods(rule):
            response = client.open(path, method=method)
            assert response.status_code < 500, (rule.endpoint, method, response.status_code)
            _check_headers(response, f"{method} {path}")


class _PageScripts(HTMLParser):
    """Every script and event-handler attribute on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.sources: list[str] = []
        self._script: dict[str, str | None] | None = None
        self._code = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> is an inline event handler")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}> runs code from a link")
        if tag == "script":
            self._script, self._code = found, ""
            if found.get("src"):
                self.sources.append(str(found["src"]))

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._code += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            kind = self._script.get("type") or ""
            if self._code.strip() and kind != "application/json":
                self.problems.append(f"inline script: {self._code.strip()[:60]!r}")
            self._script = None


def _scripts(html: str) -> _PageScripts:
    parser = _PageScripts()
    parser.feed(html)
    return parser


def test_no_template_has_inline_code() -> None:
    checked = 0
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (path.name, tag)
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text), path.name
        assert "javascript:" not in text.lower(), path.name
        checked += 1
    assert checked >= 40


def test_rendered_pages_run_no_inline_code_and_load_scripts_from_this_host(
    app: Flask, client: FlaskClient
) -> None:
    history = reports_h.build_history(waves=2)
    db.session.commit()
    north = history.unit("Child Welfare/North")
    _sign_in(client, history.admin.email)
    pages = [
        "/",
        "/results/",
        f"/results/units/{north.id}",
        "/results/heatmap",
        "/results/equity",
        "/results/participation",
        "/actions/",
        "/actions/concepts",
        "/actions/new",
        "/practices/",
        f"/practices/units/{north.id}",
        f"/practices/units/{north.id}/assessments",
        "/programs",
        "/staff?q=a",
        "/admin/users/",
        f"/admin/users/{history.admin.id}",
        "/admin/access-log",
        "/account/password",
    ]
    charts = 0
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.get_data(as_text=True)
        found = _scripts(html)
        assert found.problems == [], (page, found.problems)
        for source in found.sources:
            assert source.startswith("/") and not source.startswith("//"), (page, source)
        charts += any(src.startswith("/assets/plotly-") for src in found.sources)
    assert charts >= 3  # plotly.js is served by the app itself
    _sign_out(client)
    assert _scripts(client.get("/login").get_data(as_text=True)).problems == []


def test_survey_pages_never_send_a_referrer_and_other_pages_only_to_this_site(
    app: Flask, client: FlaskClient
) -> None:
    wave = s.open_wave(6)
    token = s.link_token(s.invitations(wave)[0])
    link = client.get(f"/s/{token}")
    assert link.headers["Referrer-Policy"] == "no-referrer"
    survey = client.get("/survey")
    assert survey.headers["Referrer-Policy"] == "no-referrer"
    found = _scripts(survey.get_data(as_text=True))
    assert found.problems == [] and found.sources == ["/static/survey.js"]
    assert client.get("/s/not-a-real-token").headers["Referrer-Policy"] == "no-referrer"
    assert client.get("/login").headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in client.get("/login").headers["Permissions-Policy"]


def test_a_survey_answer_over_https_needs_no_referrer(app: Flask) -> None:
    """Browsers send no Referer from the survey page, so the form must not depend on one."""
    client = app.test_client()
    wave = s.open_wave(6)
    token = s.link_token(s.invitations(wave)[0])
    base = "https://pulse.test"
    assert client.get(f"/s/{token}", base_url=base).status_code == 303
    page = client.get("/survey", base_url=base).get_data(as_text=True)
    data = {f"answer-{item_id}": "3" for item_id in wave.item_ids}
    data["csrf_token"] = s.csrf_token(page)
    response = client.post("/survey", data=data, base_url=base)
    assert response.status_code == 303, response.get_data(as_text=True)


def _production_app(migrated: str, **overrides: Any) -> Flask:
    config = config_for(migrated, WELLBEING_ENV="production", TESTING=False, **overrides)
    return create_app(config)


def test_production_cookies_are_secure_and_https_is_remembered(migrated: str) -> None:
    app = _production_app(migrated)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    response = client.get("/login", base_url="https://pulse.test")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/login").headers  # plain http
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("env", ["testing", "development"])
def test_cookies_work_on_plain_http_outside_production(
    migrated: str, env: str, tmp_path: Path
) -> None:
    app = create_app(config_for(migrated, WELLBEING_ENV=env), instance_path=str(tmp_path))
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    with app.app_context():
        db.engine.dispose()


def test_behind_a_trusted_proxy_the_forwarded_scheme_and_address_count(migrated: str) -> None:
    app = _production_app(migrated, TRUSTED_PROXIES=1)
    client = app.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Strict-Transport-Security" in client.get("/login", headers=forwarded).headers
    untrusted = _production_app(migrated).test_client()
    assert "Strict-Transport-Security" not in untrusted.get("/login", headers=forwarded).headers
    for each in (app, untrusted.application):
        with each.app_context():
            db.engine.dispose()


# ---------------------------------------------------------------- signed-in sessions


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The sessions' clock, moved on by changing ``clock[0]``."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(sessions, "clock", lambda: now[0])
    yield now


def test_an_idle_session_is_signed_out_with_a_message(
    app: Flask, client: FlaskClient, clock: list[float]
) -> None:
    factories.user("lead@example.org", Role.LEADER, units=["Riverside/North"])
    _sign_in(client, "lead@example.org")
    clock[0] += 29 * 60
    assert client.get("/").status_code == 200  # activity: the idle time starts again
    clock[0] += 29 * 60
    assert client.get("/results/").status_code == 200
    clock[0] += 30 * 60 + 1
    response = client.get("/results/heatmap")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/results/heatmap"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 30 minutes without activity" in page
    assert client.get("/").status_code == 302  # and stays signed out


def test_the_idle_stamp_is_in_the_signed_session(app: Flask, client: FlaskClient) -> None:
    factories.user("coord@example.org", Role.COORDINATOR)
    _sign_in(client, "coord@example.org")
    with client.session_transaction() as session:
        session[sessions.LAST_SEEN] -= 31 * 60
    assert client.get("/programs").headers["Location"].startswith("/login")


def test_the_idle_time_is_configurable(
    app: Flask, client: FlaskClient, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "environment", lambda: {"WELLBEING_SESSION_IDLE_MINUTES": "5"})
    assert create_app(config_for("sqlite://")).config["SESSION_IDLE_MINUTES"] == 5
    app.config["SESSION_IDLE_MINUTES"] = 5
    factories.user("coord@example.org", Role.COORDINATOR)
    _sign_in(client, "coord@example.org")
    clock[0] += 5 * 60 + 1
    response = client.get("/")
    assert response.status_code == 302
    assert "after 5 minutes" in client.get("/login").get_data(as_text=True)
    monkeypatch.setattr(settings, "environment", lambda: {"WELLBEING_SESSION_IDLE_MINUTES": "0"})
    with pytest.raises(settings.ConfigError, match="must be above 0"):
        create_app(config_for("sqlite://"))


def test_an_idle_session_on_a_public_page_just_carries_on_without_the_account(
    app: Flask, client: FlaskClient, clock: list[float]
) -> None:
    factories.user("lead@example.org", Role.LEADER, units=["Riverside/North"])
    _sign_in(client, "lead@example.org")
    wave = s.open_wave(6)
    token = s.link_token(s.invitations(wave)[0])
    clock[0] += 60 * 60
    assert client.get(f"/s/{token}").status_code == 303  # the survey link works as ever
    survey = client.get("/survey")
    assert survey.status_code == 200 and "signed out" not in survey.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_new_password_ends_every_other_session(app: Flask) -> None:
    factories.user("lead@example.org", Role.LEADER, units=["Riverside/North"])
    mine, elsewhere = app.test_client(), _other_browser(app)
    _sign_in(mine, "lead@example.org")
    _sign_in(elsewhere, "lead@example.org")
    response = mine.post(
        "/account/password",
        data={
            "csrf_token": web.csrf_token(mine, "/account/password"),
            "current": factories.PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert mine.get("/").status_code == 200  # this session goes on
    refused = elsewhere.get("/results/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    page = elsewhere.get("/login").get_data(as_text=True)
    assert "Your password was changed" in page


def test_a_deactivated_account_is_signed_out_at_once(app: Flask) -> None:
    admin = factories.user("admin@example.org", Role.ADMIN)
    lead = factories.user("lead@example.org", Role.LEADER, units=["Riverside/North"])
    theirs = _other_browser(app)
    _sign_in(theirs, lead.email)
    ours = app.test_client()
    _sign_in(ours, admin.email)
    response = ours.post(
        f"/admin/users/{lead.id}",
        data={
            "csrf_token": web.csrf_token(ours, f"/admin/users/{lead.id}"),
            "role": "leader",
            "units": ["Riverside/North"],
        },
    )
    assert response.status_code == 302 and not lead.active
    assert theirs.get("/").status_code == 302


# ---------------------------------------------------------------- rate limits


def _answers(wave: Wave, page: str) -> dict[str, str]:
    data = {f"answer-{item_id}": "4" for item_id in wave.item_ids}
    data["csrf_token"] = s.csrf_token(page)
    return data


def test_survey_answers_are_rate_limited_per_client(app: Flask) -> None:
    app.config["SURVEY_RATE_LIMIT"] = "2 per minute"
    wave = s.open_wave(6)
    first, second = s.invitations(wave)[:2]
    here = app.test_client()
    here.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    here.get(f"/s/{s.link_token(first)}")
    data = _answers(wave, here.get("/survey").get_data(as_text=True))
    assert here.post("/survey", data=data).status_code == 303
    assert here.post("/survey", data=data).status_code == 409  # already in
    refused = here.post("/survey", data=data)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    _check_headers(refused, "a refused answer")

    there = _other_browser(app)
    there.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    there.get(f"/s/{s.link_token(second)}")
    data = _answers(wave, there.get("/survey").get_data(as_text=True))
    assert there.post("/survey", data=data).status_code == 303  # another client, another count


def test_the_api_is_rate_limited_per_token(app: Flask, client: FlaskClient) -> None:
    app.config["API_RATE_LIMIT"] = "3 per minute"
    factories.user("lead@example.org", Role.LEADER, units=["Riverside/North"])
    factories.user("coord@example.org", Role.COORDINATOR)
    _, busy = api_tokens.issue("lead@example.org", "busy")
    _, other = api_tokens.issue("coord@example.org", "other")
    for path in ("/api/v1/", "/api/v1/units", "/api/v1/programs"):  # one budget for the API
        assert client.get(path, headers={"Authorization": f"Bearer {busy}"}).status_code == 200
    refused = client.get("/api/v1/waves", headers={"Authorization": f"Bearer {busy}"})
    assert refused.status_code == 429
    assert refused.json is not None and refused.json["error"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) > 0
    assert client.get("/api/v1/", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_login_failures_count_per_client_behind_a_trusted_proxy(migrated: str) -> None:
    app = create_app(config_for(migrated, TRUSTED_PROXIES=1, LOGIN_RATE_LIMIT="2 per minute"))
    client = app.test_client()

    def attempt(address: str) -> int:
        token = web.csrf_token(client, "/login")
        return client.post(
            "/login",
            data={"email": "nobody@example.org", "password": "wrong", "csrf_token": token},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert [attempt("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("203.0.113.2") == 401
    with app.app_context():
        db.engine.dispose()


REDIS_URL = os.environ.get("WELLBEING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def _failed_sign_ins(base: str, address: str, count: int) -> list[int]:
    """Wrong passwords from one client, each over a new connection so any worker may answer."""
    statuses = []
    for _ in range(count):
        with requests.Session() as browser:
            page = browser.get(f"{base}/login", timeout=10).text
            match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
            assert match, page
            form = {"email": "nobody@example.org", "password": "wrong", "csrf_token": match[1]}
            answer = browser.post(
                f"{base}/login", data=form, headers={"X-Forwarded-For": address}, timeout=10
            )
            statuses.append(answer.status_code)
    return statuses


def test_workers_sharing_a_redis_server_count_one_limit_together(migrated: str) -> None:
    if not _redis_reachable():
        pytest.skip(f"no Redis server at {REDIS_URL} (set WELLBEING_TEST_REDIS_URL)")
    env = {
        "WELLBEING_RATE_LIMIT_STORAGE": REDIS_URL,
        "WELLBEING_LOGIN_RATE_LIMIT": "3 per minute",
        "WELLBEING_TRUSTED_PROXIES": "1",
    }
    address = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(256)}"  # a count of its own
    with served.gunicorn(migrated, workers=2, env=env) as base:
        assert _failed_sign_ins(base, address, 8) == [401] * 3 + [429] * 5


def test_an_unreachable_redis_server_leaves_each_worker_counting_alone(migrated: str) -> None:
    dead = f"redis://127.0.0.1:{served.free_port()}/0"
    app = create_app(config_for(migrated, RATELIMIT_STORAGE_URI=dead, LOGIN_RATE_LIMIT="2/minute"))
    assert app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    client = app.test_client()

    def attempt() -> int:
        token = web.csrf_token(client, "/login")
        form = {"email": "nobody@example.org", "password": "wrong", "csrf_token": token}
        return client.post("/login", data=form).status_code

    assert [attempt() for _ in range(3)] == [401, 401, 429]
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("storage", "allowed"),
    [("memory://", True), ("redis://cache.internal:6379/2", True), ("memcached://x:11211", False)],
)
def test_the_rate_limit_storage_is_memory_or_redis(storage: str, allowed: bool) -> None:
    config = config_for("sqlite://", RATELIMIT_STORAGE_URI=storage)
    if allowed:
        assert create_app(config).config["RATELIMIT_STORAGE_URI"] == storage
    else:
        with pytest.raises(settings.ConfigError, match="WELLBEING_RATE_LIMIT_STORAGE="):
            create_app(config)


@pytest.mark.parametrize(
    "variable",
    ["WELLBEING_SURVEY_RATE_LIMIT", "WELLBEING_API_RATE_LIMIT", "WELLBEING_LOGIN_RATE_LIMIT"],
)
def test_rate_limits_come_from_the_environment_and_are_checked(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    key = variable.removeprefix("WELLBEING_")
    monkeypatch.setattr(settings, "environment", lambda: {variable: "7 per hour"})
    assert create_app(config_for("sqlite://")).config[key] == "7 per hour"
    monkeypatch.setattr(settings, "environment", lambda: {variable: "lots"})
    with pytest.raises(settings.ConfigError, match=f"{variable}='lots' is not a rate limit"):
        create_app(config_for("sqlite://"))


# ---------------------------------------------------------------- password rules


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short one", "the password must be at least 12 characters long"),
        ("x" * 1025, "the password must be at most 1024 characters long"),
        ("my name is ana.lopez!", "the password must not contain the email address"),
    ],
)
def test_the_password_rules_say_what_is_wrong(password: str, message: str) -> None:
    with pytest.raises(accounts.AccountError) as refused:
        accounts.check_password_rules(password, "ana.lopez@example.org")
    assert str(refused.value) == message
    accounts.check_password_rules("a sound passphrase", "ana.lopez@example.org")


def test_new_users_on_the_page_follow_the_password_rules(app: Flask, client: FlaskClient) -> None:
    factories.unit("Riverside/North")
    web.sign_in(client, "admin@example.org", Role.ADMIN)

    def create(password: str, confirm: str | None = None) -> tuple[int, str]:
        response = client.post(
            "/admin/users/new",
            data={
                "csrf_token": web.csrf_token(client, "/admin/users/new"),
                "email": "Ana.Lopez@Example.org",
                "role": "leader",
                "units": ["Riverside/North"],
                "password": password,
                "confirm": password if confirm is None else confirm,
            },
        )
        return response.status_code, response.get_data(as_text=True)

    status, page = create("too short")
    assert status == 422 and "The password must be at least 12 characters long." in page
    status, page = create("ana.lopez is my password")
    assert status == 422 and "The password must not contain the email address." in page
    status, page = create("a sound passphrase", "another passphrase")
    assert status == 422 and "The two passwords differ." in page
    assert db.session.scalar(sa.select(User).where(User.email == "ana.lopez@example.org")) is None
    status, _ = create("a sound passphrase")
    assert status == 302
    ana = db.session.scalar(sa.select(User).where(User.email == "ana.lopez@example.org"))
    assert ana is not None and ana.role is Role.LEADER
    assert [u.path for u in ana.units] == ["Riverside/North"]
    assert accounts.authenticate("ana.lopez@example.org", "a sound passphrase") is ana


def test_an_admin_sets_a_password_under_the_same_rules(app: Flask, client: FlaskClient) -> None:
    lead = factories.user("lead@example.org", Role.LEADER, units=["Riverside/North"])
    web.sign_in(client, "admin@example.org", Role.ADMIN)

    def set_to(password: str) -> tuple[int, str]:
        response = client.post(
            f"/admin/users/{lead.id}/password",
            data={
                "csrf_token": web.csrf_token(client, f"/admin/users/{lead.id}"),
                "password": password,
                "confirm": password,
            },
        )
        return response.status_code, response.get_data(as_text=True)

    status, page = set_to("2short")
    assert status == 422 and "The password must be at least 12 characters long." in page
    status, page = set_to("the lead account")
    assert status == 422 and "The password must not contain the email address." in page
    assert accounts.authenticate(lead.email, factories.PASSWORD) is lead
    assert set_to(NEW_PASSWORD)[0] == 302
    assert accounts.authenticate(lead.email, NEW_PASSWORD) is lead
    assert accounts.authenticate(lead.email, factories.PASSWORD) is None


def test_people_change_their_own_password_under_the_rules(app: Flask, client: FlaskClient) -> None:
    web.sign_in(client, "coord@example.org", Role.COORDINATOR)
    assert client.get("/account/password").status_code == 200

    def change(current: str, password: str, confirm: str | None = None) -> tuple[int, str]:
        response = client.post(
            "/account/password",
            data={
                "csrf_token": web.csrf_token(client, "/account/password"),
                "current": current,
                "password": password,
                "confirm": password if confirm is None else confirm,
            },
        )
        return response.status_code, response.get_data(as_text=True)

    status, page = change("not my password", NEW_PASSWORD)
    assert status == 422 and "The current password is not right." in page
    status, page = change(factories.PASSWORD, "tiny")
    assert status == 422 and "The password must be at least 12 characters long." in page
    status, page = change(factories.PASSWORD, "coord coord coord")
    assert status == 422 and "The password must not contain the email address." in page
    status, page = change(factories.PASSWORD, NEW_PASSWORD, "something else entirely")
    assert status == 422 and "The two passwords differ." in page
    assert change(factories.PASSWORD, NEW_PASSWORD)[0] == 302
    _sign_out(client)
    token = web.csrf_token(client, "/login")
    signed_in = client.post(
        "/login",
        data={"email": "coord@example.org", "password": NEW_PASSWORD, "csrf_token": token},
    )
    assert signed_in.status_code == 302


def test_the_command_line_follows_the_password_rules(app: Flask, runner: FlaskCliRunner) -> None:
    create = ["users", "create", "ana.lopez@example.org", "--role", "admin", "--password-stdin"]
    refused = runner.invoke(args=create, input="short\n")
    assert refused.exit_code != 0
    assert "the password must be at least 12 characters long" in refused.output
    refused = runner.invoke(args=create, input="hello ana.lopez friend\n")
    assert "the password must not contain the email address" in refused.output
    assert runner.invoke(args=create, input="a sound passphrase\n").exit_code == 0

    reset = ["users", "set-password", "ana.lopez@example.org", "--password-stdin"]
    refused = runner.invoke(args=reset, input="short\n")
    assert refused.exit_code != 0
    assert "the password must be at least 12 characters long" in refused.output
    done = runner.invoke(args=reset, input=f"{NEW_PASSWORD}\n")
    assert done.exit_code == 0, done.output
    assert "ana.lopez@example.org has a new password" in done.output
    assert accounts.authenticate("ana.lopez@example.org", NEW_PASSWORD) is not None
    missing = runner.invoke(
        args=["users", "set-password", "nobody@example.org", "--password-stdin"],
        input=f"{NEW_PASSWORD}\n",
    )
    assert missing.exit_code != 0 and "no user has the email" in missing.output


# ---------------------------------------------------------------- user management


def test_only_admins_may_manage_users() -> None:
    holders = [role for role, granted in PERMISSIONS.items() if "manage_users" in granted]
    assert holders == [Role.ADMIN]


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.LEADER])
def test_every_user_management_route_is_404_for_coordinators_and_leaders(
    app: Flask, client: FlaskClient, role: Role
) -> None:
    target = factories.user("target@example.org", Role.LEADER, units=["Riverside/North"])
    token, _ = api_tokens.issue(target.email, "BI")
    web.sign_in(client, "someone@example.org", role, ["Riverside/North"])
    app.config["WTF_CSRF_ENABLED"] = False  # reach the permission check, not the CSRF check
    values = {"user_id": target.id, "token_id": token.id}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "users":
            continue
        with app.test_request_context():
            path = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        for method in _methods(rule):
            data = {"email": "x@example.org", "role": "admin", "password": NEW_PASSWORD}
            response = client.open(path, method=method, data=data)
            assert response.status_code == 404, (rule.endpoint, method, response.status_code)
            checked += 1
    assert checked >= 6
    assert token.revoked_at is None and target.role is Role.LEADER
    assert "/admin/users" not in client.get("/").get_data(as_text=True)


def test_an_admin_manages_roles_units_and_tokens(app: Flask, client: FlaskClient) -> None:
    factories.unit("Riverside/North")
    factories.unit("Riverside/South")
    admin = factories.user("admin@example.org", Role.ADMIN)
    lead = factories.user("lead@example.org", Role.LEADER, units=["Riverside/North"])
    _sign_in(client, admin.email)
    listing = client.get("/admin/users/").get_data(as_text=True)
    assert "lead@example.org" in listing and "Riverside/North" in listing
    assert "/admin/users" in client.get("/").get_data(as_text=True)

    def save(user: User, **fields: object) -> Any:
        data: dict[str, object] = {"csrf_token": web.csrf_token(client, f"/admin/users/{user.id}")}
        data.update(fields)
        return client.post(f"/admin/users/{user.id}", data=data)

    moved = save(lead, role="leader", units=["Riverside/South"], active="y")
    assert moved.status_code == 302 and [u.path for u in lead.units] == ["Riverside/South"]
    refused = save(lead, role="leader", active="y")
    assert refused.status_code == 422
    assert "A leader needs at least one unit" in refused.get_data(as_text=True)
    promoted = save(lead, role="coordinator", active="y")
    assert promoted.status_code == 302 and lead.role is Role.COORDINATOR and lead.units == []
    mine = save(admin, role="leader", units=["Riverside/North"], active="y")
    assert mine.status_code == 422 and admin.role is Role.ADMIN
    assert "You cannot change your own role" in mine.get_data(as_text=True)

    issued = client.post(
        f"/admin/users/{lead.id}/tokens",
        data={"csrf_token": web.csrf_token(client, f"/admin/users/{lead.id}"), "label": "BI"},
    )
    assert issued.status_code == 200
    plain = re.search(r'value="(wbp_[^"]+)"', issued.get_data(as_text=True))
    assert plain is not None
    assert issued.headers["Cache-Control"] == "no-store"
    api = {"Authorization": f"Bearer {plain.group(1)}"}
    assert client.get("/api/v1/", headers=api).status_code == 200
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == lead.id))
    assert token is not None
    assert plain.group(1) not in client.get(f"/admin/users/{lead.id}").get_data(as_text=True)
    revoked = client.post(
        f"/admin/users/{lead.id}/tokens/{token.id}/revoke",
        data={"csrf_token": web.csrf_token(client, f"/admin/users/{lead.id}")},
    )
    assert revoked.status_code == 302
    assert client.get("/api/v1/", headers=api).status_code == 401
    other = factories.user("other@example.org", Role.COORDINATOR)
    wrong_owner = client.post(
        f"/admin/users/{other.id}/tokens/{token.id}/revoke",
        data={"csrf_token": web.csrf_token(client, f"/admin/users/{lead.id}")},
    )
    assert wrong_owner.status_code == 404
    assert client.get("/admin/users/999999").status_code == 404


# ---------------------------------------------------------------- changes in the access log


def _program_form(client: FlaskClient, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": web.csrf_token(client, "/programs/new"),
        "key": "biweekly",
        "name": "Biweekly pulse",
        "units": ["Riverside"],
        "cadence_days": "14",
        "invite_weekday": "1",
        "invite_hour": "9",
        "window_days": "7",
        "reminder_days": "3, 6",
        "languages": ["en"],
    }
    data.update(overrides)
    return data


def test_program_changes_and_opened_waves_are_logged_with_who_and_what(
    app: Flask, client: FlaskClient
) -> None:
    h.staff("North", 6)
    web.sign_in(client, "coord@example.org", Role.COORDINATOR)
    assert client.post("/programs/new", data=_program_form(client, units=[])).status_code == 422
    assert _changes() == []  # refused: nothing changed, nothing logged
    assert client.post("/programs/new", data=_program_form(client)).status_code == 302
    token = web.csrf_token(client, "/programs")
    opened = client.post("/programs/biweekly/open", data={"csrf_token": token})
    again = client.post("/programs/biweekly/open", data={"csrf_token": token})
    assert (opened.status_code, again.status_code) == (302, 302)  # the second one is refused
    wave = db.session.scalar(sa.select(Wave))
    assert wave is not None
    records = _changes()
    assert [(r.user_email, r.role, r.scope) for r in records] == [
        ("coord@example.org", "coordinator", "all units")
    ] * 2
    created, open_ = (r.what for r in records)
    assert created.startswith("POST /programs/new → /programs (key=biweekly; name=Biweekly pulse")
    assert "units=Riverside" in created and "csrf" not in created
    assert open_ == f"POST /programs/biweekly/open → /waves/{wave.id}"
    assert all(r.at is not None for r in records)
    # The form's post is a change, not also a page view.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccessRecord)) == 2


def test_user_and_token_changes_are_logged_without_passwords_or_tokens(
    app: Flask, client: FlaskClient
) -> None:
    web.sign_in(client, "admin@example.org", Role.ADMIN)
    client.post(
        "/admin/users/new",
        data={
            "csrf_token": web.csrf_token(client, "/admin/users/new"),
            "email": "coord@example.org",
            "role": "coordinator",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    coord = accounts.find_user("coord@example.org")
    issued = client.post(
        f"/admin/users/{coord.id}/tokens",
        data={"csrf_token": web.csrf_token(client, f"/admin/users/{coord.id}"), "label": "BI"},
    ).get_data(as_text=True)
    plain = re.search(r'value="(wbp_[^"]+)"', issued)
    assert plain is not None
    records = _changes()
    assert [r.what.split(" (")[0] for r in records] == [
        f"POST /admin/users/new → /admin/users/{coord.id}",
        f"POST /admin/users/{coord.id}/tokens",
    ]
    assert "email=coord@example.org" in records[0].what and "role=coordinator" in records[0].what
    assert "label=BI" in records[1].what
    for record in records:
        assert NEW_PASSWORD not in record.what and plain.group(1) not in record.what
        assert record.user_email == "admin@example.org"


def test_roster_actions_and_practice_records_on_the_pages_are_logged(
    app: Flask, client: FlaskClient
) -> None:
    (email,) = h.staff("North", 1)
    north = factories.unit("Riverside/North")
    web.sign_in(client, "coord@example.org", Role.COORDINATOR)
    staff = web.csrf_token(client, "/staff?q=north")
    someone = db.session.scalar(sa.select(Person).where(Person.email == email))
    assert someone is not None
    client.post(f"/staff/{someone.id}/pause", data={"csrf_token": staff, "q": "north"})
    client.post(
        f"/practices/units/{north.id}/record",
        data={
            "csrf_token": web.csrf_token(client, f"/practices/units/{north.id}/record"),
            "month": "2025-01",
            "caseload": "14",
            "staff_per_supervisor": "",
            "reflective_supervision": "",
            "turnover": "",
        },
    )
    client.post(
        "/actions/new",
        data={
            "csrf_token": web.csrf_token(client, "/actions/new"),
            "unit": str(north.id),
            "domains": "work_life_harmony",
            "title": "Protect focus time",
            "start_date": "2026-04-01",
            "plan": "No meetings on Friday mornings.",
            "owner_role": "Program manager",
        },
    )
    whats = [r.what for r in _changes()]
    assert len(whats) == 3, whats
    assert whats[0].startswith(f"POST /staff/{someone.id}/pause → /staff?q=north")
    assert whats[1].startswith(f"POST /practices/units/{north.id}/record → /practices/units/")
    assert "month=2025-01" in whats[1] and "caseload=14" in whats[1]
    assert whats[2].startswith("POST /actions/new → /actions/")
    assert "title=Protect focus time" in whats[2]


def test_every_blueprint_with_forms_logs_its_changes(app: Flask) -> None:
    """A new page that changes things must log its changes too (or be listed here, and why)."""
    # Signing in and out, and staff answering a survey, are not changes to log by name.
    exempt = {"auth", "survey"}
    with_posts = {
        rule.endpoint.split(".")[0]
        for rule in app.url_map.iter_rules()
        if {"POST", "PUT", "PATCH", "DELETE"} & (rule.methods or set())
    }
    hooks = {
        blueprint
        for blueprint, functions in app.after_request_funcs.items()
        if any(getattr(f, "__name__", "") == "write_change_record" for f in functions)
    }
    assert with_posts - exempt <= hooks, with_posts - exempt - hooks
    assert {"pulse", "org", "practices", "actions", "users", "account"} <= hooks


def test_command_line_changes_are_logged_as_the_operator(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    roster = tmp_path / "staff.csv"
    roster.write_text(
        "email,unit\n" + "".join(f"p{i}@example.org,Riverside/North\n" for i in range(6))
    )
    assert runner.invoke(args=["roster", "import", str(roster), "--dry-run"]).exit_code == 0
    assert _changes() == []  # a dry run changes nothing
    steps = [
        (["roster", "import", str(roster)], None),
        (
            [
                "users",
                "create",
                "lead@example.org",
                "--role",
                "leader",
                "--unit",
                "Riverside/North",
                "--password-stdin",
            ],
            f"{NEW_PASSWORD}\n",
        ),
        (["users", "token", "lead@example.org", "--label", "BI"], None),
        (["programs", "create", "team", "--name", "Team pulse", "--unit", "Riverside"], None),
        (["pulse", "open", "team"], None),
    ]
    outputs = []
    for args, stdin in steps:
        result = runner.invoke(args=args, input=stdin)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
    failed = runner.invoke(args=["pulse", "open", "team"])  # already open: refused
    assert failed.exit_code != 0
    wave = db.session.scalar(sa.select(Wave))
    assert wave is not None
    assert runner.invoke(args=["pulse", "close", str(wave.id)]).exit_code == 0
    records = _changes()
    assert [r.what for r in records] == [
        f"roster import {roster}",
        "users create lead@example.org --role=leader --unit=Riverside/North --password-stdin",
        "users token lead@example.org --label=BI",
        "programs create team --name=Team pulse --unit=Riverside",
        "pulse open team",
        f"pulse close {wave.id}",
    ]
    token = outputs[2].splitlines()[1].strip()
    assert all(token not in r.what and NEW_PASSWORD not in r.what for r in records)
    assert all(r.user_email.startswith("command line (") and r.user_id is None for r in records)
    assert {(r.role, r.scope) for r in records} == {("operator", "all units")}
    assert db.session.scalar(sa.select(PulseProgram.key)) == "team"


def test_the_access_log_page_lists_and_filters_changes(app: Flask, client: FlaskClient) -> None:
    h.staff("North", 2)
    web.sign_in(client, "admin@example.org", Role.ADMIN)
    client.post("/programs/new", data=_program_form(client))
    client.get("/admin/access-log")  # a page view of its own
    page = client.get("/admin/access-log?channel=change").get_data(as_text=True)
    assert '<option value="change" selected>change</option>' in page
    assert "POST /programs/new" in page and "GET /admin/access-log" not in page


# ---------------------------------------------------------------- the dependency audit


def test_the_audit_covers_every_pin_and_what_they_pull_in() -> None:
    pins = dependency_audit.pinned()
    assert {"flask", "sqlalchemy", "pip-audit", "pytest"} <= set(pins)
    assert pins["flask"] == "3.1.3"
    everything = dependency_audit.with_installed_dependencies(pins)
    assert {"werkzeug", "jinja2", "psycopg-binary"} <= set(everything)
    assert "wellbeing-pulse" not in everything


def _report(*dependencies: dict[str, Any]) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def test_the_audit_fails_on_a_known_vulnerability() -> None:
    report = _report(
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.0.0",
            "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.5"], "aliases": []}],
        },
    )
    verdict = dependency_audit.judge(1, report, "")
    assert verdict.exit_code == 1
    assert "jinja2 3.0.0: GHSA-xxxx (fixed in 3.1.5)" in verdict.message


def test_the_audit_passes_when_nothing_is_known() -> None:
    report = _report({"name": "flask", "version": "3.1.3", "vulns": []})
    verdict = dependency_audit.judge(0, report, "")
    assert verdict == dependency_audit.Verdict(0, "No known vulnerabilities in 1 dependencies.")


def test_an_unreachable_vulnerability_service_only_warns() -> None:
    crash = "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443)"
    verdict = dependency_audit.judge(1, None, crash)
    assert verdict.exit_code == 0 and verdict.message.startswith("WARNING")
    assert "NOT audited" in verdict.message
    no_data = _report(
        {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    )
    verdict = dependency_audit.judge(0, no_data, "")
    assert verdict.exit_code == 0 and "NOT audited" in verdict.message
    broken = dependency_audit.judge(2, None, "usage: pip-audit: error: unrecognized arguments")
    assert broken.exit_code == 1


def test_the_test_target_runs_the_audit() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*\baudit\b", makefile, re.M)
    assert "python -m tests.dependency_audit" in makefile


def test_every_ignored_security_rule_gives_a_reason() -> None:
    silenced = []
    for folder in ("wellbeing", "tests", "bench", "migrations"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                match = re.search(r"#\s*noqa:\s*(S\d+[^#]*)$", line)
                if match and not re.search(r"S\d+(, ?S\d+)*\s*[-(]\s*\w", match.group(1)):
                    silenced.append(f"{path.relative_to(ROOT)}:{number}")
    assert silenced == []
