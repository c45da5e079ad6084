"""The question bank: items, programs, change concepts and topics, as data in ``surveys/``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from wellbeing.bank.loader import BankError, QuestionBank, load_bank
from wellbeing.resources import resource_dir

__all__ = ["BankError", "QuestionBank", "current_bank", "init_bank", "load_bank"]

_EXTENSION_KEY = "wellbeing.bank"


def init_bank(app: Flask) -> None:
    """Load and check the bank once; a broken bank stops start-up with the reason."""
    folder = app.config.get("SURVEYS_DIR")
    path = Path(folder) if folder else resource_dir("surveys")
    app.extensions[_EXTENSION_KEY] = load_bank(path)


def current_bank() -> QuestionBank:
    """The bank loaded for the running app."""
    bank: QuestionBank = current_app.extensions[_EXTENSION_KEY]
    return bank
