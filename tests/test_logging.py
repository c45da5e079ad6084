"""Survey tokens never reach a log line: the app's own, and gunicorn's access log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests

from tests import served
from wellbeing.logging import TokenScrubber

TOKEN = "Zq3" * 14  # shaped like a real link token


def _record(msg: str, args: object) -> logging.LogRecord:
    return logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("%s %s", ("GET", f"/s/{TOKEN}?a=4")),  # positional arguments
        ('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": f"GET /s/{TOKEN}?a=4 HTTP/1.1", "s": 303}),
        (f"GET /s/{TOKEN}?a=4", ()),
    ],
)
def test_the_scrubber_formats_and_scrubs_every_kind_of_record(msg: str, args: object) -> None:
    record = _record(msg, args)
    assert TokenScrubber().filter(record)
    text = record.getMessage()
    assert "/s/[token]" in text and TOKEN not in text and "a=4" not in text


def test_a_broken_format_drops_its_arguments_instead_of_printing_them() -> None:
    record = _record("answered %d", (f"/s/{TOKEN}",))
    assert TokenScrubber().filter(record)
    assert record.getMessage() == "answered %d"


def test_gunicorn_access_log_shows_survey_links_without_token_or_answer(
    migrated: str, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    with served.gunicorn(migrated, options=("--access-logfile", str(log))) as base:
        requests.get(f"{base}/s/{TOKEN}?a=4", timeout=10, allow_redirects=False)
    text = log.read_text()
    assert "GET /s/[token]" in text
    assert TOKEN not in text and "a=4" not in text
