"""Nothing on the response side follows who answered or when (DESIGN's privacy model).

Sixty people answer one after another, each in their own transaction as real requests would.
Their position in that order is written into their answers (three items as base-5 digits) so
the test can recover it; an attacker could not, and neither ids, physical row order nor
transaction ids may give it away.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from scipy.stats import spearmanr

from tests import pulse_helpers as h
from wellbeing.extensions import db
from wellbeing.pulse import service as pulse
from wellbeing.pulse.models import Invitation
from wellbeing.responses import service as answers

PEOPLE = 60
# For n = 60 independent orders, |rho| above 0.45 happens with probability below 0.001.
NO_ORDER = 0.45


def _encode(position: int, items: list[str]) -> dict[str, str]:
    digits = [position // 25, (position // 5) % 5, position % 5]
    return {item: str(d + 1) for item, d in zip(items[:3], digits, strict=True)}


def _decode(values: dict[str, int], items: list[str]) -> int:
    a, b, c = (values[i] - 1 for i in items[:3])
    return a * 25 + b * 5 + c


def _order_of(rows: list[tuple[object, int]]) -> list[int]:
    """Submission positions listed in the order the rows are observed."""
    return [position for _, position in sorted(rows, key=lambda row: row[0])]  # type: ignore[arg-type,return-value]


def test_submission_order_leaves_no_trace(committed_app: Flask) -> None:
    with committed_app.app_context():
        h.staff("North", PEOPLE)
        wave = pulse.open_wave(h.program(), h.NOW)
        wave_id, items = wave.id, list(wave.item_ids)
        invitation_ids = list(
            db.session.scalars(
                sa.select(Invitation.id)
                .where(Invitation.wave_id == wave_id)
                .order_by(Invitation.id)
            )
        )
        db.session.commit()

        for position, invitation_id in enumerate(invitation_ids):
            checked = answers.check_answers(pulse.get_wave(wave_id), _encode(position, items), None)
            answers.submit(invitation_id, checked)
            db.session.commit()

        pulse.close_wave(pulse.get_wave(wave_id))
        db.session.commit()
        assert answers.flush_buffer(wave_id) == PEOPLE
        db.session.commit()

        dialect = db.engine.dialect.name
        physical = "rowid" if dialect == "sqlite" else "ctid"
        extra = ", xmin::text::bigint AS txid" if dialect == "postgresql" else ""
        rows = (
            db.session.execute(
                sa.text(f"SELECT id, {physical} AS place{extra} FROM response WHERE wave_id = :w"),  # noqa: S608 - fixed column names
                {"w": wave_id},
            )
            .mappings()
            .all()
        )
        values: dict[str, dict[str, int]] = {}
        for response_id, item_id, value in db.session.execute(
            sa.text("SELECT response_id, item_id, value FROM answer")
        ).tuples():
            values.setdefault(response_id, {})[item_id] = value
        position = {row["id"]: _decode(values[row["id"]], items) for row in rows}
        assert sorted(position.values()) == list(range(PEOPLE))

        by_id = _order_of([(row["id"], position[row["id"]]) for row in rows])
        by_place = _order_of([(_physical_key(row["place"]), position[row["id"]]) for row in rows])
        for observed in (by_id, by_place):
            rho = spearmanr(range(PEOPLE), observed).statistic
            assert abs(rho) < NO_ORDER, rho
        if dialect == "postgresql":
            assert len({row["txid"] for row in rows}) == 1  # one transaction wrote them all


def _physical_key(place: object) -> tuple[int, ...]:
    """rowid as is; PostgreSQL's ctid '(page,tuple)' as a sortable pair."""
    if isinstance(place, int):
        return (place,)
    page, tuple_ = str(place).strip("()").split(",")
    return (int(page), int(tuple_))
