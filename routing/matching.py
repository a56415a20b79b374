"""Hidden-Markov map matching of GPS tracks to the compiled road graph (Newson & Krumm 2009).

Each fix gets candidates on the directed road edges within a search radius (both directions of a
two-way road); the emission score is Gaussian in the distance to the road (``sigma_m``), the
transition score decays with the difference between the road distance and the straight-line
distance between consecutive fixes (``beta_m``; signed, so that one search per fix serves all its
candidates, except at the first step of a piece and the last before the end of the track or a fix
far from every road, where the signed score would pull the end candidates into the piece). The most
likely sequence (Viterbi) is reconstructed into pieces of driven road, with the gaps between fixes
bridged by the shortest path. A fix farther than the radius from every road has no candidate and
ends the piece. A fix that no road route reaches within the speed and detour limits is left out (a
glitch); when the next fixes cannot be reached either, the match breaks at the first of them
instead of dragging a piece across. As Newson & Krumm do, a fix within 2σ of the last fix the model
kept is left out of it (at 1 Hz such a step is mostly noise), and on a dense track the model may
leave out a fix as an outlier at a fixed cost, rather than drive around the block to reach a fix
that the noise put behind the car; fixes left out are placed on the matched path afterwards. The
kernels (numba) are :mod:`routing.matching_kernel` and :mod:`routing.matching_trace`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from routing import matching_kernel as kernel
from routing import matching_search as search
from routing.matching_trace import attach, connect, thin, trace
from routing.compiled import RoadGraph
from routing.errors import RoutingError

#: GPS error (metres) assumed before a track's own error is estimated.
PRIOR_SIGMA_M = 20.0
#: Fixes matched first to estimate a track's GPS error.
PROBE_FIXES = 100
#: Weight (in fixes) of :data:`PRIOR_SIGMA_M` in an estimate above it from a track no longer
#: than the probe (a weighted geometric mean). On a drive of a dozen fixes the median distance
#: alone may come out at 1.7 times the true error, and an error set too large costs more than one
#: set too small: it widens the candidate radius and flattens the emission score, so that the
#: transitions alone choose the roads.
PRIOR_WEIGHT_FIXES = 10
#: Bounds (metres) of the GPS error estimated from a track.
SIGMA_BOUNDS_M = (4.0, 50.0)
#: Cost (nats) of leaving one fix out of the path as an outlier: the emission score of a fix
#: three sigma from its road.
OUTLIER_NATS = 4.5
#: Only a fix whose neighbours in the model are at most this far apart (seconds) may be left
#: out: on a dense track one fix carries little of the route.
OUTLIER_WINDOW_S = 15.0


@dataclass(frozen=True)
class MatchedPiece:
    """One continuous piece of the matched path: WGS-84 vertices, the time (seconds, as given)
    at each vertex, the fixes (indices) matched onto it and its length along the road (m)."""

    lonlat: NDArray[np.float64]
    times: NDArray[np.float64]
    fixes: NDArray[np.int64]
    length_m: float


@dataclass(frozen=True)
class Match:
    """The match of one track. Per fix (arrays in input order): the directed edge (-1: not
    matched), the offset along it from its tail (metres), the distance from fix to road
    (metres), the matched position (WGS-84 lon/lat, NaN when not matched) and the piece number
    (-1: not matched); and the pieces of driven road in time order."""

    edge: NDArray[np.int64]
    offset_m: NDArray[np.float64]
    distance_m: NDArray[np.float64]
    lonlat: NDArray[np.float64]
    piece: NDArray[np.int64]
    pieces: list[MatchedPiece]
    sigma_m: float

    @cached_property
    def matched(self) -> NDArray[np.bool_]:
        """Which fixes have a road position."""
        return self.edge >= 0


def match_track(graph: RoadGraph, lon: ArrayLike, lat: ArrayLike, times: ArrayLike, *,
                sigma_m: float | None = None, beta_m: float = 10.0,
                radius_m: float | None = None, max_candidates: int = 10,
                max_speed_kph: float = 200.0, route_factor: float = 3.0) -> Match:
    """Match a track (WGS-84 lon/lat, times in seconds, not decreasing) to ``graph``.

    Parameters
    ----------
    sigma_m
        Standard deviation of the GPS error (metres). By default the first
        :data:`PROBE_FIXES` fixes are matched with :data:`PRIOR_SIGMA_M`, the error is estimated
        from their matched distances as Newson & Krumm do (1.4826 × the median; on a track of
        at most that many fixes, above the prior, pooled with it as
        :data:`PRIOR_WEIGHT_FIXES` fixes; within :data:`SIGMA_BOUNDS_M`), and the track is
        matched with that estimate. A track that was all probe, and whose estimate lies within
        25 % of the prior, keeps the probe's match (and reports the prior as its error).
    beta_m
        Scale (metres) of the transition score ``-(route - straight) / beta_m``.
    radius_m
        Candidate search radius (metres); by default ``max(50, 4 * sigma_m)``. A fix with no
        road within it is not matched and ends the piece.
    max_candidates
        Roads considered per fix (each two-way road gives two directed candidates).
    max_speed_kph, route_factor
        A step between fixes may take at most ``min(route_factor * straight, max_speed * dt)``
        plus twice the radius of road distance; beyond that the piece ends.
    """
    x, y, t = _metric_track(graph, lon, lat, times)
    if min(sigma_m or 1.0, beta_m, radius_m or 1.0, max_candidates, max_speed_kph) <= 0:
        raise RoutingError("sigma_m, beta_m, radius_m, max_candidates and max_speed_kph must be "
                           "positive")
    options = dict(beta_m=beta_m, radius_m=radius_m, k=max_candidates,
                   max_speed=max_speed_kph / 3.6, route_factor=route_factor)
    if sigma_m is not None:
        return _match(graph, x, y, t, sigma_m=sigma_m, **options)
    probe = slice(0, PROBE_FIXES)
    first = _solve(graph, x[probe], y[probe], t[probe], sigma_m=PRIOR_SIGMA_M, **options)
    short = len(t) <= PROBE_FIXES  # the probe was the whole track
    estimate = _estimate_sigma(first, short=short)
    if short and abs(estimate - PRIOR_SIGMA_M) <= 0.25 * PRIOR_SIGMA_M:
        return _assemble(graph, t, first)
    return _match(graph, x, y, t, sigma_m=estimate, **options)


@dataclass(frozen=True)
class _Solution:
    """The model's answer before the path is drawn: candidates (CSR: ptr, edge, offset m,
    distance m), the fixes left out of the model, the chosen candidate and piece per fix, the
    edges between consecutive matched fixes (CSR) and the GPS error used (m)."""

    cands: tuple[NDArray, NDArray, NDArray, NDArray]
    skip: NDArray[np.bool_]
    choice: NDArray[np.int64]
    piece: NDArray[np.int64]
    ptr: NDArray[np.int64]
    between: NDArray[np.int32]
    sigma_m: float

    @property
    def back_tol(self) -> float:
        """A step back along one edge within this many metres stands still."""
        return 4.0 * self.sigma_m


def _match(graph: RoadGraph, x: NDArray, y: NDArray, t: NDArray, **options) -> Match:
    return _assemble(graph, t, _solve(graph, x, y, t, **options))


def _solve(graph: RoadGraph, x: NDArray, y: NDArray, t: NDArray, *, sigma_m: float,
           beta_m: float, radius_m: float | None, k: int, max_speed: float,
           route_factor: float) -> _Solution:
    radius_m = max(50.0, 4.0 * sigma_m) if radius_m is None else radius_m
    back_tol = 4.0 * sigma_m
    cands = _candidates(graph, x, y, radius_m, k)
    skip = thin(x, y, cands[0], 2.0 * sigma_m)
    _, _, length = graph.vertex_positions
    indptr, head, tail = graph.fwd_indptr, graph.edge_head, graph.edge_tail
    work = _workspace(graph)
    choice, piece = kernel.viterbi(
        indptr, head, tail, length, x, y, t, *cands, skip, float(sigma_m), float(beta_m),
        OUTLIER_NATS, OUTLIER_WINDOW_S, float(route_factor), float(max_speed),
        2.0 * radius_m, back_tol, work)
    ptr, between = connect(indptr, head, tail, length, choice, piece, cands[1], cands[2],
                           back_tol, work)
    return _Solution(cands, skip, choice, piece, ptr, between, float(sigma_m))


_local = threading.local()


def _workspace(graph: RoadGraph) -> tuple:
    """The search arrays of :func:`routing.matching_search._workspace` for ``graph``, kept per
    thread for the last graph used (they are left clean after every search)."""
    kept = getattr(_local, "work", None)
    if kept is None or kept[0] is not graph.fwd_indptr:
        kept = (graph.fwd_indptr, search._workspace(graph.fwd_indptr, graph.edge_head))
        _local.work = kept
    return kept[1]


def _estimate_sigma(solution: _Solution, *, short: bool) -> float:
    """GPS error (metres): 1.4826 × the median distance from fix to matched road (Newson &
    Krumm 2009), the fixes left out of the model placed on the path, within
    :data:`SIGMA_BOUNDS_M`. On a ``short`` track (all of it the probe) an estimate above
    :data:`PRIOR_SIGMA_M` is pooled with it (geometric mean, the prior weighted as
    :data:`PRIOR_WEIGHT_FIXES` fixes), so that a few distances do not widen the search alone."""
    cand_ptr, cand_edge, _, cand_dist = solution.cands
    choice, piece = solution.choice.copy(), solution.piece.copy()
    attach(solution.skip, choice, piece, solution.ptr, solution.between, cand_ptr, cand_edge,
           cand_dist)
    near = cand_dist[choice[choice >= 0]]
    median = float(np.median(near)) if len(near) else PRIOR_SIGMA_M
    estimate = float(np.clip(1.4826 * median, *SIGMA_BOUNDS_M))
    if not short or estimate <= PRIOR_SIGMA_M:
        return estimate
    n, n0 = len(near), PRIOR_WEIGHT_FIXES
    return float(np.exp((n * np.log(estimate) + n0 * np.log(PRIOR_SIGMA_M)) / (n + n0)))


def _metric_track(graph: RoadGraph, lon: ArrayLike, lat: ArrayLike,
                  times: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    lon, lat, t = (np.asarray(v, dtype=np.float64).ravel() for v in (lon, lat, times))
    if not len(lon) == len(lat) == len(t):
        raise RoutingError("lon, lat and times must have the same length")
    if not (np.isfinite(lon).all() and np.isfinite(lat).all() and np.isfinite(t).all()):
        raise RoutingError("every fix needs a finite lon, lat and time")
    if np.any(np.diff(t) < 0):
        raise RoutingError("fix times must not go backwards; clean the track first")
    x, y = graph.to_metric.transform(lon, lat)
    return np.asarray(x, np.float64), np.asarray(y, np.float64), t


def _candidates(graph: RoadGraph, x: NDArray, y: NDArray, radius_m: float,
                k: int) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Directed-edge candidates per fix in CSR form: (ptr, edge, offset m, distance m)."""
    near = graph.road_index.within(x, y, radius_m, k)
    found = near.road >= 0
    road = graph.road_edges[np.where(found, near.road, 0)]
    _, _, length = graph.vertex_positions
    twin = graph.edge_twin[road]
    fwd_off = near.fraction * length[road]
    has_twin = found & (twin >= 0)
    # Per fix: its forward candidates, then the twin directions.
    edge = np.concatenate([road, twin], axis=1)
    off = np.concatenate([fwd_off, length[np.maximum(twin, 0)] - fwd_off], axis=1)
    dist = np.concatenate([near.distance, near.distance], axis=1)
    keep = np.concatenate([found, has_twin], axis=1)
    ptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
    return (ptr, edge[keep].astype(np.int64), np.clip(off[keep], 0.0, None),
            dist[keep].astype(np.float64))


