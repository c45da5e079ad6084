"""The suppression rules on small worked examples, and as properties over random structures."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wellbeing.releases.suppression import HIDDEN_REASON, Candidate, Structure, suppress

K = 5


def groups(**sizes: int) -> list[Candidate]:
    return [Candidate(key, n, K) for key, n in sizes.items()]


def test_primary_threshold_and_uniform_reason() -> None:
    hidden = suppress(groups(empty=0, four=4, five=5), Structure(), K)
    assert hidden == {"empty": HIDDEN_REASON, "four": HIDDEN_REASON}


def test_parent_minus_visible_child_hides_the_child() -> None:
    # parent 12 = A (9) + B (3): showing A would give B by difference.
    structure = Structure(subsets=[("P", "A"), ("P", "B")], partitions=[("P", ["A", "B"])])
    hidden = suppress(groups(P=12, A=9, B=3), structure, K)
    assert set(hidden) == {"A", "B"}


def test_small_complement_of_a_subset() -> None:
    # a cut value holding all but 2 of a unit's respondents
    structure = Structure(subsets=[("U", "U:role=direct")])
    hidden = suppress(groups(U=20, **{"U:role=direct": 18}), structure, K)
    assert set(hidden) == {"U:role=direct"}


def test_hidden_siblings_must_hold_k_together() -> None:
    # children 10, 8, 3, 2: the hidden 3 + 2 = 5 may stay as the remainder.
    structure = Structure(partitions=[("P", ["A", "B", "C", "D"])])
    assert set(suppress(groups(P=23, A=10, B=8, C=3, D=2), structure, K)) == {"C", "D"}
    # children 10, 8, 3: the hidden 3 alone cannot be the remainder, so B (the smallest shown) goes too.
    assert set(suppress(groups(P=21, A=10, B=8, C=3), structure, K)) == {"B", "C"}


def test_respondents_outside_every_listed_part_count_in_the_remainder() -> None:
    # a cut with 14 answers out of 17: the 3 who skipped the question would be exposed.
    structure = Structure(partitions=[("U", ["U:x", "U:y"])])
    assert set(suppress(groups(U=17, **{"U:x": 7, "U:y": 7}), structure, K)) == {"U:x"}


def test_forced_groups_stay_hidden_and_count_in_remainders() -> None:
    structure = Structure(partitions=[("P", ["A", "B", "C"])])
    # A (3) is hidden; alone it is not a safe remainder, so C, the smallest shown part, goes too.
    hidden = suppress(groups(P=18, A=3, B=10, C=5), structure, K, forced=["A"])
    assert set(hidden) == {"A", "C"}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 25), min_size=1, max_size=8), st.integers(0, 12))
def test_every_shown_whole_keeps_a_safe_remainder(children: list[int], direct: int) -> None:
    sizes = {f"c{i}": n for i, n in enumerate(children)} | {"direct": direct}
    total = sum(sizes.values())
    structure = Structure(subsets=[("P", key) for key in sizes], partitions=[("P", list(sizes))])
    hidden = suppress([*groups(**sizes), Candidate("P", total, K)], structure, K)
    shown = [key for key in sizes if key not in hidden]
    assert all(sizes[key] >= K for key in shown)
    if "P" not in hidden:
        remainder = total - sum(sizes[key] for key in shown)
        assert remainder == 0 or remainder >= K
        for key in shown:
            assert total - sizes[key] == 0 or total - sizes[key] >= K


def test_a_cut_complement_needs_the_cuts_threshold() -> None:
    # 30 in the unit, 23 answered "woman": the 7 others would be a cut group below 10.
    women = Candidate("U:gender=woman", 23, 10, attribute=True)
    structure = Structure(subsets=[("U", women.key)])
    assert set(suppress([Candidate("U", 30, K), women], structure, K)) == {women.key}
    more = Candidate("U:gender=woman", 20, 10, attribute=True)
    assert suppress([Candidate("U", 30, K), more], structure, K) == {}


def test_a_cut_value_everyone_gave_is_hidden() -> None:
    # Showing "all 12 chose this" would tell the value of every one of them.
    everyone = Candidate("U:language=spanish", 12, 10, attribute=True)
    structure = Structure(subsets=[("U", everyone.key)])
    assert set(suppress([Candidate("U", 12, K), everyone], structure, K)) == {everyone.key}


def test_a_team_hidden_on_purpose_is_not_given_back_by_its_siblings() -> None:
    # T is hidden because only a joiner separates it from last wave; P − S would show it.
    structure = Structure(partitions=[("P", ["T", "S"])])
    hidden = suppress(groups(P=18, T=9, S=9), structure, K, forced=["T"])
    assert set(hidden) == {"T", "S"}
