"""Tracks with known true routes for map-matching tests and the benchmark.

- Kubicka et al. (2015): real 1 Hz drives, each with its own node-and-arc road map and the true
  route as arc ids (``shared/data/gps_kubicka``).
- Synthetic: a shortest route between random nodes of a compiled graph, driven at the edges'
  free-flow speeds, sampled every ``interval_s`` with Gaussian GPS noise.

:func:`route_share` scores a match: the share of the true route's length that lies within a
tolerance of the matched path, and the share of the matched path that lies on the true route.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray

from routing.arc_tables import arc_graph
from routing.compiled import RoadGraph
from routing.kernel import dijkstra
from routing.matching import Match

#: The data set beside the project (``../shared``), or where worktrees find it.
KUBICKA = next((p for p in (Path(__file__).resolve().parents[2] / "shared/data/gps_kubicka",
                            Path("/work/shared/data/gps_kubicka")) if p.is_dir()),
               Path("../shared/data/gps_kubicka"))
KUBICKA_TRACKS = ("00000005", "00000007", "00000008", "00000015", "00000018", "00000026",
                  "00000039", "00000046", "00000048", "00000057", "00000071", "00000095")


@dataclass(frozen=True)
class Track:
    """Fixes (WGS-84 lon/lat, seconds) and the true route as a WGS-84 line; for a synthetic
    drive also the edges it follows, in order (driven at their free-flow speeds from time 0)."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    t: NDArray[np.float64]
    truth: shapely.LineString
    edges: tuple[int, ...] = ()

    def every(self, interval_s: float) -> Track:
        """The fixes at least ``interval_s`` seconds apart (the first fix kept)."""
        keep, last = [], -np.inf
        for i, t in enumerate(self.t):
            if t - last >= interval_s - 1e-6:
                keep.append(i)
                last = t
        return Track(self.lon[keep], self.lat[keep], self.t[keep], self.truth, self.edges)


@cache
def kubicka_map(tid: str) -> RoadGraph:
    """The compiled road map of Kubicka track ``tid``."""
    stem = KUBICKA / "tracks" / tid / tid
    return arc_graph(f"{stem}.nodes", f"{stem}.arcs")


def kubicka_track(tid: str) -> Track:
    """The fixes and true route of Kubicka track ``tid``."""
    stem = KUBICKA / "tracks" / tid / tid
    nodes = np.loadtxt(f"{stem}.nodes", ndmin=2)
    arcs = np.loadtxt(f"{stem}.arcs", dtype=np.int64, ndmin=2)
    fixes = np.loadtxt(f"{stem}.track", ndmin=2)
    route = np.loadtxt(f"{stem}.route", dtype=np.int64, ndmin=1)
    path = np.concatenate([[arcs[route[0], 0]], arcs[route, 1]])
    return Track(fixes[:, 0], fixes[:, 1], fixes[:, 2], shapely.LineString(nodes[path]))


def synthetic_track(graph: RoadGraph, rng: np.random.Generator, *, sigma_m: float,
                    interval_s: float, min_length_m: float = 3000.0, legs: int = 1) -> Track:
    """A drive along the fastest routes (the directed graph: one-way streets respected) through
    ``legs + 1`` random nodes, each at least ``min_length_m`` from the one before (straight
    line), sampled every ``interval_s`` s with noise of ``sigma_m`` per axis."""
    a, edges = _first_leg(graph, rng, min_length_m)
    for _ in range(legs - 1):
        a, leg = _leg(graph, rng, a, min_length_m, no_u_turn=edges[-1])
        edges += leg
    xy, s, clock = _drive(graph, edges)
    t = np.arange(0.0, clock[-1], interval_s)
    along = np.interp(t, clock, s)
    px, py = np.interp(along, s, xy[:, 0]), np.interp(along, s, xy[:, 1])
    truth_xy = np.vstack([[px[0], py[0]], xy[(s > along[0]) & (s < along[-1])], [px[-1], py[-1]]])
    noisy_x = px + rng.normal(0.0, sigma_m, len(t))
    noisy_y = py + rng.normal(0.0, sigma_m, len(t))
    lon, lat = graph.to_lonlat.transform(noisy_x, noisy_y)
    tl = np.column_stack(graph.to_lonlat.transform(truth_xy[:, 0], truth_xy[:, 1]))
    return Track(np.asarray(lon), np.asarray(lat), t, shapely.LineString(tl), tuple(edges))


