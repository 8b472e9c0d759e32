"""The JSON API: create workshops, and export them (docs/api.md).

Layer: edge (HTTP). Requests are JSON only, so a browser on another site cannot send them
without a CORS preflight, which is refused: the API needs no CSRF token. Errors are
`{"error": {"code", "message", "field"?}}` with a 4xx status.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from pydantic import ValidationError

from facilitation.core.domain import N_, DomainError, SeedFactor, normalise_code
from facilitation.core.schemas import WorkshopCreate
from facilitation.edges import i18n, identity
from facilitation.edges.http import export_jobs, links, tries
from facilitation.edges.http.parts import samsyn
from facilitation.edges.parts import guessing, wrong_code
from facilitation.infrastructure import models
from facilitation.usecases import WorkshopDesk, error_answer, validation_error

bp = Blueprint("api", __name__, url_prefix="/api")

GUESSING = DomainError("too_many_tries", N_("Too many wrong codes or keys. Wait a minute."))


def _workshops() -> WorkshopDesk:
    """The workshops' use cases, which these pages serve."""
    return samsyn().services.workshops


def _error(answer: dict[str, Any], status: int) -> tuple[Response, int]:
    return jsonify({"error": i18n.localise(answer)["error"]}), status


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def _json_body() -> Any:
    """The request's JSON, or None when it is not JSON or nested too deep to parse."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


@bp.post("/workshops")
def create_workshop() -> tuple[Response, int]:
    """Create a workshop. 201 with its code and absolute URLs; 400 naming the bad field."""
    if not request.is_json:
        error = DomainError("json_required", N_("Send JSON (Content-Type: application/json)."))
        return _error(error_answer(error), 415)
    try:
        # No cookie to remember a client by: every try counts per address and together.
        tries.check_create_password(_bearer() or "", browser=False)
    except tries.TooManyTriesError:
        return _error(error_answer(GUESSING), 429)
    except tries.WrongSecretError:
        error = DomainError("password_required", N_("Creating workshops needs the password."))
        return _error(error_answer(error), 401)
    if not isinstance(body := _json_body(), dict):
        error = DomainError("invalid_input", N_("The body must be a JSON object."))
        return _error(error_answer(error.at("body")), 400)
    try:
        data = WorkshopCreate.model_validate(body)
    except ValidationError as exc:
        return _error(validation_error(exc), 400)
    seeds = [SeedFactor(f.title, f.category, f.description) for f in data.factors or []]
    try:
        code, secret = _workshops().create(
            title=data.title,
            language=data.language,
            categories=data.categories,
            seeds=seeds,
            time_zone=data.time_zone,
        )
    except DomainError as error:
        return _error(error_answer(error), 400)
    return jsonify(
        code=code,
        join_url=links.join_url(code),
        board_url=links.external("views.board", code=code),
        console_url=links.external("views.console", code=code),
        facilitator_url=links.external("views.facilitator_link", code=code, secret=secret),
        qr_svg_url=links.external("views.qr_svg", code=code),
        qr_png_url=links.external("views.qr_png", code=code),
    ), 201


def _facilitated(code: str) -> Any:
    """The workshop, if the request holds its facilitator secret (the console's cookie, or
    `Authorization: Bearer <facilitator secret>`); else an error answer."""
    if guessing(normalise_code(code)):
        return _error(error_answer(GUESSING), 429)
    try:
        workshop = _workshops().find_workshop(code)
        _workshops().authorise_facilitator(
            workshop.code, _bearer() or identity.facilitator_secret(workshop.code)
        )
    except DomainError as error:
        wrong_code()  # a wrong code, or a wrong secret: both count
        status = 404 if error.code == "unknown_workshop" else 403
        return _error(error_answer(error), status)
    return workshop


UNKNOWN_FORMAT = DomainError("unknown_format", N_("Use csv, json, xlsx, pdf or zip."))


def _requester(code: str) -> str:
    """Who asks for an export, for joining a job already under way: a digest of the key
    they hold (never the key itself)."""
    key = _bearer() or identity.facilitator_secret(code) or ""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@bp.get("/workshops/<code>/export.<fmt>")
def export_workshop(code: str, fmt: str) -> Response | tuple[Response, int]:
    """The workshop's record as CSV, JSON, Excel, PDF, or all of them in a zip, for its
    facilitator only. `?nicknames=1` adds participants' nicknames to the ballots. Written
    in a worker process (export_jobs.py): the file itself, or with `Prefer: respond-async`
    the job's state (202) while it takes longer than the wait asked for."""
    if fmt not in export_jobs.FORMATS:
        return _error(error_answer(UNKNOWN_FORMAT), 404)
    workshop = _facilitated(code)
    if not isinstance(workshop, models.Workshop):
        return workshop  # type: ignore[no-any-return]
    g.workshop_language = workshop.language
    nicknames = request.args.get("nicknames") == "1"
    parts = samsyn()
    try:
        job = parts.exports.start(
            ("workshop", workshop.id),
            _requester(workshop.code),
            (fmt, nicknames),
            f"samsyn-{workshop.code}.{fmt}",
            export_jobs.write_workshop,
            current_app.config["DATABASE_URL"],
            workshop.code,
            fmt,
            nicknames,
        )
    except export_jobs.TooManyExportsError:
        return _error(error_answer(export_jobs.UNDER_WAY), 429)
    return parts.exports.answer(job, *_job_urls(workshop.code, job.id))


