"""The staff survey through HTTP: the emailed link, the form, sending, and every refusal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from tests import survey_helpers as s
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation, InvitationToken, Wave
from wellbeing.pulse.tokens import token_hash
from wellbeing.responses import service as responses
from wellbeing.responses.models import Answer, Choice, Response, Submission
from wellbeing.types import utcnow

NOT_FOUND = "We could not open your survey"
CLOSED = "This pulse has closed"
ALREADY_IN = "Your answers are already in"
NOT_SENT = "Your answers were not sent"


def _buffered() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) or 0)


def _answered(invitation_id: int) -> bool:
    return bool(
        db.session.scalar(sa.select(Invitation.responded).where(Invitation.id == invitation_id))
    )


def _open(client: FlaskClient, language: str = "en") -> tuple[Wave, Invitation, str]:
    """A live wave, one of its invitations, and that person's survey page after the link."""
    wave = s.open_wave(6, locale=language)
    invitation = s.invitations(wave)[0]
    token = s.link_token(invitation)
    assert client.get(f"/s/{token}").status_code == 303
    page = client.get("/survey")
    assert page.status_code == 200
    return wave, invitation, page.get_data(as_text=True)


def _answers(wave: Wave, page: str, value: str = "3", **extra: str) -> dict[str, str]:
    data = {f"answer-{item_id}": value for item_id in wave.item_ids}
    data["csrf_token"] = s.csrf_token(page)
    data.update(extra)
    return data


# ---------------------------------------------------------------- the link


