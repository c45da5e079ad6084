"""You said, we did: the action lifecycle, scope, chart annotations, suggestions, and telling staff.

Actions are recorded through the pages and the service; staff hear about them in the thank-you
page and in the next invitation, received by a real SMTP server, in English and in Spanish.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests import factories, web
from tests import pulse_helpers as h
from tests import report_helpers as reports_h
from tests import survey_helpers as s
from tests.smtp import SmtpServer
from tests.test_reports import sign_in
from wellbeing.actions import service as actions
from wellbeing.actions.models import Action, ActionEntry, ActionStatus, EntryKind, Stage
from wellbeing.auth.access import AccessDenied
from wellbeing.auth.models import Role
from wellbeing.extensions import db
from wellbeing.org.models import Unit
from wellbeing.pulse import mailer
from wellbeing.pulse import service as pulse
from wellbeing.releases.models import ReleaseCell
from wellbeing.types import utcnow

CHART = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.S)


def _draft(unit: Unit, **fields: object) -> actions.ActionDraft:
    values: dict[str, object] = {
        "unit_id": unit.id,
        "domains": ["work_life_harmony"],
        "title": "Protect one no-visit afternoon a week",
        "start_date": date(2026, 3, 10),
        "heard": "Workload and after-hours calls are the lowest results in the team.",
        "plan": "Block Friday afternoons for notes and supervision.",
    }
    values.update(fields)
    return actions.ActionDraft(**values)  # type: ignore[arg-type]


def _unit(path: str) -> Unit:
    unit = db.session.scalar(sa.select(Unit).where(Unit.path == f"{h.AGENCY}/{path}"))
    assert unit is not None
    return unit


# ------------------------------------------------------------------ lifecycle


def test_an_action_moves_through_its_life_and_every_step_is_in_its_history(app: Flask) -> None:
    h.staff("North", 2)
    admin = factories.user("coord@example.org", Role.COORDINATOR)
    action = actions.record_action(admin, _draft(_unit("North")))
    assert action.status is ActionStatus.PLANNED

    actions.move(admin, action, ActionStatus.IN_PROGRESS, date(2026, 3, 17))
    assert action.start_date == date(2026, 3, 17)  # started later than planned
    actions.add_note(
        admin, action, Stage.DO, "Two of five Fridays were lost to court.", date(2026, 4, 3)
    )
    changes = actions.edit_action(
        admin,
        action,
        _draft(_unit("North"), title="Protect Friday afternoons", start_date=date(2026, 3, 17)),
    )
    assert changes == {
        "title": ["Protect one no-visit afternoon a week", "Protect Friday afternoons"]
    }
    actions.move(admin, action, ActionStatus.DONE, date(2026, 5, 1), "Kept as a standing rule.")
    assert action.finished_on == date(2026, 5, 1)

    with pytest.raises(actions.ActionError, match="A done action cannot become in progress"):
        actions.move(admin, action, ActionStatus.IN_PROGRESS, date(2026, 5, 2))
    db.session.flush()
    entries = db.session.scalars(
        sa.select(ActionEntry).where(ActionEntry.action_id == action.id).order_by(ActionEntry.id)
    ).all()
    assert [e.kind for e in entries] == [
        EntryKind.CREATED,
        EntryKind.STATUS,
        EntryKind.NOTE,
        EntryKind.EDITED,
        EntryKind.STATUS,
    ]
    assert (entries[1].status_from, entries[1].status_to) == ("planned", "in_progress")
    assert entries[2].stage is Stage.DO
    assert entries[4].body == "Kept as a standing rule."
    assert all(e.by_email == "coord@example.org" for e in entries)


@pytest.mark.parametrize(
    ("start", "end", "allowed"),
    [
        (ActionStatus.PLANNED, ActionStatus.DONE, False),
        (ActionStatus.PLANNED, ActionStatus.STOPPED, True),
        (ActionStatus.STOPPED, ActionStatus.IN_PROGRESS, True),
        (ActionStatus.STOPPED, ActionStatus.DONE, False),
        (ActionStatus.IN_PROGRESS, ActionStatus.PLANNED, False),
    ],
)
def test_only_transitions_that_make_sense_are_allowed(
    app: Flask, start: ActionStatus, end: ActionStatus, allowed: bool
) -> None:
    h.staff("North", 1)
    admin = factories.user("admin@example.org", Role.ADMIN)
    action = actions.record_action(admin, _draft(_unit("North")))
    action.status = start
    if allowed:
        actions.move(admin, action, end, date(2026, 4, 1))
        assert action.status is end
    else:
        with pytest.raises(actions.ActionError, match="cannot become"):
            actions.move(admin, action, end, date(2026, 4, 1))
        assert action.status is start


def test_bad_drafts_are_refused_with_what_to_fix(app: Flask) -> None:
    h.staff("North", 1)
    admin = factories.user("admin@example.org", Role.ADMIN)
    north = _unit("North")
    cases = [
        (_draft(north, domains=[]), "at least one area"),
        (_draft(north, domains=["happiness"]), "not an area"),
        (_draft(north, title="  "), "short title"),
        (_draft(north, title="x" * 201), "under 200"),
        (_draft(north, concept_id="no_such_idea"), "not in the library"),
    ]
    for draft, message in cases:
        with pytest.raises(actions.ActionError, match=message):
            actions.record_action(admin, draft)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Action)) == 0


# ------------------------------------------------------------------ scope


def test_a_leader_acts_only_within_their_scope(app: Flask, client: FlaskClient) -> None:
    history = reports_h.build_history(waves=2)
    west = history.unit("Home Visiting/West")
    north = history.unit("Child Welfare/North")
    with pytest.raises(AccessDenied):
        actions.record_action(history.cw_lead, _draft(west))
    theirs = actions.record_action(history.hv_lead, _draft(west))
    mine = actions.record_action(history.cw_lead, _draft(north))
    db.session.commit()

    sign_in(client, history.cw_lead.email)
    assert client.get(f"/actions/{mine.id}").status_code == 200
    assert client.get(f"/actions/{theirs.id}").status_code == 404
    assert client.get(f"/actions/{theirs.id}/edit").status_code == 404
    assert client.get(f"/actions/?unit={west.id}").status_code == 404
    listing = client.get("/actions/").get_data(as_text=True)
    assert f"/actions/{mine.id}" in listing and f"/actions/{theirs.id}" not in listing
    token = web.csrf_token(client, f"/actions/{mine.id}")
    moved = client.post(
        f"/actions/{theirs.id}/status",
        data={"csrf_token": token, "status": "in_progress", "on_date": "2026-04-01"},
    )
    assert moved.status_code == 404
    # Tampering with the form's unit: the choice is not offered, nothing is saved.
    form = web.csrf_token(client, "/actions/new")
    refused = client.post(
        "/actions/new",
        data={
            "csrf_token": form,
            "unit": str(west.id),
            "domains": "work_life_harmony",
            "title": "Sneaky",
            "start_date": "2026-04-01",
        },
    )
    assert refused.status_code == 422
    assert db.session.scalar(sa.select(Action.id).where(Action.title == "Sneaky")) is None


def test_an_action_recorded_through_the_pages_keeps_what_prompted_it(
    app: Flask, client: FlaskClient
) -> None:
    history = reports_h.build_history(waves=2)
    north = history.unit("Child Welfare/North")
    cell = db.session.scalar(
        sa.select(ReleaseCell).where(
            ReleaseCell.unit_id == north.id,
            ReleaseCell.measure == "work_life_harmony",
            ReleaseCell.metric == "index",
            ReleaseCell.cut == "",
            ReleaseCell.hidden.is_(False),
        )
    )
    assert cell is not None
    db.session.commit()
    sign_in(client, history.cw_lead.email)
    page = client.get(f"/actions/new?unit={north.id}&concept=flexible_work_policy&cell={cell.id}")
    assert page.status_code in (200,)
    html = page.get_data(as_text=True)
    token = web.csrf_token(client, f"/actions/new?unit={north.id}")
    saved = client.post(
        "/actions/new",
        data={
            "csrf_token": token,
            "unit": str(north.id),
            "domains": ["work_life_harmony", "mattering_at_work"],
            "title": "Protect focus time",
            "title_es": "Proteger el tiempo de concentración",
            "heard": "Harmony is the lowest area this wave.",
            "plan": "No meetings on Thursday mornings.",
            "start_date": "2026-04-01",
            "cell": str(cell.id),
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    action = db.session.scalar(sa.select(Action).where(Action.title == "Protect focus time"))
    assert action is not None
    assert action.heard_cell_id == cell.id
    assert action.domains == ["work_life_harmony", "mattering_at_work"]
    assert action.created_by_id == history.cw_lead.id
    assert "Record an action" in html
    shown = client.get(f"/actions/{action.id}").get_data(as_text=True)
    assert "Protect focus time" in shown and "Recorded as planned" in shown


# ------------------------------------------------------------------ charts and suggestions


def _figures(html: str) -> dict[str, dict[str, object]]:
    return {name: json.loads(body) for name, body in CHART.findall(html)}


def test_starts_and_status_changes_are_annotations_on_the_unit_charts(
    app: Flask, client: FlaskClient
) -> None:
    history = reports_h.build_history(waves=4)
    north = history.unit("Child Welfare/North")
    first, last = history.waves[0].scheduled_for, history.waves[-1].scheduled_for
    action = actions.record_action(history.admin, _draft(north, start_date=first))
    actions.move(history.admin, action, ActionStatus.IN_PROGRESS, first + timedelta(days=3))
    actions.move(history.admin, action, ActionStatus.DONE, last - timedelta(days=2))
    other = actions.record_action(
        history.admin, _draft(north, domains=["mattering_at_work"], title="Say thank you")
    )
    db.session.commit()
    sign_in(client, history.admin.email)
    html = client.get(f"/results/units/{north.id}").get_data(as_text=True)
    marks: dict[str, list[tuple[str, str]]] = {}
    for name, figure in _figures(html).items():
        layout = figure["layout"]
        assert isinstance(layout, dict)
        marks[name] = [
            (a["meta"]["what"], a["x"])
            for a in layout.get("annotations", [])
            if a.get("meta", {}).get("kind") == "action"
        ]
    harmony = next(v for k, v in marks.items() if "work_life_harmony" in k and "index" in k)
    assert harmony == [
        ("started", (first + timedelta(days=3)).isoformat()),
        ("done", (last - timedelta(days=2)).isoformat()),
    ]
    # Planned actions are not on the charts, and an action marks only its own areas.
    assert all(not v for k, v in marks.items() if "mattering" in k)
    assert other.status is ActionStatus.PLANNED
    assert "Say thank you" in html  # but it is listed on the page


def test_low_or_falling_domains_get_change_concepts(app: Flask, client: FlaskClient) -> None:
    history = reports_h.build_history(waves=2)
    north = history.unit("Child Welfare/North")
    db.session.commit()
    sign_in(client, history.admin.email)
    app.config["SUGGEST_BELOW"] = 0.0
    assert "data-suggestion=" not in client.get(f"/results/units/{north.id}").get_data(as_text=True)
    app.config["SUGGEST_BELOW"] = 101.0
    html = client.get(f"/results/units/{north.id}").get_data(as_text=True)
    suggested = set(re.findall(r'data-suggestion="([a-z_]+)"', html))
    assert {"protection_from_harm", "work_life_harmony"} <= suggested
    assert f"/actions/new?unit={north.id}&amp;concept=" in html
    library = client.get("/actions/concepts").get_data(as_text=True)
    assert "Protection from Harm" in library and "Plan this as an action" in library


# ------------------------------------------------------------------ back to staff


def test_the_invitation_says_what_was_done_in_each_language(
    app: Flask, smtp_server: SmtpServer
) -> None:
    smtp_server.serve(app)
    (english,) = h.staff("North", 1)
    (spanish,) = h.staff("North", 1, locale="es", start=1)
    (elsewhere,) = h.staff("South", 1, start=2)
    admin = factories.user("admin@example.org", Role.ADMIN)
    north = _unit("North")
    done = actions.record_action(
        admin,
        _draft(
            north,
            title="Protect Friday afternoons",
            title_es="Proteger las tardes de los viernes",
            plan="No visits after 1 pm on Fridays.",
            plan_es="Sin visitas después de la 1 p. m. los viernes.",
            start_date=(h.NOW - timedelta(days=40)).date(),
        ),
    )
    actions.move(admin, done, ActionStatus.IN_PROGRESS, (h.NOW - timedelta(days=40)).date())
    actions.move(admin, done, ActionStatus.DONE, (h.NOW - timedelta(days=5)).date())
    agency = actions.record_action(
        admin,
        _draft(
            db.session.scalar(sa.select(Unit).where(Unit.path == h.AGENCY)),
            title="Peer support circles",
            start_date=(h.NOW - timedelta(days=10)).date(),
        ),
    )
    actions.move(admin, agency, ActionStatus.IN_PROGRESS, (h.NOW - timedelta(days=10)).date())
    planned = actions.record_action(admin, _draft(north, title="A plan not yet started"))
    assert planned.status is ActionStatus.PLANNED
    pulse.open_wave(h.program(), h.NOW)
    mailer.send_due(now=h.NOW + timedelta(hours=12))

    (en,) = smtp_server.to(english)
    assert "You said, we did" in en.text and "You said, we did" in en.html
    assert "Protect Friday afternoons (North, finished 26 February 2026)" in en.text
    assert "Peer support circles (Riverside, started 21 February 2026)" in en.text
    assert "No visits after 1 pm on Fridays." in en.html
    assert "A plan not yet started" not in en.text
    (es,) = smtp_server.to(spanish)
    assert "Ustedes hablaron, nosotros actuamos" in es.text
    assert "Proteger las tardes de los viernes (North, se terminó el 26 febrero 2026)" in es.text
    assert "Sin visitas después de la 1 p. m. los viernes." in es.html
    (other,) = smtp_server.to(elsewhere)
    assert "Protect Friday afternoons" not in other.text  # another team's action
    assert "Peer support circles" in other.text  # the whole agency's


def test_the_thank_you_page_says_what_was_done(app: Flask, client: FlaskClient) -> None:
    wave = s.open_wave(6)
    admin = factories.user("admin@example.org", Role.ADMIN)
    today = utcnow().date()
    action = actions.record_action(
        admin,
        _draft(
            _unit("North"), title="Fix the car pool booking", start_date=today - timedelta(days=3)
        ),
    )
    actions.move(admin, action, ActionStatus.IN_PROGRESS, today - timedelta(days=3))
    invitation = s.invitations(wave)[0]
    token = s.link_token(invitation)
    db.session.commit()
    assert client.get(f"/s/{token}").status_code == 303
    page = client.get("/survey").get_data(as_text=True)
    data = {f"answer-{item_id}": "4" for item_id in wave.item_ids}
    data["csrf_token"] = s.csrf_token(page)
    assert client.post("/survey", data=data).status_code == 303
    thanks = client.get("/survey/thanks").get_data(as_text=True)
    assert "You said, we did" in thanks
    assert "Fix the car pool booking" in thanks


# ------------------------------------------------------------------ the follow-up question


def test_the_next_wave_asks_the_unit_whether_the_action_made_a_difference(
    app: Flask, client: FlaskClient
) -> None:
    from wellbeing.actions import follow_up
    from wellbeing.pulse.models import Invitation
    from wellbeing.releases import service as releases
    from wellbeing.reports import service as reports
    from wellbeing.responses import service as responses
    from wellbeing.survey import service as survey

    h.staff("North", 8)
    h.staff("South", 6, start=8)
    admin = factories.user("admin@example.org", Role.ADMIN)
    program = h.program()
    first = pulse.open_wave(program, h.NOW)
    pulse.close_wave(first)
    north = _unit("North")
    action = actions.record_action(
        admin, _draft(north, title="Protect Friday afternoons", title_es="Proteger los viernes")
    )
    actions.move(admin, action, ActionStatus.IN_PROGRESS, (h.NOW + timedelta(days=1)).date())
    planned = actions.record_action(admin, _draft(north, title="Not started yet"))
    db.session.flush()

    second = pulse.open_wave(program, h.NOW + timedelta(days=14))
    item_id = f"follow_up_{action.id}"
    assert second.item_ids[-1] == item_id
    assert f"follow_up_{planned.id}" not in second.item_ids
    invitations = db.session.scalars(
        sa.select(Invitation).where(Invitation.wave_id == second.id).order_by(Invitation.id)
    ).all()
    for number, invitation in enumerate(invitations):
        bank = follow_up.bank_for(second, invitation.unit_id)
        asked = [i for i in second.item_ids if i in bank.items]
        # The email's question count and time estimate count only what this person is asked.
        assert survey.question_count(invitation) == len(asked)
        if invitation.unit_id == north.id:
            assert item_id in asked
            assert (
                bank.items[item_id].text.get("en")
                == "Has “Protect Friday afternoons” made a difference for you?"
            )
            assert (
                bank.items[item_id].text.get("es")
                == "¿«Proteger los viernes» ha marcado una diferencia para usted?"
            )
        else:
            assert item_id not in asked
            assert len(asked) == len(second.item_ids) - 1
            # Someone outside the unit cannot answer it either.
            with pytest.raises(responses.SubmissionError, match="unknown question"):
                responses.check_answers(second, {item_id: "1"}, None, None, bank)
        raw = {i: str(1 + (number + n) % 4) for n, i in enumerate(asked)}
        responses.submit(invitation.id, responses.check_answers(second, raw, None, None, bank))
    pulse.close_wave(second)
    responses.flush_buffer(second.id)
    releases.compute_release(second)
    db.session.commit()

    cells = {
        (c.unit_id, c.metric): c
        for c in db.session.scalars(
            sa.select(ReleaseCell).where(ReleaseCell.measure == item_id, ReleaseCell.cut == "")
        )
    }
    shown = cells[(north.id, "favourable_pct")]
    assert not shown.hidden and shown.value is not None
    assert cells[(_unit("South").id, "favourable_pct")].hidden  # nobody there was asked
    assert not any(
        c.measure == item_id
        for c in db.session.scalars(
            sa.select(ReleaseCell).where(
                ReleaseCell.metric == "index", ReleaseCell.measure == item_id
            )
        )
    )
    web.sign_in(client, "viewer@example.org", Role.ADMIN)
    page = client.get(f"/results/units/{north.id}").get_data(as_text=True)
    assert "Has “Protect Friday afternoons” made a difference for you?" in page
    south = client.get(f"/results/units/{_unit('South').id}").get_data(as_text=True)
    assert "Protect Friday afternoons" not in south
    assert item_id in [r.item_id for r in reports.unit_report(admin, north.id).items]
