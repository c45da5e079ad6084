"""The shape of the files in ``surveys/``: validated when the app starts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LANGUAGES = ("en", "es")
Identifier = str


class Strict(BaseModel):
    """Base for bank records: unknown keys are mistakes, and records never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """Wording in every supported language."""

    en: str = Field(min_length=1)
    es: str = Field(min_length=1)

    def get(self, locale: str) -> str:
        """The wording in ``locale``, falling back to English."""
        return self.es if locale == "es" else self.en


class ScaleOption(Strict):
    value: int
    label: Text


class Scale(Strict):
    """Answer options for an item. Opt-outs ("not applicable", "prefer not to say") are added
    to every item by the survey and never appear here."""

    id: Identifier
    kind: Literal["agreement", "frequency", "rating", "categorical"]
    options: list[ScaleOption] = Field(min_length=2)
    favourable: list[int] = Field(min_length=1)
    scored: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Scale:
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("option values must be unique")
        if unknown := set(self.favourable) - set(values):
            raise ValueError(f"favourable values {sorted(unknown)} are not options")
        if self.scored and values != list(range(1, len(values) + 1)):
            raise ValueError("a scored scale's values must be 1, 2, … in order")
        return self

    @property
    def values(self) -> list[int]:
        return [o.value for o in self.options]


class Domain(Strict):
    """A framework essential or a field measure that results are reported by."""

    id: Identifier
    kind: Literal["essential", "field_measure"]
    name: Text
    description: Text


class Module(Strict):
    """A deep-dive module; one rotates into each wave."""

    id: Identifier
    name: Text
    domains: list[Identifier] = Field(min_length=1)


class Item(Strict):
    """One question. ``reverse`` items are worded so that agreeing is unfavourable."""

    id: Identifier
    domain: Identifier
    measures: str = Field(min_length=1, alias="construct")
    scale: Identifier
    reverse: bool = False
    role: Literal["sentinel", "core", "deep_dive"]
    module: Identifier | None = None
    text: Text

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not value.replace("_", "").isalnum() or not value.islower():
            raise ValueError("ids are lowercase letters, digits and underscores")
        return value

    @model_validator(mode="after")
    def _module_matches_role(self) -> Item:
        if self.role == "deep_dive" and self.module is None:
            raise ValueError("a deep-dive item needs a module")
        if self.role != "deep_dive" and self.module is not None:
            raise ValueError("only deep-dive items belong to a module")
        return self


class ItemsFile(Strict):
    """``surveys/items.yaml``."""

    scales: list[Scale]
    domains: list[Domain]
    modules: list[Module]
    items: list[Item]


class ProgramFile(Strict):
    """``surveys/program.yaml``: the default pulse program."""

    key: Identifier
    name: str
    cadence_days: int = Field(ge=7, le=366)
    invite_weekday: int = Field(ge=0, le=6)
    invite_hour: int = Field(ge=0, le=23)
    window_days: int = Field(ge=1)
    reminder_days: list[int] = Field(max_length=2)
    core_items: list[Identifier] = Field(min_length=1)
    rotation: list[Identifier] = Field(min_length=1)
    deep_dive_items: int = Field(ge=0, le=4)
    languages: list[Literal["en", "es"]] = Field(min_length=1)
    max_closed_items: int = Field(default=12, ge=1, le=12)

    @model_validator(mode="after")
    def _timing(self) -> ProgramFile:
        if self.window_days > self.cadence_days:
            raise ValueError("the window cannot be longer than the cadence")
        for day in self.reminder_days:
            if not 1 <= day < self.window_days:
                raise ValueError(f"reminder day {day} is outside the {self.window_days}-day window")
        if len(self.core_items) + self.deep_dive_items > self.max_closed_items:
            raise ValueError(f"more than {self.max_closed_items} closed items per wave")
        return self


class ChangeConcept(Strict):
    id: Identifier
    domain: Identifier
    title: Text
    description: Text


class ChangeConceptsFile(Strict):
    """``surveys/change_concepts.yaml``: ideas leaders can try, per essential."""

    source: str
    concepts: list[ChangeConcept]


class Topic(Strict):
    id: Identifier
    label: Text
    domains: list[Identifier] = Field(min_length=1)
    terms: dict[Literal["en", "es"], list[str]]

    @field_validator("terms")
    @classmethod
    def _both_languages(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for lang in LANGUAGES:
            if not value.get(lang):
                raise ValueError(f"terms need at least one {lang!r} entry")
        return value


class TopicsFile(Strict):
    """``surveys/topics.yaml``: the lexicon that tags comments with themes."""

    topics: list[Topic]


class CutOption(Strict):
    value: Identifier
    label: Text


class Cut(Strict):
    """A self-reported, optional question used only to compare groups of at least k."""

    id: Identifier
    question: Text
    options: list[CutOption] = Field(min_length=2)


class CutsFile(Strict):
    """``surveys/cuts.yaml``: the declared equity and role cuts."""

    cuts: list[Cut]


class SupportContact(Strict):
    """One way to reach a support service: a call, a text message or a web address."""

    kind: Literal["call", "text", "web"]
    address: str = Field(min_length=1, max_length=200)
    message: Text | None = None
    label: Text

    @model_validator(mode="after")
    def _address_fits_kind(self) -> SupportContact:
        if self.kind == "web":
            if not self.address.startswith("https://") or any(c.isspace() for c in self.address):
                raise ValueError("a web contact's address is an https:// address without spaces")
        elif not self.address.lstrip("+").replace("-", "").replace(" ", "").isdigit():
            raise ValueError(f"a {self.kind} contact's address is a phone number or short code")
        if self.message is not None and self.kind != "text":
            raise ValueError("only a text contact has a message to send")
        return self


class SupportResource(Strict):
    """A service staff can turn to, such as the EAP or a crisis line."""

    id: Identifier
    name: Text
    description: Text
    contacts: list[SupportContact] = Field(default_factory=list)


class SupportRule(Strict):
    """Answers that open the support resources: these values of items in a domain on a scale."""

    domain: Identifier
    scale: Identifier
    values: list[int] = Field(min_length=1)


class SupportFile(Strict):
    """``surveys/support.yaml``: support resources, and when the thank-you page opens them."""

    show_when: list[SupportRule] = Field(min_length=1)
    resources: list[SupportResource] = Field(min_length=1)