MODERATION_FORMATS = DomainError("unknown_format", N_("Use csv or json."))


@bp.get("/workshops/<code>/moderation.<fmt>")
def export_moderation(code: str, fmt: str) -> Response | tuple[Response, int]:
    """The workshop's moderation log as CSV or JSON, for its facilitator only: what was
    hidden, merged, edited or removed, when and why, reasons' moderation too, and the
    moderation policy. Written as a job, like the other exports."""
    if fmt not in export_jobs.MODERATION:
        return _error(error_answer(MODERATION_FORMATS), 404)
    workshop = _facilitated(code)
    if not isinstance(workshop, models.Workshop):
        return workshop  # type: ignore[no-any-return]
    g.workshop_language = workshop.language
    parts = samsyn()
    try:
        job = parts.exports.start(
            ("workshop", workshop.id),
            _requester(workshop.code),
            ("moderation", fmt),
            f"samsyn-{workshop.code}-moderation.{fmt}",
            export_jobs.write_workshop,
            current_app.config["DATABASE_URL"],
            workshop.code,
            f"moderation.{fmt}",
            False,
        )
    except export_jobs.TooManyExportsError:
        return _error(error_answer(export_jobs.UNDER_WAY), 429)
    return parts.exports.answer(job, *_job_urls(workshop.code, job.id))


def _job_urls(code: str, job_id: str) -> tuple[str, str]:
    return (
        url_for("api.export_job", code=code, job_id=job_id),
        url_for("api.export_file", code=code, job_id=job_id),
    )


def _job(code: str, job_id: str) -> Any:
    """The workshop's export job, for its facilitator only; else an error answer."""
    workshop = _facilitated(code)
    if not isinstance(workshop, models.Workshop):
        return workshop
    job = samsyn().exports.get(job_id, ("workshop", workshop.id))
    if job is None:
        return _error(error_answer(export_jobs.GONE), 404)
    return job


@bp.get("/workshops/<code>/exports/<job_id>")
def export_job(code: str, job_id: str) -> Response | tuple[Response, int]:
    """How far an export of the workshop has come, and where its file is once done."""
    job = _job(code, job_id)
    if not isinstance(job, export_jobs.Job):
        return job  # type: ignore[no-any-return]
    return samsyn().exports.status(job, *_job_urls(normalise_code(code), job.id))


@bp.get("/workshops/<code>/exports/<job_id>/file")
def export_file(code: str, job_id: str) -> Response | tuple[Response, int]:
    """The file of a finished export (kept ten minutes)."""
    job = _job(code, job_id)
    if not isinstance(job, export_jobs.Job):
        return job  # type: ignore[no-any-return]
    if job.state != "done":
        return samsyn().exports.status(job, *_job_urls(normalise_code(code), job.id)), 409
    return export_jobs.file(job)


@bp.delete("/workshops/<code>")
def delete_workshop(code: str) -> Response | tuple[Response, int]:
    """Delete the workshop with all its data, for its facilitator only. Browsers cannot send
    DELETE across sites without a CORS preflight, which is refused."""
    workshop = _facilitated(code)
    if not isinstance(workshop, models.Workshop):
        return workshop  # type: ignore[no-any-return]
    _workshops().delete(workshop.code, _bearer() or identity.facilitator_secret(workshop.code))
    return Response(status=204)
