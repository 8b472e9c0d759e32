"""Run every benchmark: `make bench` or `python -m bench`."""

from __future__ import annotations

from . import exports, services

if __name__ == "__main__":
    services.main([])
    exports.main([])
