"""Run-chart rules: median, shifts, crossings and the possible-trend hint."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from wellbeing.reports.runchart import MIN_POINTS, analyse, crossings_minimum, run_limit


def test_no_rule_is_judged_before_ten_points() -> None:
    run = analyse([50, 50, 50, 90, 90, 90, 90, 90, 90])
    assert run.points == 9
    assert not run.evaluated and not run.shift and not run.too_few_crossings
    assert "after 10 shown waves" in run.summary()


def test_a_long_run_below_the_median_is_a_shift() -> None:
    series = [70.0, 30, 75, 35, 70, 10, 15, 10, 20, 15, 10, 20, 80, 75, 90, 85]
    run = analyse(series)
    assert run.evaluated and run.median == 32.5
    # 16 useful points: a run must exceed round(log2(16) + 3) = 7; this one is exactly 7
    assert (run.longest_run, run.run_side, run.run_limit) == (7, "below", 7)
    assert run.run_indexes == (5, 6, 7, 8, 9, 10, 11)
    assert not run.shift
    longer = [*series[:5], 20, *series[5:]]
    run = analyse(longer)
    # the median is now 30, a point that is ignored: 16 useful points again, and a run of 8
    assert run.median == 30 and run.run_limit == 7 and run.longest_run == 8
    assert run.shift
    assert "Shift: 8 waves in a row below the median" in run.summary()


def test_a_line_that_keeps_crossing_has_no_signal() -> None:
    run = analyse([40, 60] * 8)
    assert run.evaluated
    assert run.crossings == 15
    assert not run.signal
    assert "No signal" in run.summary()


def test_too_few_crossings_is_a_signal() -> None:
    series = [40.0] * 6 + [60.0] * 6 + [40.0] * 6 + [60.0] * 6
    run = analyse(series)
    assert run.crossings == 3
    assert run.crossings_minimum == crossings_minimum(24) == int(stats.binom.ppf(0.05, 23, 0.5))
    assert run.too_few_crossings


def test_hidden_waves_are_skipped_not_counted_as_points() -> None:
    series: list[float | None] = [50, None, 52.5, None, None, 55, 57.5, 60, 62.5, 65, 67.5, 70]
    run = analyse(series)
    assert run.points == 9 and not run.evaluated
    assert run.possible_trend == "rising"
    assert all(series[i] is not None for i in run.run_indexes)


def test_limits_match_the_published_tables() -> None:
    # Anhøj's tables: n = 12 → runs > 7 or crossings < 3; n = 24 → runs > 8 or crossings < 8
    assert (run_limit(12), crossings_minimum(12)) == (7, 3)
    assert (run_limit(24), crossings_minimum(24)) == (8, 8)


@given(st.lists(st.one_of(st.none(), st.integers(0, 40).map(lambda v: v * 2.5)), max_size=60))
def test_rules_hold_for_any_series(series: list[float | None]) -> None:
    run = analyse(series)
    shown = [v for v in series if v is not None]
    assert run.points == len(shown)
    if run.points < MIN_POINTS:
        assert not run.signal
    if run.median is not None:
        assert min(shown) <= run.median <= max(shown)
        assert all(series[i] is not None and series[i] != run.median for i in run.run_indexes)
        sides = {(series[i] or 0) > run.median for i in run.run_indexes}
        assert len(sides) <= 1
    assert run.longest_run == len(run.run_indexes)
    assert list(run.run_indexes) == sorted(run.run_indexes)
