"""Forms coordinators fill in to set up pulse programs."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
LANGUAGE_NAMES = {"en": "English", "es": "Spanish (Español)"}


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProgramForm(FlaskForm):  # type: ignore[misc]
    key = StringField(
        "Short key (used on the command line)",
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[a-z0-9_\-]+$", message="Use lowercase letters, digits, - and _ only."),
        ],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    units = MultiCheckboxField(
        "Who is invited (each unit includes everything below it)", coerce=str
    )
    cadence_days = IntegerField("Days between pulses", validators=[NumberRange(7, 366)])
    invite_weekday = SelectField(
        "Invitation day (in each person's time zone)",
        choices=[SelectChoice(i, day) for i, day in enumerate(WEEKDAYS)],
        coerce=int,
    )
    invite_hour = IntegerField(
        "Invitation hour (0–23, local time)", validators=[NumberRange(0, 23)]
    )
    window_days = IntegerField("Days the survey stays open", validators=[NumberRange(1, 366)])
    reminder_days = StringField(
        "Reminder days (at most two, e.g. 3, 6; empty for none)",
        validators=[
            Optional(),
            Regexp(r"^\s*\d+\s*(,\s*\d+\s*)?$", message="Give one or two day numbers."),
        ],
    )
    languages = MultiCheckboxField(
        "Languages offered",
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        coerce=str,
    )

    def reminder_list(self) -> list[int]:
        raw = (self.reminder_days.data or "").strip()
        return [int(p) for p in raw.split(",") if p.strip()] if raw else []
