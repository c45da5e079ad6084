"""Computing a wave's release: the only code that reads raw responses for reporting.

A release holds every cell any viewer could ever see for a closed wave — each unit's whole
subtree and (where it has sub-units) its direct members, each declared cut value, each metric —
with one suppression pattern for everyone, checked by the independent audit before it is stored.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from wellbeing.bank import QuestionBank, current_bank
from wellbeing.bank.schema import Item
from wellbeing.extensions import db
from wellbeing.org.models import Person, Unit
from wellbeing.privacy import (
    COMMENT_MIN_COMMENTERS,
    COMMENT_MIN_RESPONDENTS,
    CUT_MAX_DEPTH,
    CUT_MIN_GROUP_SIZE,
    all_or_none,
    band_floor,
    count_band,
    min_group_size,
    participation,
    round_mean,
    round_percent,
    unanimous,
)
from wellbeing.pulse.models import Invitation, Wave, WaveStatus
from wellbeing.releases import metrics
from wellbeing.releases.audit import Exposure, ItemFacts, PublishedGroup, audit
from wellbeing.releases.comments import CommentGroup, group_comments, mask_comment, tag_topics
from wellbeing.releases.models import (
    CellScope,
    Release,
    ReleaseCell,
    ReleasedComment,
    ReleaseError,
)
from wellbeing.releases.suppression import HIDDEN_REASON, Candidate, Structure, suppress
from wellbeing.responses.models import Answer, Choice, Comment, Response
from wellbeing.retention.service import deletion_of

logger = logging.getLogger(__name__)

MAX_AUDIT_ROUNDS = 12
HIERARCHY_AUDIT_SECONDS = 120.0  # per round; what is undecided by then is treated as exposed
HIERARCHY_SOLVE_SECONDS = 10.0  # per solve in the hierarchy's audit
CUT_AUDIT_SECONDS = 10.0  # per cut family and round; a family not cleared by then is hidden
CUT_SOLVE_SECONDS = 2.0  # per solve in a cut family: a family that needs longer is hidden
INDEX_STEP = 2.5  # the 0–100 index is shown to the precision of a 1-decimal mean on a 1–5 scale
MEAN_SD_STEP = 0.5  # the spread behind a published mean interval, rounded up to this (1–5 scale)
INDEX_SD_STEP = 12.5  # the same for the 0–100 index
_shuffler = secrets.SystemRandom()


# ------------------------------------------------------------------ reading the wave


@dataclass(frozen=True)
class Respondent:
    """One response as the release sees it: where it sits and its valued answers."""

    unit_id: int
    cuts: dict[str, str]
    values: dict[str, int]


def _respondents(wave_id: int) -> list[Respondent]:
    rows = db.session.execute(
        sa.select(Response.id, Response.unit_id, Response.cuts).where(Response.wave_id == wave_id)
    ).tuples()
    found = {rid: (unit_id, dict(cuts or {})) for rid, unit_id, cuts in rows}
    values: dict[str, dict[str, int]] = defaultdict(dict)
    answers = db.session.execute(
        sa.select(Answer.response_id, Answer.item_id, Answer.value)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.wave_id == wave_id, Answer.choice == Choice.VALUE)
    ).tuples()
    for response_id, item_id, value in answers:
        if value is not None:
            values[response_id][item_id] = value
    return [
        Respondent(unit_id, cuts, values.get(rid, {})) for rid, (unit_id, cuts) in found.items()
    ]


def _respondents_by_unit(wave_id: int) -> dict[int, int]:
    """How many answered a wave, by unit.

    Once retention has deleted a wave's answers, its invitations marked answered count the same
    people: each response carries the unit of the invitation it came from.
    """
    counts: dict[int, int] = defaultdict(int)
    if deletion_of(wave_id) is None:
        for r in _respondents(wave_id):
            counts[r.unit_id] += 1
        return counts
    rows = db.session.execute(
        sa.select(Invitation.unit_id, sa.func.count())
        .where(Invitation.wave_id == wave_id, Invitation.responded.is_(True))
        .group_by(Invitation.unit_id)
    ).tuples()
    for unit_id, n in rows:
        counts[unit_id] = n
    return counts


def _invited(wave_id: int) -> dict[int, set[int]]:
    """Person ids invited in a wave, by the unit they were invited from."""
    found: dict[int, set[int]] = defaultdict(set)
    rows = db.session.execute(
        sa.select(Invitation.unit_id, Invitation.person_id).where(Invitation.wave_id == wave_id)
    ).tuples()
    for unit_id, person_id in rows:
        found[unit_id].add(person_id)
    return found


# ------------------------------------------------------------------ groups


@dataclass
class Group:
    """A set of respondents a cell may describe."""

    key: str
    unit_id: int
    scope: CellScope
    cut: str = ""
    cut_value: str = ""
    unit_ids: frozenset[int] = frozenset()
    members: list[Respondent] = field(default_factory=list)
    threshold: int = 5

    @property
    def is_cut(self) -> bool:
        return bool(self.cut)


def _subtree_ids(units: list[Unit]) -> dict[int, frozenset[int]]:
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id].append(unit)
    result: dict[int, frozenset[int]] = {}

    def walk(unit: Unit) -> frozenset[int]:
        ids = {unit.id}
        for child in children.get(unit.id, []):
            ids |= walk(child)
        result[unit.id] = frozenset(ids)
        return result[unit.id]

    for root in children.get(None, []):
        walk(root)
    return result


def unit_key(unit_id: int, scope: CellScope = CellScope.SUBTREE) -> str:
    return f"u{unit_id}" if scope is CellScope.SUBTREE else f"u{unit_id}:direct"


def cut_key(unit_id: int, cut: str, value: str) -> str:
    return f"u{unit_id}:{cut}={value}"


def build_groups(
    units: list[Unit], respondents: list[Respondent], cut_values: dict[str, list[str]], k: int
) -> tuple[dict[str, Group], Structure]:
    """Every group a release considers, and how they nest."""
    subtree = _subtree_ids(units)
    by_unit: dict[int, list[Respondent]] = defaultdict(list)
    for r in respondents:
        by_unit[r.unit_id].append(r)
    has_children = {u.parent_id for u in units if u.parent_id is not None}
    children_of: dict[int, list[int]] = defaultdict(list)
    for unit in units:
        if unit.parent_id is not None:
            children_of[unit.parent_id].append(unit.id)
    cut_k = max(CUT_MIN_GROUP_SIZE, k)
    depth = {unit.id: unit.depth for unit in units}

    groups: dict[str, Group] = {}
    structure = Structure()
    for unit in units:
        ids = subtree.get(unit.id, frozenset({unit.id}))
        members = [r for uid in ids for r in by_unit.get(uid, [])]
        key = unit_key(unit.id)
        groups[key] = Group(
            key, unit.id, CellScope.SUBTREE, unit_ids=ids, members=members, threshold=k
        )
        parts = [unit_key(c) for c in children_of.get(unit.id, [])]
        if unit.id in has_children:
            direct = unit_key(unit.id, CellScope.DIRECT)
            groups[direct] = Group(
                direct,
                unit.id,
                CellScope.DIRECT,
                unit_ids=frozenset({unit.id}),
                members=list(by_unit.get(unit.id, [])),
                threshold=k,
            )
            parts.append(direct)
            structure.subsets.append((key, direct))
        for part in parts:
            structure.subsets.append((key, part))
        if parts:
            structure.partitions.append((key, parts))
        if unit.depth > CUT_MAX_DEPTH:
            continue
        for cut, values in cut_values.items():
            value_keys = []
            for value in values:
                ck = cut_key(unit.id, cut, value)
                groups[ck] = Group(
                    ck,
                    unit.id,
                    CellScope.SUBTREE,
                    cut=cut,
                    cut_value=value,
                    unit_ids=ids,
                    members=[r for r in members if r.cuts.get(cut) == value],
                    threshold=cut_k,
                )
                value_keys.append(ck)
                structure.subsets.append((key, ck))
                child_parts = [
                    cut_key(c, cut, value)
                    for c in children_of.get(unit.id, [])
                    if depth[c] <= CUT_MAX_DEPTH
                ]
                for child in child_parts:
                    structure.subsets.append((ck, child))
                if child_parts:
                    structure.partitions.append((ck, child_parts))
            structure.partitions.append((key, value_keys))
    return groups, structure


# ------------------------------------------------------------------ item facts


@dataclass(frozen=True)
class ItemPlan:
    """How one item is scored: its scale values and which answers count which way."""

    item: Item
    values: tuple[int, ...]
    favourable: frozenset[int]
    unfavourable: frozenset[int]
    scored: bool

    def oriented(self, value: int) -> float:
        """The answer turned so that agreeing with a negatively worded item counts the other way."""
        return (self.values[-1] + self.values[0] - value) if self.item.reverse else value


def item_plans(wave: Wave, bank: QuestionBank) -> dict[str, ItemPlan]:
    plans = {}
    for item_id in wave.item_ids:
        item = bank.items.get(item_id)
        if item is None:
            continue
        scale = bank.scales[item.scale]
        values = tuple(scale.values)
        favourable = set(scale.favourable)
        if item.reverse:
            favourable = {values[-1] + values[0] - v for v in favourable}
        if scale.kind in ("agreement", "frequency"):
            unfavourable = {values[-1] + values[0] - v for v in favourable}
        else:
            unfavourable = set(values) - favourable
        plans[item_id] = ItemPlan(
            item, values, frozenset(favourable), frozenset(unfavourable), scale.scored
        )
    return plans


PREVALENCE = {"burnout": "burnout", "secondary_trauma": "secondary_trauma"}


# ------------------------------------------------------------------ cells


@dataclass
class CellDraft:
    """A cell before storage; hidden cells carry nothing but the uniform reason."""

    group: Group
    measure: str
    metric: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n_band: str | None = None
    hidden: bool = False
    change: str | None = None
    change_value: float | None = None
    estimate: metrics.Estimate | None = None


def _share_cell(
    group: Group, measure: str, metric: str, count: int, answered: int, k: int
) -> CellDraft:
    """A percentage cell; hidden when it is all or none, which would show everyone's answer."""
    if all_or_none(count, answered):
        return CellDraft(group, measure, metric, hidden=True)
    estimate = metrics.wilson(count, answered)
    assert estimate is not None  # noqa: S101 - answered > 0 here
    value = float(round_percent(100 * estimate.value))
    floor = band_floor(answered, k) or answered
    low, high = metrics.published_share_interval(value / 100, floor)
    return CellDraft(
        group,
        measure,
        metric,
        value,
        float(round_percent(100 * low)),
        float(round_percent(100 * high)),
        estimate=estimate,
    )


