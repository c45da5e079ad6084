"""The survey's Spanish catalog: complete, in step with the code, compiled, and shipped."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "wellbeing" / "translations"
SPANISH_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
SPANISH_MO = SPANISH_PO.with_suffix(".mo")


def _spanish() -> Catalog:
    with SPANISH_PO.open("rb") as f:
        return read_po(f, locale="es")


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def test_every_message_has_a_spanish_translation() -> None:
    catalog = _spanish()
    assert _messages(catalog), "the catalog is empty"
    for message in _messages(catalog):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s and s.strip() for s in strings), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy, check and clear the flag: {message.id!r}"
    problems = [(m.id, errors) for m, errors in catalog.check() if errors]
    assert not problems, problems  # e.g. a %(placeholder)s missing from a translation


def test_spanish_uses_usted_not_tu() -> None:
    """One register throughout: the formal "usted", as in the question bank."""
    informal = re.compile(r"\b(tú|tu|tus|te|ti|contigo|puedes|quieres|eliges|necesitas)\b", re.I)
    for message in _messages(_spanish()):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert not informal.search(text), f"informal Spanish in {text!r}"


def test_the_catalog_has_every_string_in_the_code_and_no_others() -> None:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    in_code = {
        _key(message_id)
        for _file, _line, message_id, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map
        )
    }
    assert len(in_code) > 20, "extraction found the survey's strings"
    in_catalog = {_key(m.id) for m in _messages(_spanish())}
    missing, obsolete = in_code - in_catalog, in_catalog - in_code
    hint = "run the pybabel steps in babel.cfg"
    assert not missing, f"strings missing from the Spanish catalog ({hint}): {sorted(missing)}"
    assert not obsolete, f"strings the code no longer uses ({hint}): {sorted(obsolete)}"


def test_the_compiled_catalog_matches_the_po_file() -> None:
    with SPANISH_MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    catalog = _spanish()
    for message in _messages(catalog):
        if isinstance(message.id, tuple):
            singular, plural = message.id[0], message.id[1]
            assert isinstance(message.string, tuple)
            for n, expected in ((1, message.string[0]), (2, message.string[1])):
                got = compiled.ngettext(singular, plural, n)
                assert got == expected, f"{SPANISH_MO.name} is stale: pybabel compile"
        else:
            got = compiled.gettext(message.id)
            assert got == message.string, f"{SPANISH_MO.name} is stale: pybabel compile"
    compiled_ids = {k if isinstance(k, str) else k[0] for k in compiled._catalog if k}  # type: ignore[attr-defined]
    assert compiled_ids == {_key(m.id) for m in _messages(catalog)}, "stale .mo: pybabel compile"


def test_the_wheel_ships_the_compiled_catalog(tmp_path: Path) -> None:
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*build, "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("wellbeing_pulse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "wellbeing/translations/es/LC_MESSAGES/messages.mo" in names
    assert "wellbeing/static/survey.js" in names and "wellbeing/static/survey.css" in names
    assert "wellbeing/_data/templates/survey/form.html" in names
    assert "wellbeing/_data/surveys/support.yaml" in names
