"""Pages of organizer accounts: the first-run page, logging in and out, the organizer's start
page, changing the password, invitations, and opening a workshop's console without its link.

Layer: edge (HTTP). Views parse forms, call one service, and render or redirect. Every form
carries a CSRF token (security.py). Every password and invitation link tried is limited
before it is checked (tries.py; wrong links count as wrong codes do); the login itself
lives in the database (facilitation/usecases/accounts.py), the cookie holds its token.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from facilitation.core.domain import DomainError
from facilitation.edges import i18n, identity
from facilitation.edges.http import sso_client, tries
from facilitation.edges.http.parts import samsyn
from facilitation.edges.parts import wrong_code
from facilitation.infrastructure.version import VERSION
from facilitation.usecases import Login, OrganizerDesk, error_answer, login_name

bp = Blueprint("organizers", __name__)
log = logging.getLogger("samsyn.organizers")

F = TypeVar("F", bound=Callable[..., Any])


def _organizers() -> OrganizerDesk:
    """The organizers' use cases, which these pages serve (invitations are the series')."""
    return samsyn().services.organizers


def _message(error: DomainError) -> str:
    return str(i18n.localise(error_answer(error))["error"]["message"])


def current_login() -> Login | None:
    """The organizer logged in with this browser, if their login still lives."""
    if "login" not in g:
        token = identity.organizer_token()
        g.login = _organizers().login(token)
        if token and g.login is None:
            identity.forget_organizer()  # ended (expired or logged out elsewhere)
            g.login_ended = True
    login: Login | None = g.login
    return login


def login_required(view: F) -> F:
    """The view, for a logged-in organizer; others are sent to log in, and back."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_login() is None:
            ended = "1" if g.get("login_ended") else None
            return redirect(url_for("organizers.login", next=request.full_path, ended=ended), 303)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never an open redirect)."""
    target = target or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("organizers.home")
    return target.rstrip("?") or url_for("organizers.home")


# --- First run ---------------------------------------------------------------------------


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> BaseResponse | str | tuple[str, int]:
    """The first-run page: the first organizer account, while there is none. Later it is
    gone (404); more accounts come from invitations or the command line."""
    if _organizers().has_organizers() or not _password_login():
        abort(404)  # with single sign-on only, accounts are made at their first log-in
    if request.method == "GET":
        return render_template("organizer/setup.html", error=None, form={})
    form = request.form
    try:
        tries.check_create_password(form.get("create_password", ""))
    except tries.TooManyTriesError:
        return _setup_error(_too_many_tries(), 429)
    except tries.WrongSecretError:
        return _setup_error(gettext("The password for creating workshops is wrong."))
    if form.get("password", "") != form.get("password2", ""):
        return _setup_error(gettext("The two passwords differ."))
    username = form.get("username", "")
    try:
        token = _organizers().set_up(username, form.get("password", ""))
    except DomainError as error:
        if error.code == "already_set_up":
            abort(404)  # made meanwhile, by another first-run page
        return _setup_error(_message(error))
    identity.trust_device(tries.login_account(login_name(username)))
    identity.remember_organizer(token)
    return redirect(url_for("organizers.home"), 303)


def _setup_error(message: str, status: int = 400) -> tuple[str, int]:
    form = {"username": request.form.get("username", "")}
    return render_template("organizer/setup.html", error=message, form=form), status


def _too_many_tries() -> str:
    return str(gettext("Too many wrong tries. Wait a minute, then try again."))


# --- Logging in and out ------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    """Log in. Wrong passwords are counted (tries.py): after a few, more wait (429) before
    anything is checked, so passwords cannot be guessed fast; a browser that logged into
    the account before has an allowance of its own, so strangers never lock it out."""
    next_path = request.values.get("next")
    if request.method == "GET":
        if current_login() is not None:
            return redirect(_safe_next(next_path), 303)
        ended = request.args.get("ended") == "1"
        return _login_page(None, "", next_path, ended=ended)
    if not _password_login():
        return _login_error(
            gettext("Log in through your organisation instead."), "", next_path, 403
        )
    username = request.form.get("username", "")
    account = tries.login_account(login_name(username))
    try:
        with tries.attempt(tries.keys_for(account)) as tried:
            try:
                token = _organizers().log_in(username, request.form.get("password", ""))
            except DomainError as error:
                tried.wrong = True
                log.info("organizer login refused")
                return _login_error(_message(error), username, next_path, 400)
    except tries.TooManyTriesError:
        return _login_error(_too_many_tries(), username, next_path, 429)
    identity.trust_device(account)
    identity.remember_organizer(token)
    return redirect(_safe_next(next_path), 303)


def _login_error(
    message: str, username: str, next_path: str | None, status: int
) -> tuple[str, int]:
    return _login_page(message, username, next_path), status


def _login_page(
    error: str | None, username: str, next_path: str | None, *, ended: bool = False
) -> str:
    """The log-in page: the button of the organisation's identity provider when single
    sign-on is set up, the password form unless PASSWORD_LOGIN is off."""
    label = current_app.config.get("OIDC_BUTTON_LABEL") or gettext(
        "Log in with your organisation's account"
    )
    return render_template(
        "organizer/login.html",
        error=error,
        username=username,
        next=next_path,
        ended=ended,
        sso=sso_client.enabled(),
        sso_label=label,
        password_login=_password_login(),
    )


def _password_login() -> bool:
    """Whether organizers may log in with a password (PASSWORD_LOGIN, on by default)."""
    return bool(current_app.config.get("PASSWORD_LOGIN", True))


@bp.post("/logout")
def logout() -> BaseResponse:
    """Log out: the login ends in the database, and every console opened through it; a
    login made by single sign-on goes on to end the provider's session too."""
    by_sso = identity.organizer_by_sso()
    _organizers().log_out(identity.organizer_token())
    identity.forget_organizer()
    target = sso_client.logout_target(by_sso)
    return redirect(target or url_for("organizers.login", out=1), 303)