def _index_round(value: float) -> float:
    return round(round(value / INDEX_STEP) * INDEX_STEP, 1)


def group_cells(group: Group, plans: dict[str, ItemPlan], hidden: bool, k: int) -> list[CellDraft]:
    """Every cell for one group; when the group is hidden, the same cells, all hidden.

    Intervals are computed from published numbers only (see ``metrics.published_*``), and a
    domain index is shown only where every one of its items is, so neither can give back a
    hidden number.
    """
    n = len(group.members)
    cells = [
        CellDraft(
            group,
            "respondents",
            "count",
            n_band=None if hidden else count_band(n, k),
            hidden=hidden,
        )
    ]
    domains: dict[str, list[ItemPlan]] = defaultdict(list)
    hidden_items: set[str] = set()
    for item_id, plan in plans.items():
        answers = [r.values[item_id] for r in group.members if item_id in r.values]
        item_hidden = hidden or len(answers) < k or unanimous(answers)
        names = (["mean"] if plan.scored else []) + ["favourable_pct", "unfavourable_pct"]
        prevalence = PREVALENCE.get(plan.item.domain) if plan.item.role != "deep_dive" else None
        if plan.scored:
            domains[plan.item.domain].append(plan)
        if item_hidden:
            hidden_items.add(item_id)
            cells += [CellDraft(group, item_id, name, hidden=True) for name in names]
            if prevalence:
                cells.append(CellDraft(group, prevalence, "prevalence_pct", hidden=True))
            continue
        floor = band_floor(len(answers), k) or len(answers)
        if plan.scored:
            est = metrics.mean_estimate([float(a) for a in answers])
            assert est is not None  # noqa: S101 - answers is non-empty here
            mean = round_mean(est.value)
            low, high = metrics.published_mean_interval(mean, est.sd, floor, MEAN_SD_STEP)
            cells.append(
                CellDraft(
                    group,
                    item_id,
                    "mean",
                    mean,
                    round_mean(max(low, plan.values[0])),
                    round_mean(min(high, plan.values[-1])),
                    estimate=est,
                )
            )
        favourable = sum(1 for a in answers if a in plan.favourable)
        unfavourable = sum(1 for a in answers if a in plan.unfavourable)
        cells.append(_share_cell(group, item_id, "favourable_pct", favourable, len(answers), k))
        cells.append(_share_cell(group, item_id, "unfavourable_pct", unfavourable, len(answers), k))
        if prevalence:
            cells.append(
                _share_cell(group, prevalence, "prevalence_pct", unfavourable, len(answers), k)
            )
        counts = {v: sum(1 for a in answers if a == v) for v in plan.values}
        if all(c == 0 or c >= k for c in counts.values()):
            for v, c in counts.items():
                cells.append(
                    CellDraft(
                        group,
                        item_id,
                        f"dist_{v}",
                        float(round_percent(100 * c / len(answers))),
                    )
                )
    for domain, domain_plans in domains.items():
        scores = []
        for r in group.members:
            mine = [
                metrics.index_value(p.oriented(r.values[p.item.id]), p.values[0], p.values[-1])
                for p in domain_plans
                if p.item.id in r.values
            ]
            if mine:
                scores.append(sum(mine) / len(mine))
        some_item_hidden = any(p.item.id in hidden_items for p in domain_plans)
        if hidden or some_item_hidden or len(scores) < k or unanimous(scores):
            cells.append(CellDraft(group, domain, "index", hidden=True))
            continue
        est = metrics.mean_estimate(scores)
        assert est is not None  # noqa: S101 - at least k scores reach this line
        index = _index_round(est.value)
        floor = band_floor(len(scores), k) or len(scores)
        low, high = metrics.published_mean_interval(index, est.sd, floor, INDEX_SD_STEP)
        cells.append(
            CellDraft(
                group,
                domain,
                "index",
                index,
                _index_round(max(0.0, low)),
                _index_round(min(100.0, high)),
                estimate=est,
            )
        )
    return cells


