"""Forms for recording a month's practice indicators and for the practices self-assessment."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, FloatField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import TextInput

from wellbeing.practices import service
from wellbeing.practices.guide import ChecklistItem, PracticesGuide
from wellbeing.practices.models import INDICATORS, NOTE_LENGTH, ChecklistRating

# Digits with an optional decimal point or comma: "14", "14.5", "14,5".
NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")


class FigureField(FloatField):  # type: ignore[misc]
    """A number typed as text, a decimal comma allowed; anything else gets a plain message."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else f"{self.data:g}"

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = str(valuelist[0]).strip() if valuelist else ""
        if not text:
            return
        if not NUMBER.fullmatch(text):
            raise ValueError("Give a number, like 14 or 14.5.")
        self.data = float(text.replace(",", "."))


def _in_range(form: Any, field: Field) -> None:
    try:
        service.check_value(field.name, field.data)
    except service.PracticeError as exc:
        raise ValidationError(str(exc)) from exc


class RecordForm(FlaskForm):  # type: ignore[misc]
    """A unit's four figures for one month; any may be left empty, not all."""

    month = StringField("Month (YYYY-MM)", validators=[Length(max=20)])
    caseload = FigureField(validators=[Optional(), _in_range])
    staff_per_supervisor = FigureField(validators=[Optional(), _in_range])
    reflective_supervision = FigureField(validators=[Optional(), _in_range])
    turnover = FigureField(validators=[Optional(), _in_range])

    month_start: Any = None

    def label_from(self, guide: PracticesGuide) -> None:
        """Name each figure as the practices file does."""
        for indicator in guide.indicators:
            field = self[indicator.id]
            field.label.text = f"{indicator.label.en} ({indicator.unit.en})"

    def validate_month(self, field: Field) -> None:
        try:
            self.month_start = service.parse_month(field.data or "")
        except service.PracticeError as exc:
            raise ValidationError(str(exc)) from exc

    def values(self) -> dict[str, float | None]:
        return {name: self[name].data for name in INDICATORS}


RATING_CHOICES = [SelectChoice(r.value, r.label) for r in ChecklistRating]
CHOOSE = "Choose not yet, partly or in place."


class AssessmentForm(FlaskForm):  # type: ignore[misc]
    """The date; ``checklist_form`` adds a rating and a note for each item."""

    assessed_on = StringField("Date of the assessment (YYYY-MM-DD)", validators=[Length(max=20)])

    assessed_day: Any = None
    items: list[ChecklistItem] = []  # noqa: RUF012 - set per form class, never mutated

    def validate_assessed_on(self, field: Field) -> None:
        try:
            self.assessed_day = service.parse_day(field.data or "")
        except service.PracticeError as exc:
            raise ValidationError(str(exc)) from exc

    def rating(self, item_id: str) -> Field:
        return self[f"rating_{item_id}"]

    def note(self, item_id: str) -> Field:
        return self[f"note_{item_id}"]

    def answers(self) -> dict[str, service.Answer]:
        return {
            item.id: service.Answer(
                ChecklistRating(self.rating(item.id).data), self.note(item.id).data or ""
            )
            for item in self.items
        }

    def fill(self, answers: dict[str, service.Answer]) -> None:
        for item in self.items:
            if (answer := answers.get(item.id)) is not None:
                self.rating(item.id).data = answer.rating.value
                self.note(item.id).data = answer.note

    def unrated(self) -> int:
        return sum(1 for item in self.items if self.rating(item.id).errors)


def checklist_form(items: list[ChecklistItem]) -> AssessmentForm:
    """An assessment form with a rating and an optional note for every checklist item."""
    fields: dict[str, Any] = {"items": list(items)}
    for item in items:
        fields[f"rating_{item.id}"] = RadioField(
            item.text.en, choices=RATING_CHOICES, invalid_choice_message=CHOOSE
        )
        fields[f"note_{item.id}"] = TextAreaField(
            "Note (optional)",
            validators=[
                Length(
                    max=NOTE_LENGTH,
                    message=f"Keep the note to {NOTE_LENGTH:,} characters or fewer.",
                )
            ],
        )
    form_class = type("ChecklistForm", (AssessmentForm,), fields)
    form: AssessmentForm = form_class()
    return form
