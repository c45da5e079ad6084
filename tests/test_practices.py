"""Practice indicators and the practices self-assessment: recording, scope, reference lines,
charts, the assessment round trip and the checks on surveys/practices.yaml."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient

from tests import factories, web
from wellbeing import create_app
from wellbeing.auth.access import AccessDenied
from wellbeing.auth.models import AccessRecord, Role, User
from wellbeing.bank import BankError
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.practices import charts, service
from wellbeing.practices.guide import current_guide, load_guide
from wellbeing.practices.models import (
    ChecklistRating,
    PracticeAssessment,
    PracticeRating,
    PracticeRecord,
)
from wellbeing.resources import resource_dir

CHART = re.compile(r'<script type="application/json" id="([^"]+)-data">(.*?)</script>', re.S)
NORTH, SOUTH = "Agency/North", "Agency/South"


def _records() -> list[PracticeRecord]:
    return list(db.session.scalars(sa.select(PracticeRecord).order_by(PracticeRecord.month)))


def _record_form(client: FlaskClient, unit: Unit, **fields: str) -> dict[str, str]:
    data = {
        "csrf_token": web.csrf_token(client, f"/practices/units/{unit.id}/record"),
        "month": "2025-01",
        "caseload": "",
        "staff_per_supervisor": "",
        "reflective_supervision": "",
        "turnover": "",
    }
    data.update(fields)
    return data


def _viewer(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None
    return user


# ------------------------------------------------------------------ recording a month


def test_a_coordinator_records_and_then_updates_a_month(app: Flask, client: FlaskClient) -> None:
    north = factories.unit(NORTH)
    web.sign_in(client, "coord@example.org", Role.COORDINATOR)
    page = client.get(f"/practices/units/{north.id}").get_data(as_text=True)
    assert "No practice indicators recorded for this unit yet" in page

    response = client.post(
        f"/practices/units/{north.id}/record",
        data=_record_form(
            client,
            north,
            month="2025-01",
            caseload="14,5",  # a decimal comma is fine
            staff_per_supervisor="6",
            reflective_supervision="75",
            turnover="",
        ),
    )
    assert response.status_code == 302
    [record] = _records()
    assert (record.month, record.caseload, record.staff_per_supervisor) == (
        date(2025, 1, 1),
        14.5,
        6.0,
    )
    assert record.reflective_supervision == 75.0 and record.turnover is None
    assert record.recorded_by_id == _viewer("coord@example.org").id

    # Opening the month again shows its figures; saving replaces them (an empty one is cleared).
    form = client.get(f"/practices/units/{north.id}/record?month=2025-01").get_data(as_text=True)
    assert "January 2025 is already recorded" in form and 'value="14.5"' in form
    response = client.post(
        f"/practices/units/{north.id}/record",
        data=_record_form(client, north, month="2025-01", caseload="16", turnover="31.5"),
    )
    assert response.status_code == 302
    [record] = _records()
    assert (record.caseload, record.staff_per_supervisor, record.turnover) == (16.0, None, 31.5)
    page = client.get(f"/practices/units/{north.id}").get_data(as_text=True)
    assert "January 2025" in page and "31.5%" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"caseload": "fourteen"}, "Give a number, like 14 or 14.5."),
        ({"turnover": "nan"}, "Give a number, like 14 or 14.5."),
        ({"caseload": "1e3"}, "Give a number, like 14 or 14.5."),
        ({"caseload": "-2"}, "Average caseload must be between 0 and 200."),
        ({"reflective_supervision": "120"}, "must be between 0 and 100."),
        ({"turnover": "401"}, "Staff turnover must be between 0 and 400."),
        ({"month": "March 2025", "caseload": "12"}, "Give the month as YYYY-MM"),
        ({"month": "2025-13", "caseload": "12"}, "Give the month as YYYY-MM"),
        ({"month": "2999-01", "caseload": "12"}, "That month has not started yet."),
        ({"month": "1999-12", "caseload": "12"}, "Give a month from 2000-01 on."),
        ({}, "Give at least one of the four figures for the month."),
    ],
)
def test_bad_figures_are_refused_with_a_clear_message_and_nothing_saved(
    app: Flask, client: FlaskClient, fields: dict[str, str], message: str
) -> None:
    north = factories.unit(NORTH)
    web.sign_in(client, "coord@example.org", Role.COORDINATOR)
    response = client.post(
        f"/practices/units/{north.id}/record", data=_record_form(client, north, **fields)
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The month was not saved." in page and message in page
    assert 'name="csrf_token"' in page  # the form is there to correct and send again
    assert _records() == []


def test_the_database_refuses_figures_outside_their_range(app: Flask) -> None:
    north = factories.unit(NORTH)
    for bad in (
        {"caseload": 500.0},
        {"reflective_supervision": -1.0},
        {"turnover": float("nan")},
        {},
    ):
        with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
            db.session.add(PracticeRecord(unit_id=north.id, month=date(2025, 1, 1), **bad))


# ------------------------------------------------------------------ scope


def test_a_leader_reads_only_in_scope_and_records_nothing(app: Flask, client: FlaskClient) -> None:
    north, south = factories.unit(NORTH), factories.unit(SOUTH)
    coordinator = factories.user("coord@example.org", Role.COORDINATOR)
    service.record_month(coordinator, south, date(2025, 1, 1), {"caseload": 20.0})
    theirs = service.save_assessment(coordinator, south, date(2025, 1, 5), _answers())
    web.sign_in(client, "lead@example.org", Role.LEADER, [NORTH])

    outside = [
        f"/practices/units/{south.id}",
        f"/practices/units/{south.id}/record",
        f"/practices/units/{south.id}/assessments",
        f"/practices/units/{south.id}/assessments/new",
        f"/practices/assessments/{theirs.id}",
        "/practices/units/987654/assessments",
        "/practices/assessments/987654",
    ]
    for path in outside:
        assert client.get(path).status_code == 404, path
    token = web.csrf_token(client, f"/practices/units/{north.id}/assessments/new")
    for path in (
        f"/practices/units/{south.id}/record",
        f"/practices/units/{south.id}/assessments/new",
    ):
        response = client.post(path, data={"csrf_token": token, "month": "2025-02"})
        assert response.status_code == 404, path
    # Leaders read their own units' figures but do not record them.
    assert client.get(f"/practices/units/{north.id}").status_code == 200
    assert client.get(f"/practices/units/{north.id}/record").status_code == 404
    index = client.get("/practices/").get_data(as_text=True)
    assert f"/practices/units/{north.id}" in index and f"/practices/units/{south.id}" not in index
    assert (
        len(_records()) == 1
        and db.session.scalar(sa.select(sa.func.count()).select_from(PracticeAssessment)) == 1
    )

    # What the leader read is in the access log; what they were refused is not.
    leader = _viewer("lead@example.org")
    read = db.session.scalars(
        sa.select(AccessRecord.what).where(
            AccessRecord.user_id == leader.id, AccessRecord.channel == "page"
        )
    ).all()
    assert f"GET /practices/units/{north.id}" in read and "GET /practices/" in read
    assert not any(f"/units/{south.id}" in what for what in read)

    with pytest.raises(AccessDenied):
        service.practice_series(leader, south)
    with pytest.raises(AccessDenied):
        service.record_month(leader, north, date(2025, 1, 1), {"caseload": 10.0})


# ------------------------------------------------------------------ reference lines and charts


def test_reference_lines_come_from_the_yaml_and_name_their_sources() -> None:
    guide = load_guide(resource_dir("surveys"))
    lines = {
        i.id: [(line.value, line.direction, line.source) for line in i.reference_lines]
        for i in guide.indicators
    }
    assert list(lines) == ["caseload", "staff_per_supervisor", "reflective_supervision", "turnover"]
    cwla = "Child Welfare League of America (CWLA)"
    assert (17, "at_most") in [(v, d) for v, d, s in lines["caseload"] if s.startswith(cwla)]
    assert (12, "at_most") in [(v, d) for v, d, s in lines["caseload"] if s.startswith(cwla)]
    assert [(v, d) for v, d, s in lines["staff_per_supervisor"] if s.startswith(cwla)] == [
        (5, "at_most")
    ]
    assert [(v, d) for v, d, s in lines["staff_per_supervisor"] if "IMHP" in s] == [(10, "at_most")]
    [held] = guide.indicator("reflective_supervision").reference_lines
    assert (held.value, held.direction) == (100, "at_least") and "IMHP" in held.source
    assert held.note is not None and "100%" in held.note.en and "two weeks" in held.note.en
    assert sorted(v for v, _, _ in lines["turnover"]) == [12, 30]
    for indicator in guide.indicators:
        assert indicator.label.en != indicator.label.es
        for line in indicator.reference_lines:
            assert line.source.strip() and line.label.en.strip() and line.label.es.strip()


def test_the_checklist_paraphrases_the_source_in_its_sections() -> None:
    guide = load_guide(resource_dir("surveys"))
    assert "Infant Mental Health Promotion" in guide.checklist.source
    assert 15 <= len(guide.items) <= 30
    assert len(guide.checklist.sections) >= 8
    for item in guide.items:
        assert item.text.en.strip() and item.text.es.strip() and item.text.en != item.text.es
    seed = Path("/work/shared/seeds/003_bbcbc19dafdb9ec8.txt")
    if seed.is_file():  # no sentence of the source is copied (no run of eight words)
        words = re.findall(r"[a-z]+", seed.read_text(encoding="utf-8").lower())
        runs = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
        for item in guide.items:
            mine = re.findall(r"[a-z]+", item.text.en.lower())
            for i in range(len(mine) - 7):
                assert " ".join(mine[i : i + 8]) not in runs, item.id


def _three_months(unit: Unit, who: User) -> None:
    service.record_month(who, unit, date(2025, 3, 1), {"caseload": 18.0, "turnover": 25.0})
    service.record_month(who, unit, date(2025, 1, 1), {"caseload": 15.5})
    service.record_month(who, unit, date(2025, 2, 1), {"staff_per_supervisor": 7.0})


def test_series_and_figures_hold_exactly_the_recorded_values_and_the_lines(app: Flask) -> None:
    north, south = factories.unit(NORTH), factories.unit(SOUTH)
    coordinator = factories.user("coord@example.org", Role.COORDINATOR)
    _three_months(north, coordinator)
    service.record_month(coordinator, south, date(2025, 1, 1), {"caseload": 99.0})

    series = {s.id: s for s in service.practice_series(coordinator, north)}
    assert list(series) == [i.id for i in current_guide().indicators]
    caseload = series["caseload"]
    assert caseload.months == [date(2025, 1, 1), date(2025, 3, 1)]
    assert caseload.values == [15.5, 18.0]
    assert series["staff_per_supervisor"].values == [7.0]
    assert series["turnover"].values == [25.0]
    assert not series["reflective_supervision"].has_data
    assert caseload.reference_lines == list(current_guide().indicator("caseload").reference_lines)

    figure = charts.indicator_figure(caseload)
    json.dumps(figure)  # plain JSON
    values, *lines = figure["data"]
    assert values["meta"]["kind"] == "practice_values"
    assert values["x"] == ["2025-01-01", "2025-03-01"] and values["y"] == [15.5, 18.0]
    assert len(lines) == len(caseload.reference_lines)
    for trace, line in zip(lines, caseload.reference_lines, strict=True):
        assert trace["meta"] == {
            "kind": "reference_line",
            "direction": line.direction,
            "source": line.source,
        }
        assert trace["y"] == [line.value, line.value] and trace["line"]["dash"] == "dash"
        assert len(trace["x"]) == 2 and trace["x"][0] < "2025-01-01" < "2025-03-01" < trace["x"][1]
        assert line.source in trace["name"].replace("<br>", " ")
        assert line.source in trace["hovertemplate"]
    assert figure["layout"]["xaxis"]["type"] == "date"
    assert set(charts.indicator_figures(list(series.values()))) == {
        "caseload",
        "staff_per_supervisor",
        "turnover",
    }


def test_the_unit_page_draws_each_recorded_indicator_with_a_table_and_sources(
    app: Flask, client: FlaskClient
) -> None:
    north = factories.unit(NORTH)
    _three_months(north, factories.user("coord@example.org", Role.COORDINATOR))
    web.sign_in(client, "lead@example.org", Role.LEADER, ["Agency"])
    page = client.get(f"/practices/units/{north.id}").get_data(as_text=True)
    figures = {name: json.loads(body) for name, body in CHART.findall(page)}
    prefix = f"practice-{north.id}-"
    assert set(figures) == {prefix + i for i in ("caseload", "staff_per_supervisor", "turnover")}
    assert figures[prefix + "caseload"]["data"][0]["y"] == [15.5, 18.0]
    assert figures[prefix + "turnover"]["data"][0]["y"] == [25.0]
    for indicator in current_guide().indicators:
        if indicator.id == "reflective_supervision":
            continue
        for line in indicator.reference_lines:
            assert line.source in page  # named in the text, not only in the chart
    assert "March 2025" in page and "15.5" in page
    assert "Not recorded for this unit yet: reflective supervision sessions held." in page
    assert "Record a month" not in page  # a leader reads only


# ------------------------------------------------------------------ self-assessment


def _answers(**overrides: ChecklistRating) -> dict[str, service.Answer]:
    items = [i.id for i in current_guide().items]
    levels = [ChecklistRating.IN_PLACE, ChecklistRating.PARTLY, ChecklistRating.NOT_YET]
    answers = {item: service.Answer(levels[n % 3]) for n, item in enumerate(items)}
    answers.update({item: service.Answer(level) for item, level in overrides.items()})
    return answers


def _assessment_form(
    client: FlaskClient, unit: Unit, answers: dict[str, service.Answer], day: str
) -> dict[str, str]:
    data = {
        "csrf_token": web.csrf_token(client, f"/practices/units/{unit.id}/assessments/new"),
        "assessed_on": day,
    }
    for item, answer in answers.items():
        data[f"rating_{item}"] = answer.rating.value
        data[f"note_{item}"] = answer.note
    return data


def test_an_assessment_round_trip_and_the_progress_it_shows(
    app: Flask, client: FlaskClient
) -> None:
    north = factories.unit(NORTH)
    web.sign_in(client, "lead@example.org", Role.LEADER, [NORTH])
    items = [i.id for i in current_guide().items]
    total = len(items)
    page = client.get(f"/practices/units/{north.id}/assessments").get_data(as_text=True)
    assert "No self-assessment for North yet" in page

    first = _answers()
    first[items[0]] = service.Answer(ChecklistRating.IN_PLACE, "Caps agreed with the union.")
    response = client.post(
        f"/practices/units/{north.id}/assessments/new",
        data=_assessment_form(client, north, first, "2025-01-15"),
    )
    assert response.status_code == 302
    view = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Caps agreed with the union." in view and "This is the first assessment" in view

    # The next one starts from this one: every rating and note is filled in.
    form = client.get(f"/practices/units/{north.id}/assessments/new").get_data(as_text=True)
    assert "Started from the assessment of 2025-01-15" in form
    for item, answer in first.items():
        assert re.search(
            rf'<input checked id="rating_{item}-\d" name="rating_{item}" type="radio" '
            rf'value="{answer.rating.value}">',
            form,
        ), item
    assert "Caps agreed with the union." in form

    in_place_first = sum(1 for a in first.values() if a.rating is ChecklistRating.IN_PLACE)
    not_yet = [i for i, a in first.items() if a.rating is ChecklistRating.NOT_YET]
    second = dict(first)
    second[not_yet[0]] = service.Answer(ChecklistRating.IN_PLACE)
    second[not_yet[1]] = service.Answer(ChecklistRating.PARTLY)
    second[items[0]] = service.Answer(ChecklistRating.PARTLY, "Caps slipped in the winter.")
    response = client.post(
        f"/practices/units/{north.id}/assessments/new",
        data=_assessment_form(client, north, second, "2025-06-30"),
    )
    assert response.status_code == 302

    leader = _viewer("lead@example.org")
    progress = service.progress(leader, north)
    shares = [(s.assessment.assessed_on, s.in_place, s.total) for s in progress.summaries]
    assert shares == [
        (date(2025, 1, 15), in_place_first, total),
        (date(2025, 6, 30), in_place_first, total),  # one gained, one lost
    ]
    assert progress.summaries[0].in_place_pct == round(100 * in_place_first / total, 1)
    changed = {(c.item_id, c.before, c.after, c.better) for c in progress.latest_changes}
    assert changed == {
        (items[0], ChecklistRating.IN_PLACE, ChecklistRating.PARTLY, False),
        (not_yet[0], ChecklistRating.NOT_YET, ChecklistRating.IN_PLACE, True),
        (not_yet[1], ChecklistRating.NOT_YET, ChecklistRating.PARTLY, True),
    }

    page = client.get(f"/practices/units/{north.id}/assessments").get_data(as_text=True)
    assert "3 items rated differently than on 2025-01-15" in page
    assert f"{in_place_first} of {total}" in page
    [(_, body)] = CHART.findall(page)
    figure = json.loads(body)
    assert figure["data"][0]["x"] == ["2025-01-15", "2025-06-30"]
    assert figure["data"][0]["y"] == [s.in_place_pct for s in progress.summaries]
    assert figure["data"][1]["y"] == [s.at_least_partly_pct for s in progress.summaries]


def test_an_incomplete_assessment_says_what_is_missing_and_saves_nothing(
    app: Flask, client: FlaskClient
) -> None:
    root = factories.unit("Agency")
    web.sign_in(client, "coord@example.org", Role.COORDINATOR)
    answers = _answers()
    data = _assessment_form(client, root, answers, "2025-01-15")
    del data[f"rating_{next(iter(answers))}"]
    data[f"rating_{list(answers)[1]}"] = "sort_of"
    response = client.post(f"/practices/units/{root.id}/assessments/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "2 items still need a rating." in page and "Choose not yet, partly or in place." in page
    assert "(the whole organisation)" in page

    data = _assessment_form(client, root, answers, "2025-01-15")
    data[f"note_{list(answers)[2]}"] = "x" * 1001
    response = client.post(f"/practices/units/{root.id}/assessments/new", data=data)
    assert response.status_code == 422
    assert "Keep the note to 1,000 characters or fewer." in response.get_data(as_text=True)

    data = _assessment_form(client, root, answers, "15/01/2025")
    response = client.post(f"/practices/units/{root.id}/assessments/new", data=data)
    assert response.status_code == 422
    assert "Give the date as YYYY-MM-DD" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PracticeRating)) == 0


# ------------------------------------------------------------------ the file's checks


def _edit(folder: Path, change: Callable[[dict[str, Any]], object]) -> None:
    path = folder / "practices.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _line(data: dict[str, Any], indicator: int = 0, line: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = data["indicators"][indicator]["reference_lines"][line]
    return found


def _item(data: dict[str, Any], section: int = 0, item: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = data["checklist"]["sections"][section]["items"][item]
    return found


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: _line(d).pop("source"),
            r"surveys/practices.yaml: indicator 'caseload' reference_lines.0.source: Field required",
        ),
        (
            lambda d: _line(d).update(direction="about"),
            r"indicator 'caseload' reference_lines.0.direction: Input should be 'at_most' or 'at_least'",
        ),
        (
            lambda d: _line(d, 3).update(value=900),
            r"indicator 'turnover': Value error, reference value 900 is outside 0–400",
        ),
        (
            lambda d: d["indicators"][0].update(id="vibes"),
            r"indicator 'vibes' id: Value error, unknown indicator",
        ),
        (
            lambda d: d["indicators"].pop(1),
            r"surveys/practices.yaml: indicator 'staff_per_supervisor': is missing",
        ),
        (
            lambda d: d["indicators"].append(d["indicators"][0]),
            r"indicator 'caseload': id is used more than once",
        ),
        (
            lambda d: _item(d, 1, 0).update(id=_item(d)["id"]),
            r"item 'caseloads_by_complexity': id is used more than once",
        ),
        (
            lambda d: _item(d)["text"].pop("es"),
            r"checklist.sections.0.items.0.text.es: Field required",
        ),
        (
            lambda d: _item(d).update(id="Has Spaces"),
            r"checklist.sections.0.items.0.id: Value error, ids start with a letter",
        ),
        (lambda d: d.update(extra=1), r"extra: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_practices_file_is_refused_with_the_reason(
    surveys_copy: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    _edit(surveys_copy, change)
    with pytest.raises(BankError, match=message):
        load_guide(surveys_copy)


def test_a_broken_practices_file_stops_the_app_from_starting(surveys_copy: Path) -> None:
    (surveys_copy / "practices.yaml").write_text("indicators: [", encoding="utf-8")
    with pytest.raises(BankError, match=r"surveys/practices.yaml: not valid YAML"):
        create_app(
            {"WELLBEING_ENV": "testing", "SECRET_KEY": "x", "SURVEYS_DIR": str(surveys_copy)}
        )