def participation_cells(group: Group, invited: dict[int, set[int]], k: int) -> CellDraft:
    """Banded participation for a unit's subtree (whole units only, never cuts)."""
    people = (
        set().union(*(invited.get(uid, set()) for uid in group.unit_ids))
        if group.unit_ids
        else set()
    )
    shown = participation(len(people), len(group.members), k)
    if shown.hidden:
        return CellDraft(group, "participation", "rate", hidden=True)
    return CellDraft(
        group, "participation", "rate", float(shown.rate_percent or 0), n_band=shown.invited_band
    )


# ------------------------------------------------------------------ change vs previous wave


def _previous_release(wave: Wave) -> Release | None:
    previous = db.session.scalar(
        sa.select(Wave).where(
            Wave.program_id == wave.program_id, Wave.sequence == wave.sequence - 1
        )
    )
    if previous is None:
        return None
    return db.session.scalar(
        sa.select(Release)
        .where(Release.wave_id == previous.id)
        .order_by(Release.version.desc())
        .limit(1)
    )


def apply_changes(
    cells: list[CellDraft], previous_cells: dict[tuple[str, str, str], CellDraft]
) -> None:
    """Mark each shown cell's change from the same cell of the previous wave, by the change rule."""
    for cell in cells:
        if cell.hidden or cell.estimate is None:
            continue
        before = previous_cells.get((cell.group.key, cell.measure, cell.metric))
        if before is None or before.hidden or before.estimate is None:
            continue
        percent = cell.metric not in ("mean", "index")
        change = (
            metrics.newcombe_change(before.estimate, cell.estimate)
            if percent
            else metrics.welch_change(before.estimate, cell.estimate)
        )
        if change is None:
            continue
        cell.change = change.verdict
        if cell.value is not None and before.value is not None:
            diff = cell.value - before.value
            cell.change_value = float(round_percent(diff)) if percent else round(diff, 1)


