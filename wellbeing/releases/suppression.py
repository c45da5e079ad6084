"""Which groups a release hides: the one place the suppression rules are decided.

Pure: it works on group sizes and the relations between groups, never on the database.
One pattern is computed per wave and applied to every viewer.

Rules (DESIGN, "Suppression rules"):
- primary: a group with fewer respondents than its threshold (k, or 10 for equity cuts) is hidden;
- N − k: for a shown group P and a shown subset S, P \\ S must hold 0 or at least k people, else S
  is hidden too;
- remainders: where a shown group is split into parts (children, direct members, cut values),
  the people in its hidden or unlisted parts must together number 0 or at least k; otherwise the
  smallest shown part is hidden as well, and so on until that holds;
- thresholds travel: a subset or part with a higher threshold of its own (an equity cut, 10)
  needs that many in the remainder too, or the complement would be a small cut group;
- attributes are never unanimous: a cut group holding everyone of the group it splits would
  show that all of them gave that answer, so it is hidden;
- a group hidden on purpose (``forced``: the same team a joiner or leaver away from last wave)
  must not be the one hidden part of a shown whole, or subtraction would give it back.
Hidden groups all carry the same reason, so "hidden" reads the same whether a group has 0
respondents, k − 1, or was hidden to protect a neighbour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

HIDDEN_REASON = "Hidden to protect anonymity: too few responses here or in a related group."


@dataclass(frozen=True)
class Candidate:
    """A group that could be shown: its key, its true size and its own threshold."""

    key: str
    respondents: int
    threshold: int
    attribute: bool = False  # a self-reported cut value, not a unit of the organisation


@dataclass(frozen=True)
class Structure:
    """How groups relate: subsets of a group, and the parts a group is split into."""

    subsets: list[tuple[str, str]] = field(default_factory=list)  # (superset, subset)
    partitions: list[tuple[str, list[str]]] = field(default_factory=list)  # (whole, disjoint parts)


def suppress(
    candidates: Iterable[Candidate],
    structure: Structure,
    k: int,
    *,
    forced: Iterable[str] = (),
) -> dict[str, str]:
    """The hidden groups, each with the uniform reason; ``forced`` are hidden from the start."""
    groups: Mapping[str, Candidate] = {c.key: c for c in candidates}
    hidden = {key for key, c in groups.items() if c.respondents < c.threshold}
    protected = {key for key in forced if key in groups}
    hidden |= protected

    changed = True
    while changed:
        changed = False
        for whole, part in structure.subsets:
            if whole in hidden or part in hidden or whole not in groups or part not in groups:
                continue
            rest = groups[whole].respondents - groups[part].respondents
            limit = max(k, groups[part].threshold)
            if 0 < rest < limit or (rest == 0 and groups[part].attribute):
                hidden.add(part)
                changed = True
        for whole, parts in structure.partitions:
            if whole in hidden or whole not in groups:
                continue
            known = [p for p in parts if p in groups]
            shown = [p for p in known if p not in hidden]
            remainder = groups[whole].respondents - sum(groups[p].respondents for p in shown)
            limit = max([k, *(groups[p].threshold for p in known)])
            concealed = [p for p in known if p in hidden]
            given_back = (
                len(concealed) == 1
                and concealed[0] in protected
                and remainder == groups[concealed[0]].respondents
            )
            if shown and (0 < remainder < limit or given_back):
                smallest = min(shown, key=lambda p: (groups[p].respondents, p))
                hidden.add(smallest)
                changed = True
    return dict.fromkeys(sorted(hidden), HIDDEN_REASON)
