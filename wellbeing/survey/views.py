"""The survey pages staff reach from their email: the link, the form and the thank-you page.

Status codes: an unknown link, or the survey opened without one, is 404; an expired link or a
closed pulse is 410. Following a link again after answering is 200: looking at a finished
survey is a normal, successful request, and the page says the answers are in. Posting answers
again is 409: that request conflicts with the answers already in.

The invitation stays in the session until the thank-you page, which the browser reaches only
after the answers were committed; if the commit failed, the person can still send again, and
a replayed post meets the responses service's once-only guard either way.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale, refresh
from flask_wtf.csrf import CSRFError
from werkzeug import Response
from werkzeug.exceptions import RequestEntityTooLarge

from wellbeing.extensions import limiter
from wellbeing.responses.models import COMMENT_MAX_CHARS
from wellbeing.survey import service
from wellbeing.survey.language import DEFAULT_LANGUAGE, VISIT_KEY, known_language, stored_visit

bp = Blueprint("survey", __name__)


def _language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def _visit() -> service.Visit:
    """The visit the session holds, or the reason there is none."""
    state = stored_visit()
    invitation_id = state.get("invitation")
    if not isinstance(invitation_id, int):
        if state.get("sent"):
            raise service.AnswersAlreadyIn(known_language(state.get("lang")))
        raise service.LinkNotFound()
    first = state.get("first")
    return service.Visit(
        invitation_id,
        known_language(state.get("lang")) or DEFAULT_LANGUAGE,
        first if isinstance(first, str) else None,
    )


def _keep(**state: object) -> None:
    session[VISIT_KEY] = {key: value for key, value in state.items() if value is not None}


@bp.get("/s/<token>")
def follow_link(token: str) -> ResponseReturnValue:
    visit = service.exchange_link(token, request.args.get("a"))
    _keep(invitation=visit.invitation_id, lang=visit.language, first=visit.first_answer)
    return redirect(url_for("survey.form"), 303)


@bp.get("/survey")
def form() -> ResponseReturnValue:
    visit = _visit()
    if asked := known_language(request.args.get("lang")):
        _keep(**(stored_visit() | {"lang": asked}))
    return render_template("survey/form.html", form=service.survey_form(visit, _language()))


def _submission_limit() -> str:
    return str(current_app.config["SURVEY_RATE_LIMIT"])


@bp.post("/survey")
@limiter.limit(_submission_limit)
def send() -> ResponseReturnValue:
    visit = _visit()
    try:
        service.send_answers(visit.invitation_id, request.form)
    except service.AnswersNotAccepted as problem:
        page = service.survey_form(visit, _language(), sent=request.form)
        return render_template("survey/form.html", form=page, problem=str(problem)), 422
    _keep(invitation=visit.invitation_id, lang=stored_visit().get("lang"), sent=True)
    return redirect(url_for("survey.thanks"), 303)


@bp.get("/survey/thanks")
def thanks() -> ResponseReturnValue:
    state = stored_visit()
    if not state.get("sent"):
        # Only someone whose answers are in is thanked for them.
        if "invitation" in state:
            return redirect(url_for("survey.form"), 303)
        raise service.LinkNotFound()
    done = service.you_said_we_did(state.get("invitation"), _language())
    _keep(lang=state.get("lang"), sent=True)  # the invitation leaves the session here
    return render_template(
        "survey/thanks.html", resources=service.support_resources(_language()), done=done
    )


@bp.url_value_preprocessor
def decide_language_afresh(endpoint: str | None, values: dict[str, object] | None) -> None:
    """Choose the language per request, before any check can fail and render a page.

    Flask-Babel caches its choice on ``g``, which outlives a request whenever one application
    context spans several (as in tests); URL preprocessors run before every before-request
    check, CSRF included.
    """
    refresh()


@bp.after_request
def keep_out_of_caches(response: Response) -> Response:
    """Survey pages hold a person's answers: no cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def page_language() -> dict[str, str]:
    return {"page_lang": _language()}


_UNAVAILABLE_PAGES: dict[type[service.SurveyUnavailable], tuple[str, int]] = {
    service.LinkNotFound: ("survey/not_found.html", 404),
    service.SurveyClosed: ("survey/closed.html", 410),
    service.AnswersAlreadyIn: ("survey/already_in.html", 200),
}


@bp.errorhandler(service.SurveyUnavailable)
def unavailable(exc: service.SurveyUnavailable) -> ResponseReturnValue:
    """A friendly page saying why the survey cannot be answered, in the person's language."""
    template, status = _UNAVAILABLE_PAGES[type(exc)]
    if isinstance(exc, service.AnswersAlreadyIn) and request.method == "POST":
        status = 409
    state = stored_visit()
    if request.endpoint != "survey.follow_link" and "invitation" in state:
        # A visit that cannot go on leaves the session; a bad link leaves a good visit alone.
        answered = isinstance(exc, service.AnswersAlreadyIn) or state.get("sent")
        _keep(lang=state.get("lang"), sent=True if answered else None)
    with force_locale(exc.language or _language()):
        return render_template(template), status


@bp.errorhandler(CSRFError)
def not_sent(exc: CSRFError) -> ResponseReturnValue:
    return render_template("survey/not_sent.html"), 400


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    return render_template("survey/too_large.html", comment_max=COMMENT_MAX_CHARS), 413
