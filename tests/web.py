"""Helpers for driving pages through the test client as a signed-in user."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests import factories
from wellbeing.auth.models import Role


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"{path} carries a CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, role: Role, units: list[str] | None = None) -> None:
    factories.user(email, role, units)
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