# --- The organizer's pages ----------------------------------------------------------------


@bp.get("/organizer")
@login_required
def home() -> str:
    """The organizer's start page: their series, and workshops outside one."""
    login = current_login()
    assert login is not None
    return render_template(
        "organizer/home.html", home=_organizers().home(login), login=login, error=None
    )


@bp.route("/organizer/password", methods=["GET", "POST"])
@login_required
def password() -> BaseResponse | str | tuple[str, int]:
    """Change the password; every other login of the account ends. An account from single
    sign-on has no password here (404)."""
    login = current_login()
    assert login is not None
    if login.sso:
        abort(404)
    if request.method == "GET":
        return render_template("organizer/password.html", error=None, done=False)
    form = request.form
    if form.get("new", "") != form.get("new2", ""):
        return _password_error(gettext("The two passwords differ."), 400)
    try:
        # Tries of the current password count per login: whoever holds a stolen cookie
        # cannot guess their way to a password of their own.
        with tries.attempt([("password", login.session_id)]) as tried:
            try:
                _organizers().change_password(login, form.get("current", ""), form.get("new", ""))
            except DomainError as error:
                tried.wrong = error.code == "wrong_password"
                return _password_error(_message(error), 400)
    except tries.TooManyTriesError:
        return _password_error(_too_many_tries(), 429)
    return render_template("organizer/password.html", error=None, done=True)


def _password_error(message: str, status: int) -> tuple[str, int]:
    return render_template("organizer/password.html", error=message, done=False), status


@bp.route("/organizer/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> str | tuple[str, int]:
    """Delete the account, confirmed with the password: its logins end, and with them every
    console and board opened through them, at once; the series it owns are deleted with
    their libraries and workshops (the page lists them first)."""
    login = current_login()
    assert login is not None
    owned = _organizers().account_deletion(login.organizer_id)
    if request.method == "GET":
        return render_template("organizer/delete.html", owned=owned, error=None, done=False)
    try:
        # Tries of the password count per login, as when changing it.
        with tries.attempt([("password", login.session_id)]) as tried:
            try:
                _organizers().delete_account(login, request.form.get("password", ""))
            except DomainError as error:
                tried.wrong = error.code == "wrong_password"
                page = render_template("organizer/delete.html", owned=owned, error=_message(error))
                return page, 400
    except tries.TooManyTriesError:
        page = render_template("organizer/delete.html", owned=owned, error=_too_many_tries())
        return page, 429
    identity.forget_organizer()
    return render_template("organizer/delete.html", owned=[], error=None, done=True)


@bp.post("/organizer/workshops/<code>/console")
@login_required
def open_console(code: str) -> BaseResponse:
    """Open a workshop's console without its facilitator link, for an organizer who owns it
    or co-facilitates its series: a key tied to this login goes into the cookie."""
    login = current_login()
    assert login is not None
    try:
        key = _organizers().open_console(login, code)
    except DomainError:
        abort(404)
    workshop = samsyn().services.workshops.find_workshop(code)
    identity.remember_facilitator(workshop.code, key)
    target = "views.board" if request.form.get("to") == "board" else "views.console"
    return redirect(url_for(target, code=workshop.code), 303)


# --- Invitations ---------------------------------------------------------------------------


def _guessing_links() -> bool:
    """Whether this address has tried too many wrong codes, secrets or links lately."""
    return not samsyn().join_limit.has_tokens(request.remote_addr or "")


@bp.get("/invite/<token>")
def invitation(token: str) -> str | tuple[str, int]:
    """An invitation to co-facilitate a series: accept it logged in, or make an account.
    A wrong link counts against the address as a wrong workshop code does."""
    if _guessing_links():
        abort(429)
    try:
        title = samsyn().services.series.invitation(token)
    except DomainError as error:
        wrong_code()
        return render_template("organizer/invitation.html", title=None, error=_message(error)), 404
    return render_template(
        "organizer/invitation.html", title=title, token=token, login=current_login(), error=None
    )


@bp.post("/invite/<token>")
def accept(token: str) -> BaseResponse | tuple[str, int]:
    """Take up the invitation: as the organizer logged in, or with a new account."""
    if _guessing_links():
        abort(429)
    login = current_login()
    try:
        if login is not None:
            series_id = samsyn().services.series.accept_invitation(login, token)
        else:
            form = request.form
            if form.get("password", "") != form.get("password2", ""):
                raise _RefusedError(gettext("The two passwords differ."))
            if not _password_login():
                raise _RefusedError(gettext("Log in through your organisation instead."))
            username = form.get("username", "")
            session_token, series_id = _organizers().join_by_invitation(
                token, username, form.get("password", "")
            )
            identity.trust_device(tries.login_account(login_name(username)))
            identity.remember_organizer(session_token)
    except (DomainError, _RefusedError) as error:
        message = error.message if isinstance(error, _RefusedError) else _message(error)
        try:
            title = samsyn().services.series.invitation(token)
        except DomainError:
            wrong_code()
            title = None
        page = render_template(
            "organizer/invitation.html", title=title, token=token, login=login, error=message
        )
        return page, 400
    return redirect(url_for("series.overview", series_id=series_id), 303)


class _RefusedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@bp.app_context_processor
def organizer_context() -> dict[str, Any]:
    """Every page's header shows whether an organizer is logged in; the organizers' pages
    (those that set `show_version`) say in their footer which release runs; pages that offer
    to make a password account ask whether passwords are on."""
    return {
        "organizer_login": current_login,
        "samsyn_version": VERSION,
        "password_login": _password_login,
    }
