"""Run every benchmark: `make bench` or `python -m bench`. The scale and broadcast benchmarks
run here in their short forms (300 phones); the full runs are `python -m bench.scale` (up to
5,000 phones) and `python -m bench.broadcast` (1,000 and 3,000)."""

from __future__ import annotations

from . import broadcast, exports, history, scale, services

if __name__ == "__main__":
    services.main([])
    exports.main([])
    history.main(["--workshops", "50"])
    scale.main(["--quick"])
    broadcast.main(["--sizes", "300", "--adds", "8"])
