"""Accounts: admins manage who signs in, their roles, passwords and API tokens; anyone signed in
changes their own password.

Every user-management page needs the ``manage_users`` permission (admins only) and answers
404 to everyone else. Every change is written to the access log.
"""

from __future__ import annotations

from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import SelectChoice

from wellbeing.auth import api_tokens, service, sessions
from wellbeing.auth.access import login_required, requires
from wellbeing.auth.access_log import log_changes
from wellbeing.auth.forms import (
    RULES_HINT,
    EditUserForm,
    NewPasswordForm,
    NewUserForm,
    OwnPasswordForm,
    TokenForm,
)
from wellbeing.auth.models import ApiToken, Role, User
from wellbeing.org import service as org

bp = Blueprint("users", __name__, url_prefix="/admin/users")
account_bp = Blueprint("account", __name__, url_prefix="/account")
log_changes(bp)
log_changes(account_bp)


@bp.get("/")
@requires("manage_users")
def index() -> ResponseReturnValue:
    return render_template("auth/users.html", users=service.all_users())


@bp.route("/new", methods=["GET", "POST"])
@requires("manage_users")
def new() -> ResponseReturnValue:
    form = _with_units(NewUserForm())
    problem = None
    if form.validate_on_submit():
        role = Role(form.role.data)
        try:
            user = service.create_user(
                form.email.data or "", role, form.password.data or "", _unit_paths(form, role)
            )
        except service.AccountError as exc:
            problem = str(exc)
        else:
            flash(f"{user.email} can now sign in as {role.value}.", "info")
            return redirect(url_for("users.show", user_id=user.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "auth/user_new.html", form=form, problem=problem, hint=RULES_HINT
    ), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@requires("manage_users")
def show(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = _with_units(EditUserForm())
    problem = None
    if request.method == "GET":
        form.role.data = user.role.value
        form.units.data = [u.path for u in user.units]
        form.active.data = user.active
    elif form.validate_on_submit():
        role = Role(form.role.data)
        try:
            changes = service.change_user(
                user,
                role=role,
                unit_paths=_unit_paths(form, role),
                active=bool(form.active.data),
                by=current_user,
            )
        except service.AccountError as exc:
            problem = str(exc)
        else:
            flash(f"Saved: {'; '.join(changes)}." if changes else "Nothing was changed.", "info")
            return redirect(url_for("users.show", user_id=user.id))
    status = 422 if request.method == "POST" else 200
    return _show(user, form, NewPasswordForm(formdata=None), problem=problem), status


@bp.post("/<int:user_id>/password")
@requires("manage_users")
def set_password(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = NewPasswordForm()
    problem = None
    if form.validate_on_submit():
        try:
            service.set_password(user, form.password.data or "")
        except service.AccountError as exc:
            problem = str(exc)
        else:
            if user.id == current_user.id:
                sessions.keep_signed_in(user)
            flash(f"{user.email} has a new password; their other sessions have ended.", "info")
            return redirect(url_for("users.show", user_id=user.id))
    edit = _with_units(EditUserForm(formdata=None, role=user.role.value, active=user.active))
    edit.units.data = [u.path for u in user.units]
    return _show(user, edit, form, password_problem=problem), 422


@bp.post("/<int:user_id>/tokens")
@requires("manage_users")
def issue_token(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = TokenForm()
    if not form.validate_on_submit():
        flash("No token was issued: the label is at most 100 characters.", "error")
        return redirect(url_for("users.show", user_id=user.id))
    try:
        token, plain = api_tokens.issue(user.email, form.label.data or "")
    except api_tokens.TokenError as exc:
        flash(f"No token was issued: {exc}.", "error")
        return redirect(url_for("users.show", user_id=user.id))
    return render_template("auth/token_issued.html", user=user, token=token, plain=plain)


@bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@requires("manage_users")
def revoke_token(user_id: int, token_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    token = _token_or_404(user, token_id)
    api_tokens.revoke(token.id)
    flash(f"Token {token.id} ({token.label or 'no label'}) is revoked.", "info")
    return redirect(url_for("users.show", user_id=user.id))


@account_bp.route("/password", methods=["GET", "POST"])
@login_required
def own_password() -> ResponseReturnValue:
    form = OwnPasswordForm()
    problem = None
    if form.validate_on_submit():
        if not service.password_matches(current_user, form.current.data or ""):
            problem = "the current password is not right"
        else:
            try:
                service.set_password(current_user, form.password.data or "")
            except service.AccountError as exc:
                problem = str(exc)
            else:
                sessions.keep_signed_in(current_user)
                flash("Your password is changed; your other sessions have ended.", "info")
                return redirect(url_for("auth.home"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "auth/own_password.html", form=form, problem=problem, hint=RULES_HINT
    ), status


# ------------------------------------------------------------------ helpers


def _show(
    user: User,
    form: EditUserForm,
    password_form: NewPasswordForm,
    problem: str | None = None,
    password_problem: str | None = None,
) -> str:
    return render_template(
        "auth/user.html",
        user=user,
        form=form,
        password_form=password_form,
        token_form=TokenForm(formdata=None),
        tokens=api_tokens.tokens_of(user.email),
        problem=problem,
        password_problem=password_problem,
        hint=RULES_HINT,
        is_self=user.id == current_user.id,
    )


AccountForm = TypeVar("AccountForm", NewUserForm, EditUserForm)


def _with_units(form: AccountForm) -> AccountForm:
    form.units.choices = [SelectChoice(u.path, u.path) for u in org.all_units()]
    return form


def _unit_paths(form: NewUserForm | EditUserForm, role: Role) -> list[str]:
    return list(form.units.data or []) if role is Role.LEADER else []


def _user_or_404(user_id: int) -> User:
    try:
        return service.get_user(user_id)
    except service.AccountError:
        abort(404)


def _token_or_404(user: User, token_id: int) -> ApiToken:
    for token in api_tokens.tokens_of(user.email):
        if token.id == token_id:
            return token
    abort(404)
