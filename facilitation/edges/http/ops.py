"""For the people who run Samsyn: health and metrics.

Layer: edge (HTTP). `/healthz` says whether the database answers and which release runs (to
check that an upgrade took); `/metrics` gives counts and timings in the Prometheus text
format — nothing about any workshop or person.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from facilitation.edges.http.parts import samsyn
from facilitation.infrastructure.version import VERSION

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers, 503 when it does not; either way with the version."""
    try:
        samsyn().services.operations.check_database()
    except SQLAlchemyError:
        log.exception("health check: the database does not answer")
        return jsonify(status="unavailable", database=False, version=VERSION), 503
    return jsonify(status="ok", database=True, version=VERSION), 200


@bp.get("/metrics")
def metrics() -> Response:
    """Connections, commands and broadcast lag of this process."""
    parts = samsyn()
    for view, count in parts.presence.by_view().items():
        parts.metrics.connections.labels(view=view).set(count)
    return Response(parts.metrics.exposition(), mimetype="text/plain; version=0.0.4")