def test_the_link_is_exchanged_and_never_shown_again(app: Flask, client: FlaskClient) -> None:
    wave = s.open_wave(6)
    invitation = s.invitations(wave)[0]
    token = s.link_token(invitation)
    response = client.get(f"/s/{token}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/survey"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert token not in response.headers.get("Set-Cookie", "")
    page = client.get("/survey")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert token not in html
    assert page.headers["Cache-Control"] == "no-store"
    # The only hidden field is the CSRF token: no invitation id, no token.
    hidden = re.findall(r'<input[^>]*type="hidden"[^>]*>', html)
    assert len(hidden) == 1 and 'name="csrf_token"' in hidden[0]
    assert '<form method="post" action="/survey" ' in html


def test_following_a_link_records_nothing(app: Flask, client: FlaskClient) -> None:
    """Email security scanners open every link, one-tap answers included."""
    wave = s.open_wave(6)
    invitation = s.invitations(wave)[0]
    token = s.link_token(invitation)
    for _ in range(3):
        assert client.get(f"/s/{token}?a=5").status_code == 303
        assert client.get("/survey").status_code == 200
        assert client.head(f"/s/{token}?a=1").status_code == 303
    assert _buffered() == 0
    assert not _answered(invitation.id)


@pytest.mark.parametrize(
    "make_link",
    [
        lambda token: "not-a-token",  # too short for a token
        lambda token: "x" * 65,  # too long
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character changed
        lambda token: token[:30],  # cut off by an email program
        lambda token: token + "é",  # not a character a token has
    ],
)
def test_a_wrong_link_gets_a_friendly_404(
    app: Flask, client: FlaskClient, make_link: object
) -> None:
    wave = s.open_wave(6)
    token = s.link_token(s.invitations(wave)[0])
    response = client.get(f"/s/{make_link(token)}")  # type: ignore[operator]
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert NOT_FOUND in html and "open the link in your most recent pulse email" in html
    assert token not in html
    assert "Set-Cookie" not in response.headers


def test_a_wrong_link_answers_in_the_browser_language(app: Flask, client: FlaskClient) -> None:
    response = client.get("/s/" + "z" * 40, headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert response.status_code == 404
    assert "No pudimos abrir su encuesta" in response.get_data(as_text=True)


def test_an_expired_link_gets_a_friendly_410(app: Flask, client: FlaskClient) -> None:
    wave = s.open_wave(6)
    invitation = s.invitations(wave)[0]
    token = s.link_token(invitation)
    link = db.session.get(InvitationToken, token_hash(token))
    assert link is not None
    link.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    response = client.get(f"/s/{token}")
    assert response.status_code == 410
    assert CLOSED in response.get_data(as_text=True)
    assert client.get("/survey").status_code == 404  # nothing was exchanged


def test_a_closed_pulse_gets_a_friendly_410_in_the_persons_language(
    app: Flask, client: FlaskClient
) -> None:
    wave = s.open_wave(6, locale="es")
    token = s.link_token(s.invitations(wave)[0])
    pulse.close_wave(wave)
    response = client.get(f"/s/{token}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "Esta encuesta ya cerró" in html and '<html lang="es">' in html


def test_a_pulse_past_its_closing_time_takes_no_answers(app: Flask, client: FlaskClient) -> None:
    """The scheduler may not have closed it yet; the closing time alone decides."""
    wave, invitation, page = _open(client)
    data = _answers(wave, page)
    wave.opens_at = utcnow() - timedelta(days=8)
    wave.closes_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    response = client.post("/survey", data=data)
    assert response.status_code == 410
    assert CLOSED in response.get_data(as_text=True)
    assert _buffered() == 0 and not _answered(invitation.id)
    assert client.get("/survey").status_code == 404  # the visit has ended


def test_following_the_link_again_after_answering_says_the_answers_are_in(
    app: Flask, client: FlaskClient
) -> None:
    wave = s.open_wave(6)
    invitation = s.invitations(wave)[0]
    token = s.link_token(invitation)
    responses.submit(invitation.id, responses.check_answers(wave, {wave.item_ids[0]: "4"}, None))
    db.session.expire_all()
    response = client.get(f"/s/{token}")
    assert response.status_code == 200
    assert ALREADY_IN in response.get_data(as_text=True)


def test_the_survey_without_a_link_explains_how_to_open_it(app: Flask, client: FlaskClient) -> None:
    response = client.get("/survey")
    assert response.status_code == 404
    assert NOT_FOUND in response.get_data(as_text=True)


# ---------------------------------------------------------------- the form


def test_the_form_shows_every_item_with_both_opt_outs(app: Flask, client: FlaskClient) -> None:
    wave, _, html = _open(client)
    bank = current_bank()
    assert len(wave.item_ids) == 10
    assert "About 2 minutes." in html and "10 questions." in html
    for number, item_id in enumerate(wave.item_ids, start=1):
        assert bank.items[item_id].text.en in html
        assert f"Question {number} of 10" in html
        for value in [*map(str, bank.scale_of(item_id).values), "na", "pns"]:
            assert f'name="answer-{item_id}" value="{value}"' in html
    assert html.count(">Not applicable<") == 10
    assert html.count(">Prefer not to say<") == 10 + len(bank.cuts)  # each cut has its own
    assert html.count("<fieldset") == 10 + len(bank.cuts)
    assert html.count("<legend>") == html.count("<fieldset")
    for cut in bank.cuts.values():
        assert cut.question.en in html
        assert f'name="about-{cut.id}" value="prefer_not_to_say"' in html
    assert "About you (optional)" in html and "at least 10 people" in html
    assert 'maxlength="2000"' in html and "Please do not name clients" in html


def test_the_privacy_explanation_follows_the_live_settings(app: Flask, client: FlaskClient) -> None:
    app.config["MIN_GROUP_SIZE"] = 8
    _, _, html = _open(client)
    assert "groups of at least 8 people" in html
    assert "at least 10 people answered and at least 3 wrote a comment" in html


def test_the_support_answers_are_marked_for_the_browser(app: Flask, client: FlaskClient) -> None:
    _, _, html = _open(client)
    burnout = re.search(
        r'<fieldset class="question" data-support-values="([^"]*)">\s*<legend>'
        r"[^\n]*Which of these best describes",
        html,
    )
    trauma = re.search(
        r'<fieldset class="question" data-support-values="([^"]*)">\s*<legend>'
        r"[^\n]*trauma you saw or heard",
        html,
    )
    assert burnout and burnout.group(1) == "3 4 5"
    assert trauma and trauma.group(1) == "4 5"
    assert html.count("data-support-values") == 2
    assert "<script>" not in html and "onclick" not in html and "onsubmit" not in html


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_item_text_renders_in_the_invitation_language(
    app: Flask, client: FlaskClient, language: str
) -> None:
    wave, _, html = _open(client, language)
    bank = current_bank()
    assert f'<html lang="{language}">' in html
    for item_id in wave.item_ids:
        assert bank.items[item_id].text.get(language) in html
        for option in bank.scale_of(item_id).options:
            assert option.label.get(language) in html
    for cut in bank.cuts.values():
        assert cut.question.get(language) in html
    if language == "es":
        assert "Enviar mis respuestas" in html and "No aplica" in html
        assert "Prefiero no responder" in html and "Sobre usted (opcional)" in html
        assert "Send my answers" not in html
    else:
        assert "Send my answers" in html and "Enviar mis respuestas" not in html


def test_the_language_can_be_switched_and_is_kept(app: Flask, client: FlaskClient) -> None:
    wave, _, html = _open(client)
    assert 'href="/survey?lang=es"' in html
    spanish = client.get("/survey?lang=es").get_data(as_text=True)
    assert current_bank().items[wave.item_ids[0]].text.es in spanish
    assert 'href="/survey?lang=en"' in spanish
    data = _answers(wave, spanish, comment="")
    client.post("/survey", data=data)
    thanks = client.get("/survey/thanks").get_data(as_text=True)
    assert "Gracias. Recibimos sus respuestas." in thanks
    assert client.get("/survey?lang=fr").status_code == 200  # unknown languages are ignored


def test_a_one_tap_link_preselects_the_first_answer(app: Flask, client: FlaskClient) -> None:
    wave = s.open_wave(6)
    token = s.link_token(s.invitations(wave)[0])
    first = wave.item_ids[0]
    assert client.get(f"/s/{token}?a=4").headers["Location"] == "/survey"
    html = client.get("/survey").get_data(as_text=True)
    assert re.search(rf'name="answer-{first}" value="4" checked', html)
    assert html.count(" checked") == 1
    assert "“Agree” is already marked for the first question" in html
    assert _buffered() == 0


@pytest.mark.parametrize("value", ["9", "0", "agree", "", "4; DROP TABLE"])
def test_a_one_tap_value_that_is_not_an_option_is_dropped(
    app: Flask, client: FlaskClient, value: str
) -> None:
    wave = s.open_wave(6)
    token = s.link_token(s.invitations(wave)[0])
    assert client.get(f"/s/{token}", query_string={"a": value}).status_code == 303
    html = client.get("/survey").get_data(as_text=True)
    assert " checked" not in html and "already marked" not in html


# ---------------------------------------------------------------- sending


def test_sending_answers_seals_them_once_and_thanks_the_person(
    app: Flask, client: FlaskClient
) -> None:
    wave, invitation, page = _open(client)
    data = _answers(wave, page, "4", **{"about-role_type": "supervisor", "comment": "More time."})
    data[f"answer-{wave.item_ids[1]}"] = "na"
    data[f"answer-{wave.item_ids[2]}"] = "pns"
    response = client.post("/survey", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/survey/thanks"
    assert _buffered() == 1 and _answered(invitation.id)
    thanks = client.get("/survey/thanks")
    html = thanks.get_data(as_text=True)
    assert thanks.status_code == 200 and "Thank you. Your answers are in." in html
    # The invitation has left the session: the survey now only says the answers are in.
    again = client.get("/survey")
    assert again.status_code == 200 and ALREADY_IN in again.get_data(as_text=True)
    # What was sent arrives, unlinked, when the wave closes.
    pulse.close_wave(wave)
    assert responses.flush_buffer(wave.id) == 1
    response_row = db.session.scalar(sa.select(Response))
    assert response_row is not None and response_row.cuts == {"role_type": "supervisor"}
    choices = {a.item_id: (a.choice, a.value) for a in db.session.scalars(sa.select(Answer))}
    assert choices[wave.item_ids[0]] == (Choice.VALUE, 4)
    assert choices[wave.item_ids[1]] == (Choice.NOT_APPLICABLE, None)
    assert choices[wave.item_ids[2]] == (Choice.PREFER_NOT_TO_SAY, None)


def test_sending_twice_says_the_answers_are_in(app: Flask, client: FlaskClient) -> None:
    wave, _, page = _open(client)
    data = _answers(wave, page)
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert client.post("/survey", data=data).status_code == 303
    second = client.post("/survey", data=data)
    assert second.status_code == 409
    assert ALREADY_IN in second.get_data(as_text=True)
    # Replaying the request with the session as it was before the first send changes nothing.
    client.set_cookie("session", cookie.value)
    replay = client.post("/survey", data=data)
    assert replay.status_code == 409
    assert _buffered() == 1


def test_a_post_without_its_csrf_token_writes_nothing(app: Flask, client: FlaskClient) -> None:
    wave, invitation, page = _open(client)
    data = _answers(wave, page)
    del data["csrf_token"]
    response = client.post("/survey", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert NOT_SENT in html and "Nothing has been recorded" in html
    forged = client.post("/survey", data=data | {"csrf_token": "forged"})
    assert forged.status_code == 400
    assert _buffered() == 0 and not _answered(invitation.id)


@pytest.mark.parametrize("value", ["6", "0", "-1", "3.0", "three", "NA", "1,2"])
def test_an_answer_outside_the_options_writes_nothing(
    app: Flask, client: FlaskClient, value: str
) -> None:
    wave, invitation, page = _open(client)
    data = _answers(wave, page, "2")
    data[f"answer-{wave.item_ids[3]}"] = value
    response = client.post("/survey", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "One of the answers is not one of the options shown" in html
    # What they chose is still checked.
    assert f'name="answer-{wave.item_ids[0]}" value="2" checked' in html
    assert _buffered() == 0 and not _answered(invitation.id)


def test_an_unknown_question_writes_nothing(app: Flask, client: FlaskClient) -> None:
    wave, invitation, page = _open(client)
    other = next(i for i in current_bank().items if i not in wave.item_ids)
    for field in (f"answer-{other}", "answer-nope", "about-shoe_size"):
        response = client.post("/survey", data=_answers(wave, page) | {field: "3"})
        assert response.status_code == 422, field
    assert _buffered() == 0 and not _answered(invitation.id)


def test_two_values_for_one_question_write_nothing(app: Flask, client: FlaskClient) -> None:
    wave, invitation, page = _open(client)
    data = MultiDict(_answers(wave, page))
    data.add(f"answer-{wave.item_ids[0]}", "5")
    response = client.post("/survey", data=data)
    assert response.status_code == 422
    assert _buffered() == 0 and not _answered(invitation.id)


def test_an_empty_form_asks_for_at_least_one_answer(app: Flask, client: FlaskClient) -> None:
    _, invitation, page = _open(client)
    response = client.post("/survey", data={"csrf_token": s.csrf_token(page), "comment": "  "})
    assert response.status_code == 422
    assert "Please answer at least one question" in response.get_data(as_text=True)
    assert _buffered() == 0 and not _answered(invitation.id)


def test_an_oversized_comment_is_refused_and_kept(app: Flask, client: FlaskClient) -> None:
    wave, invitation, page = _open(client)
    response = client.post("/survey", data=_answers(wave, page, comment="x" * 2001))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Your comment is longer than 2000 characters" in html
    assert "x" * 2001 in html
    assert _buffered() == 0 and not _answered(invitation.id)


def test_line_breaks_count_once_as_the_browser_counts_them(app: Flask, client: FlaskClient) -> None:
    """A browser lets 2000 characters through maxlength, then sends each line break as CRLF."""
    wave, invitation, page = _open(client)
    comment = "\r\n".join(["y" * 99] * 20) + "y"  # 2000 characters when breaks count once
    response = client.post("/survey", data=_answers(wave, page, comment=comment))
    assert response.status_code == 303
    assert _answered(invitation.id)


def test_a_huge_post_is_refused_with_413(app: Flask, client: FlaskClient) -> None:
    wave, invitation, page = _open(client)
    response = client.post("/survey", data=_answers(wave, page, comment="z" * 300_000))
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "That was too much to send" in html and "up to 2000 characters" in html
    assert _buffered() == 0 and not _answered(invitation.id)


# ---------------------------------------------------------------- the thank-you page


def test_only_someone_who_answered_is_thanked(app: Flask, client: FlaskClient) -> None:
    assert client.get("/survey/thanks").status_code == 404
    _open(client)
    response = client.get("/survey/thanks")
    assert response.status_code == 303 and response.headers["Location"] == "/survey"


def test_without_javascript_the_support_resources_are_listed(
    app: Flask, client: FlaskClient
) -> None:
    wave, _, page = _open(client)
    client.post("/survey", data=_answers(wave, page))
    html = client.get("/survey/thanks").get_data(as_text=True)
    assert "If you need support" in html and "<details data-support-details open>" in html
    assert "Employee Assistance Program" in html
    assert 'href="tel:988"' in html and 'href="sms:741741?&amp;body=HOME"' in html
    assert '<script src="/static/survey.js" defer></script>' in html


def test_the_support_resources_are_in_spanish_for_spanish_speakers(
    app: Flask, client: FlaskClient
) -> None:
    wave, _, page = _open(client, "es")
    client.post("/survey", data=_answers(wave, page))
    html = client.get("/survey/thanks").get_data(as_text=True)
    assert "Si necesita apoyo" in html and "Programa de Asistencia al Empleado" in html
    assert 'href="sms:741741?&amp;body=AYUDA"' in html


def test_answers_the_database_refuses_get_the_retry_page_in_the_persons_language_and_can_be_sent_again(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, invitation, page = _open(client, "es")
    data = _answers(wave, page)

    def refuse() -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))

    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", refuse)
        refused = client.post("/survey", data=data)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert "Inténtelo de nuevo" in refused.get_data(as_text=True)
    assert _buffered() == 0 and not _answered(invitation.id)  # nothing half-written
    # Nor does the session claim the answers are in: the thank-you page sends them back.
    back = client.get("/survey/thanks")
    assert back.status_code == 303 and back.headers["Location"].endswith("/survey")

    sent = client.post("/survey", data=data)
    assert sent.status_code == 303
    assert _buffered() == 1 and _answered(invitation.id)
