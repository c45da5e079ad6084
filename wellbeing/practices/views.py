"""Practices pages: monthly indicators per unit, and the practices self-assessment."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import current_user

from wellbeing.auth.access import AccessDenied, has_permission, login_required, requires
from wellbeing.auth.access_log import log_changes, log_views
from wellbeing.practices import charts, service
from wellbeing.practices.forms import RecordForm, checklist_form
from wellbeing.practices.guide import current_guide, init_guide
from wellbeing.types import utcnow

bp = Blueprint("practices", __name__, url_prefix="/practices")
log_views(bp, "page")
log_changes(bp)


@bp.record_once
def _load_guide(state: BlueprintSetupState) -> None:
    # The file is read at start-up, like the question bank: a broken one stops the app.
    init_guide(cast(Flask, state.app))


@bp.errorhandler(service.NotFound)
@bp.errorhandler(AccessDenied)
def not_in_scope(exc: Exception) -> ResponseReturnValue:
    """Outside one's scope and non-existent look the same."""
    return render_template("errors/not_found.html"), 404


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "practices/index.html",
        units=service.units_in_scope(current_user),
        can_record=has_permission(current_user, service.RECORD_PERMISSION),
    )


@bp.get("/units/<int:unit_id>")
@login_required
def unit(unit_id: int) -> ResponseReturnValue:
    found = service.unit_for(current_user, unit_id)
    series = service.practice_series(current_user, found)
    return render_template(
        "practices/unit.html",
        practice_unit=found,
        practice_series=series,
        practice_figures=charts.indicator_figures(series),
        records=list(reversed(service.unit_records(current_user, found))),
        guide=current_guide(),
        can_record=has_permission(current_user, service.RECORD_PERMISSION),
    )


@bp.route("/units/<int:unit_id>/record", methods=["GET", "POST"])
@requires(service.RECORD_PERMISSION)
def record(unit_id: int) -> ResponseReturnValue:
    found = service.unit_for(current_user, unit_id)
    form = RecordForm()
    form.label_from(current_guide())
    problem = None
    existing = None
    if request.method == "GET":
        asked = request.args.get("month", "")[:20]
        try:
            month = service.parse_month(asked) if asked else utcnow().date().replace(day=1)
        except service.PracticeError:
            month = utcnow().date().replace(day=1)
        form.month.data = f"{month:%Y-%m}"
        existing = service.record_for(current_user, found, month)
        if existing is not None:
            for name in form.values():
                form[name].data = existing.value(name)
    elif form.validate_on_submit():
        try:
            saved, created = service.record_month(
                current_user, found, form.month_start, form.values()
            )
        except service.PracticeError as exc:
            problem = str(exc)
        else:
            done = "recorded" if created else "updated"
            flash(f"{saved.month:%B %Y} {done} for {found.name}.", "info")
            return redirect(url_for("practices.unit", unit_id=found.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "practices/record_form.html",
        form=form,
        practice_unit=found,
        existing=existing,
        problem=problem,
    ), status


@bp.get("/units/<int:unit_id>/assessments")
@login_required
def assessments(unit_id: int) -> ResponseReturnValue:
    found = service.unit_for(current_user, unit_id)
    report = service.progress(current_user, found)
    figure = charts.progress_figure(report.summaries) if report.summaries else None
    return render_template(
        "practices/progress.html",
        practice_unit=found,
        progress=report,
        figure=figure,
        guide=current_guide(),
    )


@bp.route("/units/<int:unit_id>/assessments/new", methods=["GET", "POST"])
@login_required
def new_assessment(unit_id: int) -> ResponseReturnValue:
    found = service.unit_for(current_user, unit_id)
    guide = current_guide()
    form = checklist_form(guide.items)
    previous = service.latest_assessment(current_user, found)
    problem = None
    if request.method == "GET":
        form.assessed_on.data = utcnow().date().isoformat()
        form.fill(service.starting_answers(current_user, found))
    elif form.validate_on_submit():
        try:
            saved = service.save_assessment(current_user, found, form.assessed_day, form.answers())
        except service.PracticeError as exc:
            problem = str(exc)
        else:
            flash(f"Assessment of {saved.assessed_on.isoformat()} saved for {found.name}.", "info")
            return redirect(url_for("practices.assessment", assessment_id=saved.id))
    else:
        unrated = form.unrated()
        problem = (
            f"{unrated} item{'s' if unrated != 1 else ''} still need{'' if unrated != 1 else 's'} "
            "a rating."
            if unrated
            else "Some answers need attention; see the messages below."
        )
    status = 422 if request.method == "POST" else 200
    return render_template(
        "practices/assessment_form.html",
        form=form,
        practice_unit=found,
        guide=guide,
        previous=previous,
        problem=problem,
    ), status


@bp.get("/assessments/<int:assessment_id>")
@login_required
def assessment(assessment_id: int) -> ResponseReturnValue:
    found = service.assessment_for(current_user, assessment_id)
    previous = service.previous_of(found)
    return render_template(
        "practices/assessment.html",
        assessment=found,
        summary=service.summarise(found),
        previous=previous,
        changed=service.changes(previous, found),
        ratings={r.item_id: r for r in found.ratings},
        guide=current_guide(),
    )