# ------------------------------------------------------------------ the audit


def published_groups(
    groups: dict[str, Group],
    cells: list[CellDraft],
    plans: dict[str, ItemPlan],
    family: str | None,
    family_values: tuple[str, ...] = (),
) -> list[PublishedGroup]:
    """What the release publishes, as the audit's constraints, for one family of atoms.

    The hierarchy family uses units as atoms; each cut family uses unit × cut value (plus
    "no answer") so cut groups and unit groups constrain the same people.
    """
    by_group: dict[str, list[CellDraft]] = defaultdict(list)
    for cell in cells:
        by_group[cell.group.key].append(cell)
    published = []
    for key, group in groups.items():
        if group.is_cut and group.cut != family:
            continue
        atoms = _atoms(group, family, family_values)
        group_cells_ = by_group.get(key, [])
        count = next((c for c in group_cells_ if c.measure == "respondents"), None)
        hidden = count is None or count.hidden
        facts: dict[str, ItemFacts] = {}
        if not hidden:
            for item_id, plan in plans.items():
                mine = {c.metric: c for c in group_cells_ if c.measure == item_id and not c.hidden}
                if not mine:
                    continue
                dist = {
                    int(m.removeprefix("dist_")): int(c.value or 0)
                    for m, c in mine.items()
                    if m.startswith("dist_")
                }
                facts[item_id] = ItemFacts(
                    values=plan.values,
                    mean=mine["mean"].value if "mean" in mine else None,
                    favourable=plan.favourable,
                    favourable_pct=int(mine["favourable_pct"].value or 0)
                    if "favourable_pct" in mine
                    else None,
                    unfavourable=plan.unfavourable,
                    unfavourable_pct=int(mine["unfavourable_pct"].value or 0)
                    if "unfavourable_pct" in mine
                    else None,
                    distribution=dist or None,
                )
        published.append(
            PublishedGroup(
                key=key,
                atoms=atoms,
                hidden=hidden,
                count_band=None if hidden or count is None else _band_limits(count.n_band),
                items=facts,
            )
        )
    return published


