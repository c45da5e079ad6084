"""The question bank in surveys/: complete, bilingual, and refused loudly when broken."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wellbeing import create_app
from wellbeing.bank import BankError, load_bank
from wellbeing.resources import resource_dir

SURVEYS = resource_dir("surveys")


def test_the_shipped_bank_follows_the_survey_science() -> None:
    bank = load_bank(SURVEYS)
    essentials = [d.id for d in bank.essentials]
    assert essentials == [
        "protection_from_harm",
        "connection_community",
        "work_life_harmony",
        "mattering_at_work",
        "opportunity_for_growth",
    ]
    sentinels = [i for i in bank.items.values() if i.role == "sentinel"]
    assert sorted(i.domain for i in sentinels) == sorted(essentials)
    core = [bank.items[i] for i in bank.program.core_items]
    assert len(core) == 8
    assert {i.measures for i in core} >= {"burnout", "secondary_trauma", "intent_to_stay"}
    assert len(bank.modules) == 6
    for module in bank.modules:
        assert len(bank.module_items(module)) >= 3, module
    assert len(core) + bank.program.deep_dive_items <= 12
    for essential in essentials:
        assert len(bank.concepts_for(essential)) >= 6, essential
    topic_ids = {t.id for t in bank.topics}
    assert len(topic_ids) >= 8
    for cut in bank.cuts.values():
        assert "prefer_not_to_say" in {o.value for o in cut.options}


def test_every_item_and_option_has_both_languages() -> None:
    bank = load_bank(SURVEYS)
    for item in bank.items.values():
        assert item.text.en.strip() and item.text.es.strip(), item.id
        assert item.text.en != item.text.es, item.id
    for scale in bank.scales.values():
        for option in scale.options:
            assert option.label.en.strip() and option.label.es.strip(), scale.id


def _edit(folder: Path, name: str, change: object) -> None:
    path = folder / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _first_deep_dive(data: dict) -> dict:  # type: ignore[type-arg]
    return next(i for i in data["items"] if i["role"] == "deep_dive")


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "items.yaml",
            lambda d: _first_deep_dive(d)["text"].pop("es"),
            r"surveys/items.yaml: item '\w+' text.es: Field required",
        ),
        (
            "items.yaml",
            lambda d: _first_deep_dive(d).update(scale="stars10"),
            r"surveys/items.yaml: item '\w+': unknown scale 'stars10'",
        ),
        (
            "items.yaml",
            lambda d: _first_deep_dive(d).update(domain="vibes"),
            r"surveys/items.yaml: item '\w+': unknown domain 'vibes'",
        ),
        (
            "items.yaml",
            lambda d: d["items"].append(dict(d["items"][0])),
            r"surveys/items.yaml: item '\w+': id is used more than once",
        ),
        (
            "items.yaml",
            lambda d: _first_deep_dive(d).update(colour="blue"),
            r"surveys/items.yaml: item '\w+' colour: Extra inputs are not permitted",
        ),
        (
            "items.yaml",
            lambda d: d.update(
                items=[
                    i
                    for i in d["items"]
                    if i["role"] != "sentinel" or i["domain"] != "mattering_at_work"
                ]
            ),
            r"surveys/items.yaml: domain 'mattering_at_work': needs exactly one sentinel item, has 0",
        ),
        (
            "program.yaml",
            lambda d: d.update(reminder_days=[3, 9]),
            r"surveys/program.yaml: .*reminder day 9 is outside the 7-day window",
        ),
        (
            "program.yaml",
            lambda d: d["core_items"].append("no_such_item"),
            r"surveys/program.yaml: core item 'no_such_item': not in the bank",
        ),
        (
            "change_concepts.yaml",
            lambda d: d.update(
                concepts=[c for c in d["concepts"] if c["domain"] != "work_life_harmony"]
            ),
            r"surveys/change_concepts.yaml: domain 'work_life_harmony': has 0 change concepts, needs at least 6",
        ),
        (
            "cuts.yaml",
            lambda d: d["cuts"][0].update(
                options=[o for o in d["cuts"][0]["options"] if o["value"] != "prefer_not_to_say"]
            ),
            r"surveys/cuts.yaml: cut '\w+': must offer a 'prefer_not_to_say' option",
        ),
    ],
)
def test_a_broken_bank_names_the_file_the_record_and_the_reason(
    surveys_copy: Path, name: str, change: object, message: str
) -> None:
    _edit(surveys_copy, name, change)
    with pytest.raises(BankError, match=message):
        load_bank(surveys_copy)


def test_invalid_yaml_is_reported_with_its_file(surveys_copy: Path) -> None:
    (surveys_copy / "topics.yaml").write_text("topics: [unclosed\n", encoding="utf-8")
    with pytest.raises(BankError, match=r"surveys/topics.yaml: not valid YAML"):
        load_bank(surveys_copy)


def test_a_broken_bank_stops_the_app_from_starting(surveys_copy: Path) -> None:
    (surveys_copy / "program.yaml").unlink()
    with pytest.raises(BankError, match=r"surveys/program.yaml: file is missing"):
        create_app(
            {"WELLBEING_ENV": "testing", "SECRET_KEY": "x", "SURVEYS_DIR": str(surveys_copy)}
        )
