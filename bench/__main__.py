"""Run every benchmark: `make bench` or `python -m bench`. The scale benchmark runs here in its
short form (300 phones); the full run, up to 5,000 phones, is `python -m bench.scale`."""

from __future__ import annotations

from . import exports, history, scale, services

if __name__ == "__main__":
    services.main([])
    exports.main([])
    history.main(["--workshops", "50"])
    scale.main(["--quick"])