def _atoms(group: Group, family: str | None, family_values: tuple[str, ...]) -> frozenset[str]:
    if family is None:
        return frozenset(f"unit{u}" for u in group.unit_ids)
    if group.is_cut:
        return frozenset(f"unit{u}|{group.cut_value}" for u in group.unit_ids)
    return frozenset(f"unit{u}|{v}" for u in group.unit_ids for v in (*family_values, "-"))


def _band_limits(band: str | None) -> tuple[int, int | None] | None:
    if band is None:
        return None
    if band.endswith("+"):
        return int(band[:-1]), None
    low, high = band.split("–")
    return int(low), int(high)


def _fix_exposure(
    exposure: Exposure, groups: dict[str, Group], hidden: set[str], structure: Structure
) -> str | None:
    """The shown group to hide next so an exposed hidden group is no longer pinned.

    Prefer the smallest shown sibling (a part of the same whole); otherwise the smallest shown
    group that contains the exposed one.
    """
    target = exposure.group
    candidates: list[str] = []
    for whole, parts in structure.partitions:
        if target in parts and whole not in hidden:
            candidates += [p for p in parts if p != target and p not in hidden]
    if not candidates:
        candidates = [w for w, p in structure.subsets if p == target and w not in hidden]
    if not candidates:
        return None
    return min(candidates, key=lambda key: (len(groups[key].members), key))


# ------------------------------------------------------------------ the whole release


@dataclass
class Draft:
    """A computed release before storage."""

    cells: list[CellDraft]
    comment_groups: list[CommentGroup]
    audit_notes: dict[str, object]


def compute_release(
    wave: Wave, *, recompute: bool = False, bank: QuestionBank | None = None
) -> Release:
    """Compute, audit and store the release of a closed wave."""
    bank = bank or current_bank()
    if wave.status is WaveStatus.OPEN:
        raise ReleaseError(
            f"wave {wave.id} is still open; releases are computed only after closing"
        )
    # Locked (on PostgreSQL) so retention cannot delete the answers while they are read.
    db.session.execute(sa.select(Wave.id).where(Wave.id == wave.id).with_for_update())
    deleted = deletion_of(wave.id)
    if deleted is not None:
        raise ReleaseError(
            f"the raw answers of wave {wave.id} were deleted on {deleted.deleted_at:%Y-%m-%d} "
            "when its retention period ended, so its release can no longer be recomputed; "
            "the release in force stays as it is"
        )
    # Every version anyone may have seen or exported; the new one is audited with them all.
    earlier = list(
        db.session.scalars(
            sa.select(Release).where(Release.wave_id == wave.id).order_by(Release.version)
        )
    )
    existing = earlier[-1] if earlier else None
    if existing is not None and not recompute:
        raise ReleaseError(
            f"wave {wave.id} already has a release; recomputing must be asked for explicitly"
        )
    k = min_group_size()
    draft = draft_release(wave, bank, k, earlier=earlier)
    release = Release(
        wave_id=wave.id,
        version=(existing.version + 1) if existing else 1,
        min_group_size=k,
        audit=draft.audit_notes,
    )
    db.session.add(release)
    db.session.flush()
    db.session.execute(
        sa.insert(ReleaseCell),
        [
            {
                "release_id": release.id,
                "unit_id": c.group.unit_id,
                "scope": c.group.scope,
                "cut": c.group.cut,
                "cut_value": c.group.cut_value,
                "measure": c.measure,
                "metric": c.metric,
                "value": None if c.hidden else c.value,
                "ci_low": None if c.hidden else c.low,
                "ci_high": None if c.hidden else c.high,
                "n_band": None if c.hidden else c.n_band,
                "hidden": c.hidden,
                "reason": HIDDEN_REASON if c.hidden else None,
                "change": None if c.hidden else c.change,
                "change_value": None if c.hidden else c.change_value,
            }
            for c in draft.cells
        ],
    )
    for comment_group in draft.comment_groups:
        for body, topics in comment_group.comments:
            db.session.add(
                ReleasedComment(
                    release=release, unit_id=comment_group.unit_id, body=body, topics=topics
                )
            )
    if wave.status is WaveStatus.CLOSED:
        wave.move_to(WaveStatus.RELEASED)
    db.session.flush()
    logger.info(
        "release %s v%s for wave %s: %s cells, %s hidden",
        release.id,
        release.version,
        wave.id,
        len(draft.cells),
        sum(1 for c in draft.cells if c.hidden),
    )
    return release