def _assemble(graph: RoadGraph, t: NDArray, solution: _Solution) -> Match:
    """The match: the path traced through the chosen candidates, then the fixes left out of
    the model placed on it."""
    cand_ptr, cand_edge, cand_off, cand_dist = solution.cands
    choice, piece, ptr, between = solution.choice, solution.piece, solution.ptr, solution.between
    cum, _, length = graph.vertex_positions
    vx, vy, vs, vpiece, fix_s = trace(choice, piece, cand_edge, cand_off, ptr, between,
                                      graph.geom_xy, graph.geom_offsets, cum, length,
                                      solution.back_tol)
    attach(solution.skip, choice, piece, ptr, between, cand_ptr, cand_edge, cand_dist)
    matched = choice >= 0
    edge = np.full(len(t), -1, np.int64)
    offset, distance = np.full(len(t), np.nan), np.full(len(t), np.nan)
    edge[matched], offset[matched] = cand_edge[choice[matched]], cand_off[choice[matched]]
    distance[matched] = cand_dist[choice[matched]]
    px, py = _points_on_edges(graph, edge[matched], offset[matched])
    # the path's vertices and the fixes' positions to WGS-84 in one call
    lon, lat = graph.to_lonlat.transform(np.concatenate([vx, px]), np.concatenate([vy, py]))
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    lonlat = np.full((len(t), 2), np.nan)
    lonlat[matched] = np.column_stack([lon[len(vx):], lat[len(vx):]])
    pieces = []
    if len(vx):
        for p in range(int(piece.max()) + 1):
            pieces.append(_piece(p, lon[:len(vx)], lat[:len(vx)], vs, vpiece, fix_s, piece, t))
    return Match(edge, offset, distance, lonlat, piece, pieces, solution.sigma_m)


def _piece(p, lon, lat, vs, vpiece, fix_s, piece, t) -> MatchedPiece:
    sel = vpiece == p
    s = vs[sel]
    keep = np.concatenate([[True], np.diff(s) > 1e-9])  # drop repeated vertices
    fixes = np.flatnonzero(piece == p)
    timed = fixes[fix_s[fixes] >= 0]  # the fixes the path was traced through
    times = np.interp(s[keep], fix_s[timed], t[timed])
    coords = np.column_stack([lon[sel][keep], lat[sel][keep]])
    return MatchedPiece(coords, times, fixes, float(s[-1]) if len(s) else 0.0)


def _points_on_edges(graph: RoadGraph, edge: NDArray,
                     offset: NDArray) -> tuple[NDArray, NDArray]:
    """Metric x/y of the points ``offset`` metres along ``edge`` from its tail."""
    points = shapely.line_interpolate_point(graph.edge_lines[edge], offset)
    coords = shapely.get_coordinates(points)
    return coords[:, 0], coords[:, 1]
