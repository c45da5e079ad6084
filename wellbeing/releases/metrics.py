"""Scoring per SURVEY_SCIENCE: means, % favourable, domain indices, intervals, change rule.

Pure functions on plain numbers; the release module decides what may be published.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval and the number of answers behind it."""

    value: float
    low: float
    high: float
    n: int
    sd: float = 0.0


def mean_estimate(values: Sequence[float]) -> Estimate | None:
    """Mean with a t interval; None without answers."""
    n = len(values)
    if n == 0:
        return None
    mean = sum(values) / n
    if n == 1:
        return Estimate(mean, mean, mean, 1, 0.0)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, sd)


def wilson(successes: int, n: int) -> Estimate | None:
    """A proportion (0–1) with its Wilson score interval."""
    if n == 0:
        return None
    p = successes / n
    return Estimate(p, *_wilson_bounds(p, n), n)


def _wilson_bounds(p: float, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a share ``p`` observed over ``n``."""
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def index_value(value: float, low: int = 1, high: int = 5) -> float:
    """A 1–5 answer on the 0–100 index scale: (x − 1) / 4 × 100."""
    return (value - low) / (high - low) * 100


@dataclass(frozen=True)
class Change:
    """A wave-to-wave difference and whether it counts as a change."""

    difference: float
    low: float
    high: float
    significant: bool

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "within normal variation"
        return "up" if self.difference > 0 else "down"


def welch_change(before: Estimate, after: Estimate) -> Change | None:
    """Difference of two means with Welch's interval; a change only if it excludes zero."""
    if before.n < 2 or after.n < 2:
        return None
    va, vb = before.sd**2 / before.n, after.sd**2 / after.n
    diff = after.value - before.value
    se = math.sqrt(va + vb)
    if se == 0:
        return Change(diff, diff, diff, diff != 0)
    dof = (va + vb) ** 2 / ((va**2) / (before.n - 1) + (vb**2) / (after.n - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return Change(diff, diff - half, diff + half, diff - half > 0 or diff + half < 0)


def newcombe_change(before: Estimate, after: Estimate) -> Change:
    """Difference of two proportions with Newcombe's hybrid score interval."""
    diff = after.value - before.value
    low = diff - math.sqrt((after.value - after.low) ** 2 + (before.high - before.value) ** 2)
    high = diff + math.sqrt((after.high - after.value) ** 2 + (before.value - before.low) ** 2)
    return Change(diff, low, high, low > 0 or high < 0)


def published_share_interval(share: float, n: int) -> tuple[float, float]:
    """A Wilson interval for an already rounded share (0–1) at a count's band floor.

    Published intervals are built only from numbers that are published anyway (the rounded
    value and the low end of the count band), so they add nothing an attacker could use; they
    are a little wider than the exact ones, never narrower.
    """
    return _wilson_bounds(share, n)


def published_mean_interval(mean: float, sd: float, n: int, sd_step: float) -> tuple[float, float]:
    """A t interval for an already rounded mean at a count's band floor.

    The spread is rounded up to ``sd_step`` (and never below one step), so the interval
    says how uncertain the mean is without giving away the group's exact dispersion.
    """
    coarse = max(sd_step, math.ceil(sd / sd_step) * sd_step)
    half = float(stats.t.ppf(0.975, max(n - 1, 1))) * coarse / math.sqrt(n)
    return mean - half, mean + half
