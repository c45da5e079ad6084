"""``wellbeing users``: create login accounts."""

from __future__ import annotations

import sys

import click

from wellbeing.auth import service
from wellbeing.auth.models import Role
from wellbeing.extensions import db


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
def create_user(email: str, role: str, units: tuple[str, ...], password_stdin: bool) -> None:
    """Create a login account; the password comes from a prompt or standard input."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_user(email, Role(role), password, list(units))
    except service.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    scope = ", ".join(u.path for u in user.units) or "all units"
    click.echo(f"Created {user.role.value} {user.email} (sees: {scope}).")
