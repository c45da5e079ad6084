"""Signing in through the real login form."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from wellbeing.auth.models import Role


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str) -> tuple[int, str]:
    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    return response.status_code, response.headers.get("Location", "")


def test_anonymous_visitors_are_sent_to_the_login_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_then_landing_page_shows_the_scope(app: Flask, client: FlaskClient) -> None:
    factories.person("a@example.org", "Riverside/Home Visiting/North")
    factories.person("b@example.org", "Riverside/Home Visiting/North")
    factories.person("c@example.org", "Riverside/Early Care/East")
    factories.user("lead@example.org", Role.LEADER, units=["Riverside/Home Visiting"])
    status, location = login(client, "Lead@Example.org", factories.PASSWORD)
    assert (status, location) == (302, "/")
    page = client.get("/").get_data(as_text=True)
    assert "a leader" in page
    assert "Home Visiting" in page and "North" in page
    assert "Early Care" not in page  # outside the leader's scope
    assert re.search(r"North</td><td class=\"num\">2<", page)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    app: Flask, client: FlaskClient
) -> None:
    factories.user("admin@example.org")
    status, _ = login(client, "admin@example.org", "not the password at all")
    assert status == 401
    status, _ = login(client, "nobody@example.org", "not the password at all")
    assert status == 401
    page = client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert "Sign in" in page


def test_login_without_csrf_token_is_rejected(app: Flask, client: FlaskClient) -> None:
    factories.user("admin@example.org")
    response = client.post(
        "/login", data={"email": "admin@example.org", "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_repeated_failures_are_rate_limited(app: Flask, client: FlaskClient) -> None:
    factories.user("admin@example.org")
    for _ in range(5):
        assert login(client, "admin@example.org", "wrong password, again")[0] == 401
    status, _ = login(client, "admin@example.org", "wrong password, again")
    assert status == 429
    # Even the right password waits until the window passes.
    status, _ = login(client, "admin@example.org", factories.PASSWORD)
    assert status == 429
    response = client.post(
        "/login", data={"email": "a@example.org", "password": "x", "csrf_token": csrf_token(client)}
    )
    assert "Too many attempts" in response.get_data(as_text=True)


def test_successful_logins_do_not_count_towards_the_limit(app: Flask, client: FlaskClient) -> None:
    factories.user("admin@example.org")
    for _ in range(7):
        assert login(client, "admin@example.org", factories.PASSWORD)[0] == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_open_redirects_are_refused(app: Flask, client: FlaskClient) -> None:
    factories.user("admin@example.org")
    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example.com/",
        data={"email": "admin@example.org", "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session(app: Flask, client: FlaskClient) -> None:
    factories.user("admin@example.org")
    login(client, "admin@example.org", factories.PASSWORD)
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(app: Flask, client: FlaskClient) -> None:
    factories.user("admin@example.org")
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"email": "admin@example.org", "password": factories.PASSWORD, "csrf_token": token},
    )
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