def draft_release(
    wave: Wave, bank: QuestionBank, k: int, earlier: list[Release] | None = None
) -> Draft:
    """Compute every cell, suppress, audit, and suppress more until the audit passes."""
    units = list(db.session.scalars(sa.select(Unit).order_by(Unit.path)))
    respondents = _respondents(wave.id)
    cut_values = {cut.id: [o.value for o in cut.options] for cut in bank.cuts.values()}
    groups, structure = build_groups(units, respondents, cut_values, k)
    plans = item_plans(wave, bank)
    invited = _invited(wave.id)
    forced = _cross_wave_forced(wave, groups, invited, k)

    previous = _previous_release(wave)
    previous_cells: dict[tuple[str, str, str], CellDraft] = {}
    if previous is not None:
        previous_cells = _previous_drafts(previous, bank, k)

    notes: dict[str, object] = {
        "rounds": 0,
        "exposures_fixed": [],
        "cross_wave_hidden": sorted(forced),
    }
    candidates = [
        Candidate(g.key, len(g.members), g.threshold, attribute=g.is_cut) for g in groups.values()
    ]
    earlier_published: dict[str | None, list[PublishedGroup]] = defaultdict(list)
    for version in earlier or []:
        for family, published in _earlier_published(version, bank, k).items():
            earlier_published[family] += [
                PublishedGroup(
                    f"v{version.version}:{g.key}", g.atoms, g.hidden, g.count_band, g.items
                )
                for g in published
            ]
    cut_keys = {
        family: {key for key, g in groups.items() if g.cut == family} for family in cut_values
    }
    hidden_families: list[str] = []
    exposures: list[Exposure] = []
    for round_ in range(1, MAX_AUDIT_ROUNDS + 1):
        hidden = suppress(candidates, structure, k, forced=forced)
        cells = _all_cells(groups, plans, set(hidden), invited, k)
        exposures, families = _audit_all(
            groups, cells, plans, cut_values, earlier_published, k, respondents
        )
        notes["rounds"] = round_
        for family in sorted(families):
            forced |= cut_keys[family]
            hidden_families.append(family)
        fixes = set()
        for exposure in exposures:
            fix = _fix_exposure(exposure, groups, set(hidden) | forced, structure)
            if fix is not None:
                fixes.add(fix)
        if exposures and not fixes:
            break
        if not fixes and not families:
            break
        forced |= fixes
        notes["exposures_fixed"] = [*notes["exposures_fixed"], *sorted(fixes)]  # type: ignore[misc]
    else:
        exposures = exposures or []
        if families or fixes:
            exposures = [Exposure("release", "rounds exhausted", math.nan, math.nan)]
    notes["cut_families_hidden"] = hidden_families
    if exposures:
        logger.error("release for wave %s cannot pass the audit; storing it fully hidden", wave.id)
        notes["fully_hidden"] = "the audit found exposures that further suppression did not clear"
        cells = _all_cells(groups, plans, set(groups), invited, k)
    else:
        apply_changes(cells, previous_cells)
    hidden_cells = sum(1 for c in cells if c.hidden)
    notes.update(
        {
            "cells": len(cells),
            "hidden_cells": hidden_cells,
            "groups": len(groups),
            "hidden_groups": len(
                {c.group.key for c in cells if c.measure == "respondents" and c.hidden}
            ),
            "passed": not exposures,
        }
    )
    # A release that could not pass shows nothing at all, comments included.
    comment_groups = [] if exposures else _release_comments(wave, units, respondents, bank, k)
    notes["comment_groups"] = len(comment_groups)
    notes["comments_released"] = sum(len(g.comments) for g in comment_groups)
    return Draft(cells, comment_groups, notes)


def _all_cells(
    groups: dict[str, Group],
    plans: dict[str, ItemPlan],
    hidden: set[str],
    invited: dict[int, set[int]],
    k: int,
) -> list[CellDraft]:
    cells: list[CellDraft] = []
    for key, group in groups.items():
        cells += group_cells(group, plans, key in hidden, k)
        if not group.is_cut and group.scope is CellScope.SUBTREE:
            cell = participation_cells(group, invited, k)
            if key in hidden:
                cell = CellDraft(group, "participation", "rate", hidden=True)
            cells.append(cell)
    return cells


