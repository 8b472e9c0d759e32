"""The JSON API: create workshops, and export them (docs/api.md).

Layer: edge (HTTP). Requests are JSON only, so a browser on another site cannot send them
without a CORS preflight, which is refused: the API needs no CSRF token. Errors are
`{"error": {"code", "message", "field"?}}` with a 4xx status.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import force_locale, gettext
from pydantic import ValidationError

from . import export, i18n, identity, links, models, report, tries, workbook
from .domain import N_, DomainError, SeedFactor, normalise_code
from .extension import guessing, samsyn, wrong_code
from .schemas import WorkshopCreate
from .services import Services, error_answer, validation_error

bp = Blueprint("api", __name__, url_prefix="/api")

GUESSING = DomainError("too_many_tries", N_("Too many wrong codes or keys. Wait a minute."))


def _services() -> Services:
    return samsyn().services


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
        code, secret = _services().create_workshop(
            title=data.title, language=data.language, categories=data.categories, seeds=seeds
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


# The formats of an export, with their media types. "zip" bundles all the others.
FORMATS = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8"
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


def _facilitated(code: str) -> Any:
    """The workshop, if the request holds its facilitator secret (the console's cookie, or
    `Authorization: Bearer <facilitator secret>`); else an error answer."""
    if guessing(normalise_code(code)):
        return _error(error_answer(GUESSING), 429)
    try:
        workshop = _services().find_workshop(code)
        _services().authorise_facilitator(
            workshop.code, _bearer() or identity.facilitator_secret(workshop.code)
        )
    except DomainError as error:
        wrong_code()  # a wrong code, or a wrong secret: both count
        status = 404 if error.code == "unknown_workshop" else 403
        return _error(error_answer(error), status)
    return workshop


def render(fmt: str, record: dict[str, Any]) -> bytes:
    """One export of a record, in the current language."""
    if fmt == "csv":
        return export.to_csv(record, gettext).encode()
    if fmt == "json":
        return export.to_json(record).encode()
    if fmt == "xlsx":
        return workbook.to_xlsx(record, gettext)
    if fmt == "pdf":
        return report.to_pdf(record, gettext)
    code = record["workshop"]["code"]
    return export.to_archive(
        {f"samsyn-{code}.{each}": render(each, record) for each in ("json", "csv", "xlsx", "pdf")}
    )


@bp.get("/workshops/<code>/export.<fmt>")
def export_workshop(code: str, fmt: str) -> Response | tuple[Response, int]:
    """The workshop's record as CSV, JSON, Excel, PDF, or all of them in a zip, for its
    facilitator only. `?nicknames=1` adds participants' nicknames to the ballots."""
    if fmt not in FORMATS:
        error = DomainError("unknown_format", N_("Use csv, json, xlsx, pdf or zip."))
        return _error(error_answer(error), 404)
    workshop = _facilitated(code)
    if not isinstance(workshop, models.Workshop):
        return workshop  # type: ignore[no-any-return]
    g.workshop_language = workshop.language
    record = _services().record(workshop.code, nicknames=request.args.get("nicknames") == "1")
    with force_locale(workshop.language):
        body = render(fmt, record)
    response = Response(body, mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="samsyn-{workshop.code}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/workshops/<code>")
def delete_workshop(code: str) -> Response | tuple[Response, int]:
    """Delete the workshop with all its data, for its facilitator only. Browsers cannot send
    DELETE across sites without a CORS preflight, which is refused."""
    workshop = _facilitated(code)
    if not isinstance(workshop, models.Workshop):
        return workshop  # type: ignore[no-any-return]
    _services().delete_workshop(
        workshop.code, _bearer() or identity.facilitator_secret(workshop.code)
    )
    return Response(status=204)
