"""Drive-time searches from or to a snapped point: reachable sets and nearest-point ranking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from routing.compiled import RoadGraph
from routing.kernel import dijkstra
from routing.routes import along_shared_road, enter_piece, leave_piece
from routing.snapping import Snap, Snapped, along_road, on_canonical
from routing.speeds import SpeedModel

_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_F = np.zeros(0)


class Direction(str, Enum):
    """``depart``: where a unit at the point can get; ``arrive``: from where the point is reached."""

    DEPART = "depart"
    ARRIVE = "arrive"


@dataclass(frozen=True)
class Weights:
    """Edge travel times (seconds) for one traffic condition, in forward and reverse CSR order."""

    forward: NDArray[np.float64]
    reverse: NDArray[np.float64]

    @classmethod
    def free_flow(cls, graph: RoadGraph) -> Weights:
        return cls(graph.edge_seconds, graph.rev_seconds)

    @classmethod
    def at(cls, graph: RoadGraph, speeds: SpeedModel, when: time | None) -> Weights:
        """Travel times at time of day ``when`` under the model's congestion periods."""
        if when is None or not speeds.congestion:
            return cls.free_flow(graph)
        factors = np.array(speeds.congestion_factors(graph.classes, when))
        forward = graph.edge_weights(factors)
        return cls(forward, forward[graph.rev_edge])


@dataclass(frozen=True)
class Reach:
    """Result of one search from (depart) or to (arrive) one or more snapped points.

    ``seconds[i]`` is the drive time between the nearest origin and node i (``inf`` beyond
    ``limit_s``), ``metres[i]`` the length of that fastest path, ``source[i]`` which origin it is
    (index into ``origins``, -1: unreached), ``settled`` the reached nodes by time.
    """

    graph: RoadGraph
    origins: Snapped
    direction: Direction
    limit_s: float
    weights: Weights
    settled: NDArray[np.int32]
    seconds: NDArray[np.float64]
    metres: NDArray[np.float64]
    pred_edge: NDArray[np.int32]
    source: NDArray[np.int64]


def reach(graph: RoadGraph, origin: Snap | list[Snap] | Snapped, *, direction: Direction | str,
          limit_s: float, weights: Weights | None = None) -> Reach:
    """Every node within ``limit_s`` seconds of ``origin`` (or of the nearest of several
    origins; points off the network take no part) in ``direction``; one search. With stations
    as origins, ``source`` is the network Voronoi diagram and the rings are their circles
    dissolved."""
    direction = Direction(direction)
    weights = weights or Weights.free_flow(graph)
    depart = direction is Direction.DEPART
    if isinstance(origin, Snap):  # the common single point: its two ways without array work
        ways = (origin.departures if depart else origin.arrivals)(graph, weights.forward)
        node, secs, metres = zip(*ways)
        sources = (np.array(node, np.int32), np.array(secs), np.array(metres),
                   np.zeros(len(ways), np.int64))
        origin = Snapped.of([origin])
    else:
        if not isinstance(origin, Snapped):
            origin = Snapped.of(list(origin))
        sources = origin.ways(graph, weights.forward, leave=depart)
    settled, seconds, metres, pred, label = _run(graph, direction, weights, sources, limit_s)
    return Reach(graph, origin, direction, limit_s, weights, settled, seconds, metres, pred,
                 label)


@dataclass(frozen=True)
class Ranked:
    """One ranked candidate: its position in the input, drive seconds and metres to the target."""

    index: int
    seconds: float
    metres: float


@dataclass(frozen=True)
class Ranking:
    """Candidates ranked by drive time to a target, with what is needed to draw their routes."""

    graph: RoadGraph
    target: Snap
    candidates: Snapped
    top: list[Ranked]
    weights: Weights
    pred_edge: NDArray[np.int32]  # reverse search: the edge leaving each node toward the target
    best_node: NDArray[np.int32]  # the node through which each candidate is fastest (-1: direct)

    def route(self, index: int) -> NDArray[np.float64]:
        """The route of candidate ``index`` to the target as WGS-84 (lon, lat) vertices."""
        graph, cand, target = self.graph, self.candidates.snap(index), self.target
        w = self.weights.forward
        node = int(self.best_node[index])
        if node < 0:  # along a shared road, without passing a node
            pieces = [along_shared_road(graph, cand, target, w)]
        else:
            pieces = [leave_piece(graph, cand, node, w)]
            while self.pred_edge[node] >= 0:
                e = int(self.pred_edge[node])
                pieces.append(graph.edge_lines[e])
                node = int(graph.edge_head[e])
            pieces.append(enter_piece(graph, target, node, w))
        xy = np.concatenate([np.asarray(p.coords) for p in pieces if not p.is_empty])
        lon, lat = graph.to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])


