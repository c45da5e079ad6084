"""``wellbeing users``: create login accounts; ``wellbeing sso``: check single sign-on."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import current_app

from wellbeing.auth import api_tokens, service
from wellbeing.auth.access_log import audited
from wellbeing.auth.group_map import GroupMap
from wellbeing.auth.models import Role
from wellbeing.config import sso_enabled
from wellbeing.extensions import db
from wellbeing.org.models import Unit


@click.group("users", help="Manage the people who sign in (admins, coordinators, leaders).")
def users_cli() -> None:
    pass


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="What the user is for.",
)
@click.option(
    "--unit",
    "units",
    multiple=True,
    metavar="PATH",
    help="A unit a leader is responsible for (repeatable), e.g. 'Agency/Program/Team'.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@audited
def create_user(email: str, role: str, units: tuple[str, ...], password_stdin: bool) -> None:
    """Create a login account; the password comes from a prompt or standard input."""
    password = _read_password(password_stdin)
    try:
        user = service.create_user(email, Role(role), password, list(units))
    except service.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    scope = ", ".join(u.path for u in user.units) or "all units"
    click.echo(f"Created {user.role.value} {user.email} (sees: {scope}).")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@audited
def set_password(email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password (for a forgotten one); their open sessions end."""
    password = _read_password(password_stdin)
    try:
        user = service.find_user(email)
        service.set_password(user, password)
    except service.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{user.email} has a new password.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_cli.command("token")
@click.argument("email")
@click.option("--label", default="", help="What the token is for, e.g. 'Power BI'.")
@audited
def issue_token(email: str, label: str) -> None:
    """Issue a personal token for the read-only JSON API (shown once; keep it secret)."""
    try:
        token, plain = api_tokens.issue(email, label)
    except api_tokens.TokenError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Token {token.id} for {token.user.email} (sees what they see on the pages):")
    click.echo(plain)
    click.echo(
        "It is shown only now. Revoke it with: wellbeing users revoke-token " + str(token.id)
    )


@users_cli.command("tokens")
@click.argument("email")
def list_tokens(email: str) -> None:
    """List a user's API tokens (never the tokens themselves)."""
    try:
        tokens = api_tokens.tokens_of(email)
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    if not tokens:
        click.echo(f"{email} has no API tokens. Issue one with: wellbeing users token {email}")
    for token in tokens:
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        used = (
            f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        )
        click.echo(f"{token.id}\t{token.label or '-'}\t{state}\t{used}")


@users_cli.command("revoke-token")
@click.argument("token_id", type=int)
@audited
def revoke_token(token_id: int) -> None:
    """Revoke an API token at once; requests with it answer 401 from then on."""
    try:
        token = api_tokens.revoke(token_id)
    except api_tokens.TokenError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Revoked token {token.id} of {token.user.email}.")


@click.group("sso", help="Single sign-on with an OpenID Connect provider.")
def sso_cli() -> None:
    pass


@sso_cli.command("check")
def check_sso() -> None:
    """Show what each mapped group gives, and fail if a group names a unit not on the roster."""
    if not sso_enabled(current_app.config):
        raise click.ClickException(
            "single sign-on is not configured (set WELLBEING_OIDC_ISSUER and the rest)"
        )
    group_map: GroupMap = current_app.config["OIDC_GROUP_MAP"]
    known = set(db.session.scalars(sa.select(Unit.path)))
    problems = 0
    click.echo(f"Provider: {current_app.config['OIDC_ISSUER']}")
    click.echo(f"Groups from the claim {current_app.config['OIDC_GROUPS_CLAIM']!r}:")
    for name, grant in sorted(group_map.grants.items()):
        click.echo(f"  {name}: {grant.role.value}")
        for path in grant.units:
            missing = path not in known
            problems += missing
            click.echo(f"    {path}" + ("  <- not on the roster" if missing else ""))
    if problems:
        raise click.ClickException(
            f"{problems} unit path(s) are not on the roster; leaders of those groups would not "
            "get them. Import the roster or correct WELLBEING_OIDC_GROUP_MAP."
        )
    click.echo("Every unit in the group map is on the roster.")
