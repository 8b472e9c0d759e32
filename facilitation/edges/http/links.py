"""The addresses people are given: the join URL phones open, the board and console links.

Layer: edge. The join URL must work from another device, so it is built, in this order, from
PUBLIC_URL; the address the request came in on, unless that is loopback; the machine's LAN
address; and only when nothing else exists, loopback (the console then warns).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, url_for


@dataclass(frozen=True)
class Base:
    url: str
    # True when phones probably cannot reach it (loopback only).
    local_only: bool


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_address() -> str | None:
    """This machine's address on the local network, if it has one.

    Connecting a UDP socket sends nothing; it only makes the kernel choose the interface
    that would route outwards, whose address is what other devices on the LAN reach.
    """
    for probe in ("192.0.2.1", "10.255.255.255"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                address = s.getsockname()[0]
        except OSError:
            continue
        if not is_loopback(address) and address != "0.0.0.0":
            return str(address)
    try:
        for address in socket.gethostbyname_ex(socket.gethostname())[2]:
            if not is_loopback(address):
                return address
    except OSError:
        pass
    return None


def public_base() -> Base:
    """The base URL to give out for the current request."""
    configured = current_app.config["PUBLIC_URL"]
    if configured:
        return Base(configured, is_loopback(urlsplit(configured).hostname or ""))
    requested = request.host_url.rstrip("/")
    if not is_loopback(urlsplit(requested).hostname or ""):
        return Base(requested, False)
    bound = current_app.config["HOST"]
    lan = lan_address() if not is_loopback(bound) else None
    if lan is None:
        return Base(requested, True)
    port = urlsplit(requested).port or current_app.config["PORT"]
    return Base(f"{request.scheme}://{lan}:{port}", False)


def external(endpoint: str, **values: Any) -> str:
    """An absolute URL on the public base."""
    return public_base().url + url_for(endpoint, **values)


def join_url(code: str) -> str:
    return external("views.join", code=code)


def display_url(url: str) -> str:
    """A URL as people read it aloud and type it: without the http:// in front."""
    return url.split("://", 1)[-1]
