"""A real OpenID Connect provider on loopback, for the single sign-on tests.

oidc-provider-mock serves discovery, its signing keys, the authorization and token endpoints
and userinfo, and lets a test set a person's claims with ``PUT /users/<sub>``. ``running()``
serves it from a threaded werkzeug server on 127.0.0.1 behind a thin layer that can make it
misbehave on purpose: sign tokens under another issuer name, or publish someone else's keys.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import authlib.deprecate  # noqa: F401 - first, so its own "always" filter is not ahead of ours
import requests
from werkzeug.serving import make_server

with warnings.catch_warnings():
    # The provider is built on Authlib modules that Authlib itself now marks deprecated.
    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# Lets the provider's deprecated hook run inside tests run with ``filterwarnings = error``.
QUIET_PROVIDER = "ignore:get_jwt_config:DeprecationWarning"


class Provider:
    """The provider's WSGI app with switches for misbehaving, and calls a test makes to it."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.base_url = ""
        # Host name the token endpoint sees, and so writes into the ID token as its issuer.
        self.token_host: str | None = None
        # Another provider whose keys the jwks endpoint publishes instead of this one's.
        self.keys_from: WsgiApp | None = None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/jwks" and self.keys_from is not None:
            return self.keys_from(environ, start_response)
        if path == "/oauth2/token" and self.token_host is not None:
            environ = {**environ, "HTTP_HOST": self.token_host}
        return self.app(environ, start_response)

    @property
    def issuer(self) -> str:
        return self.base_url

    def set_user(self, sub: str, **claims: object) -> None:
        """What the provider says about ``sub`` from the next sign-in on."""
        response = requests.put(f"{self.base_url}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204, response.text

    def approve(self, authorize_url: str, sub: str, **changed: str | None) -> str:
        """Sign ``sub`` in at the authorization endpoint; the path and query it sends back to.

        ``changed`` alters the request's parameters on the way, as a tampering browser or a
        request made elsewhere would (``None`` drops one).
        """
        return self._answer(authorize_url, {"sub": sub}, changed)

    def deny(self, authorize_url: str) -> str:
        """Refuse the sign-in at the authorization endpoint, as a person pressing 'deny'."""
        return self._answer(authorize_url, {"action": "deny"}, {})

    def _answer(self, authorize_url: str, form: dict[str, str], changed: dict[str, Any]) -> str:
        parts = urlsplit(authorize_url)
        assert f"{parts.scheme}://{parts.netloc}" == self.base_url, authorize_url
        params = dict(parse_qsl(parts.query))
        for key, value in changed.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        response = requests.post(
            f"{self.base_url}{parts.path}?{urlencode(params)}",
            data=form,
            allow_redirects=False,
            timeout=5,
        )
        assert response.status_code == 302, response.text
        back = urlsplit(response.headers["Location"])
        return f"{back.path}?{back.query}"


@contextmanager
def running(access_token_max_age: timedelta = timedelta(hours=1)) -> Iterator[Provider]:
    """A provider served on a free loopback port until the block ends."""
    provider = Provider(
        oidc_provider_mock.app(require_nonce=True, access_token_max_age=access_token_max_age)
    )
    server = make_server("127.0.0.1", 0, provider, threaded=True)
    provider.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A loopback port nothing listens on (a provider that is down)."""
    server = make_server("127.0.0.1", 0, lambda environ, start_response: [])
    port = server.server_port
    server.server_close()
    return port