def rank_to(graph: RoadGraph, target: Snap, candidates: list[Snap] | Snapped, *, k: int,
            limit_s: float = np.inf, weights: Weights | None = None) -> list[Ranked]:
    """The ``k`` candidates with the shortest drive time *to* ``target``, fastest first."""
    return rank(graph, target, candidates, k=k, limit_s=limit_s, weights=weights).top


def rank(graph: RoadGraph, target: Snap, candidates: list[Snap] | Snapped, *, k: int,
         limit_s: float = np.inf, weights: Weights | None = None) -> Ranking:
    """Rank candidates (all on the network) by drive time to ``target``: one reverse search
    from the target that stops once the k best are final. Candidates not reachable within
    ``limit_s`` are left out."""
    weights = weights or Weights.free_flow(graph)
    if not isinstance(candidates, Snapped):
        candidates = Snapped.of(candidates)
    n_cand = len(candidates)
    best_s, best_m = _direct_to(graph, candidates, target, weights.forward)
    tgt_indptr, tgt_id, tgt_s, tgt_m = _candidate_csr(graph, candidates, weights.forward)
    sources = Snapped.of([target]).ways(graph, weights.forward, leave=False)
    best_node = np.full(n_cand, -1, np.int32)
    if n_cand:
        _, _, _, pred, _ = _run(graph, Direction.ARRIVE, weights, sources, limit_s,
                                targets=(tgt_indptr, tgt_id, tgt_s, tgt_m, best_s, best_m,
                                         best_node), k=max(1, min(k, n_cand)))
    else:
        pred = np.full(graph.n_nodes, -1, np.int32)
    order = np.argsort(best_s, kind="stable")[:k]
    top = [Ranked(int(c), float(best_s[c]), float(best_m[c])) for c in order
           if np.isfinite(best_s[c])]
    return Ranking(graph, target, candidates, top, weights, pred, best_node)


def territories(graph: RoadGraph, sources: list[Snap], *, direction: Direction | str,
                limit_s: float = np.inf, weights: Weights | None = None) -> Reach:
    """One search from all ``sources`` at once (see :func:`reach`): for every node, the source
    that reaches it (depart) or is reached from it (arrive) fastest."""
    return reach(graph, list(sources), direction=direction, limit_s=limit_s, weights=weights)


