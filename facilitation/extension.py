"""The app's parts as one object, reachable from handlers and views as `samsyn()`.

Layer: edge glue. Built by create_app; the transport layers reach services through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import current_app

from .broadcast import Broadcaster, Presence
from .db import Database
from .services import Services


@dataclass
class Samsyn:
    db: Database
    services: Services
    presence: Presence
    broadcaster: Broadcaster


def samsyn() -> Samsyn:
    """The parts of the app handling the current request or event."""
    return cast(Samsyn, current_app.extensions["samsyn"])
