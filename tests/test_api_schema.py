"""The JSON API against its OpenAPI description: every route described, every answer conforming.

Schemathesis generates calls from the description the API serves and sends them to the app
in-process; each answer must be documented, match its schema, never be a 5xx, and hold nothing
outside the token owner's scope. Calls with missing or bad tokens must all be refused alike.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories
from tests import report_helpers as reports_h
from tests.test_reports import issue_token
from wellbeing.api.views import description
from wellbeing.auth.models import Role
from wellbeing.extensions import db, limiter
from wellbeing.org.models import Unit
from wellbeing.releases.models import ReleaseCell

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _described(rule: str) -> str:
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def test_the_description_names_every_api_route_and_no_other(app: Flask) -> None:
    routes = {
        (_described(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    paths: dict[str, dict[str, Any]] = description()["paths"]
    described = {(path, method) for path, item in paths.items() for method in item}
    assert routes == described
    for path, item in paths.items():
        for operation in item.values():
            parameters = [
                p if "$ref" not in p else _resolve(p["$ref"])
                for p in operation.get("parameters", [])
            ]
            in_path = {p["name"] for p in parameters if p["in"] == "path"}
            assert in_path == set(re.findall(r"\{([^}]+)\}", path)), path
            assert {"401", "429"} <= set(operation["responses"]), path


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = description()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    result: dict[str, Any] = node
    return result


@pytest.fixture
def history(app: Flask) -> reports_h.History:
    made = reports_h.build_history(waves=1)
    db.session.commit()  # into the test's transaction: refused calls roll back only themselves
    return made


def test_the_description_is_served_to_token_holders(client: FlaskClient) -> None:
    factories.user("lead@example.org", Role.LEADER, ["Riverside/North"])
    auth = {"Authorization": f"Bearer {issue_token(client, 'lead@example.org')}"}
    refused = client.get("/api/v1/openapi.json")
    assert refused.status_code == 401 and refused.json and refused.json["error"] == "unauthorized"
    served = client.get("/api/v1/openapi.json", headers=auth)
    assert served.status_code == 200 and served.json == description()
    index = client.get("/api/v1/", headers=auth).json
    assert index and index["links"]["openapi"] == "/api/v1/openapi.json"


def test_an_unavailable_database_answers_a_documented_json_503(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.user("lead@example.org", Role.LEADER, ["Riverside/North"])
    auth = {"Authorization": f"Bearer {issue_token(client, 'lead@example.org')}"}

    def refuse() -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))

    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", refuse)
        refused = client.get("/api/v1/units", headers=auth)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert refused.json is not None and refused.json["error"] == "unavailable"
    documented = description()["paths"]["/api/v1/units"]["get"]["responses"]
    assert "503" in documented
    assert client.get("/api/v1/units", headers=auth).status_code == 200


def _scoped_ids(body: Any) -> set[int]:
    """Every unit id an answer mentions, wherever it sits."""
    found: set[int] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "unit_id" and isinstance(value, int):
                found.add(value)
            elif key == "unit" and isinstance(value, dict) and "id" in value:
                found.add(value["id"])
            found |= _scoped_ids(value)
    elif isinstance(body, list):
        for value in body:
            found |= _scoped_ids(value)
    return found


def _cells(body: Any) -> list[dict[str, Any]]:
    """Every cell in an answer: dicts carrying a ``cell_id``."""
    if isinstance(body, dict):
        own = [body] if "cell_id" in body else []
        return own + [c for value in body.values() for c in _cells(value)]
    if isinstance(body, list):
        return [c for value in body for c in _cells(value)]
    return []


def _check_cells(cells: list[dict[str, Any]], allowed_units: set[int]) -> None:
    """Each cell is the stored cell of that id, in scope, with no number where it is hidden."""
    ids = {c["cell_id"] for c in cells}
    stored = {
        c.id: c for c in db.session.scalars(sa.select(ReleaseCell).where(ReleaseCell.id.in_(ids)))
    }
    for item in cells:
        cell = stored[item["cell_id"]]
        assert cell.unit_id in allowed_units and item["unit_id"] == cell.unit_id
        assert item["hidden"] == cell.hidden
        for name in ("value", "ci_low", "ci_high", "n_band", "reason", "change", "change_value"):
            assert item[name] == getattr(cell, name), name
        if cell.hidden:
            assert item["value"] is None and item["n_band"] is None


def _aim(case: schemathesis.Case, draw: Any, waves: list[int], units: list[int], key: str) -> None:
    """Point some generated ids at real waves, units and programs, in scope or not."""
    for name, choices in (("wave_id", waves), ("unit_id", units)):
        if name in (case.path_parameters or {}) and draw(st.integers(0, 2)) > 0:
            case.path_parameters[name] = draw(st.sampled_from(choices))
    query = case.query if case.query is not None else {}
    for name, choices in (("unit", units), ("wave", waves)):
        pick = draw(st.integers(0, 3))
        if pick == 0:
            query[name] = draw(st.sampled_from(choices))
        elif pick == 1:  # not an id at all: refused where the operation reads it
            query[name] = draw(st.sampled_from(["0", "-1", "x", "2147483648", "²", "1e3"]))
    if draw(st.booleans()):
        query["program"] = draw(st.sampled_from([key, "someone-elses"]))
    if query:
        case.query = query


def test_generated_calls_conform_and_stay_in_the_leaders_scope(
    app: Flask, client: FlaskClient, history: reports_h.History
) -> None:
    auth = {"Authorization": f"Bearer {issue_token(client, history.cw_lead.email)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=auth)
    mine = {history.unit(p).id for p in ("Child Welfare", *reports_h.TEAMS) if "Child" in p}
    units = [*db.session.scalars(sa.select(Unit.id).order_by(Unit.id)), 999_999]
    waves = [w.id for w in history.waves] + [999_999]
    answered: set[int] = set()

    @FUZZ
    @given(case=schema.as_strategy(), data=st.data())
    def call(case: schemathesis.Case, data: st.DataObject) -> None:
        limiter.reset()
        _aim(case, data.draw, waves, units, history.program.key)
        response = case.call(headers=auth)
        case.validate_response(response, checks=[*CHECKS, ignored_auth], headers=auth)
        answered.add(response.status_code)
        if response.status_code == 200:
            body = response.json()
            assert _scoped_ids(body) <= mine, case.formatted_path
            _check_cells(_cells(body), mine)

    call()
    assert {200, 400, 404} <= answered


# What a header can carry: printable Latin-1, no line breaks.
HEADER_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
BAD_HEADERS = st.one_of(
    st.none(),
    st.sampled_from(["", "Bearer", "Bearer ", "bearer wbp_x", "Basic dXNlcjpwYXNz", "Token wbp_"]),
    st.text(HEADER_TEXT, max_size=80).map(lambda t: "Bearer wbp_" + t),
    st.text(HEADER_TEXT, max_size=300).map(lambda t: "Bearer " + t),
    st.text(HEADER_TEXT, max_size=120),
)


def test_calls_without_a_valid_token_are_all_refused_alike(app: Flask, client: FlaskClient) -> None:
    runner = app.test_cli_runner()
    for email in ("lead@example.org", "gone@example.org"):
        factories.user(email, Role.LEADER, ["Riverside/North"])
    db.session.commit()  # into the test's transaction: refused calls roll back only themselves
    good = issue_token(client, "lead@example.org")
    auth = {"Authorization": f"Bearer {good}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=auth)
    revoked = issue_token(client, "gone@example.org")
    listed = runner.invoke(args=["users", "tokens", "gone@example.org"]).output
    assert runner.invoke(args=["users", "revoke-token", listed.split("\t")[0]]).exit_code == 0
    tokens = st.one_of(
        BAD_HEADERS,
        st.sampled_from([f"Bearer {revoked}", f"Bearer {good}x", f"Bearer {good[:-1]}", good]),
    )

    @FUZZ
    @given(case=schema.as_strategy(), header=tokens)
    def call(case: schemathesis.Case, header: str | None) -> None:
        limiter.reset()
        headers = {} if header is None else {"Authorization": header}
        case.headers = {
            k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
        }
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        assert response.status_code in (400, 401), (header, response.status_code)
        assert response.json()["error"] in ("bad_request", "unauthorized")
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == ['Bearer realm="wellbeing"']

    call()


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        # Found by fuzzing: ids past the database's integers reached SQL and failed there (500).
        ("/api/v1/units/99999999999999999999/trends", 404, "not_found"),
        ("/api/v1/waves/1/cells?unit=99999999999999999999", 400, "bad_request"),
        ("/api/v1/heatmap?wave=2147483648", 400, "bad_request"),
        ("/api/v1/waves/1/comments?unit=-3", 400, "bad_request"),
        ("/api/v1/heatmap?wave=%C2%B2", 400, "bad_request"),
        # PostgreSQL text cannot hold NUL: it failed there, and in the access log's row (500).
        ("/api/v1/waves?program=a%00b", 400, "bad_request"),
        ("/api/v1/units?x%00=1", 400, "bad_request"),
    ],
)
def test_malformed_ids_and_nul_get_a_json_4xx(
    client: FlaskClient, path: str, status: int, error: str
) -> None:
    factories.user("lead@example.org", Role.LEADER, ["Riverside/North"])
    auth = {"Authorization": f"Bearer {issue_token(client, 'lead@example.org')}"}
    response = client.get(path, headers=auth)
    assert response.status_code == status, path
    assert response.json and response.json["error"] == error
    assert response.json["message"]
