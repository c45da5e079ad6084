"""Forms for signing in, managing accounts and changing one's own password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from wellbeing.auth.models import Role
from wellbeing.auth.service import MIN_PASSWORD_LENGTH
from wellbeing.pulse.forms import MultiCheckboxField

ROLE_NAMES = {
    Role.ADMIN: "Administrator: users, roles and the access log, and everything below",
    Role.COORDINATOR: "Wellness coordinator: programs, roster, exports; sees every unit",
    Role.LEADER: "Leader: results and actions for the units below",
}
RULES_HINT = f"At least {MIN_PASSWORD_LENGTH} characters, and not containing the email address."
# Password managers offer to make up and keep a new password in these fields.
NEW_PASSWORD = {"autocomplete": "new-password"}


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class _AccountFields(FlaskForm):  # type: ignore[misc]
    role = SelectField(
        "Role",
        choices=[SelectChoice(role.value, name) for role, name in ROLE_NAMES.items()],
        validators=[DataRequired()],
    )
    units = MultiCheckboxField(
        "Units a leader is responsible for (and everything below)", coerce=str
    )


class NewUserForm(_AccountFields):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired()], render_kw=NEW_PASSWORD)
    confirm = PasswordField(
        "The password again",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw=NEW_PASSWORD,
    )


class EditUserForm(_AccountFields):
    active = BooleanField("May sign in")


class NewPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField("New password", validators=[DataRequired()], render_kw=NEW_PASSWORD)
    confirm = PasswordField(
        "The new password again",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw=NEW_PASSWORD,
    )


class OwnPasswordForm(NewPasswordForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class TokenForm(FlaskForm):  # type: ignore[misc]
    label = StringField("What it is for (e.g. Power BI)", validators=[Length(max=100)])
