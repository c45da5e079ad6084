"""Releases of generated organisations, attacked afterwards from what they store.

Each generated organisation answers one or two waves through the submission service; every
stored release is then turned back into the audit's constraints, from its stored cells only, and
attacked again, and a leader's view through the gate is checked against what is stored.
"""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tests import pulse_helpers as h
from wellbeing.auth.models import Role
from wellbeing.bank import current_bank
from wellbeing.extensions import db
from wellbeing.org.models import Person, Unit
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation, PulseProgram, Wave
from wellbeing.releases import compute, service
from wellbeing.releases.audit import PublishedGroup, audit
from wellbeing.releases.gate import released_cells
from wellbeing.releases.models import Release, ReleaseCell
from wellbeing.responses import service as answers

K = 5


def _wave(program: PulseProgram, number: int, rng: random.Random, style: str) -> Wave:
    """One wave answered by about four in five of the invited, in the given style."""
    wave = pulse.open_wave(program, h.NOW + timedelta(days=14 * number))
    invitations = db.session.scalars(
        sa.select(Invitation.id).where(Invitation.wave_id == wave.id).order_by(Invitation.id)
    ).all()
    for invitation_id in invitations:
        if rng.random() > 0.8:
            continue
        raw = {}
        for item_id in wave.item_ids:
            values = current_bank().scale_of(item_id).values
            if style == "unanimous":
                raw[item_id] = str(values[-1])
            elif style == "extreme":
                raw[item_id] = str(rng.choice([values[0], values[-1]]))
            else:
                raw[item_id] = str(rng.choice(values))
        answers.submit(invitation_id, answers.check_answers(wave, raw, None))
    pulse.close_wave(wave)
    answers.flush_buffer(wave.id)
    return wave


def _stored_groups(
    release: Release,
) -> tuple[list[PublishedGroup], dict[str, list[dict[str, int]]], set[str]]:
    """The hierarchy's published groups rebuilt from the stored cells, the data, the small groups."""
    wave = db.session.get_one(Wave, release.wave_id)
    units = list(db.session.scalars(sa.select(Unit).order_by(Unit.path)))
    respondents = compute._respondents(wave.id)
    groups, _ = compute.build_groups(units, respondents, {}, K)
    plans = compute.item_plans(wave, current_bank())
    stored = {
        (c.unit_id, c.scope, c.measure, c.metric): c
        for c in db.session.scalars(
            sa.select(ReleaseCell).where(
                ReleaseCell.release_id == release.id, ReleaseCell.cut == ""
            )
        )
    }
    drafts = [
        compute.CellDraft(group, measure, metric, c.value, c.ci_low, c.ci_high, c.n_band, c.hidden)
        for group in groups.values()
        for (unit_id, scope, measure, metric), c in stored.items()
        if (unit_id, scope) == (group.unit_id, group.scope)
    ]
    published = compute.published_groups(groups, drafts, plans, None)
    small = {key for key, g in groups.items() if 0 < len(g.members) < K}
    return published, compute._dataset(respondents, None, ()), small


organisations = st.fixed_dictionaries(
    {
        "teams": st.lists(st.integers(1, 12), min_size=1, max_size=5),
        "programs": st.integers(1, 2),
        "style": st.sampled_from(["varied", "unanimous", "extreme"]),
        "leaver": st.booleans(),
        "seed": st.integers(0, 10_000),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(organisations)
def test_generated_releases_pin_nothing_and_the_gate_serves_only_what_is_stored(
    app: Flask, organisation: dict[str, object]
) -> None:
    nested = db.session.begin_nested()
    try:
        rng = random.Random(organisation["seed"])  # type: ignore[arg-type]
        teams: list[int] = organisation["teams"]  # type: ignore[assignment]
        programs: int = organisation["programs"]  # type: ignore[assignment]
        people = []
        for number, size in enumerate(teams):
            team = f"Program {number % programs}/Team {number}"
            people += h.staff(team, size)
        program = h.program()
        waves = [_wave(program, 0, rng, str(organisation["style"]))]
        if organisation["leaver"] and len(people) > 1:
            leaver = db.session.scalar(sa.select(Person).where(Person.email == people[0]))
            assert leaver is not None
            leaver.active = False
        waves.append(_wave(program, 1, rng, "varied"))
        leader = factories.user("lead@example.org", Role.LEADER, [f"{h.AGENCY}/Program 0"])

        for wave in waves:
            release = service.compute_release(wave)
            if not release.audit["passed"]:
                assert release.audit.get("fully_hidden")
                assert all(c.hidden for c in release.cells)
                continue
            published, dataset, small = _stored_groups(release)
            assert audit(published, K, dataset=dataset, targets=small) == []

            stored = {
                c.id: c
                for c in db.session.scalars(
                    sa.select(ReleaseCell).where(ReleaseCell.release_id == release.id)
                )
            }
            seen = released_cells(leader, wave_id=wave.id)
            program_zero = db.session.scalar(
                sa.select(Unit).where(Unit.path == f"{h.AGENCY}/Program 0")
            )
            assert program_zero is not None
            by_identity = {
                (c.unit_id, c.scope, c.cut, c.cut_value, c.measure, c.metric): c
                for c in stored.values()
            }
            for cell in seen:
                unit = db.session.get_one(Unit, cell.unit_id)
                assert unit.path.startswith(program_zero.path)  # scope only removes cells
                original = by_identity[
                    (cell.unit_id, cell.scope, cell.cut, cell.cut_value, cell.measure, cell.metric)
                ]
                assert (cell.value, cell.hidden, cell.n_band) == (
                    original.value,
                    original.hidden,
                    original.n_band,
                )
                if cell.hidden:
                    assert cell.value is None and cell.ci_low is None and cell.n_band is None
    finally:
        nested.rollback()


def test_a_joiner_between_waves_hides_the_team_that_only_they_changed(app: Flask) -> None:
    h.staff("North", 8)
    h.staff("South", 8)
    program = h.program()
    rng = random.Random(3)

    def everyone(number: int) -> Wave:
        wave = pulse.open_wave(program, h.NOW + timedelta(days=14 * number))
        for invitation_id in db.session.scalars(
            sa.select(Invitation.id).where(Invitation.wave_id == wave.id)
        ):
            raw = {item: str(rng.choice([2, 3, 4, 5])) for item in wave.item_ids}
            answers.submit(invitation_id, answers.check_answers(wave, raw, None))
        pulse.close_wave(wave)
        answers.flush_buffer(wave.id)
        return wave

    first = everyone(0)
    service.compute_release(first)
    h.staff("North", 1, start=8)  # one person joins North, and answers
    second = everyone(1)
    release = service.compute_release(second)

    north = db.session.scalar(sa.select(Unit.id).where(Unit.path == f"{h.AGENCY}/North"))
    south = db.session.scalar(sa.select(Unit.id).where(Unit.path == f"{h.AGENCY}/South"))

    def count_cell(unit_id: int | None) -> ReleaseCell:
        found = db.session.scalar(
            sa.select(ReleaseCell).where(
                ReleaseCell.release_id == release.id,
                ReleaseCell.unit_id == unit_id,
                ReleaseCell.measure == "respondents",
                ReleaseCell.scope == "subtree",
                ReleaseCell.cut == "",
            )
        )
        assert found is not None
        return found

    # Last wave's North minus this wave's North would be the newcomer's answers alone.
    assert count_cell(north).hidden
    assert f"u{north}" in release.audit["cross_wave_hidden"]
    assert not count_cell(south).hidden
