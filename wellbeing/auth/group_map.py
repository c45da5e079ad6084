"""Which identity-provider groups give which role, and for leaders which units.

The map is read from ``WELLBEING_OIDC_GROUP_MAP`` when the app starts: a JSON or YAML file, or
the same JSON written inline. Each key is a group name exactly as the provider sends it:

    {"Pulse Admins": {"role": "admin"},
     "Pulse Coordinators": {"role": "coordinator"},
     "Home Visiting Managers": {"role": "leader", "units": ["Riverside/Home Visiting"]}}

Someone in several mapped groups gets the strongest role among them; a leader gets the units
of all their leader groups together. Unit paths are checked against the roster at each sign-in,
because units are imported after the app has started.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wellbeing.auth.models import Role
from wellbeing.org.models import PATH_SEPARATOR

# The stronger role wins when someone is in several mapped groups.
ROLE_STRENGTH = {Role.LEADER: 1, Role.COORDINATOR: 2, Role.ADMIN: 3}


class GroupMapError(ValueError):
    """The group map cannot be used; the message says which group and why."""


class GroupGrant(BaseModel):
    """What one provider group gives: a role and, for leaders, the units they lead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    units: tuple[str, ...] = Field(default=())

    @field_validator("units")
    @classmethod
    def _clean_paths(cls, units: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(path.strip().strip(PATH_SEPARATOR) for path in units)
        if any(not path for path in cleaned):
            raise ValueError("a unit path is empty")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a unit path is listed twice")
        return cleaned

    @model_validator(mode="after")
    def _units_fit_the_role(self) -> GroupGrant:
        if self.role is Role.LEADER and not self.units:
            raise ValueError("a leader group needs at least one unit path under 'units'")
        if self.role is not Role.LEADER and self.units:
            raise ValueError(f"{self.role.value}s see every unit; remove 'units'")
        return self


@dataclass(frozen=True)
class Grant:
    """What a person's groups give them together."""

    role: Role
    unit_paths: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class GroupMap:
    """The validated map, from group name to what it gives."""

    grants: Mapping[str, GroupGrant]

    def resolve(self, groups: Iterable[str]) -> Grant | None:
        """The role and units the mapped ones among ``groups`` give, or None if none is mapped."""
        mapped = sorted({g for g in groups if g in self.grants})
        if not mapped:
            return None
        role = max((self.grants[g].role for g in mapped), key=ROLE_STRENGTH.__getitem__)
        paths: list[str] = []
        if role is Role.LEADER:
            for group in mapped:
                paths.extend(p for p in self.grants[group].units if p not in paths)
        return Grant(role=role, unit_paths=tuple(paths), groups=tuple(mapped))

    def unit_paths(self) -> dict[str, tuple[str, ...]]:
        """Every leader group's unit paths, for checking them against the roster."""
        return {name: grant.units for name, grant in self.grants.items() if grant.units}


def parse(data: object) -> GroupMap:
    """Validate an already-loaded map (a mapping of group name to grant)."""
    if not isinstance(data, Mapping) or not data:
        raise GroupMapError(
            'it must be an object of group names, e.g. {"Pulse Coordinators": {"role": "coordinator"}}'
        )
    grants: dict[str, GroupGrant] = {}
    for name, raw in data.items():
        if not isinstance(name, str) or not name.strip():
            raise GroupMapError(f"group name {name!r} is not a non-empty text")
        if isinstance(raw, GroupGrant):
            grants[name] = raw
            continue
        try:
            grants[name] = GroupGrant.model_validate(raw)
        except ValidationError as exc:
            raise GroupMapError(f"group {name!r}: {_describe(exc)}") from exc
    return GroupMap(grants)


def load(source: str | Mapping[str, Any] | GroupMap) -> GroupMap:
    """The map from inline JSON, a ``.json``/``.yaml``/``.yml`` file path, or a mapping."""
    if isinstance(source, GroupMap):
        return source
    if isinstance(source, Mapping):
        return parse(source)
    text = source.strip()
    if text.startswith("{"):
        try:
            return parse(json.loads(text))
        except json.JSONDecodeError as exc:
            raise GroupMapError(f"the inline JSON is not valid: {exc}") from exc
    path = Path(text)
    if not path.is_file():
        raise GroupMapError(f"no file {path} (give a .json or .yaml file, or inline JSON)")
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GroupMapError(f"{path} cannot be read: {exc}") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(content)
        elif path.suffix.lower() in {".yaml", ".yml"}:
            data = yaml.safe_load(content)
        else:
            raise GroupMapError(f"{path} must end in .json, .yaml or .yml")
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise GroupMapError(f"{path} is not valid: {exc}") from exc
    try:
        return parse(data)
    except GroupMapError as exc:
        raise GroupMapError(f"{path}: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
