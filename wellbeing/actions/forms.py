"""Forms leaders and coordinators fill in to record actions and follow them through."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from wellbeing.actions.models import Stage
from wellbeing.actions.service import TEXT_MAX, TITLE_MAX
from wellbeing.pulse.forms import MultiCheckboxField

STAGE_NAMES = {
    Stage.PLAN: "Plan: what we will try and what we expect",
    Stage.DO: "Do: what happened when we tried it",
    Stage.STUDY: "Study: what the results and the run chart show",
    Stage.ACT: "Act: keep, adapt or drop it, and what comes next",
}


class ActionForm(FlaskForm):  # type: ignore[misc]
    unit = SelectField("Unit", coerce=int, validators=[DataRequired()])
    domains = MultiCheckboxField("Areas of the framework", validators=[DataRequired()])
    title = StringField(
        "What we will do (short title)", validators=[DataRequired(), Length(max=TITLE_MAX)]
    )
    title_es = StringField("The title in Spanish (optional)", validators=[Length(max=TITLE_MAX)])
    heard = TextAreaField("What we heard", validators=[Length(max=TEXT_MAX)])
    plan = TextAreaField("The plan", validators=[Length(max=TEXT_MAX)])
    plan_es = TextAreaField("The plan in Spanish (optional)", validators=[Length(max=TEXT_MAX)])
    owner_role = StringField("Who owns it (a role, not a name)", validators=[Length(max=100)])
    start_date = DateField("Start date", validators=[DataRequired()])
    concept = HiddenField()
    cell = HiddenField()


class StatusForm(FlaskForm):  # type: ignore[misc]
    status = SelectField("New status", validators=[DataRequired()])
    on_date = DateField("On", validators=[DataRequired()])
    note = TextAreaField("Why (optional)", validators=[Length(max=TEXT_MAX)])


class NoteForm(FlaskForm):  # type: ignore[misc]
    stage = SelectField(
        "Step of the cycle",
        choices=[SelectChoice(s.value, label) for s, label in STAGE_NAMES.items()],
        validators=[DataRequired()],
    )
    on_date = DateField("On", validators=[DataRequired()])
    body = TextAreaField("Note", validators=[DataRequired(), Length(max=TEXT_MAX)])
