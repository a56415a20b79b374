"""Drive-time matrices between snapped points, and the driven road path of any of their legs.

One search per point on the compiled graph (depart direction, up to a time limit); the time to
each other point is taken at the road the point lies on, through either of its ends, or along the
shared road without passing a node. Times are seconds (floats, ``inf`` beyond the limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from routing.compiled import RoadGraph
from routing.search import Reach, Weights, _along_road, _enter, _leave, best_source_at, reach
from routing.snapping import Snap, Snapped, direct_seconds


@dataclass(frozen=True)
class DriveTimes:
    """``seconds[i, j]``: the drive time from point i to point j (0 on the diagonal, ``inf``
    beyond the limit); ``entry[i, j]``: the node through which j is reached from i (-1: along
    their shared road). The search trees are kept to draw any leg's road path."""

    graph: RoadGraph
    points: Snapped
    seconds: NDArray[np.float64]
    entry: NDArray[np.int64]
    pred_edge: list[NDArray[np.int32]]

    def path(self, i: int, j: int) -> NDArray[np.float64]:
        """The road path from point i to point j as WGS-84 (lon, lat) vertices."""
        graph, a, b = self.graph, self.points.snap(i), self.points.snap(j)
        if i == j:
            return np.array([a.lonlat(graph)])
        if not np.isfinite(self.seconds[i, j]):
            raise ValueError(f"point {j} is not reached from point {i} within the limit")
        node = int(self.entry[i, j])
        if node < 0:
            pieces = [_along_road(graph, a.edge, a.fraction, b.fraction)]
        else:
            backwards = [_enter(graph, b, node)]
            pred = self.pred_edge[i]
            while pred[node] >= 0:
                e = int(pred[node])
                backwards.append(graph.edge_lines[e])
                node = int(graph.edge_tail[e])
            backwards.append(_leave(graph, a, node))
            pieces = backwards[::-1]
        xy = np.concatenate([np.asarray(p.coords) for p in pieces if not p.is_empty])
        lon, lat = graph.to_lonlat.transform(xy[:, 0], xy[:, 1])
        return _drop_repeats(np.column_stack([lon, lat]))


def drive_times(graph: RoadGraph, points: Snapped | list[Snap], *, limit_s: float = np.inf,
                weights: Weights | None = None) -> DriveTimes:
    """The drive-time matrix between all ``points`` (all on the network): one search per point,
    each stopped at ``limit_s`` seconds."""
    weights = weights or Weights.free_flow(graph)
    if not isinstance(points, Snapped):
        points = Snapped.of(list(points))
    if not points.on_road.all():
        raise ValueError("every point of a drive-time matrix must lie on the road network")
    n = len(points)
    seconds = np.full((n, n), np.inf)
    entry = np.full((n, n), -1, np.int64)
    preds = []
    for i, snap in enumerate(points.snaps()):
        result = reach(graph, snap, direction="depart", limit_s=limit_s, weights=weights)
        seconds[i], entry[i] = _times_at(graph, result, points, snap, weights.forward)
        seconds[i, i] = 0.0
        preds.append(result.pred_edge)
    return DriveTimes(graph, points, seconds, entry, preds)


def _times_at(graph: RoadGraph, result: Reach, points: Snapped, origin: Snap,
              w: NDArray) -> tuple[NDArray, NDArray]:
    """Time from the search's origin to every point, and the node each is entered through."""
    _, best = best_source_at(graph, result, points)
    edge, frac = points.edge, points.fraction
    through_tail = result.seconds[graph.edge_tail[edge]] + frac * w[edge]
    node = np.where(np.isclose(best, through_tail, rtol=0, atol=1e-9),
                    graph.edge_tail[edge], graph.edge_head[edge]).astype(np.int64)
    best = np.where(best <= result.limit_s, best, np.inf)
    for j in np.flatnonzero(edge == origin.edge):
        direct, _ = direct_seconds(graph, origin, points.snap(int(j)), w)
        if direct <= best[j] and direct <= result.limit_s:
            best[j], node[j] = direct, -1
    return best, node


def _drop_repeats(lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
    keep = np.ones(len(lonlat), bool)
    keep[1:] = np.any(np.diff(lonlat, axis=0) != 0, axis=1)
    return lonlat[keep]
