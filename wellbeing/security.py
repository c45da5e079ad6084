"""Headers every response carries, decided here and nowhere else, and which proxies to trust.

The policy allows scripts only from the app's own files: pages keep their data in JSON blocks
(``type="application/json"``), which a browser never runs, and plotly.js is served by the app.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Plotly writes style attributes and <style> rules as it draws, so inline styles must
        # be allowed for the charts to appear. Scripts stay limited to the app's own files.
        "style-src 'self' 'unsafe-inline'",
        # Plotly's "download as PNG" paints the chart through data: and blob: images.
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
# Survey addresses once held a single-use token; no request from those pages names them.
NO_REFERRER_BLUEPRINTS = frozenset({"survey"})
ONE_YEAR = 365 * 24 * 3600
UNCACHED_TYPES = frozenset({"text/html", "application/json"})


def install_security_headers(app: Flask) -> None:
    """Add the security headers to every response, errors and files included."""
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind a TLS proxy the client's address and scheme arrive in X-Forwarded-* headers;
        # rate limits count per client, and HTTPS is known, only if those are believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    production = app.config["WELLBEING_ENV"] == "production"

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
        headers["Referrer-Policy"] = (
            "no-referrer" if request.blueprint in NO_REFERRER_BLUEPRINTS else "same-origin"
        )
        if production and request.is_secure:
            headers["Strict-Transport-Security"] = f"max-age={ONE_YEAR}"
        if response.mimetype in UNCACHED_TYPES and "Cache-Control" not in headers:
            # Pages and API answers show results and names: no shared or back-button cache.
            headers["Cache-Control"] = "no-store"
        return response
