"""Pages: the start page, joining, the phone, the facilitator's console and the board.

Layer: edge (HTTP). Views parse forms, call one service, and render; the pages then live on
Socket.IO. Facilitator pages check the secret in the session against the database each time.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from facilitation.core import domain
from facilitation.core.domain import CATEGORY_SETS, LANGUAGES, DomainError
from facilitation.edges import i18n, identity
from facilitation.edges.http import links, qr, tries
from facilitation.edges.http.organizers import current_login
from facilitation.edges.http.parts import samsyn
from facilitation.edges.http.phone_pages import Page
from facilitation.edges.parts import guessing, wrong_code
from facilitation.infrastructure.config import ROOT
from facilitation.usecases import WorkshopDesk, error_answer, is_grant

bp = Blueprint("views", __name__)

# The browser's Socket.IO client, copied from its npm package by `make vendor`.
VENDOR = ROOT / "static" / "vendor"


def _workshops() -> WorkshopDesk:
    """The workshops' use cases, which these pages serve."""
    return samsyn().services.workshops


def _lookup(code: str) -> Any:
    """The workshop with this code, or None. Wrong codes count against the address, and an
    address that tries too many is refused (429) for a while: codes cannot be guessed fast."""
    if guessing(domain.normalise_code(code)):
        abort(429)
    try:
        return _workshops().find_workshop(code)
    except DomainError:
        wrong_code()
        return None


def _workshop_or_404(code: str) -> Any:
    workshop = _lookup(code)
    if workshop is None:
        abort(404)
    g.workshop_language = workshop.language
    return workshop


def _facilitated_or_403(code: str) -> Any:
    """The workshop, if this browser holds its facilitator secret."""
    workshop = _workshop_or_404(code)
    try:
        _workshops().authorise_facilitator(
            workshop.code, identity.facilitator_secret(workshop.code)
        )
    except DomainError:
        wrong_code()
        abort(403)
    return workshop


@bp.get("/")
def index() -> str:
    """The start page: create a workshop, or join one with its code."""
    return render_template("index.html", form={}, error=None, join_error=None)


@bp.post("/workshops")
def create() -> BaseResponse | tuple[str, int]:
    """The start page's form: create the workshop, then open its console."""
    form = request.form
    try:
        tries.check_create_password(form.get("password", ""))
    except tries.TooManyTriesError:
        message = gettext("Too many wrong tries. Wait a minute, then try again.")
        return _index_error(message, 429)
    except tries.WrongSecretError:
        return _index_error(gettext("The password for creating workshops is wrong."))
    language = form.get("language", "sv")
    if language not in LANGUAGES:
        return _index_error(gettext("Choose Swedish or English."))
    category_set = form.get("category_set", "pestel")
    if category_set == "custom":
        lines = form.get("categories", "").splitlines()
        categories = [line for line in lines if domain.plain_text(line)]
    elif category_set in CATEGORY_SETS:
        categories = list(CATEGORY_SETS[category_set][language])
    else:
        return _index_error(gettext("Choose a set of categories."))
    try:
        known = domain.category_names(language) | {c.casefold() for c in categories}
        seeds = domain.parse_seed_lines(form.get("factors", ""), known)
        login = current_login()  # a logged-in organizer's workshop is theirs
        code, secret = _workshops().create(
            title=form.get("title", ""),
            language=language,
            categories=categories,
            seeds=seeds,
            owner_id=login.organizer_id if login else None,
        )
    except DomainError as error:
        return _index_error(i18n.localise(error_answer(error), language)["error"]["message"])
    identity.remember_facilitator(code, secret)
    return redirect(url_for("views.console", code=code), 303)


def _index_error(message: str, status: int = 400) -> tuple[str, int]:
    page = render_template("index.html", form=request.form, error=message, join_error=None)
    return page, status


@bp.post("/join")
def join_by_code() -> BaseResponse | tuple[str, int]:
    """The start page's join form: a code typed by hand."""
    code = domain.normalise_code(request.form.get("code", ""))
    if _lookup(code) is None:
        message = gettext("There is no workshop with that code. Check it and try again.")
        return render_template("index.html", form={}, error=None, join_error=message), 404
    return redirect(url_for("views.join", code=code), 303)


@bp.get("/j/<code>")
def join(code: str) -> BaseResponse | str:
    """The join URL in the QR code: the phone page. Sets the participant's cookie. The page
    is given out again for a moment (phone_pages.py)."""
    if guessing(domain.normalise_code(code)):
        abort(429)  # before the pages kept: they would tell a guesser which codes exist
    page = samsyn().phone_pages.page(
        request.full_path, session.get("lang"), lambda: _phone_page(code)
    )
    if not isinstance(page, Page):
        return page  # to the code as written (a redirect)
    g.workshop_language = page.language
    g.phone_page = page  # compressed once (phone_pages.CompressedPages)
    identity.participant_token(code, create=True)
    return page.html


def _phone_page(code: str) -> Page | BaseResponse:
    """The phone page of the workshop with this code (views.join)."""
    workshop = _workshop_or_404(code)
    if code != workshop.code:
        return redirect(url_for("views.join", code=workshop.code), 301)
    evidence = _workshops().factor_evidence(workshop.code) if workshop.series_id else {}
    html = render_template(
        "phone.html", workshop=workshop, view="phone", proxy=None, evidence=evidence
    )
    return Page(html, workshop.language, workshop.id)


