"""Snapping points to the nearest road edge.

A point is placed on the nearest road polyline (not the nearest node), at a fraction of the edge's
length from its tail. Leaving or reaching the point costs the matching part of the edge's travel
time, in both directions where the road is two-way.

A point on a node where roads meet (or as near to several roads as to the nearest, within
:data:`SAME_DISTANCE_M`) is placed on every one of them: each is a way in and out (as isochrone
engines treat a location on a node), and every search takes the best. Otherwise a point at the
tail of a one-way street could only leave along it, and one at its head only be reached along it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from routing.compiled import RoadGraph
from routing.coords import CoordSystem, to_wgs84
from routing.errors import OffNetworkError

#: Default largest distance (metres) between a point and the road it snaps to.
DEFAULT_SNAP_LIMIT_M = 500.0
#: Roads no more than this (metres) farther from a point than the nearest road are entries of the
#: point too. A point on a node is on every road meeting there up to rounding (a WGS-84 position
#: written with 7 decimals moves it by about 1 cm), and a position is rarely known to better than
#: a metre, so roads 0.5 m apart are equally likely; driving 0.5 m takes under 0.1 s even at
#: 20 km/h, so taking the best of them never favours a road by more than that.
SAME_DISTANCE_M = 0.5


def on_canonical(graph: RoadGraph, edge: NDArray | int, fraction: NDArray | float
                 ) -> tuple[NDArray, NDArray]:
    """The same positions on each road's canonical edge (the lower id of a two-way pair), so
    that two positions on one road name the same edge; elementwise on arrays."""
    twin = graph.edge_twin[edge]
    flip = (twin >= 0) & (twin < edge)
    return np.where(flip, twin, edge), np.where(flip, 1.0 - fraction, fraction)


@dataclass(frozen=True)
class Snap:
    """A point placed on a road edge.

    ``edge`` is the road's edge id, ``fraction`` the position along it by length from its tail
    (0..1), ``distance_m`` the straight-line metres from the input point to the road. ``also``
    lists further (edge, fraction) entries: the other roads at the point (see the module).
    """

    edge: int
    fraction: float
    distance_m: float
    also: tuple[tuple[int, float], ...] = ()

    @property
    def entries(self) -> tuple[tuple[int, float], ...]:
        """Every (edge, fraction) at which the point lies on a road, the nearest first."""
        return ((self.edge, self.fraction),) + self.also

    def departures(self, graph: RoadGraph, weights: NDArray) -> list[tuple[int, float, float]]:
        """Ways to leave the point: (node, seconds, metres) to each end it can drive to."""
        ways = []
        for e, f in self.entries:
            ways.append((int(graph.edge_head[e]), (1 - f) * weights[e],
                         (1 - f) * graph.edge_metres[e]))
            twin = graph.edge_twin[e]
            if twin >= 0:
                ways.append((int(graph.edge_tail[e]), f * weights[twin],
                             f * graph.edge_metres[twin]))
        return ways

    def arrivals(self, graph: RoadGraph, weights: NDArray) -> list[tuple[int, float, float]]:
        """Ways to reach the point: (node, seconds, metres) from each end it can be driven to from."""
        ways = []
        for e, f in self.entries:
            ways.append((int(graph.edge_tail[e]), f * weights[e], f * graph.edge_metres[e]))
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
    """Time and metres from ``start`` to ``end`` along a shared road without leaving it (the
    best over their entries).

    ``(inf, inf)`` unless both lie on the same road and the road runs from one to the other.
    """
    best = (np.inf, np.inf)
    for a in start.entries:
        for b in end.entries:
            (e, f_a), (e_b, f_b) = on_canonical(graph, *a), on_canonical(graph, *b)
            if e == e_b:
                seconds, metres = along_road(graph, e, f_a, f_b, weights)
                best = min(best, (float(seconds), float(metres)))
    return best


def along_road(graph: RoadGraph, edge: NDArray | int, start: NDArray | float,
               end: NDArray | float, weights: NDArray) -> tuple[NDArray, NDArray]:
    """Seconds and metres from fraction ``start`` to ``end`` of ``edge`` without leaving the
    road (inf where the road is one-way the other way); elementwise on arrays."""
    gap = np.asarray(end - start, dtype=np.float64)
    twin = graph.edge_twin[edge]
    back = np.where(twin >= 0, twin, edge)
    forward = gap >= 0
    seconds = np.where(forward, gap * weights[edge],
                       np.where(twin >= 0, -gap * weights[back], np.inf))
    metres = np.where(forward, gap * graph.edge_metres[edge],
                      np.where(twin >= 0, -gap * graph.edge_metres[back], np.inf))
    return seconds, metres


_NO_I = np.zeros(0, np.int64)
_NO_F = np.zeros(0)


@dataclass(frozen=True)
class Snapped:
    """Many points placed on roads at once: one entry per input point, plus further entries
    for points on several roads.

    ``edge`` is -1 where the point lies farther than the limit from every road; ``distance_m``
    is the straight-line metres to the nearest road (``inf`` beyond the limit). ``also_point``
    (ascending), ``also_edge`` and ``also_fraction`` list the further entries (see
    :attr:`Snap.also`).
    """

    edge: NDArray[np.int64]
    fraction: NDArray[np.float64]
    distance_m: NDArray[np.float64]
    also_point: NDArray[np.int64] = field(default_factory=lambda: _NO_I)
    also_edge: NDArray[np.int64] = field(default_factory=lambda: _NO_I)
    also_fraction: NDArray[np.float64] = field(default_factory=lambda: _NO_F)

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def on_road(self) -> NDArray[np.bool_]:
        return self.edge >= 0

    def entries(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Every entry of every on-road point: (point index, edge, fraction)."""
        index = np.flatnonzero(self.on_road)
        if not len(self.also_point):
            return index, self.edge[index], self.fraction[index]
        return (np.concatenate([index, self.also_point]),
                np.concatenate([self.edge[index], self.also_edge]),
                np.concatenate([self.fraction[index], self.also_fraction]))

    def snap(self, i: int) -> Snap | None:
        """Point ``i`` as a :class:`Snap` (None: off the network)."""
        e = int(self.edge[i])
        if e < 0:
            return None
        lo, hi = np.searchsorted(self.also_point, [i, i + 1])
        also = tuple((int(a), float(f)) for a, f in zip(self.also_edge[lo:hi],
                                                         self.also_fraction[lo:hi]))
        return Snap(e, float(self.fraction[i]), float(self.distance_m[i]), also)

    def take(self, index: NDArray[np.integer]) -> Snapped:
        """The points at ``index``, in that order."""
        index = np.asarray(index, np.int64)
        if not len(self.also_point):
            return Snapped(self.edge[index], self.fraction[index], self.distance_m[index])
        lo = np.searchsorted(self.also_point, index)
        count = np.searchsorted(self.also_point, index + 1) - lo
        rows = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
        return Snapped(self.edge[index], self.fraction[index], self.distance_m[index],
                       np.repeat(np.arange(len(index)), count), self.also_edge[rows],
                       self.also_fraction[rows])

    def snaps(self) -> list[Snap | None]:
        """One :class:`Snap` per point, None where it is off the network."""
        if len(self.also_point):
            return [self.snap(i) for i in range(len(self))]
        return [Snap(int(e), float(f), float(d)) if e >= 0 else None
                for e, f, d in zip(self.edge, self.fraction, self.distance_m)]

    def ways(self, graph: RoadGraph, weights: NDArray, *, leave: bool
             ) -> tuple[NDArray[np.int32], NDArray, NDArray, NDArray[np.int64]]:
        """Ways to leave (``leave``) or to reach every on-road point through every entry, as
        arrays: (node, seconds, metres, index of the point); the array form of
        :meth:`Snap.departures` and :meth:`Snap.arrivals`."""
        index, e, f = self.entries()
        twin = graph.edge_twin[e]
        two_way = twin >= 0
        near, far = (graph.edge_head, graph.edge_tail) if leave else (graph.edge_tail,
                                                                       graph.edge_head)
        node = np.concatenate([near[e], far[e[two_way]]]).astype(np.int32)
        share = np.concatenate([1 - f, f[two_way]] if leave else [f, 1 - f[two_way]])
        via = np.concatenate([e, twin[two_way]])
        return (node, share * weights[via], share * graph.edge_metres[via],
                np.concatenate([index, index[two_way]]))

    def also(self) -> NDArray[np.object_]:
        """Each point's further entries as a tuple of (edge, fraction) pairs (see
        :attr:`Snap.also`), one object per point; :meth:`with_also` takes them back."""
        out = _objects([()] * len(self))
        for i in np.unique(self.also_point):
            out[i] = self.snap(int(i)).also
        return out

    @classmethod
    def with_also(cls, edge: NDArray, fraction: NDArray, distance_m: NDArray,
                  also: NDArray[np.object_]) -> Snapped:
        """Points from per-point arrays and their further entries as given by :meth:`also`."""
        rows = [(i, e, f) for i in np.flatnonzero([bool(a) for a in also]) for e, f in also[i]]
        point, more_edge, more_fraction = (np.array(v) for v in zip(*rows)) if rows else (
            _NO_I, _NO_I, _NO_F)
        return cls(np.asarray(edge, np.int64), np.asarray(fraction, np.float64),
                   np.asarray(distance_m, np.float64), point.astype(np.int64),
                   more_edge.astype(np.int64), more_fraction.astype(np.float64))

    @classmethod
    def of(cls, snaps: list[Snap | None]) -> Snapped:
        """The arrays of a list of snaps (None: off the network)."""
        edge = np.array([-1 if s is None else s.edge for s in snaps], np.int64)
        fraction = np.array([0.0 if s is None else s.fraction for s in snaps], np.float64)
        distance = np.array([np.inf if s is None else s.distance_m for s in snaps], np.float64)
        if not any(s is not None and s.also for s in snaps):  # the common case, kept cheap
            return cls(edge, fraction, distance)
        return cls.with_also(edge, fraction, distance,
                             _objects([() if s is None else s.also for s in snaps]))


def _objects(values: list) -> NDArray[np.object_]:
    """A one-dimensional object array of ``values`` (tuples stay whole)."""
    out = np.empty(len(values), object)
    for i, value in enumerate(values):
        out[i] = value
    return out


def snap_many(graph: RoadGraph, lon: ArrayLike, lat: ArrayLike, *,
              crs: CoordSystem | str = CoordSystem.WGS84,
              limit_m: float = DEFAULT_SNAP_LIMIT_M) -> Snapped:
    """Snap many points (arrays in, arrays out); see :class:`Snapped`."""
    lon_w, lat_w = to_wgs84(np.atleast_1d(lon), np.atleast_1d(lat), crs)
    x, y = graph.to_metric.transform(lon_w, lat_w)
    nearest = graph.road_index.nearest(np.atleast_1d(x), np.atleast_1d(y), max_distance=limit_m,
                                       near_m=SAME_DISTANCE_M)
    edge = np.where(nearest.road >= 0, graph.road_edges[np.maximum(nearest.road, 0)], -1)
    return Snapped(edge.astype(np.int64), nearest.fraction, nearest.distance,
                   nearest.also_point, graph.road_edges[nearest.also_road].astype(np.int64),
                   nearest.also_fraction)


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
