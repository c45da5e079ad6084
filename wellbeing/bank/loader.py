"""Load and check the question bank and its companions from ``surveys/``.

A broken bank stops start-up with the file, the record and the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from wellbeing.bank.schema import (
    ChangeConcept,
    ChangeConceptsFile,
    Cut,
    CutsFile,
    Domain,
    Item,
    ItemsFile,
    Module,
    ProgramFile,
    Scale,
    SupportFile,
    Topic,
    TopicsFile,
)

MIN_DEEP_DIVES_PER_MODULE = 3
MIN_CONCEPTS_PER_ESSENTIAL = 6
CORE_CONSTRUCTS = ("burnout", "secondary_trauma", "intent_to_stay")

FileModel = TypeVar("FileModel", bound=BaseModel)


class BankError(ValueError):
    """The bank cannot be used; the message names the file, the record and the reason."""


@dataclass(frozen=True)
class QuestionBank:
    """Everything in ``surveys/``, checked and indexed."""

    folder: Path
    scales: dict[str, Scale]
    domains: dict[str, Domain]
    modules: dict[str, Module]
    items: dict[str, Item]
    program: ProgramFile
    concepts: list[ChangeConcept]
    concept_source: str
    topics: list[Topic]
    cuts: dict[str, Cut]
    support: SupportFile
    _extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def essentials(self) -> list[Domain]:
        return [d for d in self.domains.values() if d.kind == "essential"]

    def scale_of(self, item_id: str) -> Scale:
        return self.scales[self.items[item_id].scale]

    def module_items(self, module_id: str) -> list[Item]:
        return [i for i in self.items.values() if i.module == module_id]

    def concepts_for(self, domain_id: str) -> list[ChangeConcept]:
        return [c for c in self.concepts if c.domain == domain_id]


def _read(folder: Path, name: str, model: type[FileModel]) -> FileModel:
    path = folder / name
    label = f"surveys/{name}"
    if not path.is_file():
        raise BankError(f"{label}: file is missing from {folder}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BankError(f"{label}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise BankError(f"{label}: {_describe(raw, exc)}") from exc


def _describe(raw: Any, exc: ValidationError) -> str:
    """Name the record by its id rather than its list position where possible."""
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(raw, dict):
            records = raw.get(str(loc[0])) or []
            if loc[1] < len(records) and isinstance(records[loc[1]], dict):
                record_id = records[loc[1]].get("id") or records[loc[1]].get("value")
                if record_id:
                    rest = ".".join(str(p) for p in loc[2:])
                    where = f"{str(loc[0]).rstrip('s')} {record_id!r}" + (
                        f" {rest}" if rest else ""
                    )
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def _unique(label: str, kind: str, ids: list[str]) -> None:
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    if duplicates:
        raise BankError(f"{label}: {kind} {duplicates[0]!r}: id is used more than once")


def load_bank(folder: Path) -> QuestionBank:
    """Read every file in ``folder`` and check that they agree with each other."""
    items_file = _read(folder, "items.yaml", ItemsFile)
    program = _read(folder, "program.yaml", ProgramFile)
    concepts_file = _read(folder, "change_concepts.yaml", ChangeConceptsFile)
    topics_file = _read(folder, "topics.yaml", TopicsFile)
    cuts_file = _read(folder, "cuts.yaml", CutsFile)
    support = _read(folder, "support.yaml", SupportFile)

    label = "surveys/items.yaml"
    _unique(label, "scale", [s.id for s in items_file.scales])
    _unique(label, "domain", [d.id for d in items_file.domains])
    _unique(label, "module", [m.id for m in items_file.modules])
    _unique(label, "item", [i.id for i in items_file.items])
    scales = {s.id: s for s in items_file.scales}
    domains = {d.id: d for d in items_file.domains}
    modules = {m.id: m for m in items_file.modules}
    items = {i.id: i for i in items_file.items}

    for module in modules.values():
        for domain_id in module.domains:
            if domain_id not in domains:
                raise BankError(f"{label}: module {module.id!r}: unknown domain {domain_id!r}")
    for item in items.values():
        if item.domain not in domains:
            raise BankError(f"{label}: item {item.id!r}: unknown domain {item.domain!r}")
        if item.scale not in scales:
            raise BankError(f"{label}: item {item.id!r}: unknown scale {item.scale!r}")
        if item.module is not None and item.module not in modules:
            raise BankError(f"{label}: item {item.id!r}: unknown module {item.module!r}")
        if item.module is not None and item.domain not in modules[item.module].domains:
            raise BankError(
                f"{label}: item {item.id!r}: domain {item.domain!r} is not one of module "
                f"{item.module!r}'s domains"
            )
        if item.reverse and scales[item.scale].kind != "agreement":
            raise BankError(
                f"{label}: item {item.id!r}: only agreement items can be reverse-worded"
            )
    _check_structure(label, domains, modules, items)

    _check_program(program, items, modules)

    clabel = "surveys/change_concepts.yaml"
    _unique(clabel, "concept", [c.id for c in concepts_file.concepts])
    for concept in concepts_file.concepts:
        if concept.domain not in domains:
            raise BankError(f"{clabel}: concept {concept.id!r}: unknown domain {concept.domain!r}")
    for domain in domains.values():
        count = sum(1 for c in concepts_file.concepts if c.domain == domain.id)
        if domain.kind == "essential" and count < MIN_CONCEPTS_PER_ESSENTIAL:
            raise BankError(
                f"{clabel}: domain {domain.id!r}: has {count} change concepts, "
                f"needs at least {MIN_CONCEPTS_PER_ESSENTIAL}"
            )

    tlabel = "surveys/topics.yaml"
    _unique(tlabel, "topic", [t.id for t in topics_file.topics])
    for topic in topics_file.topics:
        for domain_id in topic.domains:
            if domain_id not in domains:
                raise BankError(f"{tlabel}: topic {topic.id!r}: unknown domain {domain_id!r}")

    _unique("surveys/cuts.yaml", "cut", [c.id for c in cuts_file.cuts])
    for cut in cuts_file.cuts:
        if "prefer_not_to_say" not in {o.value for o in cut.options}:
            raise BankError(
                f"surveys/cuts.yaml: cut {cut.id!r}: must offer a 'prefer_not_to_say' option"
            )

    _check_support(support, scales, domains, items)

    return QuestionBank(
        folder=folder,
        scales=scales,
        domains=domains,
        modules=modules,
        items=items,
        program=program,
        concepts=list(concepts_file.concepts),
        concept_source=concepts_file.source,
        topics=list(topics_file.topics),
        cuts={c.id: c for c in cuts_file.cuts},
        support=support,
    )


def _check_structure(
    label: str, domains: dict[str, Domain], modules: dict[str, Module], items: dict[str, Item]
) -> None:
    """One sentinel per essential, the field measures in the core, enough deep dives."""
    for domain in domains.values():
        if domain.kind != "essential":
            continue
        sentinels = [i.id for i in items.values() if i.role == "sentinel" and i.domain == domain.id]
        if len(sentinels) != 1:
            raise BankError(
                f"{label}: domain {domain.id!r}: needs exactly one sentinel item, has {len(sentinels)}"
            )
    core_constructs = {i.measures for i in items.values() if i.role == "core"}
    for construct in CORE_CONSTRUCTS:
        if construct not in core_constructs:
            raise BankError(f"{label}: no core item measures {construct!r}")
    for module in modules.values():
        count = sum(1 for i in items.values() if i.module == module.id)
        if count < MIN_DEEP_DIVES_PER_MODULE:
            raise BankError(
                f"{label}: module {module.id!r}: has {count} deep-dive items, "
                f"needs at least {MIN_DEEP_DIVES_PER_MODULE}"
            )


def _check_program(
    program: ProgramFile, items: dict[str, Item], modules: dict[str, Module]
) -> None:
    plabel = "surveys/program.yaml"
    for item_id in program.core_items:
        if item_id not in items:
            raise BankError(f"{plabel}: core item {item_id!r}: not in the bank")
        if items[item_id].role == "deep_dive":
            raise BankError(f"{plabel}: core item {item_id!r}: is a deep-dive item")
    for module_id in program.rotation:
        if module_id not in modules:
            raise BankError(f"{plabel}: rotation module {module_id!r}: not in the bank")
    missing = set(modules) - set(program.rotation)
    if missing:
        raise BankError(f"{plabel}: rotation leaves out module {sorted(missing)[0]!r}")


def _check_support(
    support: SupportFile,
    scales: dict[str, Scale],
    domains: dict[str, Domain],
    items: dict[str, Item],
) -> None:
    """Every rule must name a real domain and scale, use the scale's values, and match an item."""
    slabel = "surveys/support.yaml"
    _unique(slabel, "resource", [r.id for r in support.resources])
    for rule in support.show_when:
        where = f"{slabel}: show_when rule for {rule.domain!r} on {rule.scale!r}"
        if rule.domain not in domains:
            raise BankError(f"{where}: unknown domain {rule.domain!r}")
        if rule.scale not in scales:
            raise BankError(f"{where}: unknown scale {rule.scale!r}")
        if unknown := sorted(set(rule.values) - set(scales[rule.scale].values)):
            raise BankError(f"{where}: values {unknown} are not options of the scale")
        if not any(i.domain == rule.domain and i.scale == rule.scale for i in items.values()):
            raise BankError(f"{where}: no item in items.yaml is in that domain on that scale")
