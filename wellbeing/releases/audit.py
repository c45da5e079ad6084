"""The release audit: an integer program that attacks a release before it is stored.

Independent of the suppression rules on purpose: it reads only what a release publishes. Every
published number becomes a constraint on unknown integers, and for every hidden group the audit
asks a MILP solver (scipy's ``milp``, i.e. HiGHS) how small, large, high or low that group can be.

Model. Atoms are disjoint cells; every respondent is in exactly one. Unknowns: ``n[a]`` people in
atom ``a`` and, for each item a shown group publishes, ``x[a, i, v]`` people in ``a`` who answered
item ``i`` with value ``v`` (``Σ_v x[a, i, v] ≤ n[a]``: the rest skipped or chose "prefer not to
say"). A shown group adds its count band and, per item: the 1-decimal mean as the interval
``[m − 0.05, m + 0.05]``; each percentage rounded to 5 as ``[p − 2.5, p + 2.5]``; a published
distribution value by value; an answered band; and at least one answer behind any statistic.
Both ends of every rounding interval stay feasible, whatever tie rule the release used.

Exposures of a hidden group H (one per group and kind):
- ``count``: every solution puts between 1 and k − 1 people in H;
- ``sum:<item>``: H can be non-empty and its answer sum on the item varies by less than the
  item's scale span, so one person's answer could be pinned;
- ``answer:<item>``: H can hold answers to the item but they must all be one value (a
  unanimous group seen from the inside); ``low == high`` is that value.

How it stays sound, and fast enough. Rounded means and percentages of small groups make thin,
lattice-like constraints that HiGHS finds hard to satisfy from scratch (a whole release of ~150
atoms × 10 items may not yield a single solution in minutes), so the audit never relies on
solving the whole program when it can avoid it:
- A group is declared safe only on the strength of real solutions: integer points that pass an
  exact re-check against every published number. They come from ``dataset`` (the data the
  release was computed from: optional, checked, never trusted, and strongly recommended for
  real releases), from *swaps* (answers moved between atoms so that every shown group keeps
  exactly its answers of each value), and from *restricted* programs: everything outside a small
  neighbourhood of H fixed at a known solution and every unknown outside H moved at most
  ``STEP``, so any answer is a solution of the whole. Neighbourhoods grow from H through the
  smallest shown groups around it.
- A group is declared exposed only on the strength of bounds: the exact optima of the whole
  program, or (in large programs, tried first) *relaxed* programs that keep only the
  constraints lying inside a small neighbourhood, so a narrow relaxed range is a narrow true
  range. Reported ``low``/``high`` are those bounds: exact when the whole program was solved.
- A solve that runs out of time proves nothing. Once a whole-program solve has, the rest are
  skipped; a group nothing else decides is reported exposed with ``nan`` bounds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, vstack

__all__ = ["Dataset", "Exposure", "ItemFacts", "PublishedGroup", "audit"]

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
Dataset = Mapping[str, Sequence[Mapping[str, int]]]  # atom -> respondents -> item -> value
SafeTest = Callable[[float, float], bool]  # (lowest, highest) -> the group is safe

MEAN_HALF_WIDTH = 0.05  # means are published to 1 decimal
PERCENT_HALF_WIDTH = 2.5  # percentages are published to the nearest 5
TOLERANCE = 1e-9  # keeps exact boundary values of a rounding interval feasible
CHECK_TOLERANCE = 1e-6  # how far a rounded solver point may sit from a bound and still count
OPEN_ENDED_CAP = 10_000  # people per atom when nothing published bounds it
LOCAL_ATOMS = 48  # the largest neighbourhood grown group by group
LOCAL_TIME_LIMIT = 0.5  # seconds for a search near a known solution: a heuristic step
LOCAL_NODES = 100  # branch-and-bound nodes for such a search
STEP = 3  # how far a restricted search may move any one unknown from the known solution
RELAXED_ATOMS = 8  # the largest neighbourhood whose relaxed program is solved for bounds


@dataclass(frozen=True)
class ItemFacts:
    """What a release publishes about one item for one shown group."""

    values: tuple[int, ...]
    mean: float | None = None
    favourable: frozenset[int] = frozenset()
    favourable_pct: int | None = None
    unfavourable: frozenset[int] = frozenset()
    unfavourable_pct: int | None = None
    distribution: dict[int, int] | None = None
    answered_band: tuple[int, int | None] | None = None

    def publishes_anything(self) -> bool:
        """Whether any number about the item is shown, not just the item's name."""
        return (
            self.mean is not None
            or self.favourable_pct is not None
            or self.unfavourable_pct is not None
            or self.distribution is not None
            or self.answered_band is not None
        )


