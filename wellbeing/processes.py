"""Long-running processes (the scheduler, sender workers): a name each, and a clean stop."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
from collections.abc import Callable
from types import FrameType

logger = logging.getLogger(__name__)


def process_name() -> str:
    """``host:pid:random``: tells processes apart in logs and locks, across machines and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def run_until_signalled(who: str, run: Callable[[], None], stop: Callable[[], None]) -> None:
    """Call ``run`` in this thread; SIGINT or SIGTERM calls ``stop`` so it can finish cleanly."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("%s received signal %s; stopping", who, signum)
        stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
