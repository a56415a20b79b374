"""Drive-time tables behind move-up (``patrol.moveup``): which demand points (三圈 hotspots, grid
cells) each waiting point and each unit reaches within 60/180/300 s, and how long each unit
drives to each waiting point.

Waiting points are fixed, so their table is computed once (one bounded search from each). A
unit's row is one search from where it stands, kept until the unit stands on another road or
:data:`RESEARCH_M` metres along its road from there (a car reporting every few seconds is not
searched again at every fix; its row is then that of a place at most that far back). Every time is the batch coverage path's own (``routing.search.best_source_at``),
evaluated only at the few points each bounded search can reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from patrol.moveup import RINGS, Cover, Demand
from routing import Direction, RoadGraph, Snapped
from routing.search import Reach, Weights, best_source_at, reach
from routing.snapping import on_canonical

#: How far (seconds) a move may drive; a unit's search goes this far.
MOVE_HORIZON_S = 600.0
#: A unit is searched again once it moved this far along its road (metres), or to another road.
RESEARCH_M = 100.0
_EMPTY = (np.zeros(0, np.int64), np.zeros(0))


class PointIndex:
    """Snapped points indexed by the nodes through which they are reached and by the roads they
    lie on, so that a bounded search is evaluated only at the points it may reach."""

    def __init__(self, graph: RoadGraph, points: Snapped) -> None:
        self.graph, self.points = graph, points
        node, _, _, owner = points.ways(graph, graph.edge_seconds, leave=False)
        self._by_node = _grouped(node, owner, graph.n_nodes)
        point, edge, fraction = points.entries()
        road, _ = on_canonical(graph, edge, fraction)
        self._by_road = _grouped(road, point, graph.n_edges)

    def __len__(self) -> int:
        return len(self.points)

    def times(self, found: Reach, *, limit_s: float) -> tuple[NDArray[np.int64], NDArray]:
        """(point index, drive seconds) of the points reached from ``found``'s origins within
        ``limit_s`` (a depart search)."""
        settled = found.settled  # nodes beyond the limit reach no point within it
        settled = settled[found.seconds[settled] <= limit_s]
        near = [_members(self._by_node, settled)]
        _, edge, fraction = found.origins.entries()
        near.append(_members(self._by_road, on_canonical(self.graph, edge, fraction)[0]))
        candidates = np.unique(np.concatenate(near))
        if not len(candidates):
            return _EMPTY
        _, seconds = best_source_at(self.graph, found, self.points.take(candidates))
        keep = seconds <= limit_s
        return candidates[keep], seconds[keep]


@dataclass
class CoverTables:
    """The demand, the waiting points' cover (computed once) and each unit's row, kept by its
    road position."""

    graph: RoadGraph
    demand: Demand
    demand_index: PointIndex
    site_index: PointIndex
    sites: Cover
    _rows: dict = field(default_factory=dict)  # unit → (key, demand, secs, sites, secs)
    _last: tuple | None = None  # the last fleet: ({(unit, key): row}, cover, to_site)

    @classmethod
    def build(cls, graph: RoadGraph, demand: Demand, demand_points: Snapped,
              site_points: Snapped) -> CoverTables:
        """One search from every waiting point (points off the network reach nothing)."""
        demand_index, site_index = PointIndex(graph, demand_points), PointIndex(graph,
                                                                              site_points)
        rows, cols, secs = [], [], []
        for i in np.flatnonzero(site_points.on_road):
            found = _search(graph, site_points.take([i]), max(RINGS))
            d, s = demand_index.times(found, limit_s=max(RINGS))
            rows.append(np.full(len(d), i)), cols.append(d), secs.append(s)
        sites = Cover.of(*_joined(rows, cols, secs), n_rows=len(site_points),
                         n_demand=len(demand))
        return cls(graph, demand, demand_index, site_index, sites)

    def fleet_rows(self, unit_ids: NDArray[np.int64], snaps: Snapped
                   ) -> tuple[Cover, NDArray[np.float64]]:
        """The units' cover and their drive seconds to every waiting point (inf beyond
        :data:`MOVE_HORIZON_S`); a unit is searched again only when its road position changed
        (units off the network reach nothing). When every unit stands where it stood at the
        last call (a dispatch takes one away), the last answer's rows are taken."""
        keys = [position_key(self.graph, snaps, i) for i in range(len(unit_ids))]
        last = self._last
        if last is not None:
            row_of = last[0]
            found = [row_of.get((u, k)) for u, k in zip(unit_ids.tolist(), keys)]
            if None not in found:
                rows = np.array(found, np.int64)
                return last[1].take(rows), last[2][rows]
        cover, to_site = self._fleet_rows(unit_ids, snaps)
        self._last = ({(u, k): i for i, (u, k) in enumerate(zip(unit_ids.tolist(), keys))},
                      cover, to_site)
        return cover, to_site

    def _fleet_rows(self, unit_ids: NDArray[np.int64], snaps: Snapped
                    ) -> tuple[Cover, NDArray[np.float64]]:
        rows, cols, secs = [], [], []
        to_site = np.full((len(unit_ids), len(self.site_index)), np.inf)
        for i, unit in enumerate(unit_ids.tolist()):
            d, ds, s, ss = self._unit_row(unit, snaps, i)
            rows.append(np.full(len(d), i)), cols.append(d), secs.append(ds)
            to_site[i, s] = ss
        cover = Cover.of(*_joined(rows, cols, secs), n_rows=len(unit_ids),
                         n_demand=len(self.demand))
        return cover, to_site

    def _unit_row(self, unit: int, snaps: Snapped, i: int) -> tuple:
        key = position_key(self.graph, snaps, i)
        kept = self._rows.get(unit)
        if kept is not None and kept[0] == key:
            return kept[1:]
        if snaps.edge[i] < 0:
            row = (*_EMPTY, *_EMPTY)
        else:
            found = _search(self.graph, snaps.take([i]), MOVE_HORIZON_S)
            row = (*self.demand_index.times(found, limit_s=max(RINGS)),
                   *self.site_index.times(found, limit_s=MOVE_HORIZON_S))
        self._rows[unit] = (key, *row)
        return row


