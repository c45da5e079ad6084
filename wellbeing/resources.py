"""Where the app finds the top-level ``templates/`` and ``surveys/`` folders.

In a source checkout they sit beside the package; an installed wheel carries copies under
``wellbeing/_data/`` (see ``setup.py``); the same holds for ``migrations/``.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` ("templates" or "surveys") from a wheel or a source checkout."""
    for candidate in (PACKAGE_DIR / "_data" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"cannot find the {name}/ folder: reinstall the package or run from a source checkout"
    )
