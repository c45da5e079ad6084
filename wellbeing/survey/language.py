"""Which language a page speaks: survey pages the person's own, every other page English."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request, session

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"

# The survey's state in the session: {"invitation": id, "lang": code, "first": value, "sent": bool}
VISIT_KEY = "survey"


def known_language(value: object) -> str | None:
    """``value`` if it is a language the survey speaks, else None."""
    return value if isinstance(value, str) and value in LANGUAGES else None


def stored_visit() -> dict[str, Any]:
    """The survey's state in the session, or an empty one if there is none or it is malformed."""
    visit = session.get(VISIT_KEY)
    return dict(visit) if isinstance(visit, dict) else {}


def select_locale() -> str | None:
    """Flask-Babel's locale selector: ?lang=, then the invitation's language, then the browser's.

    Outside a request (emails, commands) it returns None, so a caller's ``force_locale`` or the
    default applies.
    """
    if not has_request_context():
        return None
    if request.blueprint != "survey":
        return DEFAULT_LANGUAGE
    return (
        known_language(request.args.get("lang"))
        or known_language(stored_visit().get("lang"))
        or request.accept_languages.best_match(LANGUAGES)
        or DEFAULT_LANGUAGE
    )
