"""Run-chart rules from improvement science, applied to a series of published values.

Pure functions: the median centre line, the longest run on one side of it (a shift) and the
number of times the line crosses it (too few crossings). No rule is judged before
``MIN_POINTS`` points; points on the median are ignored, as the rules say. A run of rising or
falling points is offered only as a "possible trend" hint, never as a signal.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_POINTS = 10
TREND_POINTS = 5  # consecutive rises (or falls) shown as a possible trend


@dataclass(frozen=True)
class RunChart:
    """What the run-chart rules say about one series."""

    points: int
    median: float | None
    longest_run: int
    run_limit: int | None
    run_side: str | None  # "above" or "below" the median
    run_indexes: tuple[int, ...]  # positions (in the given series) of the longest run
    crossings: int
    crossings_minimum: int | None
    possible_trend: str | None  # "rising" or "falling"

    @property
    def evaluated(self) -> bool:
        return self.points >= MIN_POINTS

    @property
    def shift(self) -> bool:
        return self.run_limit is not None and self.longest_run > self.run_limit

    @property
    def too_few_crossings(self) -> bool:
        return self.crossings_minimum is not None and self.crossings < self.crossings_minimum

    @property
    def signal(self) -> bool:
        return self.shift or self.too_few_crossings

    def summary(self) -> str:
        """One plain sentence a leader can act on."""
        if not self.evaluated:
            left = MIN_POINTS - self.points
            return (
                f"Run-chart rules start after {MIN_POINTS} shown waves "
                f"({self.points} so far, {left} to go)."
            )
        parts = []
        if self.shift:
            parts.append(
                f"Shift: {self.longest_run} waves in a row {self.run_side} the median "
                f"(more than {self.run_limit} is a signal)."
            )
        if self.too_few_crossings:
            parts.append(
                f"Too few crossings: the line crossed the median {self.crossings} times "
                f"(fewer than {self.crossings_minimum} is a signal)."
            )
        if not parts:
            parts.append("No signal: the variation is what a stable process shows.")
        if self.possible_trend:
            parts.append(f"Possible {self.possible_trend} trend (a hint, not a signal).")
        return " ".join(parts)


def run_limit(useful: int) -> int:
    """The longest run expected by chance in ``useful`` points: round(log2(n) + 3)."""
    return round(math.log2(useful) + 3)


def crossings_minimum(useful: int) -> int:
    """The 5th percentile of Binomial(n − 1, 0.5): fewer crossings than this is a signal.

    The smallest k whose cumulative probability reaches 5%, summed exactly.
    """
    trials = useful - 1
    if trials <= 0:
        return 0
    reached = 0
    for k in range(trials + 1):
        reached += math.comb(trials, k)
        if reached * 20 >= 2**trials:
            return k
    return trials


def analyse(series: Sequence[float | None]) -> RunChart:
    """Apply the rules to a series in time order; ``None`` marks a wave with no shown value."""
    shown = [(i, v) for i, v in enumerate(series) if v is not None]
    if not shown:
        return RunChart(0, None, 0, None, None, (), 0, None, None)
    median = statistics.median(v for _, v in shown)
    useful = [(i, 1 if v > median else -1) for i, v in shown if v != median]
    best: list[int] = []
    best_side = 0
    current: list[int] = []
    side = 0
    crossings = 0
    for i, s in useful:
        if s == side:
            current.append(i)
        else:
            if side != 0:
                crossings += 1
            side, current = s, [i]
        if len(current) > len(best):
            best, best_side = list(current), side
    evaluated = len(shown) >= MIN_POINTS and len(useful) >= 2
    return RunChart(
        points=len(shown),
        median=median,
        longest_run=len(best),
        run_limit=run_limit(len(useful)) if evaluated else None,
        run_side=("above" if best_side > 0 else "below") if best else None,
        run_indexes=tuple(best),
        crossings=crossings,
        crossings_minimum=crossings_minimum(len(useful)) if evaluated else None,
        possible_trend=_trend([v for _, v in shown]),
    )


def _trend(values: list[float]) -> str | None:
    """'rising' or 'falling' when some run of strict steps reaches TREND_POINTS points."""
    longest = {1: 1, -1: 1}
    run, direction = 1, 0
    for before, after in itertools.pairwise(values):
        step = (after > before) - (after < before)
        if step != 0 and step == direction:
            run += 1
        else:
            run, direction = (2, step) if step != 0 else (1, 0)
        if direction:
            longest[direction] = max(longest[direction], run)
    if longest[1] >= TREND_POINTS:
        return "rising"
    if longest[-1] >= TREND_POINTS:
        return "falling"
    return None
