"""Which road a unit's last fix is put on: the nearest road (what dispatch does) against a one-fix
online matching step (a design measured here, not in the product).

Run: .venv/bin/python bench/bench_online_step.py [ASSUMED_SIGMA_M]  (default 5 m)

Drives as in ``bench_matching.py`` (b) on the Huangpu extract (elevated roads over ground roads,
roads split into parallel one-way ways), 40 a row, a fix every 5 s (a patrol car's report rate)
with 0.5–20 m of GPS noise. For each fix: is the chosen road on the true route (the edge the car
was on, either direction, or one of the four route edges before or after it)?

- nearest: the road nearest the fix;
- online step: each road within max(50 m, 4σ) of the fix scored as the matcher scores a step,
  ``-(d / σ)² / 2 - |route - straight| / β`` (β 10 m), ``route`` the road distance from the road
  position chosen for the unit's previous fix, ``straight`` the distance between the two fixes;
  the best is kept (no look-ahead). σ is the assumed error, not the drive's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from matching_support import synthetic_track  # noqa: E402
from routing import SpeedModel, open_graph  # noqa: E402
from routing.matching import _candidates, _metric_track  # noqa: E402
from settings import Settings  # noqa: E402

BETA_M = 10.0
EVERY_S = 5.0
NOISE_M = (0.5, 5.0, 10.0, 20.0)
DRIVES = 40


def main() -> None:
    sigma_m = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    graph = open_graph(ROOT / "data" / "osm" / "shanghai_huangpu.osm", SpeedModel(),
                       Settings().cache_dir)
    print(f"Huangpu, a fix every {EVERY_S:.0f} s, {DRIVES} drives a row, online step with "
          f"σ {sigma_m:g} m: share of fixes put on the true route")
    print("| GPS noise m | fixes | nearest road | online step |\n|---|---|---|---|")
    for noise in NOISE_M:
        rng = np.random.default_rng([int(noise * 10), int(EVERY_S)])
        right = np.zeros(2)
        fixes = 0
        for _ in range(DRIVES):
            track = synthetic_track(graph, rng, sigma_m=noise, interval_s=EVERY_S,
                                    min_length_m=1000.0, legs=4)
            hits = _drive_hits(graph, track, list(track.edges), sigma_m)
            right += hits.sum(axis=0)
            fixes += len(hits)
        print(f"| {noise:g} | {fixes} | {100 * right[0] / fixes:.1f} % "
              f"| {100 * right[1] / fixes:.1f} % |")


def _drive_hits(graph, track, route: list[int], sigma_m: float) -> np.ndarray:
    """Per fix with a road in reach: (nearest road on the route, online step on the route)."""
    _, _, length = graph.vertex_positions
    adjacency = sp.csr_matrix((length, (graph.edge_tail, graph.edge_head)),
                              shape=(graph.n_nodes, graph.n_nodes))
    clock = np.concatenate([[0.0], np.cumsum(graph.edge_seconds[route])])
    x, y, t = _metric_track(graph, track.lon, track.lat, track.t)
    ptr, edge, offset, distance = _candidates(graph, x, y, max(50.0, 4 * sigma_m), 10)
    hits, previous = [], None
    for i in range(len(t)):
        lo, hi = ptr[i], ptr[i + 1]
        if hi == lo:
            previous = None
            continue
        at = int(np.clip(np.searchsorted(clock, t[i], side="right") - 1, 0, len(route) - 1))
        near_route = set(route[max(0, at - 4):at + 5])
        nearest = lo + int(np.argmin(distance[lo:hi]))
        best = nearest if previous is None else _step(graph, adjacency, length, previous,
                                                      x[i], y[i], edge[lo:hi], offset[lo:hi],
                                                      distance[lo:hi], sigma_m, lo, nearest)
        hits.append([_on(graph, edge[c], near_route) for c in (nearest, best)])
        previous = (edge[best], offset[best], x[i], y[i])
    return np.array(hits, dtype=float).reshape(-1, 2)


def _step(graph, adjacency, length, previous, x, y, edges, offsets, distances, sigma_m, lo,
          nearest) -> int:
    """The candidate (index into the fix's candidates, from ``lo``) the online step keeps."""
    last_edge, last_offset, last_x, last_y = previous
    straight = float(np.hypot(x - last_x, y - last_y))
    reach = dijkstra(adjacency, indices=graph.edge_head[last_edge], limit=3 * straight + 200)
    route = length[last_edge] - last_offset + reach[graph.edge_tail[edges]] + offsets
    ahead = (edges == last_edge) & (offsets >= last_offset - 4 * sigma_m)
    route = np.where(ahead, np.maximum(offsets - last_offset, 0.0), route)
    score = -0.5 * (distances / sigma_m) ** 2 - np.abs(route - straight) / BETA_M
    return lo + int(np.nanargmax(score)) if np.isfinite(score).any() else nearest


def _on(graph, e: int, near_route: set[int]) -> bool:
    return e in near_route or int(graph.edge_twin[e]) in near_route


if __name__ == "__main__":
    main()
