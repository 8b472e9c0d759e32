"""How the picture moved: every revealed round, factor by factor, and where each factor
ended (its last measured result), for the console's Results step.

Layer: queries (the read side). Builds from the results state.py has made of each revealed
round; reads nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from facilitation.queries.views import (
    Results,
    Trajectory,
    TrajectoryCell,
    TrajectoryFactor,
)

# The one figure each method's row is read by, as its result list shows it first.
_FIGURE = {"dots": "dots", "points": "points", "rating": "median", "ranking": "mean_rank"}


def _figure(method: str, row: dict[str, Any]) -> float | None:
    """A row's figure: the share who kept it, the dots, the points, the median rating, the
    mean place, or the median impact in the matrix (whose quadrant says more)."""
    if method == "keep_remove":
        votes = row["keep"] + row["remove"]
        return float(row["keep"] / votes) if votes else None
    value = row["impact"]["median"] if method == "matrix" else row.get(_FIGURE[method])
    return None if value is None else float(value)


def trajectory(revealed: Iterable[Results]) -> Trajectory:
    """The revealed rounds' results (oldest first) as one table: a row per factor that any
    of them measured, a cell per round, and the factor's final standing, its cell in the
    last round that measured it. Factors are ordered as the last round that measured them
    placed them, the latest rounds first."""
    rounds = list(revealed)
    factors: dict[int, TrajectoryFactor] = {}
    for results in rounds:
        for result_row in results["factors"]:
            row = cast(dict[str, Any], result_row)
            cell: TrajectoryCell = {
                "round_id": results["round_id"],
                "rank": row.get("rank"),
                "value": _figure(results["method"], row),
                "quadrant": row.get("quadrant"),
                "verdict": row["verdict"],
            }
            entry = factors.setdefault(
                row["factor_id"],
                {
                    "factor_id": row["factor_id"],
                    "title": row["title"],
                    "status": row["status"],
                    "cells": [],
                    "final": None,
                },
            )
            entry["cells"].append(cell)
            entry["final"] = cell
    order = {r["round_id"]: index for index, r in enumerate(rounds)}

    def placed(f: TrajectoryFactor) -> tuple[int, int, str]:
        final = f["final"]
        assert final is not None  # every listed factor has a cell
        rank = final["rank"] if final["rank"] is not None else 10**6
        return (-order[final["round_id"]], rank, f["title"].casefold())

    return {
        "rounds": [
            {"round_id": r["round_id"], "number": r["number"], "method": r["method"]}
            for r in rounds
        ],
        "factors": sorted(factors.values(), key=placed),
    }