def _first_leg(graph: RoadGraph, rng: np.random.Generator,
               min_length_m: float) -> tuple[int, list[int]]:
    """The fastest route (edge ids) between two random nodes at least ``min_length_m`` apart,
    and its end node."""
    indptr, head, ids, _ = graph.adjacency("forward")
    while True:
        a, b = rng.integers(graph.n_nodes, size=2)
        if np.hypot(*(graph.node_xy[a] - graph.node_xy[b])) < min_length_m:
            continue
        _, dist, _, pred, _ = _search(graph, indptr, head, ids, int(a), graph.edge_seconds)
        if np.isfinite(dist[b]):
            return int(b), _edges_to(graph, pred, int(a), int(b))


def _leg(graph: RoadGraph, rng: np.random.Generator, a: int, min_length_m: float, *,
         no_u_turn: int) -> tuple[int, list[int]]:
    """The fastest route (edge ids) from node ``a`` to a random reachable node at least
    ``min_length_m`` away, and that node (``a`` and no edges when 1000 draws find none). The
    route does not turn back along edge ``no_u_turn`` (the one it arrived by, -1: none)."""
    indptr, head, ids, _ = graph.adjacency("forward")
    seconds = graph.edge_seconds.copy()
    if no_u_turn >= 0 and graph.edge_twin[no_u_turn] >= 0:
        seconds[graph.edge_twin[no_u_turn]] = np.inf
    _, dist, _, pred, _ = _search(graph, indptr, head, ids, a, seconds)
    for _ in range(1000):
        b = int(rng.integers(graph.n_nodes))
        if (np.hypot(*(graph.node_xy[a] - graph.node_xy[b])) >= min_length_m
                and np.isfinite(dist[b])):
            break
    else:
        return a, []
    return b, _edges_to(graph, pred, a, b)


def _edges_to(graph: RoadGraph, pred: NDArray, a: int, b: int) -> list[int]:
    """The edges of the search tree ``pred`` from node ``a`` to node ``b``, in driving order."""
    edges = []
    v = b
    while v != a:
        edges.append(int(pred[v]))
        v = graph.edge_tail[pred[v]]
    return edges[::-1]


def _search(graph: RoadGraph, indptr, head, ids, a: int, seconds: NDArray):
    return dijkstra(
        indptr, head, ids, seconds, graph.edge_metres,
        np.array([a], np.int32), np.zeros(1), np.zeros(1), np.zeros(1, np.int64), np.inf,
        np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
        np.zeros(0), np.zeros(0), np.zeros(0, np.int64), 0)


def _drive(graph: RoadGraph, edges: list[int]) -> tuple[NDArray, NDArray, NDArray]:
    """Vertices of the route (metres), distance along it and the clock (s) at each vertex."""
    parts, clocks, dists = [], [], []
    s0, c0 = 0.0, 0.0
    for e in edges:
        line = graph.geom_xy[graph.geom_offsets[e]:graph.geom_offsets[e + 1]]
        step = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
        speed = max(graph.edge_metres[e], 1e-3) / max(graph.edge_seconds[e], 1e-3)
        first = 0 if not parts else 1
        parts.append(line[first:])
        dists.append(s0 + step[first:])
        clocks.append(c0 + step[first:] / speed)
        s0, c0 = s0 + step[-1], c0 + step[-1] / speed
    return np.vstack(parts), np.concatenate(dists), np.concatenate(clocks)


def route_share(graph: RoadGraph, truth: shapely.LineString, match: Match | list[NDArray], *,
                tolerance_m: float = 5.0) -> tuple[float, float]:
    """(share of the true route's length within ``tolerance_m`` of the matched path, share of
    the matched path's length within ``tolerance_m`` of the true route), in a metric CRS.
    ``match`` is a :class:`Match` or a list of pieces as WGS-84 (n, 2) arrays."""
    pieces = [p.lonlat for p in match.pieces] if isinstance(match, Match) else match
    to_xy = graph.to_metric.transform
    truth_xy = np.column_stack(to_xy(*np.asarray(truth.coords).T))
    paths = [np.column_stack(to_xy(*p.T)) for p in pieces if len(p) >= 2]
    if not paths:
        return 0.0, 0.0
    return (_covered(truth_xy, paths, tolerance_m),
            sum(_covered(p, [truth_xy], tolerance_m) * _length(p) for p in paths)
            / sum(_length(p) for p in paths))


def _covered(line: NDArray, others: list[NDArray], tolerance_m: float) -> float:
    """Share of ``line``'s length within ``tolerance_m`` of the lines ``others`` (metres),
    segment by segment, so that a route driving a road twice counts it twice."""
    segments = shapely.linestrings(np.stack([line[:-1], line[1:]], axis=1))
    zone = shapely.MultiLineString([shapely.LineString(o) for o in others]).buffer(tolerance_m)
    shapely.prepare(zone)
    total = shapely.length(segments).sum()
    return float(shapely.length(shapely.intersection(segments, zone)).sum() / total) if total else 0.0


def _length(line: NDArray) -> float:
    return float(np.hypot(*np.diff(line, axis=0).T).sum())
