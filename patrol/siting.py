"""Where the next posts should go: the maximal covering location problem (MCLP).

Pick K new post locations among the road nodes that maximise the weight of hotspots reached
within a tier (60, 180 or 300 s) by the nearest station, old or new. Solved greedily: each step
takes the node that covers the most weight of hotspots still uncovered. The greedy is within
(1 - 1/e) ≈ 63 % of the optimum (Nemhauser, Wolsey and Fisher 1978); on city-sized instances it
is usually much closer. The answer is checked by computing coverage afresh with the new posts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_matrix

from patrol.analysis import Places
from patrol.errors import Invalid
from routing import RoadGraph, Snap, Snapped, snap_points
from routing.search import best_source_at, reach
from routing.snapping import DEFAULT_SNAP_LIMIT_M

#: Weight of a hotspot by category: the 三圈 count fully, other places half.
CATEGORY_WEIGHTS = {"school": 1.0, "hospital": 1.0, "mall": 1.0, "metro_station": 0.5,
                    "transport_hub": 0.5}


@dataclass(frozen=True)
class Recommendation:
    """The chosen road nodes (lon/lat), and the covered weight before, predicted and verified."""

    nodes: list[int]
    lonlat: list[tuple[float, float]]
    gains: list[float]  # weight each pick added, in order
    covered_before: float
    covered_after: float  # predicted by the greedy
    verified_after: float  # recomputed with the new posts as stations
    total_weight: float  # of the hotspots on the network
    outside: int  # hotspots outside the road data (no snap): not counted


def recommend(graph: RoadGraph, stations: list[tuple], places: Places, snaps: list[Snap | None],
              *, k: int, tier_s: float, snap_limit_m: float = DEFAULT_SNAP_LIMIT_M
              ) -> Recommendation:
    """Greedy MCLP over road nodes; ``stations`` are (id, name, lon, lat) of existing stations.
    Hotspots without a snap (None: outside the road data) weigh nothing and are counted apart;
    stations farther than ``snap_limit_m`` metres from every road take no part."""
    if k < 1:
        raise Invalid(f"--add must be at least 1, got {k}")
    on_network = np.array([s is not None for s in snaps], bool)
    weight = np.where(on_network, [CATEGORY_WEIGHTS.get(c, 0.5) for c in places.categories], 0.0)
    station_snaps = [s for s in snap_points(graph, [s[2] for s in stations],
                                            [s[3] for s in stations], limit_m=snap_limit_m)[0]
                     if s is not None]
    before = _times(graph, station_snaps, snaps, tier_s)
    covered = before <= tier_s
    uncovered = np.flatnonzero(~covered & on_network)
    cover = _cover_matrix(graph, [snaps[i] for i in uncovered], tier_s)
    if cover.shape[1] and k > np.count_nonzero(cover.getnnz(axis=1)):
        raise Invalid(f"--add {k} is more than the {np.count_nonzero(cover.getnnz(axis=1))} "
                      f"candidate locations that would reach any uncovered hotspot")
    remaining = weight[uncovered].copy()
    chosen, gains = [], []
    cover = cover.tocsr()
    for _ in range(k):
        gain = cover @ remaining
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        chosen.append(best)
        gains.append(float(gain[best]))
        remaining[cover[best].indices] = 0.0
    lonlat = [tuple(map(float, graph.node_lonlat[n])) for n in chosen]
    after = _times(graph, station_snaps + [at_node(graph, n) for n in chosen], snaps, tier_s)
    return Recommendation(chosen, lonlat, gains, float(weight[covered].sum()),
                          float(weight[covered].sum() + sum(gains)),
                          float(weight[after <= tier_s].sum()), float(weight.sum()),
                          int((~on_network).sum()))


def _times(graph: RoadGraph, origins: list[Snap], snaps: list[Snap | None], tier_s: float
           ) -> np.ndarray:
    """Seconds from the nearest origin to each snapped place (inf beyond ``tier_s``)."""
    if not origins:
        return np.full(len(snaps), np.inf)
    found = reach(graph, origins, direction="depart", limit_s=tier_s)
    return best_source_at(graph, found, Snapped.of(snaps))[1]


def at_node(graph: RoadGraph, node: int) -> Snap:
    """A post standing exactly on a road node: the end of an edge into it."""
    into = graph.rev_edge[graph.rev_indptr[node]:graph.rev_indptr[node + 1]]
    return Snap(edge=int(into[0]), fraction=1.0, distance_m=0.0)


def _cover_matrix(graph: RoadGraph, hotspots: list[Snap], tier_s: float) -> csc_matrix:
    """Nodes × hotspots: True where a post at the node reaches the hotspot within ``tier_s``
    (one reverse search per hotspot)."""
    rows, cols = [], []
    for j, snap in enumerate(hotspots):
        found = reach(graph, snap, direction="arrive", limit_s=tier_s)
        rows.append(found.settled)
        cols.append(np.full(len(found.settled), j))
    rows_a = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cols_a = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return csc_matrix((np.ones(len(rows_a)), (rows_a, cols_a)),
                      shape=(graph.n_nodes, len(hotspots)))
