"""Pages of a series: its overview, its factor library, the combined picture and its
exports, and the public follow page.

Layer: edge (HTTP). Views parse forms, call one service (`services.series.execute` for every
change, by the command's name), and render or redirect; every form carries a CSRF token,
and every command's form a `command_id` of its own.
A series the organizer has no part in answers 404, as one that does not exist.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from facilitation.core.domain import N_, DomainError
from facilitation.edges import i18n, identity
from facilitation.edges.http import export_jobs, links
from facilitation.edges.http.organizers import current_login, login_required
from facilitation.edges.http.parts import samsyn
from facilitation.edges.parts import wrong_code
from facilitation.queries.views import FollowView
from facilitation.usecases import SERIES_COMMANDS, Login, SeriesDesk, error_answer

bp = Blueprint("series", __name__)

# Form fields that are lists, and fields left out when empty (an unset choice).
_LISTS = {"factor_ids"}
_UNSET_WHEN_EMPTY = {"category_id", "library_factor_id", "language", "template"}
_PAGES = ("overview", "library", "combined")


def _series() -> SeriesDesk:
    """The series' use cases, which these pages serve."""
    return samsyn().services.series


def _login() -> Login:
    login = current_login()
    assert login is not None
    return login


def _message(error: DomainError | dict[str, Any]) -> str:
    """A refusal's message in the person's language (from an error, or a command's answer)."""
    answer = error_answer(error) if isinstance(error, DomainError) else error
    return str(i18n.localise(answer)["error"]["message"])


def _page(series_id: int, name: str, **extra: Any) -> str:
    """One of the series' pages, in the series' language unless the person chose theirs."""
    try:
        page = _series().page(_login(), series_id)
    except DomainError:
        abort(404)
    g.workshop_language = page["language"]
    return render_template(
        f"series/{name}.html",
        page=page,
        record=page["record"],
        by_id={f["id"]: f for f in page["record"]["factors"]},
        follow_url=links.external("series.follow", code=page["follow_code"]),
        shown=extra.pop("shown", None),
        error=extra.pop("error", None),
        **extra,
    )


def _payload() -> dict[str, Any]:
    """The form's fields as a command's payload."""
    payload: dict[str, Any] = {}
    for key in request.form:
        if key in ("csrf_token", "back"):
            continue
        values = request.form.getlist(key)
        if key in _LISTS:
            payload[key] = values
        elif key not in _UNSET_WHEN_EMPTY or values[-1]:
            # A checkbox comes after a hidden "off" of the same name: the last one counts.
            payload[key] = values[-1]
    upload = request.files.get("csv")
    if upload is not None and upload.filename:
        payload["csv"] = upload.read()
    return payload


@bp.post("/series")
@login_required
def create() -> BaseResponse | tuple[str, int]:
    """The organizer's form: a new series, its library started from a template."""
    try:
        series_id = _series().create(_login(), _payload())
    except DomainError as error:
        home = samsyn().services.organizers.home(_login())
        page = render_template(
            "organizer/home.html", home=home, login=_login(), error=_message(error)
        )
        return page, 400
    return redirect(url_for("series.library", series_id=series_id), 303)


@bp.get("/series/<int:series_id>")
@login_required
def overview(series_id: int) -> str:
    """The series: its workshops, the combined picture in brief, people and settings."""
    return _page(series_id, "overview")


@bp.get("/series/<int:series_id>/library")
@login_required
def library(series_id: int) -> str:
    """The series' factor library, and the factors the workshops added."""
    return _page(series_id, "library")


@bp.get("/series/<int:series_id>/combined")
@login_required
def combined(series_id: int) -> str:
    """The combined picture, every workshop side by side, with its exports."""
    return _page(series_id, "combined")


@bp.post("/series/<int:series_id>/do/<name>")
@login_required
def command(series_id: int, name: str) -> BaseResponse | tuple[str, int]:
    """Every change of a series or its library: the command `name` with the form's fields.
    Back to the page the form was on; a refusal is shown there. The form's `command_id`
    (made when the page was rendered) makes a form sent twice count once."""
    if name not in SERIES_COMMANDS:
        abort(404)
    back = request.form.get("back", "overview")
    back = back if back in _PAGES else "overview"
    answer = _series().execute(_login(), series_id, name, _payload())
    if not answer["ok"]:
        if answer["error"]["code"] == "unknown_series":
            abort(404)
        return _page(series_id, back, error=_message(answer)), 400
    data = answer["data"]
    if name == "workshop.add":
        # Its creator runs it through their login (a console key), never with its link in
        # the cookie: if they leave the series, or log out, their access ends with it.
        key = samsyn().services.organizers.open_console(_login(), data["code"])
        identity.remember_facilitator(data["code"], key)
        return redirect(url_for("views.console", code=data["code"]), 303)
    if name == "series.invite" and "token" in data:
        # Shown this once: the form sent again gets the answer without the link.
        invitation = links.external("organizers.invitation", token=data["token"])
        return _page(series_id, "overview", shown=invitation), 200
    return redirect(url_for(f"series.{back}", series_id=series_id), 303)


