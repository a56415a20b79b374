"""Drive-time matrices between snapped points, and the driven road path of any of their legs.

One search per point on the compiled graph: a reverse search from the point that stops as soon
as every other point's time to it is final (or at the time limit), so a matrix of nearby points
explores only their neighbourhood. Times are seconds (``inf`` beyond the limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from routing.compiled import RoadGraph
from routing.search import Ranking, Weights, rank
from routing.snapping import Snap, Snapped


@dataclass(frozen=True)
class DriveTimes:
    """``seconds[i, j]``: the drive time from point i to point j (0 on the diagonal, ``inf``
    beyond the limit). The search of each column is kept to draw any leg's road path."""

    points: Snapped
    seconds: NDArray[np.float64]
    columns: list[Ranking]

    def path(self, i: int, j: int) -> NDArray[np.float64]:
        """The road path from point i to point j as WGS-84 (lon, lat) vertices."""
        if not np.isfinite(self.seconds[i, j]):
            raise ValueError(f"point {j} is not reached from point {i} within the limit")
        column = self.columns[j]
        if i == j or self.seconds[i, j] == 0:  # the same place
            return np.array([column.target.lonlat(column.graph)])
        lonlat = column.route(i)
        keep = np.ones(len(lonlat), bool)
        keep[1:] = np.any(np.diff(lonlat, axis=0) != 0, axis=1)
        return lonlat[keep]


def drive_times(graph: RoadGraph, points: Snapped | list[Snap], *, limit_s: float = np.inf,
                weights: Weights | None = None) -> DriveTimes:
    """The drive-time matrix between all ``points`` (all on the network): one search per point,
    each stopped once every point is reached or at ``limit_s`` seconds."""
    weights = weights or Weights.free_flow(graph)
    if not isinstance(points, Snapped):
        points = Snapped.of(list(points))
    if not points.on_road.all():
        raise ValueError("every point of a drive-time matrix must lie on the road network")
    n = len(points)
    seconds = np.full((n, n), np.inf)
    columns = []
    for j, snap in enumerate(points.snaps()):
        column = rank(graph, snap, points, k=n, limit_s=limit_s, weights=weights)
        for ranked in column.top:
            seconds[ranked.index, j] = ranked.seconds
        seconds[j, j] = 0.0
        columns.append(column)
    return DriveTimes(points, seconds, columns)
