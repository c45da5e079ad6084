"""Keep survey tokens and sign-in codes out of every log line, whoever writes it."""

from __future__ import annotations

import logging
import re

# Survey links are /s/<token>; tokens may also appear as a query parameter. A link's query
# (a one-tap answer, ?a=4) goes too: with the client address beside it, it would say who
# leaned which way.
_TOKEN_PATTERNS = [
    (re.compile(r"(/s/)[A-Za-z0-9_\-]{8,}(?:\?[^\s\"']*)?"), r"\1[token]"),
    (re.compile(r"([?&]token=)[^&\s\"]+"), r"\1[token]"),
    # Single sign-on callbacks carry a one-time code and the state that guards it.
    (re.compile(r"([?&](?:code|state)=)[^&\s\"]+"), r"\1[token]"),
]


def scrub(text: str) -> str:
    """``text`` with anything that looks like a survey token replaced."""
    for pattern, replacement in _TOKEN_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class TokenScrubber(logging.Filter):
    """Rewrites records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Formatted here as logging would, with a tuple or with a mapping (gunicorn's access
        # log passes its fields as one), so the arguments are scrubbed too.
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            # A broken format: keep the text, drop the arguments rather than print them raw.
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        return True


_SCRUBBED_LOGGERS = ("", "werkzeug", "gunicorn.access", "gunicorn.error", "wellbeing")


def install_log_scrubber() -> None:
    """Attach the scrubber to the loggers and handlers that could see request paths."""
    scrubber = TokenScrubber()
    for name in _SCRUBBED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenScrubber) for f in logger.filters):
            logger.addFilter(scrubber)
        for handler in logger.handlers:
            if not any(isinstance(f, TokenScrubber) for f in handler.filters):
                handler.addFilter(scrubber)


def log_to_stderr() -> None:
    """Log at INFO to standard error for a foreground worker (scheduler, sender), scrubbed."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # APScheduler reports every run at INFO; its warnings and job errors still come through.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    install_log_scrubber()  # the handler just added must scrub survey tokens too
