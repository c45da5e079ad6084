"""The demo mailbox as the browser shows it: the caught messages, listed and read back."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

# Headers shown at the top of a message, in this order, when present.
SHOWN_HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date")
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
_HEAD_TAG = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
# Links in the HTML part open in a new tab, outside the sandboxed frame.
_BASE_TAG = '<base target="_blank">'


class MessageNotFound(LookupError):
    """No caught message has this key."""


@dataclass(frozen=True)
class MessageSummary:
    """One line of the mailbox list."""

    key: str
    to: str
    subject: str
    date: datetime | None


@dataclass(frozen=True)
class TextSegment:
    """A run of plain text, or a web address to show as a link."""

    text: str
    is_link: bool


@dataclass(frozen=True)
class MessageDetail:
    """One message as read in the browser: headers, plain text with live links, HTML."""

    key: str
    subject: str
    headers: list[tuple[str, str]]
    all_headers: list[tuple[str, str]]
    text: list[TextSegment] | None
    html: str | None
    attachments: list[str]


def list_messages(directory: Path) -> list[MessageSummary]:
    """Every caught message, newest first."""
    if not directory.is_dir():
        return []
    box = mailbox.Maildir(directory, create=False)
    parser = BytesHeaderParser(policy=email.policy.default)
    summaries = []
    for key in box.iterkeys():
        try:
            headers = parser.parsebytes(box.get_bytes(key))
        except KeyError:  # removed while we were reading
            continue
        summaries.append(
            MessageSummary(
                key=key,
                to=_recipients(headers),
                subject=str(headers.get("Subject", "")),
                date=_date(headers) or _delivered(box, key),
            )
        )
    oldest = datetime.min.replace(tzinfo=UTC)
    summaries.sort(key=lambda m: (m.date or oldest, m.key), reverse=True)
    return summaries


def read_message(directory: Path, key: str) -> MessageDetail:
    """The message filed under ``key``, or MessageNotFound."""
    if not directory.is_dir():
        raise MessageNotFound(key)
    box = mailbox.Maildir(directory, create=False)
    try:
        raw = box.get_bytes(key)
    except KeyError as exc:
        raise MessageNotFound(key) from exc
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # noqa: S101 - guaranteed by the default policy
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return MessageDetail(
        key=key,
        subject=str(message.get("Subject", "")),
        headers=[(name, str(message[name])) for name in SHOWN_HEADERS if name in message],
        all_headers=[(name, str(value)) for name, value in message.items()],
        text=_segments(_content(text_part)) if text_part is not None else None,
        html=_with_links_in_new_tab(_content(html_part)) if html_part is not None else None,
        attachments=[part.get_filename() or "(unnamed)" for part in message.iter_attachments()],
    )


def _recipients(headers: Message) -> str:
    """The To addresses, or the envelope recipients when the message names none."""
    values = headers.get_all("To") or headers.get_all("Delivered-To") or []
    return ", ".join(addr or name for name, addr in getaddresses([str(v) for v in values]))


def _date(headers: Message) -> datetime | None:
    value = headers.get("Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _delivered(box: mailbox.Maildir, key: str) -> datetime | None:
    """When the catcher filed the message, for mail sent without a Date header."""
    try:
        return datetime.fromtimestamp(box.get_message(key).get_date(), tz=UTC).astimezone()
    except KeyError:
        return None


def _content(part: Message) -> str:
    """The part's text; an unknown charset is read as UTF-8 rather than failing the page."""
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else part.get_payload()
    except LookupError:
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else str(content)


def _segments(text: str) -> list[TextSegment]:
    """Split plain text so that web addresses can be rendered as links."""
    segments: list[TextSegment] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        if match.start() > position:
            segments.append(TextSegment(text[position : match.start()], False))
        segments.append(TextSegment(url, True))
        position = match.start() + len(url)
    if position < len(text):
        segments.append(TextSegment(text[position:], False))
    return segments


def _with_links_in_new_tab(html: str) -> str:
    """The HTML with a ``<base target="_blank">`` in its head, or before it if it has none."""
    if _HEAD_TAG.search(html):
        return _HEAD_TAG.sub(lambda m: m.group(0) + _BASE_TAG, html, count=1)
    return _BASE_TAG + html
