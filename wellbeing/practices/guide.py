"""``surveys/practices.yaml``: the indicators' reference lines and the practices checklist.

Read and checked once when the app starts, with the question bank's reader, so a broken file
stops start-up with the file, the record and the reason, exactly as the bank does.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

from flask import Flask, current_app
from pydantic import Field, field_validator, model_validator

from wellbeing.bank.loader import BankError, _read
from wellbeing.bank.schema import Strict, Text
from wellbeing.practices.models import INDICATOR_LIMITS, INDICATORS
from wellbeing.resources import resource_dir

FILE_NAME = "practices.yaml"
LABEL = f"surveys/{FILE_NAME}"
_EXTENSION_KEY = "wellbeing.practices"
DIRECTION_WORDS = {"at_most": "at most", "at_least": "at least"}


def _identifier(value: str) -> str:
    if not value[:1].isalpha() or not value.replace("_", "").isalnum() or not value.islower():
        raise ValueError("ids start with a letter and use lowercase letters, digits and _")
    return value


class ReferenceLine(Strict):
    """A value from the field to read a unit's figure against, with who says so."""

    value: float = Field(ge=0)
    direction: Literal["at_most", "at_least"]
    label: Text
    source: str = Field(min_length=1, max_length=300)
    note: Text | None = None

    @property
    def direction_words(self) -> str:
        return DIRECTION_WORDS[self.direction]


class Indicator(Strict):
    """One monthly practice indicator: its wording and its reference lines."""

    id: str
    label: Text
    unit: Text
    percent: bool = False
    reference_lines: list[ReferenceLine] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in INDICATOR_LIMITS:
            raise ValueError(f"unknown indicator; the known ones are {', '.join(INDICATORS)}")
        return value

    @model_validator(mode="after")
    def _lines_in_range(self) -> Indicator:
        low, high = INDICATOR_LIMITS[self.id]
        for line in self.reference_lines:
            if not low <= line.value <= high:
                raise ValueError(f"reference value {line.value:g} is outside {low:g}–{high:g}")
        return self

    @property
    def suffix(self) -> str:
        return "%" if self.percent else ""


class ChecklistItem(Strict):
    id: str = Field(max_length=64)
    text: Text

    _id_shape = field_validator("id")(_identifier)


class ChecklistSection(Strict):
    id: str
    title: Text
    items: list[ChecklistItem] = Field(min_length=1)

    _id_shape = field_validator("id")(_identifier)


class Checklist(Strict):
    """The organisational practices self-assessment, grouped as its source groups it."""

    source: str = Field(min_length=1, max_length=300)
    sections: list[ChecklistSection] = Field(min_length=1)


class PracticesGuide(Strict):
    """``surveys/practices.yaml``."""

    indicators: list[Indicator]
    checklist: Checklist

    @property
    def items(self) -> list[ChecklistItem]:
        return [item for section in self.checklist.sections for item in section.items]

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)


def load_guide(folder: Path) -> PracticesGuide:
    """Read ``practices.yaml`` in ``folder``: every indicator once, every id used once."""
    guide = _read(folder, FILE_NAME, PracticesGuide)
    given = [i.id for i in guide.indicators]
    _unique("indicator", given)
    if missing := [i for i in INDICATORS if i not in given]:
        raise BankError(f"{LABEL}: indicator {missing[0]!r}: is missing")
    _unique("section", [s.id for s in guide.checklist.sections])
    _unique("item", [i.id for i in guide.items])
    return guide


def _unique(kind: str, ids: list[str]) -> None:
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    if duplicates:
        raise BankError(f"{LABEL}: {kind} {duplicates[0]!r}: id is used more than once")


def init_guide(app: Flask) -> None:
    """Load the file from the same folder as the question bank."""
    folder = app.config.get("SURVEYS_DIR")
    app.extensions[_EXTENSION_KEY] = load_guide(Path(folder) if folder else resource_dir("surveys"))


def current_guide() -> PracticesGuide:
    """The practices file loaded for the running app."""
    guide: PracticesGuide = current_app.extensions[_EXTENSION_KEY]
    return guide
