"""Where the matcher's missed length goes on the directed OSM extracts (a diagnosis, no timing).

Run: .venv/bin/python bench/bench_matching_misses.py [DRIVES]  (default 40 drives a place)

The drives are those of ``bench_matching.py`` (b) at 10 s, σ 20 m: four legs along the fastest
routes, same seeds. For each place it prints the share of the true route within 5 m of the
matched path (the recall of the benchmark), then the share within 5, 15 and 30 m of a part of the
path that runs the same way (within 45°): the difference between 5 and 15 m is route length
matched to a road that runs beside the true one the same way (the other carriageway of a road
split into main and side lanes, the elevated road over the ground road), which fixes with 20 m of
noise cannot tell apart; what is missed even at 30 m is a different route or a missed end. Then,
per fix, how its matched road differs from the road the car was on.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from matching_support import route_share, synthetic_track  # noqa: E402
from routing import SpeedModel, match_track, open_graph  # noqa: E402
from settings import Settings  # noqa: E402

PLACES = {"Shanghai Huangpu": ("shanghai_huangpu.osm", 1000.0),
          "Helsinki": ("helsinki.osm.pbf", 700.0)}
SIGMA_M, INTERVAL_S = 20.0, 10.0
SAME_WAY_RAD = np.pi / 4


def samples(xy: np.ndarray, step_m: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_m`` metres along a metric line and the heading (radians) there."""
    points, headings = [], []
    for a, b in zip(xy[:-1], xy[1:]):
        length = float(np.hypot(*(b - a)))
        if length < 1e-9:
            continue
        n = max(1, int(length // step_m))
        points.append(a + ((np.arange(n) + 0.5) / n)[:, None] * (b - a))
        headings.append(np.full(n, np.arctan2(*(b - a)[::-1])))
    return np.vstack(points), np.concatenate(headings)


def same_way_shares(truth: np.ndarray, paths: list[np.ndarray],
                    tolerances_m: tuple[float, ...]) -> list[float]:
    """Share of the true route within each tolerance of a part of the paths heading the same
    way (metric lines)."""
    tp, th = samples(truth)
    parts = [samples(p) for p in paths]
    mp, mh = np.vstack([p for p, _ in parts]), np.concatenate([h for _, h in parts])
    tree = cKDTree(mp)
    shares = []
    for tol in tolerances_m:
        hit = [any(abs((mh[j] - th[i] + np.pi) % (2 * np.pi) - np.pi) < SAME_WAY_RAD for j in near)
               for i, near in enumerate(tree.query_ball_point(tp, tol))]
        shares.append(float(np.mean(hit)))
    return shares


def fix_kind(graph, true_edge: int, matched: int, route: list[int], at: int) -> str:
    """How a fix's matched edge differs from the edge the car was on."""
    if matched == true_edge:
        return "same edge"
    if matched < 0:
        return "not matched"
    if matched in route[max(0, at - 6):at + 7]:
        return "on the route, a neighbouring edge"
    if graph.edge_twin[true_edge] == matched:
        return "same road, other way"
    classes = graph.meta["classes"]
    heading = [_heading(graph, e) for e in (true_edge, matched)]
    turn = abs((heading[0] - heading[1] + np.pi) % (2 * np.pi) - np.pi)
    way = "same way" if turn < SAME_WAY_RAD else ("opposite way" if turn > 3 * SAME_WAY_RAD
                                                   else "across")
    return (f"{way}: on {classes[graph.edge_class[true_edge]]}, "
            f"matched {classes[graph.edge_class[matched]]}")


def _heading(graph, e: int) -> float:
    line = graph.geom_xy[graph.geom_offsets[e]:graph.geom_offsets[e + 1]]
    return float(np.arctan2(*(line[-1] - line[0])[::-1]))


def main() -> None:
    drives = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    settings = Settings()
    for place, (name, min_length_m) in PLACES.items():
        graph = open_graph(ROOT / "data" / "osm" / name, SpeedModel(), settings.cache_dir)
        rng = np.random.default_rng([int(SIGMA_M), int(INTERVAL_S)])
        shares, kinds = [], Counter()
        for _ in range(drives):
            track = synthetic_track(graph, rng, sigma_m=SIGMA_M, interval_s=INTERVAL_S,
                                    min_length_m=min_length_m, legs=4)
            match = match_track(graph, track.lon, track.lat, track.t)
            to_xy = graph.to_metric.transform
            truth = np.column_stack(to_xy(*np.asarray(track.truth.coords).T))
            paths = [np.column_stack(to_xy(*p.lonlat.T)) for p in match.pieces
                     if len(p.lonlat) >= 2]
            shares.append([route_share(graph, track.truth, match)[0],
                           *same_way_shares(truth, paths, (5.0, 15.0, 30.0))])
            kinds.update(_fix_kinds(graph, list(track.edges), track.t, match.edge))
        recall, same5, same15, same30 = 100 * np.mean(shares, axis=0)
        print(f"\n{place}, {drives} drives, every {INTERVAL_S:.0f} s, σ {SIGMA_M:.0f} m: route "
              f"within 5 m {recall:.1f} %; within 5 / 15 / 30 m of a part heading the same way "
              f"{same5:.1f} / {same15:.1f} / {same30:.1f} %")
        total = sum(kinds.values())
        print("| matched edge of a fix | fixes | share |\n|---|---|---|")
        for kind, n in kinds.most_common(12):
            print(f"| {kind} | {n} | {100 * n / total:.1f} % |")


def _fix_kinds(graph, route: list[int], t: np.ndarray, matched: np.ndarray) -> list[str]:
    """Per fix, how its matched edge differs from the true one (the edge the drive was on at
    the fix's time, driven at the edges' free-flow speeds as the drive was)."""
    clock = np.concatenate([[0.0], np.cumsum(graph.edge_seconds[route])])
    at = np.clip(np.searchsorted(clock, t, side="right") - 1, 0, len(route) - 1)
    return [fix_kind(graph, route[j], int(matched[i]), route, int(j)) for i, j in enumerate(at)]


if __name__ == "__main__":
    main()