def position_key(graph: RoadGraph, snaps: Snapped, i: int) -> tuple:
    """Where point i stands: its roads, and which stretch of :data:`RESEARCH_M` metres along
    the first (the same key: what was worked out from there is kept)."""
    edge = int(snaps.edge[i])
    if edge < 0:
        return (edge,)
    lo, hi = np.searchsorted(snaps.also_point, [i, i + 1])
    along = float(snaps.fraction[i]) * float(graph.edge_metres[edge])
    return (edge, int(along // RESEARCH_M), tuple(snaps.also_edge[lo:hi].tolist()))


def _search(graph: RoadGraph, origin: Snapped, limit_s: float) -> Reach:
    return reach(graph, origin, direction=Direction.DEPART, limit_s=limit_s,
                 weights=Weights.free_flow(graph))


def _grouped(key: NDArray, value: NDArray, n_keys: int) -> tuple[NDArray, NDArray]:
    """CSR (indptr, values) of ``value`` grouped by ``key``."""
    order = np.argsort(key, kind="stable")
    indptr = np.zeros(n_keys + 1, np.int64)
    np.cumsum(np.bincount(key, minlength=n_keys), out=indptr[1:])
    return indptr, np.asarray(value, np.int64)[order]


def _members(grouped: tuple[NDArray, NDArray], keys: NDArray) -> NDArray[np.int64]:
    indptr, values = grouped
    keys = np.asarray(keys, np.int64)
    lo, hi = indptr[keys], indptr[keys + 1]
    count = hi - lo
    return values[np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())]


def _joined(rows: list, cols: list, secs: list) -> tuple[NDArray, NDArray, NDArray]:
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return (np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64),
            np.concatenate(secs))