@bp.get("/preview/<code>")
def preview(code: str) -> str:
    """What phones see now, for the facilitator to check: nothing done here is sent."""
    workshop = _facilitated_or_403(code)
    return render_template("phone.html", workshop=workshop, view="preview", proxy=None)


@bp.get("/proxy/<code>/<int:number>")
def proxy(code: str, number: int) -> str:
    """The facilitator votes for a proxy (someone without a phone) on a phone-like page."""
    workshop = _facilitated_or_403(code)
    try:
        person = _workshops().find_proxy(workshop.code, number)
    except DomainError:
        abort(404)
    return render_template("phone.html", workshop=workshop, view="proxy", proxy=person)


@bp.get("/f/<code>/<secret>")
def facilitator_link(code: str, secret: str) -> BaseResponse:
    """The facilitator's link: remembers the secret in the cookie and leaves the URL at once,
    so the secret is not left in the address bar, history or referrers."""
    workshop = _workshop_or_404(code)
    try:
        _workshops().authorise_facilitator(workshop.code, secret)
    except DomainError:
        wrong_code()
        abort(403)
    identity.remember_facilitator(workshop.code, secret)
    target = "views.board" if request.args.get("to") == "board" else "views.console"
    return redirect(url_for(target, code=workshop.code), 303)


@bp.get("/console/<code>")
def console(code: str) -> str:
    """The facilitator's console."""
    workshop = _facilitated_or_403(code)
    base = links.public_base()
    secret = identity.facilitator_secret(workshop.code)
    # Opened through an organizer's login, the key in the cookie is no link to hand on; a
    # link just made for handing on is shown this once.
    by_organizer = is_grant(secret)
    link = identity.link_to_show(workshop.code) if by_organizer else secret
    return render_template(
        "console.html",
        workshop=workshop,
        view="console",
        join_url=links.join_url(workshop.code),
        local_only=base.local_only,
        facilitator_url=(
            links.external("views.facilitator_link", code=workshop.code, secret=link)
            if link
            else None
        ),
        new_link=request.args.get("link") == "new",
        by_organizer=by_organizer,
    )


@bp.post("/console/<code>/link")
def replace_link(code: str) -> BaseResponse:
    """The console's "Replace the link" form: a new facilitator secret; every screen opened
    with the old one is disconnected at once and cannot come back with it. A browser that
    held the link keeps the new one; one that opened the console through an organizer's
    login keeps its console key (so its access still ends with the login) and is shown the
    new link once, to hand on."""
    workshop = _workshop_or_404(code)
    held = identity.facilitator_secret(workshop.code)
    try:
        secret = _workshops().replace_secret(workshop.code, held)
    except DomainError:
        wrong_code()
        abort(403)
    if is_grant(held):
        identity.show_link_once(workshop.code, secret)
    else:
        identity.remember_facilitator(workshop.code, secret)
    return redirect(url_for("views.console", code=workshop.code, link="new"), 303)


@bp.get("/board/<code>")
def board(code: str) -> str:
    """The board, for the projector."""
    workshop = _facilitated_or_403(code)
    join_url = links.join_url(workshop.code)
    return render_template(
        "board.html",
        workshop=workshop,
        view="board",
        join_url=join_url,
        join_url_text=links.display_url(join_url),
    )


@bp.get("/w/<code>/qr.svg")
def qr_svg(code: str) -> Response:
    """The join URL's QR code as SVG (the board shows it)."""
    workshop = _workshop_or_404(code)
    return Response(qr.svg(links.join_url(workshop.code)), mimetype="image/svg+xml")


@bp.get("/w/<code>/qr.png")
def qr_png(code: str) -> Response:
    """The join URL's QR code as PNG, to download and print."""
    workshop = _workshop_or_404(code)
    response = Response(qr.png(links.join_url(workshop.code)), mimetype="image/png")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = (
            f'attachment; filename="samsyn-{workshop.code}.png"'
        )
    return response


@bp.get("/language/<language>")
def language(language: str) -> BaseResponse:
    """Switch the interface language for this browser, then go back."""
    if language in LANGUAGES:
        session["lang"] = language
    target = request.args.get("next", "/")
    # Only paths on this site: never an open redirect.
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        target = "/"
    return redirect(target, 303)


@bp.get("/accessibility")
def accessibility() -> str:
    """The accessibility statement."""
    return render_template("accessibility.html")


@bp.get("/privacy")
def privacy() -> str:
    """How Samsyn treats the people who take part."""
    return render_template("privacy.html")


@bp.get("/vendor/<path:name>")
def vendor(name: str) -> Response:
    """Front-end dependencies from npm (kept under static/vendor/), served from our own origin."""
    if name not in {"socket.io.esm.min.js", "socket.io.esm.min.js.map"}:
        abort(404)
    return send_from_directory(VENDOR, name, max_age=86400)


@bp.app_context_processor
def page_context() -> dict[str, Any]:
    """What every page's layout needs: its language, the other language, the browser strings."""
    return {
        "page_language": i18n.select_locale(),
        "languages": LANGUAGES,
        "client_messages": i18n.client_messages,
        "create_password": bool(current_app.config["CREATE_PASSWORD"]),
    }