def _audit_all(
    groups: dict[str, Group],
    cells: list[CellDraft],
    plans: dict[str, ItemPlan],
    cut_values: dict[str, list[str]],
    earlier: dict[str | None, list[PublishedGroup]],
    k: int,
    respondents: list[Respondent],
) -> tuple[list[Exposure], set[str]]:
    """Audit the hierarchy and each cut family, together with anything published before.

    Returns the hierarchy's exposures (fixed group by group) and the cut families the audit
    could not clear within its budget (hidden whole: an equity cut is never worth a doubt).
    """
    exposures: list[Exposure] = []
    exposed_families: set[str] = set()
    shown_cuts = {
        c.group.key for c in cells if c.group.is_cut and c.measure == "respondents" and not c.hidden
    }
    for family in [None, *cut_values]:
        values = tuple(cut_values.get(family, [])) if family else ()
        published = published_groups(groups, cells, plans, family, values)
        if family is not None and not any(g.key in shown_cuts for g in published):
            # Nothing this family publishes tells its cut values apart, so its hidden groups
            # are as free as the units they split, which the hierarchy's audit already covers.
            continue
        # A hidden group adds no constraint, so only what an earlier version showed matters.
        before = [
            PublishedGroup(f"earlier:{g.key}", g.atoms, g.hidden, g.count_band, g.items)
            for g in earlier.get(family, [])
            if not g.hidden
        ]
        dataset = _dataset(respondents, family, values)
        # Only a hidden group with someone in it, but fewer than its threshold (k, or 10 for a
        # cut value), has answers to protect: an empty group has none, and a larger one could
        # have been shown in its own right.
        targets = {
            g.key
            for g in published
            if g.hidden and 0 < len(groups[g.key].members) < groups[g.key].threshold
        }
        hierarchy = family is None
        found = audit(
            [*published, *before],
            # A cut family is attacked with the cuts' own threshold: a group of 5 to 9 people
            # sharing an answer must not be worked out either.
            k if hierarchy else max(k, CUT_MIN_GROUP_SIZE),
            dataset=dataset,
            targets=targets,
            budget=HIERARCHY_AUDIT_SECONDS if hierarchy else CUT_AUDIT_SECONDS,
            # Any exposure hides a whole cut family, so its audit stops at the first one.
            time_limit=HIERARCHY_SOLVE_SECONDS if hierarchy else CUT_SOLVE_SECONDS,
            stop_at_first=not hierarchy,
        )
        if family is None:
            exposures += found
        elif found:
            exposed_families.add(family)
    return exposures, exposed_families


def _dataset(
    respondents: list[Respondent], family: str | None, family_values: tuple[str, ...]
) -> dict[str, list[dict[str, int]]]:
    """The answers the release was computed from, by audit atom: a known solution to start from.

    The audit re-checks it against every published number and never trusts it; it only saves
    the solver from searching for a first solution.
    """
    dataset: dict[str, list[dict[str, int]]] = defaultdict(list)
    for r in respondents:
        if family is None:
            atom = f"unit{r.unit_id}"
        else:
            value = r.cuts.get(family, "-")
            atom = f"unit{r.unit_id}|{value if value in family_values else '-'}"
        dataset[atom].append(r.values)
    return dataset


def _earlier_published(
    release: Release, bank: QuestionBank, k: int
) -> dict[str | None, list[PublishedGroup]]:
    """What an earlier version of this wave's release published, to audit the new one with it."""
    wave = db.session.get(Wave, release.wave_id)
    assert wave is not None  # noqa: S101 - a release's wave is a foreign key, never missing
    units = list(db.session.scalars(sa.select(Unit).order_by(Unit.path)))
    respondents = _respondents(wave.id)
    cut_values = {cut.id: [o.value for o in cut.options] for cut in bank.cuts.values()}
    groups, _ = build_groups(units, respondents, cut_values, k)
    plans = item_plans(wave, bank)
    stored = {
        (c.unit_id, c.scope, c.cut, c.cut_value, c.measure, c.metric): c
        for c in db.session.scalars(
            sa.select(ReleaseCell).where(ReleaseCell.release_id == release.id)
        )
    }
    drafts = []
    for group in groups.values():
        for (unit_id, scope, cut, value, measure, metric), c in stored.items():
            if (unit_id, scope, cut, value) == (
                group.unit_id,
                group.scope,
                group.cut,
                group.cut_value,
            ):
                drafts.append(
                    CellDraft(
                        group, measure, metric, c.value, c.ci_low, c.ci_high, c.n_band, c.hidden
                    )
                )
    return {
        family: published_groups(
            groups, drafts, plans, family, tuple(cut_values.get(family, [])) if family else ()
        )
        for family in [None, *cut_values]
    }


