"""The release audit: a worked example per attack, and a property over generated organisations."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wellbeing.releases.audit import Exposure, ItemFacts, PublishedGroup, audit

K = 5
SCALE = (1, 2, 3, 4, 5)
FAVOURABLE = frozenset({4, 5})

Truth = Mapping[str, Sequence[Mapping[str, int]]]  # atom -> respondents -> item -> value


def shown(
    key: str, atoms: Iterable[str], band: tuple[int, int | None], **items: ItemFacts
) -> PublishedGroup:
    return PublishedGroup(key, frozenset(atoms), hidden=False, count_band=band, items=items)


def hidden(key: str, atoms: Iterable[str]) -> PublishedGroup:
    return PublishedGroup(key, frozenset(atoms), hidden=True)


def band_of(n: int) -> tuple[int, int | None]:
    return (5, 9) if n < 10 else (10, 19) if n < 20 else (20, 49) if n < 50 else (50, None)


def facts(answers: Sequence[int]) -> ItemFacts:
    """Mean to 1 decimal and % favourable to the nearest 5, as a release publishes them."""
    favourable = 100 * sum(a in FAVOURABLE for a in answers) / len(answers)
    return ItemFacts(
        SCALE,
        mean=round(sum(answers) / len(answers), 1),
        favourable=FAVOURABLE,
        favourable_pct=5 * round(favourable / 5),
    )


def publish(
    truth: Truth, definitions: Mapping[str, Iterable[str]], k: int = K
) -> list[PublishedGroup]:
    """Publish every group with at least k respondents and hide the rest."""
    published = []
    for key, atoms in definitions.items():
        people = [person for atom in atoms for person in truth.get(atom, [])]
        if len(people) < k:
            published.append(PublishedGroup(key, frozenset(atoms), hidden=True))
            continue
        items = {}
        for item in sorted({item for person in people for item in person}):
            answers = [person[item] for person in people if item in person]
            items[item] = facts(answers)
        published.append(PublishedGroup(key, frozenset(atoms), False, band_of(len(people)), items))
    return published


def one_item(**atoms: Sequence[int]) -> dict[str, list[dict[str, int]]]:
    """A dataset where everyone answered the one item ``q``."""
    return {atom: [{"q": value} for value in answers] for atom, answers in atoms.items()}


def brute_force(
    groups: Sequence[PublishedGroup], largest: Mapping[str, int]
) -> list[dict[str, tuple[int, int]]]:
    """Every (people, answer sum) per atom that fits mean and % favourable of item ``q``.

    Independent of the audit's program: it enumerates answered counts, favourable counts and
    sums per atom ((N − F)·1 + F·4 ≤ S ≤ (N − F)·3 + F·5) and checks the rounding exactly.
    """
    options: dict[str, list[tuple[int, int, int, int]]] = {}
    for atom, top in largest.items():
        options[atom] = [
            (n, answered, fav, total)
            for n in range(top + 1)
            for answered in range(n + 1)
            for fav in range(answered + 1)
            for total in range(answered + 3 * fav, 3 * answered + 2 * fav + 1)
        ]
    atoms = list(largest)

    def fits(group: PublishedGroup, picked: Mapping[str, tuple[int, int, int, int]]) -> bool:
        n, answered, fav, total = (sum(picked[a][j] for a in group.atoms) for j in range(4))
        low, high = group.count_band or (0, None)
        if n < low or (high is not None and n > high):
            return False
        item = group.items.get("q")
        if item is None:
            return True
        if answered == 0:
            return False
        if item.mean is not None:
            mean = Fraction(str(item.mean))
            if abs(Fraction(total, answered) - mean) > Fraction(1, 20):
                return False
        share = item.favourable_pct
        return share is None or abs(Fraction(100 * fav, answered) - share) <= Fraction(5, 2)

    shown_groups = [g for g in groups if not g.hidden]
    found: list[dict[str, tuple[int, int]]] = []

    def walk(index: int, picked: dict[str, tuple[int, int, int, int]]) -> None:
        inside = [g for g in shown_groups if g.atoms <= set(picked)]
        if not all(fits(g, picked) for g in inside):
            return
        if index == len(atoms):
            found.append({a: (v[0], v[3]) for a, v in picked.items()})
            return
        for option in options[atoms[index]]:
            walk(index + 1, {**picked, atoms[index]: option})

    walk(0, {})
    return found


# ---------------------------------------------------------------- (1) parent minus visible child


def test_parent_minus_visible_child_pins_a_count_printed_exactly() -> None:
    # A release that printed exact sizes: parent 12 = child A 9 + child B, so B holds exactly 3.
    release = [
        shown("P", "ab", (12, 12), q=ItemFacts(SCALE, mean=3.0)),
        shown("A", "a", (9, 9), q=ItemFacts(SCALE, mean=4.0)),
        hidden("B", "b"),
    ]
    assert audit(release, K) == [Exposure("B", "count", 3, 3)]
    # Hiding A as well leaves B anywhere from 0 to 12.
    assert audit([release[0], hidden("A", "a"), release[2]], K) == []


def test_count_bands_are_what_stop_parent_minus_child() -> None:
    # The same release with banded counts: B is anywhere from 1 to 14 (19 − 5), so not pinned.
    release = [
        shown("P", "ab", (10, 19), q=ItemFacts(SCALE, mean=3.0)),
        shown("A", "a", (5, 9), q=ItemFacts(SCALE, mean=4.0)),
        hidden("B", "b"),
    ]
    assert audit(release, K) == []


def test_parent_minus_visible_child_pins_a_sum_when_bands_are_tight() -> None:
    # Sizes 10 and 9: B is one person. Fewer than 20 answers make both sums exact multiples of
    # the means (3·N_P and 4·N_A), so B's answer is 3·N_P − 4·N_A = 3 − N_A: 1 or 2.
    release = [
        shown("P", "ab", (10, 10), q=ItemFacts(SCALE, mean=3.0)),
        shown("A", "a", (9, 9), q=ItemFacts(SCALE, mean=4.0)),
        hidden("B", "b"),
    ]
    assert audit(release, K) == [Exposure("B", "count", 1, 1), Exposure("B", "sum:q", 1, 2)]
    assert audit([release[0], hidden("A", "a"), release[2]], K) == []


# ---------------------------------------------------------------- (2) unanimity


def test_unanimous_group_pins_every_answer_of_its_hidden_parts() -> None:
    unanimous = ItemFacts(SCALE, distribution={1: 0, 2: 0, 3: 0, 4: 0, 5: 100})
    release = [
        shown("team", "xy", (5, 9), q=unanimous),
        hidden("team:role:lead", "x"),
        hidden("team:role:staff", "y"),
    ]
    assert audit(release, K) == [
        Exposure("team:role:lead", "answer:q", 5, 5),
        Exposure("team:role:staff", "answer:q", 5, 5),
    ]
    # A mean of 5.0 from fewer than 20 answers says the same thing.
    as_mean = [shown("team", "xy", (5, 9), q=ItemFacts(SCALE, mean=5.0)), *release[1:]]
    assert {e.what for e in audit(as_mean, K)} == {"answer:q"}
    # Fixed: the unanimous group shows its size only.
    assert audit([shown("team", "xy", (5, 9)), *release[1:]], K) == []


# ---------------------------------------------------------------- (3) rounding leak


def test_mean_and_percentage_together_reveal_a_sum() -> None:
    a, b = [1, 1, 2, 4, 4, 5], [2, 3, 5]
    whole, part = facts(a + b), facts(a)
    assert (whole.mean, whole.favourable_pct, part.mean, part.favourable_pct) == (3.0, 45, 2.8, 50)
    release = [
        shown("G", "ab", band_of(9), q=whole),
        shown("A", "a", band_of(6), q=part),
        hidden("B", "b"),
    ]
    exposures = audit(release, K, dataset=one_item(a=a, b=b))
    assert exposures == [Exposure("B", "count", 3, 4), Exposure("B", "sum:q", 10, 10)]

    # An independent enumeration agrees: B has 3 or 4 people and its answers sum to exactly 10.
    solutions = brute_force(release, {"a": 9, "b": 4})
    assert {s["b"][0] for s in solutions} == {3, 4}
    assert {s["b"][1] for s in solutions} == {10}

    # Either number alone leaves the sum open.
    mean_only = [
        shown("G", "ab", band_of(9), q=ItemFacts(SCALE, mean=whole.mean)),
        shown("A", "a", band_of(6), q=ItemFacts(SCALE, mean=part.mean)),
        hidden("B", "b"),
    ]
    share_only = [
        shown("G", "ab", band_of(9), q=ItemFacts(SCALE, favourable=FAVOURABLE, favourable_pct=45)),
        shown("A", "a", band_of(6), q=ItemFacts(SCALE, favourable=FAVOURABLE, favourable_pct=50)),
        hidden("B", "b"),
    ]
    for single in (mean_only, share_only):
        assert [e.what for e in audit(single, K)] == ["count"]

    # Fixed: hiding A leaves B unconstrained.
    assert audit([release[0], hidden("A", "a"), release[2]], K) == []


# ---------------------------------------------------------------- (4) zero versus hidden


def test_empty_and_small_hidden_groups_look_the_same() -> None:
    a = [1, 1, 1, 1, 1, 2, 3, 3, 3, 5, 5, 5]
    definitions = {"P": "ab", "A": "a", "B": "b"}
    empty = one_item(a=a, b=[])
    three = one_item(a=a, b=[1, 2, 5])
    release = publish(empty, definitions)
    assert release == publish(three, definitions)  # the same numbers: 2.6 and 25 % in both
    assert [g.key for g in release if g.hidden] == ["B"]
    assert audit(release, K) == []
    # Whichever dataset seeds the search, the result cannot depend on it.
    assert audit(release, K, dataset=empty) == audit(release, K, dataset=three) == []


# ---------------------------------------------------------------- (5) margins with integrality


def test_margins_pin_a_cell_through_integrality() -> None:
    truth = one_item(
        **{
            "u1|sup": [3, 4, 4, 5],
            "u1|staff": [],
            "u2|sup": [4],
            "u2|staff": [1, 2, 2, 2, 3, 3, 3, 4],
        }
    )
    definitions = {
        "u1": ["u1|sup", "u1|staff"],
        "u2": ["u2|sup", "u2|staff"],
        "role:sup": ["u1|sup", "u2|sup"],
        "role:staff": ["u1|staff", "u2|staff"],
    }
    # Cells (unit × role) are never published, only the margins.
    release = publish(truth, definitions) + [hidden(cell, [cell]) for cell in truth]
    assert [g.key for g in release if not g.hidden] == ["u2", "role:sup", "role:staff"]
    # Only whole people and whole answers fit the rounded numbers: staff gave exactly 8 answers
    # with one favourable, and u2's 9 people all answered, so u2's supervisors number 1 to 4.
    # Fractional people (the LP relaxation) would allow 0 to 8.45.
    assert audit(release, K, dataset=truth) == [Exposure("u2|sup", "count", 1, 4)]
    # Fixed: hide one of the two cuts.
    fixed = [hidden(g.key, g.atoms) if g.key == "role:staff" else g for g in release]
    assert audit(fixed, K, dataset=truth) == []


# ---------------------------------------------------------------- (6) pooling releases


def test_pooling_two_releases_pins_a_hidden_remainder() -> None:
    first = [
        shown("r1:P", "ab", (5, 9), q=ItemFacts(SCALE, mean=3.0)),
        hidden("r1:a", "a"),
        hidden("r1:b", "b"),
    ]
    second = [shown("r2:a", "a", (5, 9), q=ItemFacts(SCALE, mean=4.0)), hidden("r2:b", "b")]
    assert audit(first, K) == []
    assert audit(second, K) == []
    # Together: P ≤ 9 and a ≥ 5 leave b at most 4; the means differ, so b is not empty.
    assert audit([*first, *second], K) == [
        Exposure("r1:b", "count", 1, 4),
        Exposure("r2:b", "count", 1, 4),
    ]
    # Fixed: the second release hides a too.
    assert audit([*first, hidden("r2:a", "a"), second[1]], K) == []


# ---------------------------------------------------------------- (7) a safe typical release


def test_typical_release_passes() -> None:
    truth = {
        "c1": [{"q": v, "r": 6 - v} for v in [2, 3, 4, 4, 5, 3, 1]],
        "c2": [{"q": v, "r": 1 + v % 5} for v in [1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 3, 4, 4, 2]],
        "c3": [{"q": v} for v in [5, 4, 3, 3, 2, 4]],  # 6 people, hidden to protect a neighbour
    }
    release = publish(truth, {"P": ["c1", "c2", "c3"], "c1": ["c1"], "c2": ["c2"]})
    release.append(hidden("c3", "c3"))
    assert [g.count_band for g in release] == [(20, 49), (5, 9), (10, 19), None]
    assert audit(release, K) == []
    assert audit(release, K, dataset=truth) == []


# ---------------------------------------------------------------- input checks


def test_contradictory_numbers_raise() -> None:
    release = [shown("P", "ab", (5, 9)), shown("A", "a", (10, 19)), hidden("B", "b")]
    with pytest.raises(ValueError, match="contradict"):
        audit(release, K)


def test_a_dataset_that_does_not_fit_raises() -> None:
    release = [shown("P", "ab", (5, 9), q=ItemFacts(SCALE, mean=3.0)), hidden("B", "b")]
    with pytest.raises(ValueError, match="does not fit"):
        audit(release, K, dataset=one_item(a=[5, 5, 5, 5, 5]))


def test_hidden_groups_carry_no_numbers() -> None:
    with pytest.raises(ValueError, match="carries published numbers"):
        audit([PublishedGroup("B", frozenset("b"), hidden=True, count_band=(5, 9))], K)


def test_an_unfinished_solve_counts_as_exposed() -> None:
    # No solution can be found in a nanosecond: the conservative answer is "exposed".
    release = [shown("P", "ab", (10, 19), q=ItemFacts(SCALE, mean=3.0)), hidden("B", "b")]
    exposures = audit(release, K, time_limit=1e-9)
    assert [(e.group, e.what) for e in exposures] == [("B", "count")]
    assert all(math.isnan(e.low) and math.isnan(e.high) for e in exposures)


# ---------------------------------------------------------------- property: generated organisations

ITEMS = ("q", "r")
answer = st.one_of(st.none(), st.integers(1, 5), st.integers(1, 5), st.integers(1, 5))
person = st.tuples(answer, answer).map(
    lambda pair: {i: v for i, v in zip(ITEMS, pair, strict=True) if v is not None}
)


@st.composite
def organisations(draw: st.DrawFn) -> tuple[Truth, dict[str, list[str]]]:
    """Atoms with 0–15 people each, and groups: each atom, the whole, and a few runs of atoms."""
    size = draw(st.integers(2, 8))
    names = [f"a{i}" for i in range(size)]
    truth = {name: draw(st.lists(person, max_size=15)) for name in names}
    definitions = {name: [name] for name in names}
    definitions["all"] = names
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, size - 2))
        stop = draw(st.integers(start + 2, size))
        definitions.setdefault(f"run{start}-{stop}", names[start:stop])
    return truth, definitions


def true_value(truth: Truth, atoms: Iterable[str], what: str) -> tuple[int, set[int]]:
    """A group's true count (or answer sum) and the set of values its members answered."""
    people = [p for atom in atoms for p in truth[atom]]
    if what == "count":
        return len(people), set()
    item = what.split(":", 1)[1]
    answers = [p[item] for p in people if item in p]
    return sum(answers), set(answers)


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(organisations())
def test_every_reported_exposure_is_real(organisation: tuple[Truth, dict[str, list[str]]]) -> None:
    truth, definitions = organisation
    release = publish(truth, definitions)
    exposures = audit(release, K)  # published from a real dataset: never contradictory
    by_key = {g.key: g for g in release}
    for exposure in exposures:
        group = by_key[exposure.group]
        assert group.hidden
        assert not math.isnan(exposure.low)
        value, answered = true_value(truth, group.atoms, exposure.what)
        if exposure.what == "count":
            assert 0 < exposure.low <= value <= exposure.high < K
        elif exposure.what.startswith("sum:"):
            assert exposure.low <= value <= exposure.high
        else:
            assert answered <= {exposure.low}
    # Seeding the search with the true dataset changes how, never what, the audit finds.
    seeded = audit(release, K, dataset=truth)
    assert {(e.group, e.what) for e in seeded} == {(e.group, e.what) for e in exposures}
