"""Snapping points to the nearest road edge.

A point is placed on the nearest road polyline (not the nearest node), at a fraction of the edge's
length from its tail. Leaving or reaching the point costs the matching part of the edge's travel
time, in both directions where the road is two-way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from routing.compiled import RoadGraph
from routing.coords import CoordSystem, to_wgs84
from routing.errors import OffNetworkError

#: Default largest distance (metres) between a point and the road it snaps to.
DEFAULT_SNAP_LIMIT_M = 500.0


@dataclass(frozen=True)
class Snap:
    """A point placed on a road edge.

    ``edge`` is the road's edge id, ``fraction`` the position along it by length from its tail
    (0..1), ``distance_m`` the straight-line metres from the input point to the road.
    """

    edge: int
    fraction: float
    distance_m: float

    def departures(self, graph: RoadGraph, weights: NDArray) -> list[tuple[int, float, float]]:
        """Ways to leave the point: (node, seconds, metres) to each end it can drive to."""
        e, f = self.edge, self.fraction
        ways = [(int(graph.edge_head[e]), (1 - f) * weights[e], (1 - f) * graph.edge_metres[e])]
        twin = graph.edge_twin[e]
        if twin >= 0:
            ways.append((int(graph.edge_tail[e]), f * weights[twin], f * graph.edge_metres[twin]))
        return ways

    def arrivals(self, graph: RoadGraph, weights: NDArray) -> list[tuple[int, float, float]]:
        """Ways to reach the point: (node, seconds, metres) from each end it can be driven to from."""
        e, f = self.edge, self.fraction
        ways = [(int(graph.edge_tail[e]), f * weights[e], f * graph.edge_metres[e])]
        twin = graph.edge_twin[e]
        if twin >= 0:
            ways.append((int(graph.edge_head[e]), (1 - f) * weights[twin],
                         (1 - f) * graph.edge_metres[twin]))
        return ways

    def lonlat(self, graph: RoadGraph) -> tuple[float, float]:
        """WGS-84 lon/lat of the snapped position on the road."""
        point = shapely.line_interpolate_point(graph.edge_lines[self.edge], self.fraction,
                                               normalized=True)
        lon, lat = graph.to_lonlat.transform(shapely.get_x(point), shapely.get_y(point))
        return float(lon), float(lat)


def direct_seconds(graph: RoadGraph, start: Snap, end: Snap, weights: NDArray) -> tuple[float, float]:
    """Time and metres from ``start`` to ``end`` along their shared road without leaving it.

    ``(inf, inf)`` unless both lie on the same road and the road runs from one to the other.
    """
    if start.edge != end.edge:
        return np.inf, np.inf
    e, gap = start.edge, end.fraction - start.fraction
    if gap >= 0:
        return gap * weights[e], gap * graph.edge_metres[e]
    twin = graph.edge_twin[e]
    if twin >= 0:
        return -gap * weights[twin], -gap * graph.edge_metres[twin]
    return np.inf, np.inf


def snap_points(graph: RoadGraph, lon: ArrayLike, lat: ArrayLike, *,
                crs: CoordSystem | str = CoordSystem.WGS84,
                limit_m: float = DEFAULT_SNAP_LIMIT_M) -> tuple[list[Snap | None], NDArray]:
    """Snap many points; returns one :class:`Snap` per point (None when beyond ``limit_m``) and
    each point's distance (metres) to the nearest road."""
    lon_w, lat_w = to_wgs84(np.atleast_1d(lon), np.atleast_1d(lat), crs)
    x, y = graph.to_metric.transform(lon_w, lat_w)
    points = shapely.points(x, y)
    tree = graph.road_index
    hit, distance = tree.query_nearest(points, return_distance=True, all_matches=False)
    point_idx, road_pos = hit
    edges = graph.road_edges[road_pos]
    fractions = shapely.line_locate_point(graph.edge_lines[edges], points[point_idx],
                                          normalized=True)
    snaps: list[Snap | None] = [None] * len(points)
    distances = np.full(len(points), np.inf)
    for i, e, f, d in zip(point_idx, edges, fractions, distance):
        distances[i] = d
        if d <= limit_m:
            snaps[i] = Snap(edge=int(e), fraction=float(np.clip(f, 0.0, 1.0)), distance_m=float(d))
    return snaps, distances


def snap_point(graph: RoadGraph, lon: float, lat: float, *,
               crs: CoordSystem | str = CoordSystem.WGS84,
               limit_m: float = DEFAULT_SNAP_LIMIT_M) -> Snap:
    """Snap one point, or raise :class:`OffNetworkError` saying how far from a road it is."""
    snaps, distances = snap_points(graph, lon, lat, crs=crs, limit_m=limit_m)
    if snaps[0] is None:
        raise OffNetworkError(float(distances[0]), limit_m)
    return snaps[0]
