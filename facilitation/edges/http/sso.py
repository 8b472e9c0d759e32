"""Logging organizers in through their organisation's identity provider: OpenID Connect's
authorization code flow with PKCE, state and nonce (Authlib checks all three, and the ID
token's signature, issuer, audience and age).

Layer: edge (HTTP). Views start the flow, take the provider's answer and call one service
(`services.organizers.log_in_sso`). A person refused (their e-mail's domain is not on the
allow-list) gets a page saying why (403); a provider that cannot be reached, a page saying
so (503), while the password log-in (when on) still works.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from joserfc.errors import JoseError
from werkzeug.wrappers import Response as BaseResponse

from facilitation.core.domain import DomainError
from facilitation.edges import identity
from facilitation.edges.http import sso_client
from facilitation.edges.http.organizers import _message, _organizers, _safe_next

bp = Blueprint("sso", __name__)
log = logging.getLogger("samsyn.sso")

_NEXT = "sso_next"


@bp.get("/login/sso")
def start() -> BaseResponse | tuple[str, int]:
    """Send the browser to the provider to log in; it comes back to `callback`. The state,
    nonce and PKCE verifier wait in the signed cookie. `again=1` asks for a fresh log-in."""
    if not sso_client.enabled():
        abort(404)
    session[_NEXT] = _safe_next(request.args.get("next"))
    sso_client.forget_unfinished()
    try:
        response: BaseResponse = sso_client.client().authorize_redirect(
            sso_client.external("sso.callback"), **_asking_again()
        )
    except (requests.RequestException, ValueError) as error:
        log.warning("identity provider unreachable: %s", type(error).__name__)
        return _unreachable()
    return response


def _asking_again() -> dict[str, str]:
    """`again=1` (logging in again to confirm deleting the account): the provider is asked
    to ask for the password even while its own session lives (`prompt=login`), or it would
    send the browser straight back and the confirmation would confirm nothing."""
    return {"prompt": "login"} if request.args.get("again") == "1" else {}


@bp.get("/login/sso/callback")
def callback() -> BaseResponse | tuple[str, int]:
    """The provider's answer: the code is exchanged for tokens, the ID token checked, and
    the organizer logged in with a login of their own (made on their first log-in)."""
    if not sso_client.enabled():
        abort(404)
    provider = sso_client.client()
    try:
        token = provider.authorize_access_token()
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise ValueError("no ID token")
        if "email" not in claims and provider.load_server_metadata().get("userinfo_endpoint"):
            extra = provider.userinfo(token=token)
            if extra.get("sub") == claims["sub"]:  # OpenID Connect Core 5.3.2
                claims = {**extra, **claims}
    except requests.RequestException as error:
        log.warning("identity provider unreachable: %s", type(error).__name__)
        return _unreachable()
    except (AuthlibBaseError, JoseError, DomainError, ValueError, KeyError) as error:
        log.info("single sign-on did not complete: %s", getattr(error, "error", type(error)))
        return _problem(
            gettext("The log-in through your organisation did not complete. Try again."), 400
        )
    next_path = session.pop(_NEXT, None)
    verified = _boolean(claims.get("email_verified"))
    try:
        login_token = _organizers().log_in_sso(
            str(claims.get("iss") or ""),
            str(claims["sub"]),
            claims.get("email") if isinstance(claims.get("email"), str) else None,
            email_verified=verified,
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            allowed_domains=current_app.config["OIDC_ALLOWED_DOMAINS"],
            replacing=identity.organizer_token(),
        )
    except DomainError as error:
        log.info("single sign-on refused: %s", error.code)
        identity.forget_organizer()
        return _problem(_message(error), 403, refused=True)
    identity.forget_organizer()
    identity.remember_organizer(login_token, by_sso=True)
    return redirect(_safe_next(next_path), 303)


@bp.get("/login/sso/logged-out")
def logged_out() -> BaseResponse:
    """Where the provider sends the browser back after ending its own session."""
    return redirect(url_for("organizers.login", out=1), 303)


def _boolean(value: Any) -> bool | None:
    """A boolean claim; some providers send "true" and "false" as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in ("true", "false"):
        return value.strip().casefold() == "true"
    return None


def _unreachable() -> tuple[str, int]:
    return _problem(
        gettext(
            "Your organisation's log-in service cannot be reached just now. Try again in a while."
        ),
        503,
    )


def _problem(message: str, status: int, *, refused: bool = False) -> tuple[str, int]:
    page = render_template("organizer/sso_problem.html", message=message, refused=refused)
    return page, status
