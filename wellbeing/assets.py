"""Third-party browser code served by the app itself: many agencies block CDNs."""

from __future__ import annotations

from pathlib import Path

import plotly
from flask import Blueprint, abort, send_file
from flask.typing import ResponseReturnValue

bp = Blueprint("assets", __name__, url_prefix="/assets")

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ONE_YEAR = 365 * 24 * 3600


def plotly_version() -> str:
    return str(plotly.__version__)


@bp.get("/plotly-<version>.min.js")
def plotly_js(version: str) -> ResponseReturnValue:
    """plotly.js as shipped inside the plotly package; the version in the name busts caches."""
    if version != plotly_version():
        abort(404)
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=ONE_YEAR)


@bp.app_template_global()
def plotly_src() -> str:
    from flask import url_for

    return url_for("assets.plotly_js", version=plotly_version())
