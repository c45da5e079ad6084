"""Wellbeing Pulse: anonymous staff wellbeing pulse surveys for human-services workforces."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from wellbeing import config as settings
from wellbeing.resources import resource_dir

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the web app. Never starts the scheduler: that is its own process."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=instance_path,
        template_folder=str(resource_dir("templates")),
    )
    register_config(app, config)
    register_logging(app)
    register_extensions(app)
    register_security(app)
    register_bank(app)
    register_url_converters(app)
    register_blueprints(app)
    register_demo(app)
    register_request_boundary(app)
    register_cli(app)
    return app


def register_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(settings.defaults(app.instance_path))
    app.config.update(settings.from_environment(settings.environment()))
    if overrides:
        app.config.update(overrides)
    settings.finalise(app.config, app.instance_path)


def register_logging(app: Flask) -> None:
    from wellbeing.logging import install_log_scrubber

    install_log_scrubber()


def register_extensions(app: Flask) -> None:
    from wellbeing import models  # noqa: F401 - every table joins the metadata
    from wellbeing.auth.service import load_user
    from wellbeing.database import configure_engine
    from wellbeing.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
    from wellbeing.survey.language import select_locale

    db.init_app(app)
    configure_engine(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    mail.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    init_single_sign_on(app)


def init_single_sign_on(app: Flask) -> None:
    # One Authlib client per app, not a shared extension: it caches the provider's discovery
    # document and keys, which belong to this app's configuration.
    from wellbeing.auth import oidc

    oidc.init_app(app)


def register_security(app: Flask) -> None:
    from wellbeing.auth.sessions import install_session_rules
    from wellbeing.security import install_security_headers

    install_security_headers(app)
    install_session_rules(app)


def register_bank(app: Flask) -> None:
    from wellbeing.bank import init_bank

    init_bank(app)


def register_url_converters(app: Flask) -> None:
    from wellbeing.boundary import install_url_converters

    install_url_converters(app)


def register_blueprints(app: Flask) -> None:
    from wellbeing.actions.views import bp as actions_bp
    from wellbeing.api.views import bp as api_bp
    from wellbeing.assets import bp as assets_bp
    from wellbeing.auth.access import template_helpers
    from wellbeing.auth.user_views import account_bp
    from wellbeing.auth.user_views import bp as users_bp
    from wellbeing.auth.views import bp as auth_bp
    from wellbeing.exports.views import bp as exports_bp
    from wellbeing.health import bp as health_bp
    from wellbeing.org.views import bp as org_bp
    from wellbeing.practices.views import bp as practices_bp
    from wellbeing.pulse.views import bp as pulse_bp
    from wellbeing.reports import shown
    from wellbeing.reports.views import bp as reports_bp
    from wellbeing.survey.views import bp as survey_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(pulse_bp)
    app.register_blueprint(survey_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(practices_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(assets_bp)
    app.context_processor(template_helpers)
    shown.register(app)


def register_demo(app: Flask) -> None:
    from wellbeing.demo import register_mailbox

    register_mailbox(app)


def register_request_boundary(app: Flask) -> None:
    from wellbeing.boundary import install_request_boundary

    install_request_boundary(app)


def register_cli(app: Flask) -> None:
    from wellbeing.auth.cli import sso_cli, users_cli
    from wellbeing.demo.cli import demo_command
    from wellbeing.exports.cli import export_command
    from wellbeing.org.cli import roster_cli
    from wellbeing.pulse.cli import programs_cli, pulse_cli, sender_command, staff_cli
    from wellbeing.releases.cli import release_cli
    from wellbeing.retention.cli import retention_cli
    from wellbeing.scheduler.cli import scheduler_command

    app.cli.add_command(roster_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(sso_cli)
    app.cli.add_command(programs_cli)
    app.cli.add_command(pulse_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(release_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(sender_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(export_command)
