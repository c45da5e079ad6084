"""The privacy rules every output obeys, decided here and nowhere else.

Thresholds, count bands and rounding live in this module; releases, participation and every
report call these functions rather than restating the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from wellbeing.config import MIN_GROUP_SIZE_FLOOR

COMMENT_MIN_RESPONDENTS = 10
COMMENT_MIN_COMMENTERS = 3
CUT_MIN_GROUP_SIZE = 10
# Equity cuts are reported for the agency (depth 0) and its programs (depth 1) only: below that,
# groups of ten per answer are rare and every extra level only adds ways to difference.
CUT_MAX_DEPTH = 1

# Counts are only ever shown as one of these bands: (low, high or None, label).
COUNT_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (5, 9, "5–9"),
    (10, 19, "10–19"),
    (20, 49, "20–49"),
    (50, None, "50+"),
)
HIDDEN_LABEL = "hidden"


def min_group_size() -> int:
    """k for this deployment: configured upward only, never below the floor."""
    configured = int(current_app.config.get("MIN_GROUP_SIZE", MIN_GROUP_SIZE_FLOOR))
    return max(configured, MIN_GROUP_SIZE_FLOOR)


def count_band(n: int, k: int) -> str | None:
    """The band a count is shown as, or None when the count must stay hidden."""
    if n < k:
        return None
    for low, high, label in COUNT_BANDS:
        if n >= low and (high is None or n <= high):
            return label
    return None


def band_floor(n: int, k: int) -> int | None:
    """The low end of the band a count is shown in, or None when it must stay hidden."""
    if n < k:
        return None
    return max(low for low, _, _ in COUNT_BANDS if low <= n)


def unanimous(values: list[int] | list[float]) -> bool:
    """Whether showing a statistic of these answers would show everyone's answer."""
    return len(set(values)) <= 1


def all_or_none(count: int, total: int) -> bool:
    """Whether a share is 0% or 100%: "none of them" or "all of them" is everyone's answer."""
    return count in (0, total)


def round_mean(value: float) -> float:
    """Means are shown to one decimal place."""
    return round(value + 0.0, 1)


def round_percent(value: float) -> int:
    """Percentages are shown to the nearest 5."""
    return int(5 * round(value / 5))


@dataclass(frozen=True)
class Participation:
    """Participation for a group, as it may be shown: banded, or hidden."""

    invited_band: str | None
    responded_band: str | None
    rate_percent: int | None

    @property
    def hidden(self) -> bool:
        return self.rate_percent is None


def participation(invited: int, responded: int, k: int) -> Participation:
    """Participation shown only where invited and responded are both at least k."""
    if invited < k or responded < k:
        return Participation(None, None, None)
    rate = round_percent(100 * responded / invited)
    return Participation(count_band(invited, k), count_band(responded, k), rate)
