"""The OpenID Connect client: Authlib's Flask integration behind a few typed calls.

Only this module talks to the identity provider. The callback is accepted only with the state
this browser was sent off with (kept in its session, used once), the code is exchanged with a
PKCE verifier, and the ID token must be signed by a key the provider publishes, name this
deployment as its audience and the configured issuer as its issuer, be unexpired, and carry the
nonce sent with the request. Every way that can fail becomes a ``SignInError`` with the status
and wording of the page the person sees.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import requests
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.flask_client import OAuth, OAuthError
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import Flask, Response, current_app
from joserfc.errors import JoseError

logger = logging.getLogger(__name__)

_EXTENSION = "wellbeing.oidc"
# Clocks at the provider and here may differ a little; tokens are accepted this far either side.
CLOCK_LEEWAY_SECONDS = 120


class SignInError(Exception):
    """A sign-in that cannot go on; ``status``, ``title`` and ``advice`` shape the page."""

    status = 400
    title = "That sign-in did not work"
    summary = "Something went wrong while signing you in."
    advice = "Go back to the sign-in page and start again."

    def __init__(self, reason: str, detail: str = "", message: str = "") -> None:
        super().__init__(reason)
        self.reason = reason  # for the log: what failed
        self.detail = detail  # for the log only, never shown
        self.message = message or self.summary  # for the page


class BadCallback(SignInError):
    """The answer from the provider does not belong to a sign-in this browser started."""

    status = 400
    title = "This sign-in link is no longer valid"
    summary = (
        "The answer from the sign-in provider does not belong to a sign-in started in this "
        "browser, or it has been used already."
    )
    advice = (
        "Sign-in links work once, in the browser that started them, for a few minutes. "
        "Go back to the sign-in page and start again."
    )


class TokenRejected(SignInError):
    """The provider's ID token failed verification."""

    status = 401
    title = "Your sign-in could not be verified"
    summary = (
        "The sign-in provider's answer did not pass the checks that prove it is genuine, "
        "current and meant for Wellbeing Pulse."
    )
    advice = (
        "Go back to the sign-in page and start again. If it keeps happening, tell your "
        "administrator: the sign-in provider's settings may have changed."
    )


class ProviderUnavailable(SignInError):
    """The provider could not be reached, or answered in a way this client cannot use."""

    status = 503
    title = "The sign-in provider cannot be reached"
    summary = "Wellbeing Pulse could not get a usable answer from your sign-in provider."
    advice = (
        "Try again in a few minutes. If you also have a Wellbeing Pulse password, you can sign "
        "in with it meanwhile."
    )


def init_app(app: Flask) -> None:
    """Register the provider as an Authlib client of this app, when single sign-on is set."""
    if not app.config.get("OIDC_ISSUER"):
        return
    oauth = OAuth(app)
    client = oauth.register(
        "oidc",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_DISCOVERY_URL"],
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "default_timeout": float(app.config["OIDC_TIMEOUT_SECONDS"]),
        },
    )
    app.extensions[_EXTENSION] = client


def _client() -> FlaskOAuth2App:
    client = current_app.extensions.get(_EXTENSION)
    if client is None:
        raise RuntimeError("single sign-on is not configured")
    return client


def _metadata() -> dict[str, Any]:
    """The provider's discovery document, fetched once, checked to name the configured issuer."""
    try:
        metadata = cast(dict[str, Any], _client().load_server_metadata())
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable("discovery", type(exc).__name__) from exc
    expected = str(current_app.config["OIDC_ISSUER"]).rstrip("/")
    declared = str(metadata.get("issuer", "")).rstrip("/")
    if declared != expected:
        raise ProviderUnavailable(
            "issuer mismatch", f"the discovery document names {declared!r}, not {expected!r}"
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not metadata.get(key):
            raise ProviderUnavailable("discovery", f"the discovery document has no {key}")
    return metadata


def authorization_redirect(redirect_uri: str) -> Response:
    """Send the browser to the provider, remembering state, nonce and PKCE verifier."""
    _metadata()
    try:
        return cast(Response, _client().authorize_redirect(redirect_uri))
    except (requests.RequestException, ValueError, RuntimeError) as exc:
        raise ProviderUnavailable("authorization", type(exc).__name__) from exc


def verified_claims() -> dict[str, Any]:
    """The claims of the callback's verified ID token, with userinfo filling any gaps.

    Some providers put the email or the groups only in userinfo; it is then fetched with the
    access token and must name the same subject as the ID token.
    """
    metadata = _metadata()
    client_id = str(current_app.config["OIDC_CLIENT_ID"])
    options = {
        "iss": {"essential": True, "values": [metadata["issuer"]]},
        "aud": {"essential": True, "values": [client_id]},
        "sub": {"essential": True},
    }
    try:
        token = _client().authorize_access_token(
            claims_options=options, leeway=CLOCK_LEEWAY_SECONDS
        )
    except MismatchingStateError as exc:
        raise BadCallback("unknown or reused state") from exc
    except OAuthError as exc:
        raise BadCallback(
            "provider refused",
            f"{exc.error}: {exc.description or ''}",
            message="The sign-in provider did not sign you in.",
        ) from exc
    except JoseError as exc:
        raise TokenRejected("ID token", f"{type(exc).__name__}: {exc}") from exc
    except (requests.RequestException, ValueError, RuntimeError) as exc:
        raise ProviderUnavailable("token", type(exc).__name__) from exc
    userinfo = token.get("userinfo")
    if not userinfo:
        raise TokenRejected("ID token", "the provider answered without an ID token")
    claims = dict(userinfo)
    needs = ("email", str(current_app.config["OIDC_GROUPS_CLAIM"]).split(".")[0])
    if any(name not in claims for name in needs) and metadata.get("userinfo_endpoint"):
        claims = _with_userinfo(claims, token, needs)
    return claims


def _with_userinfo(
    claims: dict[str, Any], token: dict[str, Any], needs: tuple[str, ...]
) -> dict[str, Any]:
    try:
        extra = dict(_client().userinfo(token=token))
    except (requests.RequestException, ValueError, OAuthError) as exc:
        raise ProviderUnavailable("userinfo", type(exc).__name__) from exc
    if extra.get("sub") != claims.get("sub"):
        raise TokenRejected("userinfo", "userinfo names another subject than the ID token")
    for name in needs:
        if name not in claims and name in extra:
            claims[name] = extra[name]
    if "email" in extra and "email_verified" not in claims and "email_verified" in extra:
        claims["email_verified"] = extra["email_verified"]
    return claims
