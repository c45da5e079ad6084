"""Every route is public by name, requires a signed-in user, or (the API) a personal token."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

# Endpoints staff and machines reach without an account. Anything else must ask for a login.
PUBLIC_ENDPOINTS = {
    "static",
    "health.healthz",
    "auth.login",
    "auth.sso_login",
    "auth.sso_callback",
    "assets.plotly_js",
}
PUBLIC_BLUEPRINTS = {"survey", "demo"}
# The JSON API answers 401 without a bearer token and never takes a session cookie.
TOKEN_BLUEPRINTS = {"api"}


def _sample(match: re.Match[str]) -> str:
    converter, name = match.group(1) or "", match.group(2)
    if converter.startswith("any("):
        return converter[4:].split(",")[0].strip()
    return "1" if "id" in name or converter == "int" else "x"


def _sample_path(rule: str) -> str:
    return re.sub(r"<(?:([^<>]+?):)?([^<>:]+)>", _sample, rule)


def test_every_non_public_route_requires_login(app: Flask, client: FlaskClient) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if endpoint in PUBLIC_ENDPOINTS or endpoint.split(".")[0] in PUBLIC_BLUEPRINTS:
            continue
        path = _sample_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            app.config["WTF_CSRF_ENABLED"] = False  # reach the login check, not the CSRF check
            response = client.open(path, method=method)
            if endpoint.split(".")[0] in TOKEN_BLUEPRINTS:
                assert response.status_code == 401, (endpoint, method, response.status_code)
                assert response.json and response.json["error"] == "unauthorized"
            else:
                assert response.status_code == 302, (endpoint, method, response.status_code)
                assert response.headers["Location"].startswith("/login"), (endpoint, method)
            checked += 1
    assert checked >= 8
