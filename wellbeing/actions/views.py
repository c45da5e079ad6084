"""Pages for the change concept library and for recording and following actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import SelectChoice

from wellbeing.actions import service
from wellbeing.actions.forms import STAGE_NAMES, ActionForm, NoteForm, StatusForm
from wellbeing.actions.models import STATUS_MOVES, Action, ActionStatus, Stage
from wellbeing.auth.access import AccessDenied, login_required
from wellbeing.auth.access_log import log_changes, log_views
from wellbeing.bank import current_bank
from wellbeing.boundary import query_id
from wellbeing.extensions import db
from wellbeing.reports import service as reports

bp = Blueprint("actions", __name__, url_prefix="/actions")
log_views(bp, "page")
log_changes(bp)


@bp.errorhandler(AccessDenied)
@bp.errorhandler(reports.NotInScope)
def not_in_scope(exc: Exception) -> ResponseReturnValue:
    return render_template("errors/not_found.html"), 404


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    unit_id = query_id("unit")
    unit = reports.unit_for(current_user, unit_id) if unit_id else None
    actions = service.actions_for(current_user, unit_id)
    return render_template(
        "actions/index.html", actions=actions, unit=unit, domains=_domain_names()
    )


@bp.get("/concepts")
@login_required
def concepts() -> ResponseReturnValue:
    unit_id = query_id("unit")
    unit = reports.unit_for(current_user, unit_id) if unit_id else None
    return render_template(
        "actions/concepts.html",
        shelves=service.library(),
        source=_concept_source(),
        unit=unit,
        wanted=request.args.get("domain", ""),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    form = _action_form()
    cell = service.heard_cell(current_user, query_id("cell"))
    if request.method == "GET":
        form.unit.data = query_id("unit")
        picked = service.concept(request.args.get("concept"))
        domain = request.args.get("domain") or (picked.domain if picked else None)
        form.domains.data = [domain] if domain else []
        form.start_date.data = date.today()
        if picked is not None:
            form.concept.data = picked.id
            form.title.data = picked.title.get("en")
            form.title_es.data = picked.title.get("es")
            form.plan.data = picked.description.get("en")
            form.plan_es.data = picked.description.get("es")
        if cell is not None:
            form.cell.data = str(cell.id)
    elif form.validate_on_submit():
        try:
            action = service.record_action(current_user, _draft(form))
        except service.ActionError as exc:
            flash(f"The action was not saved: {exc}", "error")
        else:
            db.session.commit()
            flash(f"Action “{action.title}” recorded as planned.", "info")
            return redirect(url_for("actions.show", action_id=action.id))
    status = 422 if request.method == "POST" else 200
    return render_template("actions/form.html", form=form, editing=None, cell=cell), status


@bp.get("/<int:action_id>")
@login_required
def show(action_id: int) -> ResponseReturnValue:
    action = service.get_action(current_user, action_id)
    return _show(action, _status_form(action), _note_form())


@bp.route("/<int:action_id>/edit", methods=["GET", "POST"])
@login_required
def edit(action_id: int) -> ResponseReturnValue:
    action = service.get_action(current_user, action_id)
    form = _action_form(obj=action if request.method == "GET" else None)
    if request.method == "GET":
        form.unit.data = action.unit_id
        form.domains.data = action.domains
    elif form.validate_on_submit():
        try:
            changes = service.edit_action(current_user, action, _draft(form))
        except service.ActionError as exc:
            flash(f"The changes were not saved: {exc}", "error")
        else:
            db.session.commit()
            flash("Changes saved." if changes else "Nothing was changed.", "info")
            return redirect(url_for("actions.show", action_id=action.id))
    status = 422 if request.method == "POST" else 200
    return render_template("actions/form.html", form=form, editing=action, cell=None), status


@bp.post("/<int:action_id>/status")
@login_required
def change_status(action_id: int) -> ResponseReturnValue:
    action = service.get_action(current_user, action_id)
    form = _status_form(action)
    if form.validate_on_submit():
        try:
            service.move(
                current_user,
                action,
                ActionStatus(form.status.data),
                form.on_date.data,
                form.note.data or "",
            )
        except service.ActionError as exc:
            flash(f"The status was not changed: {exc}", "error")
        else:
            db.session.commit()
            flash(f"Now {action.status.label.lower()}.", "info")
            return redirect(url_for("actions.show", action_id=action.id))
    return _show(action, form, _note_form()), 422


@bp.post("/<int:action_id>/notes")
@login_required
def add_note(action_id: int) -> ResponseReturnValue:
    action = service.get_action(current_user, action_id)
    form = _note_form()
    if form.validate_on_submit():
        try:
            service.add_note(
                current_user, action, Stage(form.stage.data), form.body.data, form.on_date.data
            )
        except service.ActionError as exc:
            flash(f"The note was not saved: {exc}", "error")
        else:
            db.session.commit()
            flash("Note added.", "info")
            return redirect(url_for("actions.show", action_id=action.id))
    return _show(action, _status_form(action), form), 422


# ------------------------------------------------------------------ helpers


def _show(action: Action, status_form: StatusForm, note_form: NoteForm) -> str:
    return render_template(
        "actions/show.html",
        action=action,
        status_form=status_form,
        note_form=note_form,
        domains=_domain_names(),
        concept=service.concept(action.concept_id),
        stages=STAGE_NAMES,
    )


def _action_form(obj: Any = None) -> ActionForm:
    form = ActionForm(obj=obj)
    units = reports.units_in_scope(current_user)
    form.unit.choices = [SelectChoice(u.id, "— " * u.depth + u.name) for u in units]
    form.domains.choices = [SelectChoice(d.id, d.name.get("en")) for d in service.action_domains()]
    return form


def _status_form(action: Action) -> StatusForm:
    form = StatusForm()
    form.status.choices = [SelectChoice(s.value, s.label) for s in STATUS_MOVES[action.status]]
    if form.on_date.data is None:
        form.on_date.data = date.today()
    return form


def _note_form() -> NoteForm:
    form = NoteForm()
    if form.on_date.data is None:
        form.on_date.data = date.today()
    return form


def _draft(form: ActionForm) -> service.ActionDraft:
    cell = form.cell.data
    return service.ActionDraft(
        unit_id=form.unit.data,
        domains=form.domains.data or [],
        title=form.title.data or "",
        start_date=form.start_date.data,
        heard=form.heard.data or "",
        plan=form.plan.data or "",
        owner_role=form.owner_role.data or "",
        title_es=form.title_es.data or "",
        plan_es=form.plan_es.data or "",
        concept_id=form.concept.data or None,
        heard_cell_id=int(cell) if cell and cell.isdigit() else None,
    )


def _domain_names() -> dict[str, str]:
    return {d.id: d.name.get("en") for d in service.action_domains()}


def _concept_source() -> str:
    return current_bank().concept_source
