"""The demo: a whole product on one machine with a built-in mail catcher."""

from __future__ import annotations

from flask import Flask


def register_mailbox(app: Flask) -> None:
    """Serve the demo mailbox pages, only in an app configured with ``DEMO_MAILBOX_DIR``."""
    if not app.config.get("DEMO_MAILBOX_DIR"):
        return
    from wellbeing.demo.views import bp

    app.register_blueprint(bp)
