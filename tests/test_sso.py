"""Single sign-on against a real OpenID Connect provider on loopback.

The whole flow runs as a browser would: the login page, off to the provider's authorization
endpoint, a person signed in there, back to the callback with a code the app exchanges for an
ID token it verifies. The provider is oidc-provider-mock; ``tests/oidc_provider.py`` can make it
sign tokens under another issuer name or publish someone else's keys.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests import browser, conftest, factories, oidc_provider
from tests.conftest import emptied_afterwards, rolled_back
from tests.oidc_provider import Provider
from wellbeing import config as settings
from wellbeing import create_app
from wellbeing.auth.models import Role, User
from wellbeing.extensions import db
from wellbeing.logging import scrub

pytestmark = pytest.mark.filterwarnings(oidc_provider.QUIET_PROVIDER)

HOME_VISITING = "Riverside/Home Visiting"
EARLY_CARE = "Riverside/Early Care"
GROUP_MAP = {
    "pulse-admins": {"role": "admin"},
    "pulse-coordinators": {"role": "coordinator"},
    "hv-managers": {"role": "leader", "units": [HOME_VISITING]},
    "ec-managers": {"role": "leader", "units": [EARLY_CARE + "/"]},
    "closed-program-managers": {"role": "leader", "units": ["Riverside/Closed Program"]},
}
PROVIDER_NAME = "Riverside Sign-in"


def sso_settings(issuer: str, **more: Any) -> dict[str, Any]:
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": "wellbeing-pulse",
        "OIDC_CLIENT_SECRET": "client-secret-for-tests",
        "OIDC_GROUP_MAP": json.dumps(GROUP_MAP),
        "OIDC_PROVIDER_NAME": PROVIDER_NAME,
        "OIDC_TIMEOUT_SECONDS": 5,
        **more,
    }


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider.running() as running:
        yield running


@pytest.fixture
def app(migrated: str, provider: Provider) -> Iterator[Flask]:
    """The test app with single sign-on through ``provider``."""
    with rolled_back(
        create_app(conftest.test_config(migrated, **sso_settings(provider.issuer)))
    ) as app:
        _roster()
        yield app


@contextmanager
def sso_client(migrated: str, issuer: str, **more: Any) -> Iterator[FlaskClient]:
    """A client of an app set up for another provider than the module's."""
    with rolled_back(
        create_app(conftest.test_config(migrated, **sso_settings(issuer, **more)))
    ) as app:
        _roster()
        yield app.test_client()


def _roster() -> None:
    for path in (HOME_VISITING + "/North", HOME_VISITING + "/South", EARLY_CARE + "/East"):
        factories.unit(path)


def person(provider: Provider, sub: str, *groups: str, **claims: Any) -> str:
    """Someone the provider knows, in ``groups``; returns their email."""
    said: dict[str, Any] = {"email": f"{sub}@riverside.example", "email_verified": True}
    said.update(claims, groups=list(groups))
    provider.set_user(sub, **said)
    return str(said["email"])


