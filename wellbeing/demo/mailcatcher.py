"""The demo's mail catcher: an SMTP server on loopback that files every message in a Maildir."""

from __future__ import annotations

import errno
import logging
import mailbox
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# The name the catcher gives itself in its SMTP greeting; avoids a slow reverse-DNS lookup.
SERVER_NAME = "wellbeing-demo"


class MailCatcherError(RuntimeError):
    """The catcher cannot start; the message says why and what to do."""


class MaildirHandler:
    """aiosmtpd handler that keeps each accepted message as one file in a Maildir."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Maildir(create=True) skips these when the folder itself already exists.
        for folder in ("tmp", "new", "cur"):
            (directory / folder).mkdir(parents=True, exist_ok=True)

    async def handle_DATA(  # noqa: N802 - the hook name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        """Store the message with a Delivered-To line per envelope recipient, as MTAs do."""
        content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        delivered = b"".join(
            b"Delivered-To: " + str(rcpt).encode("utf-8") + b"\n" for rcpt in envelope.rcpt_tos
        )
        message = delivered + bytes(content).replace(b"\r\n", b"\n")
        key = mailbox.Maildir(self.directory, create=False).add(message)
        logger.info("demo mail catcher stored message %s", key)
        return "250 Message accepted for delivery"


@dataclass
class MailCatcher:
    """A running catcher: where it listens and where it files what it receives."""

    controller: Any
    host: str
    port: int
    directory: Path


def start_mail_catcher(directory: Path, port: int, host: str = LOOPBACK) -> MailCatcher:
    """Listen for SMTP on ``host:port`` in a background thread, filing mail in ``directory``."""
    _check_port_free(host, port)
    controller = Controller(
        MaildirHandler(directory), hostname=host, port=port, server_hostname=SERVER_NAME
    )
    try:
        controller.start()
    except Exception as exc:
        # A failed start leaves the catcher's event loop open; close it so nothing leaks.
        if not controller.loop.is_closed():
            controller.loop.close()
        raise MailCatcherError(
            f"the demo mail catcher could not start on {host}:{port}: {exc}"
        ) from exc
    logger.info("demo mail catcher listening on %s:%s", host, port)
    return MailCatcher(controller, host, port, directory)


def stop_mail_catcher(catcher: MailCatcher) -> None:
    """Stop listening and wait for the catcher's thread to end."""
    catcher.controller.stop()
    logger.info("demo mail catcher stopped")


def _check_port_free(host: str, port: int) -> None:
    """Fail fast with a clear message; aiosmtpd would only time out after several seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise MailCatcherError(
                    f"port {port} on {host} is already in use; "
                    "choose another with --smtp-port, or stop what is using it"
                ) from exc
            raise MailCatcherError(
                f"the demo mail catcher cannot listen on {host}:{port}: {exc.strerror}"
            ) from exc
