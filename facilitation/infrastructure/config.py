"""Configuration, read from the environment once at start.

Layer: infrastructure. Imports only the standard library. Every setting is documented in the
README.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = ROOT / "instance"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def _switch(name: str, default: bool) -> bool:
    """An on/off setting: off, false, no or 0 turn it off, on, true, yes or 1 on."""
    value = (os.environ.get(name) or "").strip().casefold()
    if not value:
        return default
    if value in ("off", "false", "no", "0"):
        return False
    if value in ("on", "true", "yes", "1"):
        return True
    raise ValueError(f"{name} must be on or off, not {value!r}")


def domains(text: str) -> tuple[str, ...]:
    """E-mail domains from a comma- or space-separated list, lower-cased, without a leading @."""
    found = (part.strip().lstrip("@").casefold() for part in text.replace(",", " ").split())
    return tuple(part for part in found if part)


def instance_secret_key(instance: Path = INSTANCE) -> str:
    """The SECRET_KEY kept under instance/, made on first start, so cookies survive restarts.
    Processes starting together on one instance folder (compose.yaml's two) agree on one key:
    each writes a candidate of its own aside and links it into place, which only the first
    link does; every process then reads the one that won."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd, candidate = tempfile.mkstemp(dir=instance, prefix=".secret_key.")  # mode 600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(candidate, path)
        finally:
            os.unlink(candidate)
    return path.read_text().strip()


class Config:
    """Settings for a real run; every value can be set in the environment."""

    def __init__(self) -> None:
        # Unset: made on first start and kept under instance/ (see create_app).
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None
        self.DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE}/samsyn.db"
        # PostgreSQL connections each process keeps, and never exceeds.
        self.DATABASE_POOL_SIZE = _int("DATABASE_POOL_SIZE", 20)
        # Seconds PostgreSQL may take to connect, lend a connection, run a statement or
        # grant a lock before the request is answered "busy" (db.py).
        self.DATABASE_TIMEOUT = _float("DATABASE_TIMEOUT", 5)
        # The address phones use, e.g. https://samsyn.example.se. Unset: the LAN address.
        self.PUBLIC_URL = (os.environ.get("PUBLIC_URL") or "").rstrip("/") or None
        self.HOST = os.environ.get("HOST") or "0.0.0.0"
        self.PORT = _int("PORT", 5000)
        self.ASYNC_MODE = os.environ.get("ASYNC_MODE") or "eventlet"
        # When set, creating a workshop needs this password (start page and API).
        self.CREATE_PASSWORD = os.environ.get("CREATE_PASSWORD") or None
        # Several app processes as one room: a Redis URL (redis://host:6379/0). Keys and
        # channels start with MESSAGE_QUEUE_CHANNEL, so installations can share a Redis.
        self.MESSAGE_QUEUE_URL = os.environ.get("MESSAGE_QUEUE_URL") or None
        self.MESSAGE_QUEUE_CHANNEL = os.environ.get("MESSAGE_QUEUE_CHANNEL") or "samsyn"
        # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted. None by
        # default: without a proxy, anyone could name their own address in the header and
        # so escape every limit kept per address. deploy/ sets 1 (nginx).
        self.PROXY_HOPS = _int("PROXY_HOPS", 0)
        # Broadcasts are coalesced: boards get the state at most every BOARD_INTERVAL seconds,
        # phones every PHONE_INTERVAL seconds.
        self.BOARD_INTERVAL = _float("BOARD_INTERVAL", 0.1)
        self.PHONE_INTERVAL = _float("PHONE_INTERVAL", 0.5)
        # Largest Socket.IO message accepted (Socket.IO's default is 1 MB).
        self.MAX_MESSAGE_BYTES = _int("MAX_MESSAGE_BYTES", 16 * 1024)
        # Simultaneous connections the server accepts (eventlet's default is 1,024) and the
        # listen backlog (eventlet's default is 50).
        self.MAX_CONNECTIONS = _int("MAX_CONNECTIONS", 20_000)
        self.LISTEN_BACKLOG = _int("LISTEN_BACKLOG", 2048)
        # Largest request body accepted (a library's CSV file is at most 512 KiB), and the
        # seconds a request may take to arrive: its line and headers, then its body (an idle
        # connection between requests is closed after as long). Slow or endless requests
        # would otherwise hold connections until none is left.
        self.MAX_REQUEST_BYTES = _int("MAX_REQUEST_BYTES", 1024 * 1024)
        self.MAX_CONTENT_LENGTH = self.MAX_REQUEST_BYTES  # Flask's own check, the same limit
        self.REQUEST_TIMEOUT = _float("REQUEST_TIMEOUT", 30)
        # Worker processes for heavy work, below the event loop's priority (workers.py):
        # WORKERS write exports and reports at once, EXPORTS_WAITING more may queue for
        # them; one more process hashes passwords. 0 runs it all in the serving process,
        # which then stalls while it does (tests, debugging).
        self.WORKERS = _int("WORKERS", 1)
        self.EXPORTS_WAITING = _int("EXPORTS_WAITING", 8)
        # Commands one participant (or one workshop's facilitator) may send: a burst, then a
        # steady rate per second. Wrong join codes one address may try: a burst, then one
        # every JOIN_MISS_INTERVAL seconds.
        self.COMMAND_RATE = _float("COMMAND_RATE", 5)
        self.COMMAND_BURST = _float("COMMAND_BURST", 20)
        self.JOIN_MISS_BURST = _float("JOIN_MISS_BURST", 20)
        self.JOIN_MISS_INTERVAL = _float("JOIN_MISS_INTERVAL", 15)
        # New participants (a phone's first connect; one coming back never counts), against
        # someone making participants from fresh cookies: per address a burst, then a rate
        # per second, well above a whole venue behind one NAT address (300 phones in a
        # minute); per workshop likewise, above the biggest room Samsyn serves (10,000)
        # joining at once.
        self.JOIN_BURST_PER_ADDRESS = _float("JOIN_BURST_PER_ADDRESS", 600)
        self.JOIN_RATE_PER_ADDRESS = _float("JOIN_RATE_PER_ADDRESS", 10)
        self.JOIN_BURST_PER_WORKSHOP = _float("JOIN_BURST_PER_WORKSHOP", 12000)
        self.JOIN_RATE_PER_WORKSHOP = _float("JOIN_RATE_PER_WORKSHOP", 20)
        # Closed workshops unchanged for RETENTION_DAYS are anonymised or deleted
        # (RETENTION_ACTION) when `python -m facilitation retention` runs.
        self.RETENTION_DAYS = _int("RETENTION_DAYS", 90)
        self.RETENTION_ACTION = os.environ.get("RETENTION_ACTION") or "anonymise"
        self._single_sign_on()
        self.LOG_LEVEL = os.environ.get("LOG_LEVEL") or "INFO"
        self.LOG_FORMAT = os.environ.get("LOG_FORMAT") or "text"  # or "json"
        self.START_BROADCASTER = True
        self.TESTING = False
        self.WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_NAME = "samsyn"
        self.PERMANENT_SESSION_LIFETIME = timedelta(days=14)
        self.SESSION_COOKIE_SECURE = bool(self.PUBLIC_URL and self.PUBLIC_URL.startswith("https:"))
        self.BABEL_DEFAULT_LOCALE = "sv"
        self.COMPRESS_MIMETYPES = [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "image/svg+xml",
            "text/csv",
        ]

    def _single_sign_on(self) -> None:
        """Single sign-on for organizers (OpenID Connect; docs/deployment.md): on when the
        provider's discovery URL and this app's client id are set. The button says
        OIDC_BUTTON_LABEL; OIDC_ALLOWED_DOMAINS (comma-separated) limits who may log in by
        the domain of their e-mail address; every call to the provider gives up after
        OIDC_TIMEOUT seconds. PASSWORD_LOGIN=off leaves single sign-on the only way in."""
        self.OIDC_DISCOVERY_URL = os.environ.get("OIDC_DISCOVERY_URL") or None
        self.OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID") or None
        self.OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET") or None
        self.OIDC_SCOPES = os.environ.get("OIDC_SCOPES") or "openid email profile"
        self.OIDC_BUTTON_LABEL = os.environ.get("OIDC_BUTTON_LABEL") or None
        self.OIDC_ALLOWED_DOMAINS = domains(os.environ.get("OIDC_ALLOWED_DOMAINS") or "")
        self.OIDC_TIMEOUT = _float("OIDC_TIMEOUT", 10)
        self.PASSWORD_LOGIN = _switch("PASSWORD_LOGIN", True)
