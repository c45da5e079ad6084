"""A real SMTP server on loopback for tests: collects what it accepts, and can misbehave on cue.

Use the ``smtp_server`` fixture (registered in ``conftest.py``) and point an app at it::

    def test_something(app, smtp_server):
        smtp_server.serve(app)
        ...
        (message,) = smtp_server.to("ana@example.org")

Switches: ``stop()``/``start()`` (connections refused while stopped), ``fail_temporarily``
(every recipient answered 451), ``reject(address)`` (that recipient answered 550), ``full`` (a set of addresses answered 452), and
``stall_at(n)`` (the n-th message, counting from 1, is held unanswered until ``release()``,
then refused with 451 and not kept) for killing a sender mid-send, and ``delay`` (seconds each
message takes to be accepted, as on a real relay) so that several senders overlap.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from wellbeing.extensions import mail

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted, with its envelope."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return _part(self.message, "plain")

    @property
    def html(self) -> str:
        return _part(self.message, "html")

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        raise AssertionError(f"the message has no text/{subtype} part")
    content: str = part.get_content()  # type: ignore[attr-defined]
    return content


class _Handler:
    """aiosmtpd hooks that consult the server's switches."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_EHLO(  # noqa: N802 - the hook name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.server.lock:
            self.server.connections += 1
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.server.fail_temporarily:
            return "451 4.3.0 Mail system busy, try again later"
        if address.lower() in self.server.rejected:
            return "550 5.1.1 No such mailbox here"
        if address.lower() in self.server.full:
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.server.lock:
            self.server.data_commands += 1
            stall = self.server.data_commands == self.server.stall_number
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        if stall:
            self.server.stalled.set()
            while not self.server.released.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Not kept"
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        parsed = BytesParser(policy=policy.default).parsebytes(bytes(content))
        assert isinstance(parsed, EmailMessage)
        with self.server.lock:
            self.server.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), parsed)
            )
        return "250 2.0.0 Accepted"


def free_port() -> int:
    """A TCP port nothing on loopback is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpServer:
    """An aiosmtpd server on a fixed loopback port that can be stopped and started again."""

    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = free_port()
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.connections = 0
        self.data_commands = 0
        self.fail_temporarily = False
        self.rejected: set[str] = set()
        self.full: set[str] = set()
        self.stall_number: int | None = None
        self.delay = 0.0
        self.stalled = threading.Event()
        self.released = threading.Event()
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the same port."""
        if self._controller is not None:
            return
        # A stopped controller's event loop is closed, so each start needs a new one.
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, server_hostname="smtp.test"
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()``."""
        if self._controller is None:
            return
        self.released.set()
        self._controller.stop()
        self._controller = None

    def serve(self, app: Flask, **settings: Any) -> None:
        """Send ``app``'s mail here, for real (testing apps suppress sending by default)."""
        app.config.update(
            MAIL_SERVER=self.host,
            MAIL_PORT=self.port,
            MAIL_USE_TLS=False,
            MAIL_USE_SSL=False,
            MAIL_SUPPRESS_SEND=False,
            **settings,
        )
        mail.init_app(app)

    def reject(self, address: str) -> None:
        """Answer 550 when this recipient is given."""
        self.rejected.add(address.lower())

    def stall_at(self, number: int) -> None:
        """Hold the ``number``-th message (from 1) unanswered until ``release()``."""
        self.stall_number = number
        self.stalled.clear()
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    @property
    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        """Messages whose envelope names ``address``."""
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def recipients(self) -> list[str]:
        """Every envelope recipient of every accepted message, one entry per delivery."""
        return sorted(r.lower() for m in self.messages for r in m.rcpt_tos)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server on loopback, stopped after the test."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.release()
        server.stop()
