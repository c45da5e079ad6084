"""surveys/support.yaml: the support resources, checked like the rest of the bank."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wellbeing.bank import BankError, load_bank
from wellbeing.resources import resource_dir
from wellbeing.survey.service import support_values


def _edit(folder: Path, change: object) -> None:
    path = folder / "support.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_the_shipped_resources_are_bilingual_and_open_on_the_reported_cut_offs() -> None:
    bank = load_bank(resource_dir("surveys"))
    ids = [r.id for r in bank.support.resources]
    assert ids == ["eap", "lifeline_988", "crisis_text_line", "emergency"]
    for resource in bank.support.resources:
        for text in (resource.name, resource.description):
            assert text.en.strip() and text.es.strip(), resource.id
    # The same cut-offs as the reports: burnout at level 3 or above, trauma often or always.
    opening = {i: support_values(bank, item) for i, item in bank.items.items()}
    assert opening["burnout_self_rating"] == [3, 4, 5]
    assert opening["trauma_follows_home"] == [4, 5]
    assert opening["tense_on_guard"] == [4, 5]
    assert opening["feel_valued"] == [] and opening["drained_by_case"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["resources"][1].update(id="eap"),
            r"surveys/support.yaml: resource 'eap': id is used more than once",
        ),
        (
            lambda d: d["resources"][0]["name"].pop("es"),
            r"surveys/support.yaml: resource 'eap' name.es: Field required",
        ),
        (
            lambda d: d["resources"][1]["contacts"][0].update(address="call us"),
            r"surveys/support.yaml: resource 'lifeline_988' contacts.0: .*phone number or short code",
        ),
        (
            lambda d: d["resources"][1]["contacts"].append(
                {
                    "kind": "web",
                    "address": "http://988lifeline.org",
                    "label": {"en": "a", "es": "b"},
                }
            ),
            r"surveys/support.yaml: resource 'lifeline_988' contacts.2: .*https:// address",
        ),
        (
            lambda d: d["show_when"][0].update(domain="vibes"),
            r"surveys/support.yaml: show_when rule for 'vibes' on 'burnout5': unknown domain",
        ),
        (
            lambda d: d["show_when"][0].update(values=[3, 9]),
            r"surveys/support.yaml: show_when rule .*: values \[9\] are not options of the scale",
        ),
        (
            lambda d: d["show_when"][0].update(scale="agree5"),
            r"surveys/support.yaml: show_when rule .*: no item in items.yaml is in that domain",
        ),
        (
            lambda d: d.update(resources=[]),
            r"surveys/support.yaml: resources: List should have at least 1 item",
        ),
    ],
)
def test_a_broken_support_file_names_the_record_and_the_reason(
    surveys_copy: Path, change: object, message: str
) -> None:
    _edit(surveys_copy, change)
    with pytest.raises(BankError, match=message):
        load_bank(surveys_copy)


def test_an_organisation_adds_its_eap_number(surveys_copy: Path) -> None:
    def add_number(data: dict) -> None:  # type: ignore[type-arg]
        data["resources"][0]["contacts"] = [
            {"kind": "call", "address": "+1 800-555-0199", "label": {"en": "Call", "es": "Llame"}}
        ]

    _edit(surveys_copy, add_number)
    (contact,) = load_bank(surveys_copy).support.resources[0].contacts
    assert contact.address == "+1 800-555-0199"
