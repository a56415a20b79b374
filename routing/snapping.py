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


@dataclass(frozen=True)
class Snapped:
    """Many points placed on roads at once: one entry per input point.

    ``edge`` is -1 where the point lies farther than the limit from every road; ``distance_m``
    is the straight-line metres to the nearest road (``inf`` beyond the limit).
    """

    edge: NDArray[np.int64]
    fraction: NDArray[np.float64]
    distance_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def on_road(self) -> NDArray[np.bool_]:
        return self.edge >= 0

    def snap(self, i: int) -> Snap | None:
        """Point ``i`` as a :class:`Snap` (None: off the network)."""
        e = int(self.edge[i])
        return Snap(e, float(self.fraction[i]), float(self.distance_m[i])) if e >= 0 else None

    def take(self, index: NDArray[np.integer]) -> Snapped:
        """The points at ``index``, in that order."""
        return Snapped(self.edge[index], self.fraction[index], self.distance_m[index])

    def snaps(self) -> list[Snap | None]:
        """One :class:`Snap` per point, None where it is off the network."""
        return [Snap(int(e), float(f), float(d)) if e >= 0 else None
                for e, f, d in zip(self.edge, self.fraction, self.distance_m)]

    def ways(self, graph: RoadGraph, weights: NDArray, *, leave: bool
             ) -> tuple[NDArray[np.int32], NDArray, NDArray, NDArray[np.int64]]:
        """Ways to leave (``leave``) or to reach every on-road point, as arrays: (node, seconds,
        metres, index of the point); the array form of :meth:`Snap.departures` and
        :meth:`Snap.arrivals`."""
        index = np.flatnonzero(self.on_road)
        e, f = self.edge[index], self.fraction[index]
        twin = graph.edge_twin[e]
        two_way = twin >= 0
        near, far = (graph.edge_head, graph.edge_tail) if leave else (graph.edge_tail,
                                                                       graph.edge_head)
        node = np.concatenate([near[e], far[e[two_way]]]).astype(np.int32)
        share = np.concatenate([1 - f, f[two_way]] if leave else [f, 1 - f[two_way]])
        via = np.concatenate([e, twin[two_way]])
        return (node, share * weights[via], share * graph.edge_metres[via],
                np.concatenate([index, index[two_way]]))

    @classmethod
    def of(cls, snaps: list[Snap | None]) -> Snapped:
        """The arrays of a list of snaps (None: off the network)."""
        return cls(np.array([-1 if s is None else s.edge for s in snaps], np.int64),
                   np.array([0.0 if s is None else s.fraction for s in snaps]),
                   np.array([np.inf if s is None else s.distance_m for s in snaps]))


def snap_many(graph: RoadGraph, lon: ArrayLike, lat: ArrayLike, *,
              crs: CoordSystem | str = CoordSystem.WGS84,
              limit_m: float = DEFAULT_SNAP_LIMIT_M) -> Snapped:
    """Snap many points (arrays in, arrays out); see :class:`Snapped`."""
    lon_w, lat_w = to_wgs84(np.atleast_1d(lon), np.atleast_1d(lat), crs)
    x, y = graph.to_metric.transform(lon_w, lat_w)
    nearest = graph.road_index.nearest(np.atleast_1d(x), np.atleast_1d(y), max_distance=limit_m)
    edge = np.where(nearest.road >= 0, graph.road_edges[np.maximum(nearest.road, 0)], -1)
    return Snapped(edge.astype(np.int64), nearest.fraction, nearest.distance)


def snap_points(graph: RoadGraph, lon: ArrayLike, lat: ArrayLike, *,
                crs: CoordSystem | str = CoordSystem.WGS84,
                limit_m: float = DEFAULT_SNAP_LIMIT_M) -> tuple[list[Snap | None], NDArray]:
    """Snap many points; returns one :class:`Snap` per point (None when beyond ``limit_m``) and
    each point's distance (metres) to the nearest road (``inf`` beyond ``limit_m``)."""
    snapped = snap_many(graph, lon, lat, crs=crs, limit_m=limit_m)
    return snapped.snaps(), snapped.distance_m


def snap_point(graph: RoadGraph, lon: float, lat: float, *,
               crs: CoordSystem | str = CoordSystem.WGS84,
               limit_m: float = DEFAULT_SNAP_LIMIT_M) -> Snap:
    """Snap one point, or raise :class:`OffNetworkError` saying how far from a road it is."""
    (snap,), _ = snap_points(graph, lon, lat, crs=crs, limit_m=limit_m)
    if snap is None:
        far = snap_many(graph, lon, lat, crs=crs, limit_m=np.inf)
        raise OffNetworkError(float(far.distance_m[0]), limit_m)
    return snap