def best_source_at(graph: RoadGraph, result: Reach, points: Snapped
                   ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """For each snapped point, the fastest source of ``result`` and its time (-1, inf: none,
    also for points off the network).

    A point is reached (depart) or left toward the sources (arrive) through the ends of each
    road it lies on, plus the part of the road, or directly along a road it shares with a
    source; the best of these counts. Beyond ``result.limit_s`` only the direct ways are seen.
    """
    w = result.weights.forward
    node, seconds, _, owner = points.ways(graph, w, leave=result.direction is Direction.ARRIVE)
    if result.direction is Direction.DEPART:
        d_source, d_owner, d_seconds, _ = direct_pairs(graph, result.origins, points, w)
    else:
        d_owner, d_source, d_seconds, _ = direct_pairs(graph, points, result.origins, w)
    seconds = np.concatenate([result.seconds[node] + seconds, d_seconds])
    source = np.concatenate([result.source[node], d_source])
    owner = np.concatenate([owner, d_owner])
    best = np.full(len(points), np.inf)
    np.minimum.at(best, owner, seconds)
    best_source = np.full(len(points), -1, np.int64)
    hit = np.flatnonzero(np.isfinite(seconds) & (seconds == best[owner]))[::-1]
    best_source[owner[hit]] = source[hit]  # written last to first: ties go to the first way
    return best_source, best


def times_to(graph: RoadGraph, target: Snap, points: Snapped, *, limit_s: float,
             weights: Weights | None = None) -> NDArray[np.float64]:
    """Drive seconds from every snapped point to ``target`` (inf beyond ``limit_s`` or off the
    network): one search back from the target, each point taken at its best way
    (:func:`best_source_at`, as a multi-source search takes places)."""
    found = reach(graph, target, direction=Direction.ARRIVE, limit_s=limit_s, weights=weights)
    _, seconds = best_source_at(graph, found, points)
    return np.where(seconds <= limit_s, seconds, np.inf)


def direct_pairs(graph: RoadGraph, start: Snapped, end: Snapped, w: NDArray
                 ) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Pairs of points on one road, the ``start`` one driving to the ``end`` one along it
    without passing a node: (start point, end point, seconds, metres), one row per pair of
    entries (one-way roads only forward)."""
    a_point, a_edge, a_frac = start.entries()
    b_point, b_edge, b_frac = end.entries()
    a_road, a_frac = on_canonical(graph, a_edge, a_frac)
    b_road, b_frac = on_canonical(graph, b_edge, b_frac)
    shared = np.zeros(graph.n_edges, bool)
    shared[a_road] = True
    near = np.flatnonzero(shared[b_road])  # the few end entries on a road with a start entry
    if not len(near):
        return _EMPTY_I, _EMPTY_I, _EMPTY_F, _EMPTY_F
    order = np.argsort(a_road, kind="stable")
    lo = np.searchsorted(a_road[order], b_road[near], side="left")
    count = np.searchsorted(a_road[order], b_road[near], side="right") - lo
    mine = np.repeat(near, count)
    theirs = order[np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())]
    seconds, metres = along_road(graph, b_road[mine], a_frac[theirs], b_frac[mine], w)
    return a_point[theirs], b_point[mine], seconds, metres


def _direct_to(graph: RoadGraph, candidates: Snapped, target: Snap, w: NDArray
               ) -> tuple[NDArray, NDArray]:
    """Seconds and metres from each candidate to the target without leaving a road (inf unless
    they share a road that may be driven toward the target)."""
    seconds = np.full(len(candidates), np.inf)
    metres = np.full(len(candidates), np.inf)
    point, _, pair_s, pair_m = direct_pairs(graph, candidates, Snapped.of([target]), w)
    for i in np.argsort(-pair_s):  # the fastest written last
        seconds[point[i]], metres[point[i]] = pair_s[i], pair_m[i]
    return seconds, metres


def _candidate_csr(graph: RoadGraph, candidates: Snapped, w: NDArray):
    """Candidates grouped by the node each can drive to first, with the time to get there:
    along each of its roads to the head, and on a two-way road along the twin to the tail."""
    nodes, secs, metres, cand = candidates.ways(graph, w, leave=True)
    order = np.argsort(nodes, kind="stable")
    indptr = np.zeros(graph.n_nodes + 1, np.int64)
    np.cumsum(np.bincount(nodes, minlength=graph.n_nodes), out=indptr[1:])
    return indptr, cand[order], secs[order], metres[order]


def _run(graph: RoadGraph, direction: Direction, weights: Weights, sources: tuple,
         limit_s: float, *, targets=None, k: int = 0):
    """Call the kernel with one direction's arrays; ``sources`` are (node, seconds, metres,
    label) arrays of the points where the search enters the graph."""
    if direction is Direction.DEPART:
        indptr, neighbour, edge_id, metres = graph.adjacency("forward")
        seconds = weights.forward
    else:
        indptr, neighbour, edge_id, metres = graph.adjacency("reverse")
        seconds = weights.reverse
    src_node, src_s, src_m, src_label = sources
    if targets is None:
        tgt_indptr = np.zeros(graph.n_nodes + 1, np.int64)
        targets = (tgt_indptr, _EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F.copy(), _EMPTY_F.copy(),
                   np.zeros(0, np.int32))
    tgt_indptr, tgt_id, tgt_s, tgt_m, best_s, best_m, best_node = targets
    return dijkstra(indptr, neighbour, edge_id, seconds, metres, src_node, src_s, src_m,
                    src_label, float(limit_s), tgt_indptr, tgt_id, tgt_s, tgt_m, best_s, best_m,
                    best_node, k)