@bp.post("/series/<int:series_id>/delete")
@login_required
def delete(series_id: int) -> BaseResponse | tuple[str, int]:
    """The owner deletes the series with its library and workshops, after typing its title."""
    try:
        title = _series().page(_login(), series_id)["title"]
    except DomainError:
        abort(404)
    if request.form.get("confirm", "").strip() != title:
        message = gettext("Type the series' title exactly to delete it.")
        return _page(series_id, "overview", error=message), 400
    try:
        _series().delete(_login(), series_id)
    except DomainError as error:
        return _page(series_id, "overview", error=_message(error)), 400
    return redirect(url_for("organizers.home"), 303)


# --- Exports -------------------------------------------------------------------------------


def _series_owner(series_id: int) -> tuple[Login, Any] | tuple[Response, int]:
    """The login and the job owner of a series' exports, for its organizers; else an error
    answer (401 without a login, 404 for a series they have no part in)."""
    login = current_login()
    if login is None:
        return _json_error(DomainError("login_required", N_("Log in first.")), 401)
    try:
        _series().role(login.organizer_id, series_id)
    except DomainError as error:
        return _json_error(error, 404)
    return login, ("series", series_id)


@bp.get("/api/series/<int:series_id>/export.<fmt>")
def export_series(series_id: int, fmt: str) -> Response | tuple[Response, int]:
    """The combined picture as CSV, JSON, Excel, PDF, or all in a zip, for the series'
    organizers (their login's cookie). No participant appears in it, not even by number.
    Written in a worker process, as a workshop's exports are (export_jobs.py)."""
    if fmt not in export_jobs.FORMATS:
        error = DomainError("unknown_format", N_("Use csv, json, xlsx, pdf or zip."))
        return _json_error(error, 404)
    found = _series_owner(series_id)
    if isinstance(found[0], Response):
        return found
    login, owner = found
    parts = samsyn()
    try:
        job = parts.exports.start(
            owner,
            str(login.session_id),
            fmt,
            f"samsyn-series-{series_id}.{fmt}",
            export_jobs.write_series,
            current_app.config["DATABASE_URL"],
            login.organizer_id,
            series_id,
            fmt,
        )
    except export_jobs.TooManyExportsError:
        return _json_error(export_jobs.UNDER_WAY, 429)
    return parts.exports.answer(job, *_job_urls(series_id, job.id))


def _job_urls(series_id: int, job_id: str) -> tuple[str, str]:
    return (
        url_for("series.export_job", series_id=series_id, job_id=job_id),
        url_for("series.export_file", series_id=series_id, job_id=job_id),
    )


def _job(series_id: int, job_id: str) -> export_jobs.Job | tuple[Response, int]:
    found = _series_owner(series_id)
    if isinstance(found[0], Response):
        return found
    job = samsyn().exports.get(job_id, found[1])
    if job is None:
        return _json_error(export_jobs.GONE, 404)
    return job


@bp.get("/api/series/<int:series_id>/exports/<job_id>")
def export_job(series_id: int, job_id: str) -> Response | tuple[Response, int]:
    """How far an export of the series has come, and where its file is once done."""
    job = _job(series_id, job_id)
    if not isinstance(job, export_jobs.Job):
        return job
    return samsyn().exports.status(job, *_job_urls(series_id, job.id))


@bp.get("/api/series/<int:series_id>/exports/<job_id>/file")
def export_file(series_id: int, job_id: str) -> Response | tuple[Response, int]:
    """The file of a finished export of the series (kept ten minutes)."""
    job = _job(series_id, job_id)
    if not isinstance(job, export_jobs.Job):
        return job
    if job.state != "done":
        return samsyn().exports.status(job, *_job_urls(series_id, job.id)), 409
    return export_jobs.file(job)


def _json_error(error: DomainError, status: int) -> tuple[Response, int]:
    return jsonify({"error": i18n.localise(error_answer(error))["error"]}), status


# --- The public follow page ----------------------------------------------------------------


def _public(code: str) -> FollowView:
    """The follow page's state, or 404 (a wrong code counts against the address)."""
    if not samsyn().join_limit.has_tokens(request.remote_addr or ""):
        abort(429)
    try:
        view = _series().follow_view(code)
    except DomainError:
        wrong_code()
        abort(404)
    view.pop("id")
    return view


@bp.get("/follow/<code>")
def follow(code: str) -> str:
    """The series' public page, when its owner allows it: the workshops held, the combined
    picture, the final list. Live: it updates as workshops reveal results. No cookie is
    needed, and nothing about any participant is on it."""
    view = _public(code)
    g.workshop_language = view["series"]["language"]
    return render_template("series/follow.html", view=view)


@bp.get("/api/follow/<code>")
def follow_json(code: str) -> Response:
    """The follow page's state as JSON, for anyone (open data)."""
    return jsonify(_public(code))


@bp.get("/help/combined")
def help_combined() -> str:
    """How the combined picture and the agreement between the groups are computed, in
    plain words, for the follow page's readers and the organizers (docs/consensus.md,
    "Across workshops", says it for developers)."""
    return render_template("series/help.html")


@bp.app_context_processor
def picture_context() -> dict[str, Any]:
    """The combined picture's words for its script, and `command_id()`: a fresh id for each
    rendered command form."""
    return {"picture_messages": i18n.picture_messages, "command_id": command_id}


def command_id() -> str:
    """A new random id for one rendered form of a series command: the browser sending the
    form again (a double click, a resend) sends the same id, and the command counts once."""
    return secrets.token_urlsafe(16)
