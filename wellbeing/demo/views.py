"""The demo mailbox pages: read in the browser every email the demo sent."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from wellbeing.demo import inbox

bp = Blueprint("demo", __name__)


def _directory() -> Path:
    return Path(current_app.config["DEMO_MAILBOX_DIR"])


@bp.get("/mailbox")
def mailbox_list() -> ResponseReturnValue:
    return render_template("demo/mailbox.html", messages=inbox.list_messages(_directory()))


@bp.get("/mailbox/<key>")
def mailbox_message(key: str) -> ResponseReturnValue:
    try:
        message = inbox.read_message(_directory(), key)
    except inbox.MessageNotFound:
        abort(404)
    return render_template("demo/message.html", message=message)