@dataclass(frozen=True)
class PublishedGroup:
    """A group of respondents as one release (or an earlier release of the same groups) shows it."""

    key: str
    atoms: frozenset[str]
    hidden: bool
    count_band: tuple[int, int | None] | None = None
    items: Mapping[str, ItemFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class Exposure:
    """A hidden group whose count or sum the published numbers pin down or narrow too far."""

    group: str
    what: str
    low: float
    high: float


def audit(
    groups: Sequence[PublishedGroup],
    k: int,
    *,
    time_limit: float = 10.0,
    dataset: Dataset | None = None,
    budget: float | None = None,
    targets: Collection[str] | None = None,
    stop_at_first: bool = False,
) -> list[Exposure]:
    """The hidden groups the published numbers expose; ValueError if they contradict."""
    # ``dataset`` (atom -> respondents -> item -> value, on the scale of ``ItemFacts.values``) is
    # the data the release was computed from: a solution to search from. It must fit the
    # published numbers (ValueError otherwise) and changes how fast, never what, the audit finds.
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if not time_limit > 0:
        raise ValueError(f"time_limit must be positive, not {time_limit}")
    for group in groups:
        if group.hidden and (group.count_band is not None or group.items):
            raise ValueError(f"hidden group {group.key!r} carries published numbers")
    # ``budget`` caps the whole audit in seconds: a hidden group not decided by then is reported
    # exposed with ``nan`` bounds, so running out of time can only hide more, never show more.
    deadline = math.inf if budget is None else time.monotonic() + budget
    program = _Program(groups, time_limit, deadline)
    hidden = [group for group in groups if group.hidden and group.atoms]  # empty: nothing to leak
    if targets is not None:
        # The caller knows which hidden groups really hold someone below k: only they have
        # anyone whose answers could be learnt. The others still constrain nothing.
        hidden = [group for group in hidden if group.key in targets]
    if not hidden:
        return []
    if dataset is not None:
        program.add_dataset(dataset)
    elif not program.find_first_solution():
        return [Exposure(group.key, "count", math.nan, math.nan) for group in hidden]
    exposures: dict[tuple[str, str], Exposure] = {}
    for group in hidden:
        if time.monotonic() > deadline:
            exposures.setdefault(
                (group.key, "count"), Exposure(group.key, "count", math.nan, math.nan)
            )
            continue
        for exposure in _attack(program, group, k):
            exposures.setdefault((exposure.group, exposure.what), exposure)
        if exposures and stop_at_first:
            break  # the caller acts on any exposure the same way: no need to find them all
    return list(exposures.values())


def _attack(program: _Program, group: PublishedGroup, k: int) -> list[Exposure]:
    """Every way the published numbers expose one hidden group."""
    found: list[Exposure] = []
    atoms = program.atom_indexes(group.atoms)
    count = program.count(atoms)
    narrow = program.decide(count, atoms, None, _count_test(k))
    if narrow is not None:
        found.append(Exposure(group.key, "count", *narrow))
    if _never_positive(program.decide(count, atoms, None, CAN_BE_POSITIVE)):
        return found  # provably empty: nothing about it can leak
    for item, values in program.items.items():
        uncovered = [a for a in atoms if a not in program.covered[item]]
        if uncovered:
            someone = program.count(uncovered)
            if program.decide(someone, uncovered, None, CAN_BE_POSITIVE) is None:
                continue  # someone here may have answered with no published number on the item
        covered = [a for a in atoms if a in program.covered[item]]
        if not covered:
            continue  # the rest is provably empty or undecided above
        anyone = program.answers(covered, item, set(values))
        if _never_positive(program.decide(anyone, covered, item, CAN_BE_POSITIVE)):
            continue  # nobody here can have answered the item: there is no answer to learn
        total = program.answer_sum(covered, item)
        narrow = program.decide(total, covered, item, _spread_test(max(values) - min(values)))
        if narrow is not None:
            found.append(Exposure(group.key, f"sum:{item}", *narrow))
        pinned = _only_value(program, covered, item)
        if pinned is not None:
            found.append(Exposure(group.key, f"answer:{item}", pinned, pinned))
    return found


def _only_value(program: _Program, atoms: list[int], item: str) -> float | None:
    """The one value every answer from these atoms must have, if the numbers force one."""
    values = program.items[item]

    def possible() -> list[int]:
        return [v for v in values if program.seen(program.answers(atoms, item, {v}))[1] > 0]

    given = possible()
    if not given:
        anyone = program.answers(atoms, item, set(values))
        if _never_positive(program.decide(anyone, atoms, item, CAN_BE_POSITIVE)):
            return None  # nobody here can have answered; the sum check covers that
        given = possible()
        if not given:
            return math.nan
    if len(given) > 1:
        return None
    others = program.answers(atoms, item, set(values) - {given[0]})
    verdict = program.decide(others, atoms, item, CAN_BE_POSITIVE)
    if verdict is None:
        return None
    return float(given[0]) if _never_positive(verdict) else math.nan


def _never_positive(verdict: tuple[float, float] | None) -> bool:
    """Whether a CAN_BE_POSITIVE verdict proved the quantity is never positive."""
    return verdict is not None and not math.isnan(verdict[1])


@dataclass(frozen=True)
class _Objective:
    """A linear function of the unknowns, as its non-zero columns and their weights."""

    columns: IndexArray
    weights: FloatArray


class _Program:
    """The published numbers as one integer program, built once and solved per objective."""

    def __init__(
        self, groups: Sequence[PublishedGroup], time_limit: float, deadline: float = math.inf
    ) -> None:
        """Index the atoms and items and build the constraint matrix."""
        self._time_limit = time_limit
        self.deadline = deadline
        self.whole_too_hard = False  # a whole-program solve ran out of time: skip the rest
        names = sorted({atom for group in groups for atom in group.atoms})
        self.atom_index = {name: index for index, name in enumerate(names)}
        shown = [group for group in groups if not group.hidden]
        self.items = _item_scales(shown)
        self.covered: dict[str, set[int]] = {item: set() for item in self.items}
        for group in shown:
            for item, facts in group.items.items():
                if facts.publishes_anything():
                    self.covered[item].update(self.atom_indexes(group.atoms))
        self.size = len(names)
        self.answer_base: dict[tuple[int, str], int] = {}
        for item, values in self.items.items():
            for atom in sorted(self.covered[item]):
                self.answer_base[atom, item] = self.size
                self.size += len(values)
        self.regions = sorted(
            {frozenset(self.atom_indexes(group.atoms)) for group in shown}, key=len
        )
        self.swaps = {item: self._swap_rows(shown, item) for item in self.items}
        self._rows: list[int] = []
        self._cols: list[int] = []
        self._coefficients: list[float] = []
        self._lower: list[float] = []
        self._upper: list[float] = []
        for (atom, item), base in self.answer_base.items():
            answers = {base + j: 1.0 for j in range(len(self.items[item]))}
            self._add_row({**answers, atom: -1.0}, -math.inf, 0.0)
        for group in shown:
            self._add_group(group)
        self.matrix = csr_array(
            (self._coefficients, (self._rows, self._cols)), shape=(len(self._lower), self.size)
        )
        self.by_column = self.matrix.tocsc()
        self.row_sizes = np.diff(self.matrix.indptr)
        self.lower = np.array(self._lower, dtype=np.float64)
        self.upper = np.array(self._upper, dtype=np.float64)
        self.cap = float(_atom_cap(shown))
        self._points = np.zeros((self.size, 16))  # proven solutions, one per column
        self._found = 0

    @property
    def time_limit(self) -> float:
        """Seconds one solve may take: the per-solve limit, cut short by the audit's deadline."""
        return min(self._time_limit, max(1e-6, self.deadline - time.monotonic()))

    def atom_indexes(self, atoms: Iterable[str]) -> list[int]:
        """Column indexes of the people counts of the given atoms."""
        return sorted(self.atom_index[atom] for atom in atoms)

    # ------------------------------------------------------------------ building

    def _add_row(self, coefficients: Mapping[int, float], lower: float, upper: float) -> None:
        """Append one linear constraint ``lower ≤ Σ coefficient · variable ≤ upper``."""
        row = len(self._lower)
        for column, value in coefficients.items():
            self._rows.append(row)
            self._cols.append(column)
            self._coefficients.append(value)
        self._lower.append(lower)
        self._upper.append(upper)

    def _add_group(self, group: PublishedGroup) -> None:
        """Turn everything one shown group publishes into constraints."""
        atoms = self.atom_indexes(group.atoms)
        if group.count_band is not None:
            low, high = group.count_band
            self._add_row(
                dict.fromkeys(atoms, 1.0), low - TOLERANCE, _upper_or_inf(high) + TOLERANCE
            )
        for item, facts in group.items.items():
            if facts.publishes_anything():
                self._add_item(atoms, item, facts)

    def _add_item(self, atoms: list[int], item: str, facts: ItemFacts) -> None:
        """Constraints from one item's published facts for one shown group."""
        values = self.items[item]

        def row(weights: Sequence[float], lower: float, upper: float) -> None:
            coefficients = {
                self.answer_base[atom, item] + j: weight
                for atom in atoms
                for j, weight in enumerate(weights)
            }
            self._add_row(coefficients, lower, upper)

        # Any published statistic stands on at least one answer.
        row([1.0] * len(values), 1.0 - TOLERANCE, math.inf)
        if facts.mean is not None:
            low_mean, high_mean = facts.mean - MEAN_HALF_WIDTH, facts.mean + MEAN_HALF_WIDTH
            row([v - low_mean for v in values], -TOLERANCE, math.inf)
            row([v - high_mean for v in values], -math.inf, TOLERANCE)
        shares: list[tuple[frozenset[int], int]] = []
        if facts.favourable_pct is not None:
            shares.append((facts.favourable, facts.favourable_pct))
        if facts.unfavourable_pct is not None:
            shares.append((facts.unfavourable, facts.unfavourable_pct))
        shares.extend((frozenset({v}), pct) for v, pct in (facts.distribution or {}).items())
        for chosen, pct in shares:
            low_share = (pct - PERCENT_HALF_WIDTH) / 100
            high_share = (pct + PERCENT_HALF_WIDTH) / 100
            row([(v in chosen) - low_share for v in values], -TOLERANCE, math.inf)
            row([(v in chosen) - high_share for v in values], -math.inf, TOLERANCE)
        if facts.answered_band is not None:
            low_count, high_count = facts.answered_band
            row(
                [1.0] * len(values),
                low_count - TOLERANCE,
                _upper_or_inf(high_count) + TOLERANCE,
            )

    def _swap_rows(self, shown: Sequence[PublishedGroup], item: str) -> csr_array:
        """Per shown group and value, the item's answers with that value (to hold them fixed)."""
        rows: list[int] = []
        cols: list[int] = []
        row = 0
        for group in shown:
            facts = group.items.get(item)
            if facts is None or not facts.publishes_anything():
                continue
            for j in range(len(self.items[item])):
                for atom in self.atom_indexes(group.atoms):
                    rows.append(row)
                    cols.append(self.answer_base[atom, item] + j)
                row += 1
        for atom in sorted(self.covered[item]):  # answers within the atom's people
            base = self.answer_base[atom, item]
            for j in range(len(self.items[item])):
                rows.append(row)
                cols.append(base + j)
            row += 1
        return csr_array((np.ones(len(rows)), (rows, cols)), shape=(row, self.size))

    # ------------------------------------------------------------------ objectives

    def count(self, atoms: Iterable[int]) -> _Objective:
        """The number of people in the given atoms."""
        columns = np.array(sorted(atoms), dtype=np.intp)
        return _Objective(columns, np.ones(len(columns)))

    def answer_sum(self, atoms: Iterable[int], item: str) -> _Objective:
        """The sum of the given atoms' answers to an item."""
        return self._answer_objective(atoms, item, lambda value: float(value))

    def answers(self, atoms: Iterable[int], item: str, values: set[int]) -> _Objective:
        """How many of the given atoms' answers to an item have one of ``values``."""
        return self._answer_objective(atoms, item, lambda value: float(value in values))

    def _answer_objective(
        self, atoms: Iterable[int], item: str, weight: Callable[[int], float]
    ) -> _Objective:
        """A weighted count of the given atoms' answers to an item, weighted by value."""
        columns: list[int] = []
        weights: list[float] = []
        for atom in atoms:
            base = self.answer_base[atom, item]
            for j, value in enumerate(self.items[item]):
                if weight(value):
                    columns.append(base + j)
                    weights.append(weight(value))
        return _Objective(np.array(columns, dtype=np.intp), np.array(weights, dtype=np.float64))

    # ------------------------------------------------------------------ proven solutions

    def add_dataset(self, dataset: Dataset) -> None:
        """Start from the dataset the release was computed from, once it is checked to fit."""
        point = np.zeros(self.size)
        for name, respondents in dataset.items():
            atom = self.atom_index.get(name)
            if atom is None:
                continue  # people in no published group constrain nothing
            point[atom] = len(respondents)
            for answers in respondents:
                for item, value in answers.items():
                    base = self.answer_base.get((atom, item))
                    if base is None:
                        continue  # an item nothing published about here
                    if value not in self.items[item]:
                        raise ValueError(f"dataset answer {value!r} is off item {item!r}'s scale")
                    point[base + self.items[item].index(value)] += 1
        point = np.minimum(point, self.cap)
        if not self._add_point(point):
            raise ValueError("the dataset does not fit the published numbers")

    def find_first_solution(self) -> bool:
        """Seed the solutions from the whole program; False if none was found in time."""
        nothing = _Objective(np.zeros(0, dtype=np.intp), np.zeros(0))
        self._solve(nothing, True, None)  # any solution will do
        return self._found > 0

    def _add_point(self, point: FloatArray) -> bool:
        """Keep a solver point as proof of what is possible, once it passes an exact re-check."""
        rounded = np.round(point)
        if rounded.min() < 0 or rounded.max() > self.cap:
            return False
        activity = self.matrix @ rounded
        if np.any(activity < self.lower - CHECK_TOLERANCE) or np.any(
            activity > self.upper + CHECK_TOLERANCE
        ):
            return False
        if self._found == self._points.shape[1]:
            self._points = np.concatenate([self._points, np.zeros_like(self._points)], axis=1)
        self._points[:, self._found] = rounded
        self._found += 1
        return True

    def seen(self, objective: _Objective) -> tuple[float, float]:
        """The lowest and highest value of an objective among the proven solutions."""
        if self._found == 0:
            return math.inf, -math.inf
        values = objective.weights @ self._points[objective.columns, : self._found]
        return float(values.min()), float(values.max())

    def _best_point(self, objective: _Objective, *, maximise: bool) -> FloatArray:
        """The proven solution with the highest (or lowest) value of the objective."""
        values = objective.weights @ self._points[objective.columns, : self._found]
        column = int(np.argmax(values) if maximise else np.argmin(values))
        return self._points[:, column]

    # ------------------------------------------------------------------ deciding

    def decide(
        self, objective: _Objective, atoms: Sequence[int], item: str | None, test: _Test
    ) -> tuple[float, float] | None:
        """None if solutions prove it safe; else bounds proving it unsafe, or nan if undecided."""
        if test.is_safe(*self.seen(objective)):
            return None
        if item is not None:
            for maximise, _bound in test.targets(*self.seen(objective)):
                self._swap(objective, item, maximise)
                if test.is_safe(*self.seen(objective)):
                    return None
        own = self._columns(atoms, item)
        regions = list(self._neighbourhoods(atoms, item))
        for _region, columns in regions:
            for maximise, bound in test.targets(*self.seen(objective)):
                base = self._best_point(objective, maximise=maximise)
                self._solve(objective, maximise, columns, base=base, target=bound, free=own)
                if test.is_safe(*self.seen(objective)):
                    return None
        if len(self.atom_index) > LOCAL_ATOMS:
            # The whole program may be out of reach: first try to prove it narrow nearby.
            for region, columns in regions:
                if len(region) <= RELAXED_ATOMS:
                    low, high = self._bounds(objective, test, columns)
                    if not (math.isnan(low) or math.isnan(high) or test.is_safe(low, high)):
                        return low, high
        low, high = self._bounds(objective, test, None)
        if test.is_safe(*self.seen(objective)):
            return None
        if math.isnan(low) or math.isnan(high):
            return math.nan, math.nan
        return None if test.is_safe(low, high) else (low, high)

    def _swap(self, objective: _Objective, item: str, maximise: bool) -> None:
        """Pool the best solution that moves answers but keeps each shown group's per value."""
        # Every published number stays true: a cheap, global way to unpin a hidden group.
        base = self._best_point(objective, maximise=maximise)
        columns = np.array(
            [
                self.answer_base[atom, item] + j
                for atom in sorted(self.covered[item])
                for j in range(len(self.items[item]))
            ],
            dtype=np.intp,
        )
        rows = self.swaps[item]
        held = rows @ base
        people = base[sorted(self.covered[item])]
        groups = len(held) - len(people)
        lower = np.concatenate([held[:groups], np.zeros(len(people))])
        upper = np.concatenate([held[:groups], people])
        weights = np.zeros(self.size)
        weights[objective.columns] = objective.weights
        result = milp(
            -weights[columns] if maximise else weights[columns],
            integrality=np.ones(len(columns)),
            bounds=Bounds(0.0, self.cap),
            constraints=LinearConstraint(rows[:, columns], lower, upper),
            options={"time_limit": self.time_limit},
        )
        if result.x is not None:
            point = base.copy()
            point[columns] = result.x
            self._add_point(point)

    def _bounds(
        self, objective: _Objective, test: _Test, columns: IndexArray | None
    ) -> tuple[float, float]:
        """Optima over columns (None: all), bounding the whole's; low = high when max will do."""
        high = self._solve(objective, True, columns)
        if math.isnan(high) or not test.both or test.is_safe(math.inf, high):
            return high, high
        return self._solve(objective, False, columns), high

    def _neighbourhoods(
        self, atoms: Sequence[int], item: str | None
    ) -> Iterator[tuple[set[int], IndexArray]]:
        """Growing regions around the atoms, through the smallest shown groups that touch them."""
        region = set(atoms)
        while True:
            yield region, self._columns(region, item)
            touching = [g for g in self.regions if not g <= region and not g.isdisjoint(region)]
            if not touching:
                return
            smallest = min(len(g - region) for g in touching)
            region = region.union(*(g for g in touching if len(g - region) == smallest))
            if len(region) > LOCAL_ATOMS:
                return

    def _columns(self, region: Iterable[int], item: str | None) -> IndexArray:
        """The unknowns of a region: its people counts and its answers (to one or all items)."""
        columns: list[int] = []
        items = list(self.items) if item is None else [item]
        for atom in region:
            columns.append(atom)
            for name in items:
                base = self.answer_base.get((atom, name))
                if base is not None:
                    columns.extend(range(base, base + len(self.items[name])))
        return np.array(sorted(columns), dtype=np.intp)

    def _solve(
        self,
        objective: _Objective,
        maximise: bool,
        columns: IndexArray | None,
        *,
        base: FloatArray | None = None,
        target: float | None = None,
        free: IndexArray | None = None,
    ) -> float:
        """Optimise some columns (None: all), the rest fixed at ``base`` or dropped; nan: unsure."""
        # With a base, any answer is a solution of the whole program and is pooled; ``target``
        # then asks only for one whose objective reaches it, and unknowns other than ``free``
        # move at most STEP. Without a base, constraints reaching outside the columns are
        # dropped, so the optimum bounds the whole program's.
        whole = columns is None
        if whole and self.whole_too_hard:
            return math.nan
        if columns is None:
            columns = np.arange(self.size, dtype=np.intp)
        part = self.by_column[:, columns].tocsr()
        reached = np.diff(part.indptr)
        lower, upper = self.lower, self.upper
        if base is None:
            rows = (reached == self.row_sizes) & (reached > 0)
        else:
            rows = reached > 0
            fixed = self.matrix @ base - part @ base[columns]
            lower, upper = lower - fixed, upper - fixed
        if base is None:
            bounds = Bounds(0.0, self.cap)
        else:
            # Small steps from a known solution for all but the ``free`` unknowns: the search
            # stays local and fast, and anything it finds is still a solution.
            low_bound = np.maximum(base - STEP, 0.0)
            high_bound = np.minimum(base + STEP, self.cap)
            if free is not None:
                low_bound[free], high_bound[free] = 0.0, self.cap
            bounds = Bounds(low_bound[columns], high_bound[columns])
        weights = np.zeros(self.size)
        weights[objective.columns] = objective.weights
        c = weights[columns]
        matrix, lower, upper = part[rows], lower[rows], upper[rows]
        if target is not None:
            # Any point past the target will do: a feasibility problem stops at the first one.
            matrix = vstack([matrix, csr_array(c.reshape(1, -1))], format="csr")
            outside = 0.0 if base is None else weights @ base - c @ base[columns]
            reach = target - outside
            lower = np.append(lower, reach - TOLERANCE if maximise else -math.inf)
            upper = np.append(upper, math.inf if maximise else reach + TOLERANCE)
            c = np.zeros(len(columns))
        options: dict[str, float | bool] = {"time_limit": self.time_limit, "mip_rel_gap": 0.0}
        if base is not None:
            # A local search is a heuristic step: give up early rather than prove it hopeless.
            options.update(
                time_limit=min(self.time_limit, LOCAL_TIME_LIMIT), node_limit=LOCAL_NODES
            )
        result = milp(
            -c if maximise else c,
            integrality=np.ones(len(columns)),
            bounds=bounds,
            constraints=LinearConstraint(matrix, lower, upper) if matrix.shape[0] else None,
            options=options,
        )
        if result.status == 2 and base is None and target is None:
            raise ValueError("the published numbers contradict each other: no dataset fits them")
        if result.x is not None and (base is not None or len(columns) == self.size):
            point = np.zeros(self.size) if base is None else base.copy()
            point[columns] = result.x
            self._add_point(point)
        if result.status != 0 or result.x is None:
            self.whole_too_hard |= whole and result.status != 2
            return math.nan
        return float(round(-result.fun if maximise else result.fun))


@dataclass(frozen=True)
class _Test:
    """When an objective's range keeps a hidden group safe, and which values would show it."""

    is_safe: SafeTest
    targets: Callable[[float, float], list[tuple[bool, float]]]  # (maximise, bound) to look for
    both: bool = True  # False: only the maximum matters


def _count_test(k: int) -> _Test:
    """Safe when the group can be empty or hold at least k people."""
    return _Test(
        lambda low, high: low <= 0 or high >= k, lambda _low, _high: [(True, k), (False, 0)]
    )


def _spread_test(span: int) -> _Test:
    """Safe when the range is at least ``span`` wide."""
    return _Test(
        lambda low, high: high - low >= span,
        lambda low, high: [(True, low + span), (False, high - span)],
    )


CAN_BE_POSITIVE = _Test(lambda _low, high: high > 0, lambda _low, _high: [(True, 1)], both=False)


def _item_scales(shown: Iterable[PublishedGroup]) -> dict[str, tuple[int, ...]]:
    """Each published item's scale, checked to be the same wherever the item appears."""
    scales: dict[str, tuple[int, ...]] = {}
    for group in shown:
        for item, facts in group.items.items():
            values = tuple(sorted(set(facts.values)))
            if not values or len(values) != len(facts.values):
                raise ValueError(f"item {item!r} in {group.key!r} needs distinct scale values")
            if scales.setdefault(item, values) != values:
                raise ValueError(f"item {item!r} has different scales in different groups")
            named = facts.favourable | facts.unfavourable | set(facts.distribution or {})
            if not named <= set(values):
                raise ValueError(f"item {item!r} in {group.key!r} names values off its scale")
    return scales


def _atom_cap(shown: Iterable[PublishedGroup]) -> int:
    """A generous bound on the people in any atom, so every program is bounded."""
    total = OPEN_ENDED_CAP
    for group in shown:
        if group.count_band is not None:
            low, high = group.count_band
            total += low + (high or 0)
    return total


def _upper_or_inf(value: int | None) -> float:
    """A band's upper end as a float, infinite when the band is open-ended."""
    return math.inf if value is None else float(value)
