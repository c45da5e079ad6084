"""The results pages and the JSON API: scope, parity with the release, the log, empty states.

Every number a page or the API shows must be a released cell's value (pages mark them with
``data-cell``; chart traces carry cell ids in ``customdata``), and nothing hidden may carry one.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests import report_helpers as reports_h
from tests import web
from tests.factories import PASSWORD
from wellbeing.auth.models import AccessRecord, Role
from wellbeing.extensions import db
from wellbeing.releases.models import ReleaseCell

CELL = re.compile(r'<data value="([^"]+)" data-cell="(\d+)">([^<]*)</data>')
INTERVAL = re.compile(r'data-cell-interval="(\d+)">([^<]+)</span>')
BAND = re.compile(r'data-cell-band="(\d+)">([^<]+)</span>')
CHART = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.S)


def sign_in(client: FlaskClient, email: str) -> None:
    token = web.csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def stored(cell_id: int) -> ReleaseCell:
    cell = db.session.get(ReleaseCell, cell_id)
    assert cell is not None
    return cell


def _shown(cell_id: int, allowed_units: set[int] | None, band: bool = False) -> ReleaseCell:
    cell = stored(cell_id)
    assert not cell.hidden, f"hidden cell {cell_id} is shown"
    assert (cell.n_band if band else cell.value) is not None, f"cell {cell_id} has no number"
    if allowed_units is not None:
        assert cell.unit_id in allowed_units, f"cell {cell_id} is outside the viewer's scope"
    return cell


def check_page(html: str, allowed_units: set[int] | None = None) -> int:
    """Every number on the page equals its released cell; returns how many were checked."""
    checked = 0
    for value, cell_id, text in CELL.findall(html):
        cell = _shown(int(cell_id), allowed_units)
        assert float(value) == cell.value
        assert text.rstrip("%") == f"{cell.value:g}"
        checked += 1
    for cell_id, text in INTERVAL.findall(html):
        cell = _shown(int(cell_id), allowed_units)
        assert text.rstrip("%") == f"{cell.ci_low:g}–{cell.ci_high:g}"
        checked += 1
    for cell_id, text in BAND.findall(html):
        cell = _shown(int(cell_id), allowed_units, band=True)
        assert text == cell.n_band
        checked += 1
    for _, body in CHART.findall(html):
        checked += check_figure(json.loads(body), allowed_units)
    return checked


def check_figure(figure: dict[str, Any], allowed_units: set[int] | None) -> int:
    checked = 0
    for trace in figure["data"]:
        kind = trace.get("meta", {}).get("kind")
        # Practice indicators are numbers coordinators record, not survey results.
        assert kind in {
            "cells",
            "interval",
            "median",
            "hidden",
            "comment_counts",
            "practice_values",
            "reference_line",
            "practice_assessment",
        }, trace
        if kind not in {"cells", "interval", "hidden"}:
            continue
        if trace["type"] == "heatmap":
            values = [v for row in trace["z"] for v in row]
            custom = [c for row in trace["customdata"] for c in row]
        else:
            axis = trace["meta"].get("axis", "y")
            values, custom = trace[axis], trace["customdata"]
        assert len(values) == len(custom)
        for value, data in zip(values, custom, strict=True):
            cell_id = data[0]
            if kind == "hidden":
                if cell_id is not None:
                    assert stored(cell_id).hidden and value == 1.0
                continue
            if cell_id is None:
                assert value is None
                continue
            cell = _shown(cell_id, allowed_units)
            if kind == "cells":
                assert value == cell.value
            else:
                end = trace["meta"]["end"]
                assert value == (cell.ci_high if end == "high" else cell.ci_low)
            checked += 1
    return checked


def check_api_cells(cells: list[dict[str, Any]], allowed_units: set[int] | None) -> None:
    for item in cells:
        cell = stored(item["cell_id"])
        if allowed_units is not None:
            assert cell.unit_id in allowed_units
        assert item["hidden"] == cell.hidden
        for name in ("value", "ci_low", "ci_high", "n_band", "reason", "change", "change_value"):
            assert item[name] == getattr(cell, name), name
        if cell.hidden:
            assert item["value"] is None and item["n_band"] is None


@pytest.fixture
def history(app: Flask) -> reports_h.History:
    return reports_h.build_history()


def pages_for(history: reports_h.History, unit_ids: list[int]) -> list[str]:
    first, last = history.waves[0].id, history.waves[-1].id
    paths = ["/results/", "/results/heatmap", "/results/equity", "/results/participation"]
    paths += [f"/results/heatmap?wave={first}", f"/results/equity?wave={first}"]
    for unit_id in unit_ids:
        paths += [f"/results/units/{unit_id}", f"/results/units/{unit_id}?wave={first}"]
        paths.append(f"/results/units/{unit_id}?wave={last}&program={history.program.key}")
    return paths


def test_every_number_on_every_page_is_a_released_cell(
    client: FlaskClient, history: reports_h.History
) -> None:
    sign_in(client, history.admin.email)
    units = [history.unit(p).id for p in ("", "Child Welfare", *reports_h.TEAMS)]
    checked = 0
    for path in pages_for(history, units):
        response = client.get(path)
        assert response.status_code == 200, path
        checked += check_page(response.get_data(as_text=True))
    assert checked > 1000


def test_a_hidden_team_shows_no_number_anywhere(
    client: FlaskClient, history: reports_h.History
) -> None:
    sign_in(client, history.admin.email)
    east = history.unit("Child Welfare/East")
    page = client.get(f"/results/units/{east.id}").get_data(as_text=True)
    assert "<data " not in page and "data-cell-interval" not in page
    assert check_page(page) == 0  # its charts have no point with a value
    assert "This unit's results for this wave are hidden" in page
    assert "counted in" in page and "Child Welfare" in page
    for path in ("/results/heatmap", "/results/participation"):
        html = client.get(path).get_data(as_text=True)
        row = re.search(
            rf'<tr>\s*<th scope="row"[^>]*><a href="/results/units/{east.id}[^"]*">East</a>'
            r"(.*?)</tr>",
            html,
            re.S,
        )
        assert row, path
        assert "<data " not in row.group(1) and "hidden" in row.group(1)
    api_token = issue_token(client, history.admin.email)
    body = client.get(
        f"/api/v1/waves/{history.waves[-1].id}/cells?unit={east.id}",
        headers={"Authorization": f"Bearer {api_token}"},
    ).json
    assert body and body["cells"] and all(c["value"] is None for c in body["cells"])


def issue_token(client: FlaskClient, email: str) -> str:
    runner = client.application.test_cli_runner()
    result = runner.invoke(args=["users", "token", email, "--label", "BI"])
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[1].strip()
    assert token.startswith("wbp_")
    return token


def test_a_leader_reaches_only_their_units_by_url_api_or_parameter(
    client: FlaskClient, history: reports_h.History
) -> None:
    sign_in(client, history.cw_lead.email)
    west = history.unit("Home Visiting/West")
    north = history.unit("Child Welfare/North")
    root = history.unit("")
    last = history.waves[-1].id
    mine = {history.unit(p).id for p in ("Child Welfare", *reports_h.TEAMS) if "Child" in p}
    for path in (
        f"/results/units/{west.id}",
        f"/results/units/{history.unit('Home Visiting').id}",
        f"/results/units/{root.id}",
        "/results/units/999999",
        f"/results/units/{north.id}?wave=999999",
        f"/results/units/{north.id}?program=someone-elses",
        "/results/heatmap?wave=999999",
        "/admin/access-log",
    ):
        assert client.get(path).status_code == 404, path
    for path in pages_for(history, sorted(mine)):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        check_page(html, allowed_units=mine)
        assert "Home Visiting" not in html and "West" not in html, path
    token = issue_token(client, history.cw_lead.email)
    auth = {"Authorization": f"Bearer {token}"}
    for path in (
        f"/api/v1/units/{west.id}/trends",
        f"/api/v1/units/{root.id}/trends",
        f"/api/v1/waves/{last}/cells?unit={west.id}",
        f"/api/v1/waves/{last}/comments?unit={west.id}",
        "/api/v1/waves/999999/cells",
        "/api/v1/heatmap?wave=999999",
        "/api/v1/waves?program=someone-elses",
    ):
        response = client.get(path, headers=auth)
        assert response.status_code == 404, path
        assert response.json and response.json["error"] == "not_found"
    assert client.get(f"/api/v1/waves/{last}/cells?scope=everyone", headers=auth).status_code == 400
    assert client.get(f"/api/v1/waves/{last}/cells?cut=salary", headers=auth).status_code == 400
    everything = client.get(f"/api/v1/waves/{last}/cells", headers=auth).json
    assert everything is not None
    check_api_cells(everything["cells"], mine)
    assert {c["unit_id"] for c in everything["cells"]} == mine
    units = client.get("/api/v1/units", headers=auth).json
    assert units and {u["id"] for u in units["units"]} == mine
    rows = client.get("/api/v1/heatmap", headers=auth).json
    assert rows and {r["unit_id"] for r in rows["rows"]} <= mine


def test_the_api_serves_the_same_cells_as_the_release(
    client: FlaskClient, history: reports_h.History
) -> None:
    token = issue_token(client, history.admin.email)
    auth = {"Authorization": f"Bearer {token}"}
    index = client.get("/api/v1/", headers=auth).json
    assert index and index["viewer"]["role"] == "admin"
    waves = client.get("/api/v1/waves", headers=auth).json
    assert waves and [w["id"] for w in waves["waves"]] == [w.id for w in history.waves]
    for wave in waves["waves"]:
        body = client.get(wave["cells"], headers=auth).json
        assert body is not None
        release_cells = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ReleaseCell)
            .where(ReleaseCell.release_id == body["cells"][0]["release_id"])
        )
        assert len(body["cells"]) == release_cells
        check_api_cells(body["cells"], None)
    north = history.unit("Child Welfare/North")
    trends = client.get(f"/api/v1/units/{north.id}/trends", headers=auth).json
    assert trends is not None
    for trend in trends["trends"]:
        check_api_cells([p["cell"] for p in trend["points"] if p["cell"]], {north.id})
        assert "summary" in trend["runchart"]
    narrowed = client.get(
        f"/api/v1/waves/{history.waves[-1].id}/cells?unit={north.id}&metric=index&measure=burnout",
        headers=auth,
    ).json
    assert narrowed and len(narrowed["cells"]) == 1
    comments = client.get(f"/api/v1/waves/{history.waves[-1].id}/comments", headers=auth).json
    assert comments and comments["comments"]
    assert all("supervision" in c["body"] for c in comments["comments"])


def test_tokens_are_personal_revocable_and_never_a_session(
    client: FlaskClient, history: reports_h.History
) -> None:
    runner = client.application.test_cli_runner()
    token = issue_token(client, history.hv_lead.email)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/units", headers=auth).status_code == 200
    listed = runner.invoke(args=["users", "tokens", history.hv_lead.email])
    assert "BI" in listed.output and "active" in listed.output and token not in listed.output
    token_id = listed.output.split("\t")[0]
    for header in ("", "Bearer", "Bearer wbp_forged", f"Basic {token}", f"Bearer {token}x"):
        response = client.get("/api/v1/units", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert "wellbeing users token" in response.json["message"]
    sign_in(client, history.admin.email)
    assert client.get("/api/v1/units").status_code == 401  # a session cookie is not a token
    revoked = runner.invoke(args=["users", "revoke-token", token_id])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert client.get("/api/v1/units", headers=auth).status_code == 401
    missing = runner.invoke(args=["users", "token", "nobody@example.org"])
    assert missing.exit_code != 0 and "no user" in missing.output


def test_every_view_and_api_call_is_in_the_access_log(
    client: FlaskClient, history: reports_h.History
) -> None:
    token = issue_token(client, history.cw_lead.email)
    north = history.unit("Child Welfare/North")
    client.get(f"/api/v1/units/{north.id}/trends", headers={"Authorization": f"Bearer {token}"})
    sign_in(client, history.cw_lead.email)
    client.get(f"/results/units/{north.id}?wave={history.waves[0].id}")
    client.get("/results/heatmap")
    client.get(f"/results/units/{history.unit('Home Visiting/West').id}")  # refused: not logged
    records = list(
        db.session.scalars(
            sa.select(AccessRecord)
            .where(AccessRecord.channel != "change")  # issuing the token is a change
            .order_by(AccessRecord.id)
        )
    )
    assert [(r.user_email, r.channel, r.what) for r in records] == [
        (history.cw_lead.email, "api", f"GET /api/v1/units/{north.id}/trends"),
        (
            history.cw_lead.email,
            "page",
            f"GET /results/units/{north.id}?wave={history.waves[0].id}",
        ),
        (history.cw_lead.email, "page", "GET /results/heatmap"),
    ]
    assert all(r.scope == "Riverside/Child Welfare" and r.role == "leader" for r in records)
    client.post("/logout", data={"csrf_token": web.csrf_token(client, "/")})
    web.sign_in(client, "coord@example.org", Role.COORDINATOR)
    assert client.get("/admin/access-log").status_code == 404
    client.post("/logout", data={"csrf_token": web.csrf_token(client, "/")})
    sign_in(client, history.admin.email)
    page = client.get(f"/admin/access-log?user={history.cw_lead.email}").get_data(as_text=True)
    assert page.count(history.cw_lead.email) >= 3 and "/results/heatmap" in page
    assert "Riverside/Child Welfare" in page


def test_overview_says_what_changed_and_what_the_run_chart_says(
    client: FlaskClient, app: Flask
) -> None:
    history = reports_h.build_history(waves=10, north_drop_at=5)
    sign_in(client, history.cw_lead.email)
    overview = client.get("/results/").get_data(as_text=True)
    assert "Where to look next" in overview
    assert "Child Welfare" in overview
    north = history.unit("Child Welfare/North")
    page = client.get(f"/results/units/{north.id}").get_data(as_text=True)
    # five waves high then five low: one crossing of the median, fewer than the 2 expected
    assert "Too few crossings" in page
    sixth = client.get(f"/results/units/{north.id}?wave={history.waves[5].id}")
    html = sixth.get_data(as_text=True)
    assert "a real change, for the worse" in html
    check_page(html)
    first_overview = client.get("/results/").get_data(as_text=True)
    assert "Run-chart rules start" not in first_overview or "Too few crossings" in first_overview


def test_empty_states_say_what_will_appear(client: FlaskClient, app: Flask) -> None:
    web.sign_in(client, "admin@example.org", Role.ADMIN)
    for path in ("/results/", "/results/heatmap", "/results/equity", "/results/participation"):
        page = client.get(path)
        assert page.status_code == 200
        assert "No results yet" in page.get_data(as_text=True)
    log = client.get("/admin/access-log").get_data(as_text=True)
    assert "/results/participation" in log  # the empty pages were views too


def test_a_leader_of_a_unit_without_results_sees_why(
    client: FlaskClient, history: reports_h.History
) -> None:
    web.sign_in(client, "new.lead@example.org", Role.LEADER, [f"{reports_h.h.AGENCY}/New Team"])
    page = client.get("/results/").get_data(as_text=True)
    assert "No results are shown for your units" in page
    assert "<data " not in page
    assert "No unit in your scope" in client.get("/results/heatmap").get_data(as_text=True)
