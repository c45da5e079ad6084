"""Sign in, sign out, and the landing page that shows what a user can reach."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from wellbeing.auth import access_log, service
from wellbeing.auth.access import login_required, requires
from wellbeing.auth.forms import LoginForm
from wellbeing.extensions import limiter
from wellbeing.org.service import scope_summary

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths may be redirected to after signing in."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("auth.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda r: r.status_code == 401)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("That email and password do not match an active account.", "error")
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    return render_template("home.html", scope=scope_summary(service.visible_units(current_user)))


@bp.get("/admin/access-log", endpoint="access_log")
@requires("read_access_log")
def access_log_page() -> ResponseReturnValue:
    page = access_log.read(
        page=request.args.get("page", 1, type=int) or 1,
        user_email=request.args.get("user", "")[:320],
        channel=request.args.get("channel", "")[:16],
    )
    access_log.record(current_user, "page", f"GET {request.full_path.rstrip('?')}")
    return render_template("auth/access_log.html", log=page, channels=access_log.CHANNELS)
