"""QR codes of join URLs, as SVG for the board and PNG for download.

Layer: edge. Uses the qrcode library; knows nothing of workshops.
"""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathFillImage


def _code(url: str, box_size: int) -> qrcode.QRCode:
    # Medium error correction survives a projector's glare and a phone held at an angle.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    code.add_data(url)
    code.make(fit=True)
    return code


@lru_cache(maxsize=256)
def svg(url: str) -> bytes:
    """The QR code as a scalable SVG: one path on a white square, readable on a dark board."""
    image = _code(url, 10).make_image(image_factory=SvgPathFillImage)
    text: str = image.to_string(encoding="unicode")
    return text.encode()


@lru_cache(maxsize=256)
def png(url: str) -> bytes:
    """The QR code as a PNG big enough to print."""
    image = _code(url, 16).make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