def sign_in(
    client: FlaskClient, provider: Provider, sub: str, next_path: str = "", **changed: str | None
) -> TestResponse:
    """The whole round trip; the callback's response."""
    start = client.get("/login/sso" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.get_data(as_text=True)
    return client.get(provider.approve(start.headers["Location"], sub, **changed))


def account(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def unit_id(path: str) -> int:
    return factories.unit(path).id


def signed_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def sign_out(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post("/logout", data={"csrf_token": token.group(1)})


def password_login(client: FlaskClient, email: str, password: str) -> int:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    return response.status_code


def logged(caplog: pytest.LogCaptureFixture, *parts: str) -> bool:
    """Whether one application log line holds every one of ``parts``."""
    return any(all(p in r.getMessage() for p in parts) for r in caplog.records)


def refusal(response: TestResponse, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert "Back to sign in" in page
    return page


# -- the login page ---------------------------------------------------------------------------


def test_the_login_page_offers_single_sign_on_above_the_password_form(
    client: FlaskClient,
) -> None:
    page = client.get("/login?next=/results/").get_data(as_text=True)
    button = page.index(f"Sign in with {PROVIDER_NAME}")
    assert button < page.index("<form")
    assert 'href="/login/sso?next=/results/"' in page
    assert 'name="password"' in page


def test_without_single_sign_on_the_login_page_has_passwords_only(
    migrated: str,
) -> None:
    with rolled_back(create_app(conftest.test_config(migrated))) as app:
        client = app.test_client()
        assert "Sign in with" not in client.get("/login").get_data(as_text=True)
        assert client.get("/login/sso").status_code == 404
        assert client.get("/login/sso/callback?code=x&state=y").status_code == 404


# -- accounts from groups ---------------------------------------------------------------------


def test_first_sign_in_creates_a_coordinator_from_their_group(
    client: FlaskClient, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    email = person(provider, "ana", "pulse-coordinators", "all-staff")
    caplog.set_level(logging.INFO, logger="wellbeing")
    response = sign_in(client, provider, "ana", next_path="/results/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/results/"
    user = account(email)
    assert user is not None
    assert (user.role, user.units, user.oidc_subject) == (Role.COORDINATOR, [], "ana")
    assert user.password_hash is None
    assert user.last_login_at is not None
    page = client.get("/").get_data(as_text=True)
    assert email in page and "a wellness coordinator" in page
    assert logged(caplog, "created by single sign-on from groups pulse-coordinators")


def test_a_leader_gets_their_mapped_units_and_no_others(
    client: FlaskClient, provider: Provider
) -> None:
    email = person(provider, "ben", "hv-managers", "ec-volunteers")
    assert sign_in(client, provider, "ben").status_code == 302
    user = account(email)
    assert user is not None
    assert user.role is Role.LEADER
    assert [u.path for u in user.units] == [HOME_VISITING]
    home = client.get("/").get_data(as_text=True)
    assert "North" in home and "South" in home and "East" not in home
    for inside in (HOME_VISITING, HOME_VISITING + "/North"):
        assert client.get(f"/results/units/{unit_id(inside)}").status_code == 200, inside
    for outside in (EARLY_CARE, EARLY_CARE + "/East", "Riverside"):
        assert client.get(f"/results/units/{unit_id(outside)}").status_code == 404, outside


def test_leaders_in_several_groups_get_all_their_units_and_the_strongest_role_wins(
    client: FlaskClient, provider: Provider
) -> None:
    email = person(provider, "cruz", "hv-managers", "ec-managers")
    assert sign_in(client, provider, "cruz").status_code == 302
    user = account(email)
    assert user is not None
    assert sorted(u.path for u in user.units) == [EARLY_CARE, HOME_VISITING]
    sign_out(client)
    person(provider, "cruz", "hv-managers", "pulse-admins")
    assert sign_in(client, provider, "cruz").status_code == 302
    assert (user.role, user.units) == (Role.ADMIN, [])
    assert client.get("/admin/access-log").status_code == 200


def test_a_change_at_the_provider_applies_at_the_next_sign_in(
    client: FlaskClient, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    email = person(provider, "dee", "hv-managers")
    assert sign_in(client, provider, "dee").status_code == 302
    user = account(email)
    assert user is not None
    early_care = unit_id(EARLY_CARE)
    assert client.get(f"/results/units/{early_care}").status_code == 404
    sign_out(client)

    person(provider, "dee", "ec-managers")
    caplog.set_level(logging.INFO, logger="wellbeing")
    assert sign_in(client, provider, "dee").status_code == 302
    assert [u.path for u in user.units] == [EARLY_CARE]
    assert client.get(f"/results/units/{early_care}").status_code == 200
    assert client.get(f"/results/units/{unit_id(HOME_VISITING)}").status_code == 404
    assert logged(caplog, "units [Riverside/Home Visiting] -> [Riverside/Early Care]")
    sign_out(client)

    new_email = person(provider, "dee", "pulse-coordinators", email="dee.new@riverside.example")
    assert sign_in(client, provider, "dee").status_code == 302
    assert (user.role, user.units, user.email) == (Role.COORDINATOR, [], new_email)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_someone_in_no_mapped_group_is_told_what_to_do(
    client: FlaskClient, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    email = person(provider, "eve", "all-staff", "parking")
    response = sign_in(client, provider, "eve")
    page = refusal(response, 403)
    assert email in page
    assert "Ask your administrator to add you to a Wellbeing Pulse group" in page
    assert account(email) is None
    assert not signed_in(client)
    assert logged(caplog, "refused with 403 (no mapped group)", "all-staff")


def test_a_leader_whose_units_are_not_on_the_roster_is_refused(
    client: FlaskClient, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    email = person(provider, "finn", "closed-program-managers")
    page = refusal(sign_in(client, provider, "finn"), 403)
    assert "not in Wellbeing Pulse yet" in page
    assert account(email) is None
    assert logged(caplog, "not on the roster: Riverside/Closed Program")


def test_an_email_the_provider_has_not_verified_is_refused(
    client: FlaskClient, provider: Provider
) -> None:
    email = person(provider, "gil", "pulse-admins", email_verified=False)
    page = refusal(sign_in(client, provider, "gil"), 403)
    assert "not verified" in page
    assert account(email) is None
    provider.set_user("gil", groups=["pulse-admins"])  # no email at all
    page = refusal(sign_in(client, provider, "gil"), 403)
    assert "did not share your email address" in page


def test_a_deactivated_account_stays_out(client: FlaskClient, provider: Provider) -> None:
    email = person(provider, "hal", "pulse-coordinators")
    assert sign_in(client, provider, "hal").status_code == 302
    sign_out(client)
    user = account(email)
    assert user is not None
    user.active = False
    db.session.flush()
    page = refusal(sign_in(client, provider, "hal"), 403)
    assert "deactivated" in page
    assert not signed_in(client)


# -- password accounts beside single sign-on ----------------------------------------------------


def test_password_login_still_works_for_accounts_outside_single_sign_on(
    client: FlaskClient,
) -> None:
    factories.user("ivy@small-agency.example", Role.COORDINATOR)
    assert password_login(client, "ivy@small-agency.example", factories.PASSWORD) == 302
    assert signed_in(client)


def test_a_password_account_signing_in_with_the_provider_is_linked_and_loses_its_password(
    client: FlaskClient, provider: Provider
) -> None:
    existing = factories.user("jo@riverside.example", Role.LEADER, [EARLY_CARE])
    person(provider, "jo", "hv-managers", email="Jo@Riverside.example")
    assert sign_in(client, provider, "jo").status_code == 302
    assert existing.oidc_subject == "jo"
    assert existing.password_hash is None
    assert [u.path for u in existing.units] == [HOME_VISITING]
    sign_out(client)
    assert password_login(client, "jo@riverside.example", factories.PASSWORD) == 401


def test_linked_accounts_keep_their_password_where_the_deployment_allows_it(
    migrated: str, provider: Provider
) -> None:
    with sso_client(migrated, provider.issuer, OIDC_KEEP_PASSWORDS=True) as client:
        existing = factories.user("kim@riverside.example", Role.COORDINATOR)
        person(provider, "kim", "pulse-coordinators")
        assert sign_in(client, provider, "kim").status_code == 302
        assert existing.oidc_subject == "kim" and existing.password_hash is not None
        sign_out(client)
        assert password_login(client, "kim@riverside.example", factories.PASSWORD) == 302


def test_an_email_linked_to_another_provider_identity_is_refused(
    client: FlaskClient, provider: Provider
) -> None:
    person(provider, "lee", "pulse-coordinators")
    assert sign_in(client, provider, "lee").status_code == 302
    sign_out(client)
    person(provider, "lee-again", "pulse-admins", email="lee@riverside.example")
    page = refusal(sign_in(client, provider, "lee-again"), 403)
    assert "already belongs to another single sign-on identity" in page
    user = account("lee@riverside.example")
    assert user is not None and user.role is Role.COORDINATOR


# -- answers that must not sign anyone in ------------------------------------------------------


def test_a_tampered_state_is_refused(
    client: FlaskClient, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    email = person(provider, "max", "pulse-admins")
    start = client.get("/login/sso")
    callback = provider.approve(start.headers["Location"], "max")
    tampered = re.sub(r"state=[^&]+", "state=forged-state", callback)
    refusal(client.get(tampered), 400)
    refusal(client.get(re.sub(r"&?state=[^&]+", "", callback)), 400)
    assert account(email) is None
    assert not signed_in(client)
    assert logged(caplog, "refused with 400 (unknown or reused state)")


def test_a_callback_replayed_is_refused(client: FlaskClient, provider: Provider) -> None:
    person(provider, "ned", "pulse-coordinators")
    start = client.get("/login/sso")
    callback = provider.approve(start.headers["Location"], "ned")
    assert client.get(callback).status_code == 302
    sign_out(client)
    page = refusal(client.get(callback), 400)
    assert "no longer valid" in page
    assert not signed_in(client)
    # Nor does the same answer work from another browser.
    other = client.application.test_client()
    refusal(other.get(callback), 400)
    assert not signed_in(other)


def test_a_token_carrying_another_nonce_is_refused(
    client: FlaskClient, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    email = person(provider, "ola", "pulse-admins")
    response = sign_in(client, provider, "ola", nonce="a-nonce-from-another-request")
    page = refusal(response, 401)
    assert "could not be verified" in page
    assert account(email) is None
    assert logged(caplog, "refused with 401", "InvalidClaimError", "'nonce'")


def test_a_code_issued_for_another_address_is_refused(
    client: FlaskClient, provider: Provider
) -> None:
    email = person(provider, "pat", "pulse-admins")
    start = client.get("/login/sso")
    callback = provider.approve(
        start.headers["Location"], "pat", redirect_uri="http://pulse.test/login/sso/callback?x=1"
    )
    page = refusal(client.get(callback), 400)
    assert "did not sign you in" in page
    assert account(email) is None


def test_the_provider_refusing_the_sign_in_is_explained(
    client: FlaskClient, provider: Provider
) -> None:
    start = client.get("/login/sso")
    page = refusal(client.get(provider.deny(start.headers["Location"])), 400)
    assert "did not sign you in" in page


def test_a_token_from_an_unknown_issuer_is_refused(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    with oidc_provider.running() as elsewhere, sso_client(migrated, elsewhere.issuer) as client:
        email = person(elsewhere, "quinn", "pulse-admins")
        # Its tokens now name an issuer (same keys, another name) the deployment does not trust.
        elsewhere.token_host = elsewhere.issuer.replace("127.0.0.1", "localhost").split("//")[1]
        page = refusal(sign_in(client, elsewhere, "quinn"), 401)
        assert "could not be verified" in page
        assert account(email) is None
    assert logged(caplog, "refused with 401", "InvalidClaimError", "'iss'")


def test_a_discovery_document_naming_another_issuer_is_refused(
    migrated: str, provider: Provider
) -> None:
    issuer = provider.issuer.replace("127.0.0.1", "localhost")
    with sso_client(
        migrated, issuer, OIDC_DISCOVERY_URL=provider.issuer + "/.well-known/openid-configuration"
    ) as client:
        page = refusal(client.get("/login/sso"), 503)
        assert "cannot be reached" in page


def test_a_token_signed_with_keys_the_provider_does_not_publish_is_refused(
    migrated: str, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    with oidc_provider.running() as signer, sso_client(migrated, signer.issuer) as client:
        email = person(signer, "rae", "pulse-admins")
        signer.keys_from = provider.app  # publishes another provider's keys
        refusal(sign_in(client, signer, "rae"), 401)
        assert account(email) is None
    assert logged(caplog, "refused with 401", "BadSignatureError")


def test_an_expired_token_is_refused(migrated: str, caplog: pytest.LogCaptureFixture) -> None:
    with (
        oidc_provider.running(access_token_max_age=timedelta(hours=-1)) as stale,
        sso_client(migrated, stale.issuer) as client,
    ):
        email = person(stale, "sam", "pulse-admins")
        refusal(sign_in(client, stale, "sam"), 401)
        assert account(email) is None
    assert logged(caplog, "refused with 401", "ExpiredTokenError")


def test_a_provider_that_is_down_gets_a_clear_page(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"http://127.0.0.1:{oidc_provider.free_port()}"
    with sso_client(migrated, down) as client:
        response = client.get("/login/sso")
        page = refusal(response, 503)
        assert response.headers["Retry-After"]
        assert "Try again in a few minutes" in page
    assert logged(caplog, "refused with 503 (discovery)", "ConnectionError")


def test_a_provider_that_goes_down_before_the_callback_gets_a_clear_page(
    migrated: str, caplog: pytest.LogCaptureFixture
) -> None:
    with oidc_provider.running() as flaky, sso_client(migrated, flaky.issuer) as client:
        email = person(flaky, "tess", "pulse-admins")
        start = client.get("/login/sso")
        callback = flaky.approve(start.headers["Location"], "tess")
        flaky.app = _unavailable
        refusal(client.get(callback), 503)
        assert account(email) is None
    assert logged(caplog, "refused with 503 (token)")


def _unavailable(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"down for maintenance"]


def test_sign_in_codes_never_reach_the_logs() -> None:
    line = 'GET /login/sso/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj HTTP/1.1" 302'
    assert "SplxlOBeZQQYbYS6WxSbIA" not in scrub(line)
    assert "af0ifjsldkj" not in scrub(line)


# -- in a real browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_a_coordinator_signs_in_through_the_provider_in_a_browser(
    migrated: str, provider: Provider
) -> None:
    app = create_app(conftest.test_config(migrated, **sso_settings(provider.issuer)))
    with emptied_afterwards(app), browser.chromium() as chromium, browser.serving(app) as site:
        app.config["BASE_URL"] = site  # the provider sends the browser back to this server
        person(provider, "vic", "pulse-coordinators")
        page = chromium.new_page()
        # Loopback only: the provider's own page asks a CDN for a stylesheet.
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if urlsplit(route.request.url).hostname == "127.0.0.1"
                else route.abort()
            ),
        )
        page.goto(site + "/login")
        assert browser.serious_accessibility_problems(page) == []
        page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
        page.fill("input[name=sub]", "vic")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(site + "/")
        assert "vic@riverside.example" in page.content()
        assert "a wellness coordinator" in page.content()
        page.close()


# -- configuration ------------------------------------------------------------------------------


def _configure(tmp_path: Path, **oidc: Any) -> Flask:
    return create_app(
        {
            "WELLBEING_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
            **oidc,
        },
        instance_path=str(tmp_path / "instance"),
    )


@pytest.mark.parametrize(
    ("group_map", "message"),
    [
        ({"managers": {"role": "leader"}}, "group 'managers'.*needs at least one unit"),
        ({"managers": {"role": "boss"}}, "group 'managers': role: Input should be"),
        ({"admins": {"role": "admin", "units": ["A"]}}, "admins see every unit; remove 'units'"),
        ({"x": {"role": "coordinator", "scope": "all"}}, "scope: Extra inputs"),
        ({}, "must be an object of group names"),
        ('{"managers": ', "inline JSON is not valid"),
        ("/nowhere/groups.yaml", "no file /nowhere/groups.yaml"),
    ],
)
def test_a_bad_group_map_stops_start_up_with_the_reason(
    tmp_path: Path, group_map: Any, message: str
) -> None:
    source = group_map if isinstance(group_map, str) else json.dumps(group_map)
    with pytest.raises(settings.ConfigError, match=f"WELLBEING_OIDC_GROUP_MAP.*{message}"):
        _configure(tmp_path, **sso_settings("https://login.example.org", OIDC_GROUP_MAP=source))


def test_half_configured_single_sign_on_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(settings.ConfigError, match="set WELLBEING_OIDC_CLIENT_SECRET"):
        _configure(
            tmp_path,
            OIDC_ISSUER="https://login.example.org",
            OIDC_CLIENT_ID="c",
            OIDC_GROUP_MAP="{}",
        )
    with pytest.raises(settings.ConfigError, match="must include 'openid'"):
        _configure(tmp_path, **sso_settings("https://login.example.org", OIDC_SCOPES="email"))
    with pytest.raises(settings.ConfigError, match="not an issuer URL"):
        _configure(tmp_path, **sso_settings("login.example.org"))


def test_production_needs_an_https_issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "environment", lambda: {})
    with pytest.raises(settings.ConfigError, match="must use https in production"):
        _configure(tmp_path, WELLBEING_ENV="production", **sso_settings("http://login.example.org"))


def test_the_group_map_comes_from_the_environment_as_a_yaml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = tmp_path / "groups.yaml"
    groups.write_text(
        "Pulse Coordinators:\n  role: coordinator\n"
        "HV Managers:\n  role: leader\n  units:\n    - Riverside/Home Visiting\n"
    )
    env = {
        "WELLBEING_OIDC_ISSUER": "https://login.example.org/realms/riverside/",
        "WELLBEING_OIDC_CLIENT_ID": "pulse",
        "WELLBEING_OIDC_CLIENT_SECRET": "s3cret",
        "WELLBEING_OIDC_GROUP_MAP": str(groups),
        "WELLBEING_OIDC_GROUPS_CLAIM": "realm_access.roles",
        "WELLBEING_OIDC_KEEP_PASSWORDS": "yes",
    }
    monkeypatch.setattr(settings, "environment", lambda: env)
    app = _configure(tmp_path)
    config = app.config
    assert config["OIDC_DISCOVERY_URL"] == (
        "https://login.example.org/realms/riverside/.well-known/openid-configuration"
    )
    grant = config["OIDC_GROUP_MAP"].resolve(["HV Managers", "Other"])
    assert (grant.role, grant.unit_paths) == (Role.LEADER, (HOME_VISITING,))
    assert config["OIDC_KEEP_PASSWORDS"] is True
    assert config["OIDC_GROUPS_CLAIM"] == "realm_access.roles"


def test_a_groups_claim_inside_an_object_is_read(migrated: str, provider: Provider) -> None:
    with sso_client(migrated, provider.issuer, OIDC_GROUPS_CLAIM="realm_access.roles") as client:
        provider.set_user(
            "uma",
            email="uma@riverside.example",
            realm_access={"roles": ["pulse-coordinators"]},
        )
        assert sign_in(client, provider, "uma").status_code == 302
        user = account("uma@riverside.example")
        assert user is not None and user.role is Role.COORDINATOR


def test_sso_check_lists_the_map_and_flags_units_not_on_the_roster(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["sso", "check"])
    assert result.exit_code == 1
    assert "Riverside/Closed Program  <- not on the roster" in result.output
    assert "1 unit path(s) are not on the roster" in result.output
    factories.unit("Riverside/Closed Program")
    result = app.test_cli_runner().invoke(args=["sso", "check"])
    assert result.exit_code == 0, result.output
    assert "pulse-coordinators: coordinator" in result.output