def _previous_drafts(
    release: Release, bank: QuestionBank, k: int
) -> dict[tuple[str, str, str], CellDraft]:
    """The previous wave's cells with their estimates recomputed from its raw answers."""
    wave = db.session.get(Wave, release.wave_id)
    assert wave is not None  # noqa: S101 - a release's wave is a foreign key, never missing
    units = list(db.session.scalars(sa.select(Unit).order_by(Unit.path)))
    respondents = _respondents(wave.id)
    if not respondents:
        return {}
    cut_values = {cut.id: [o.value for o in cut.options] for cut in bank.cuts.values()}
    groups, _ = build_groups(units, respondents, cut_values, k)
    plans = item_plans(wave, bank)
    shown = {
        (c.unit_id, c.scope, c.cut, c.cut_value, c.measure, c.metric): c.value
        for c in db.session.scalars(
            sa.select(ReleaseCell).where(
                ReleaseCell.release_id == release.id, ReleaseCell.hidden.is_(False)
            )
        )
    }
    result = {}
    for group in groups.values():
        for cell in group_cells(group, plans, False, k):
            identity = (
                group.unit_id,
                group.scope,
                group.cut,
                group.cut_value,
                cell.measure,
                cell.metric,
            )
            if identity in shown:
                # The change shown is between two published values; only its verdict uses the
                # unrounded estimates.
                cell.value = shown[identity]
                result[(group.key, cell.measure, cell.metric)] = cell
    return result


def _cross_wave_forced(
    wave: Wave, groups: dict[str, Group], invited: dict[int, set[int]], k: int
) -> set[str]:
    """Unit groups hidden because only a joiner or a leaver separates them from last wave's.

    If last wave's invited set and this one's differ only by people joining (or only by people
    leaving), fewer than k of them, and the respondent counts differ by exactly that many, the
    two published results would differ by those few people's answers.
    """
    previous = db.session.scalar(
        sa.select(Wave).where(
            Wave.program_id == wave.program_id, Wave.sequence == wave.sequence - 1
        )
    )
    if previous is None:
        return set()
    before_invited = _invited(previous.id)
    before_counts = _respondents_by_unit(previous.id)
    forced = set()
    for key, group in groups.items():
        if group.is_cut:
            continue
        now_people = set().union(*(invited.get(u, set()) for u in group.unit_ids))
        then_people = set().union(*(before_invited.get(u, set()) for u in group.unit_ids))
        joined, left = now_people - then_people, then_people - now_people
        change = len(joined) - len(left)
        if (joined and left) or not (0 < len(joined | left) < k):
            continue
        then_count = sum(before_counts.get(u, 0) for u in group.unit_ids)
        if len(group.members) - then_count == change:
            forced.add(key)
    return forced


# ------------------------------------------------------------------ comments


def _release_comments(
    wave: Wave, units: list[Unit], respondents: list[Respondent], bank: QuestionBank, k: int
) -> list[CommentGroup]:
    """Comments grouped so each group has enough respondents and commenters, masked and tagged."""
    rows = list(
        db.session.execute(
            sa.select(Comment.unit_id, Comment.body).where(Comment.wave_id == wave.id)
        ).tuples()
    )
    names = _roster_names()
    respondents_by_unit: dict[int, int] = defaultdict(int)
    for r in respondents:
        respondents_by_unit[r.unit_id] += 1
    groups = group_comments(
        units,
        respondents_by_unit,
        rows,
        min_respondents=max(COMMENT_MIN_RESPONDENTS, k),
        min_commenters=COMMENT_MIN_COMMENTERS,
    )
    for group in groups:
        masked = [mask_comment(body, names) for body in group.raw]
        _shuffler.shuffle(masked)
        group.comments = [(body, tag_topics(body, bank.topics)) for body in masked]
        group.raw = []
    return groups


def _roster_names() -> set[str]:
    names: set[str] = set()
    for (name,) in db.session.execute(
        sa.select(Person.name).where(Person.name.is_not(None))
    ).tuples():
        for part in str(name).split():
            if len(part) >= 3:
                names.add(part)
        names.add(str(name))
    return names
