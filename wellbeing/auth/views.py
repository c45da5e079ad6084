"""Sign in (password or single sign-on), sign out, and the landing page of what a user can reach."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from wellbeing.auth import access_log, service, sso
from wellbeing.auth.access import login_required, requires
from wellbeing.auth.forms import LoginForm
from wellbeing.auth.oidc import SignInError
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
        user = service.authenticate(
            form.email.data or "",
            form.password.data or "",
            allow_linked=not sso.enabled() or sso.keep_passwords(),
        )
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("That email and password do not match an active account.", "error")
        return _login_page(form), 401
    status = 400 if request.method == "POST" else 200
    return _login_page(form), status


def _login_page(form: LoginForm) -> str:
    provider = sso.provider_name() if sso.enabled() else None
    return render_template(
        "auth/login.html", form=form, provider=provider, next=request.args.get("next")
    )


@bp.get("/login/sso")
def sso_login() -> ResponseReturnValue:
    """Start single sign-on: off to the provider, back at the callback."""
    if not sso.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    try:
        return sso.start(_safe_next(request.args.get("next")))
    except SignInError as exc:
        return _refused(exc)


@bp.get("/login/sso/callback")
def sso_callback() -> ResponseReturnValue:
    """The provider sends the browser back here with a code to exchange for a verified token."""
    if not sso.enabled():
        abort(404)
    try:
        user = sso.complete_sign_in()
    except SignInError as exc:
        return _refused(exc)
    login_user(user)
    return redirect(sso.landing_path(url_for("auth.home")))


def _refused(exc: SignInError) -> ResponseReturnValue:
    headers = {"Retry-After": "60"} if exc.status == 503 else {}
    return render_template("auth/sso_refused.html", error=exc), exc.status, headers


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
