"""The organizers' identity provider, as this app's OpenID Connect client (Authlib): set up
from the settings, and what logging out asks of it.

Layer: edge (HTTP). Imports Authlib and Flask; the views that use it are sso.py (logging
in) and organizers.py (logging out). Every call to the provider (discovery, keys, token,
userinfo) gives up after OIDC_TIMEOUT seconds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, session, url_for

_CLIENT = "provider"


def init_app(app: Flask) -> None:
    """Register the provider when single sign-on is configured (OIDC_DISCOVERY_URL and
    OIDC_CLIENT_ID set)."""
    config = app.config
    if not (config.get("OIDC_DISCOVERY_URL") and config.get("OIDC_CLIENT_ID")):
        return
    oauth = OAuth(app)
    oauth.register(
        _CLIENT,
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config.get("OIDC_CLIENT_SECRET"),
        server_metadata_url=config["OIDC_DISCOVERY_URL"],
        client_kwargs={
            "scope": config["OIDC_SCOPES"],
            # PKCE: the code is worth nothing without the verifier kept in the cookie.
            "code_challenge_method": "S256",
            "default_timeout": config["OIDC_TIMEOUT"],
        },
    )
    app.extensions["samsyn_sso"] = oauth


def enabled() -> bool:
    return "samsyn_sso" in current_app.extensions


def client() -> Any:
    """The provider's Authlib client (only when `enabled`)."""
    return current_app.extensions["samsyn_sso"].create_client(_CLIENT)


def external(endpoint: str, **values: Any) -> str:
    """An address of this app as the provider must call it: under PUBLIC_URL when set."""
    public: str | None = current_app.config.get("PUBLIC_URL")
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def forget_unfinished() -> None:
    """Drop the state of log-ins this browser started and never finished. Authlib keeps each
    one's state (nonce, PKCE verifier) in the signed cookie for an hour and clears them only
    when one comes back, so pressing the button again and again would push the cookie past
    the 4 KB browsers keep. One log-in at a time per browser: the newest."""
    for key in [key for key in session if key.startswith(f"_state_{_CLIENT}_")]:
        del session[key]


def logout_target(by_sso: bool) -> str | None:
    """Where logging out goes after the Samsyn login has ended: the provider's
    end_session_endpoint, when this login came from it (`by_sso`) and the provider has one
    (and can be reached now; if not, the Samsyn login has ended all the same)."""
    if not by_sso or not enabled():
        return None
    try:
        metadata = client().load_server_metadata()
    except (requests.RequestException, ValueError):
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    query = urlencode(
        {
            "client_id": current_app.config["OIDC_CLIENT_ID"],
            "post_logout_redirect_uri": external("sso.logged_out"),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
