"""Benchmark of map matching: throughput and accuracy against fastmm in the same run.

Run: .venv/bin/python bench/bench_matching.py [wuhan] [directed] [kubicka]  (default: all;
needs the bench extra: fastmm)

(a) Synthetic drives on the whole Wuhan graph: the fastest route between random nodes at least
    3 km apart, driven at free-flow speed, sampled every 1, 10 and 30 s with Gaussian noise of
    10, 20 and 30 m per axis (seed 0). Accuracy is the share of the true route's length within
    5 m and within 30 m (the right road) of the matched path. Wuhan's edge table has no one-way
    tags, so the two carriageways of a dual road are both two-way and a drive may even use the
    "wrong" one: the 5 m share is not decidable there, only the road level is.
(b) Synthetic drives on the directed OSM extracts with one-way tags (Huangpu, Shanghai; central
    Helsinki), where the carriageway is known: four legs between random nodes (at least 1,000 /
    700 m apart, no U-turn where legs join) along the fastest routes that respect one-way
    streets, same sampling and noise. Recall: the share of the true route within 5 m of the
    matched path; precision: the share of the matched path within 5 m of the route (a path that
    drives around blocks covers more of the route but is not correct).
(c) The 12 real 1 Hz Kubicka drives (``../shared/data/gps_kubicka``), each on its own directed
    map, at 1, 10 and 30 s sampling: recall and precision within 5 m.
Throughput is fixes per second of wall time on one core (fastmm with OMP_NUM_THREADS=1), the
matched path and per-fix positions included; fastmm's one-off UBODT precomputation is reported
apart. Both matchers get the same candidates radius, candidate count and GPS error.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import fastmm  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from matching_support import (KUBICKA_TRACKS, kubicka_map, kubicka_track, route_share,  # noqa: E402
                              synthetic_track)
from routing import SpeedModel, match_track, open_graph  # noqa: E402
from settings import Settings  # noqa: E402

TRACKS = int(os.environ.get("BENCH_TRACKS", "20"))
INTERVALS = (1.0, 10.0, 30.0)
SIGMAS = (10.0, 20.0, 30.0)
#: Directed OSM extracts: file in data/osm and the least distance (m) between a drive's stops.
DIRECTED = {"Shanghai Huangpu": ("shanghai_huangpu.osm", 1000.0),
            "Helsinki": ("helsinki.osm.pbf", 700.0)}


class FastMM:
    """fastmm on the same compiled graph (metric coordinates, directed edges)."""

    def __init__(self, graph, *, delta_m: float, cache: Path) -> None:
        self.graph = graph
        network = fastmm.Network()
        for e in range(graph.n_edges):
            line = graph.geom_xy[graph.geom_offsets[e]:graph.geom_offsets[e + 1]]
            network.add_edge(e, int(graph.edge_tail[e]), int(graph.edge_head[e]),
                             [tuple(c) for c in line.tolist()])
        network.finalize()
        self.network = network  # the matcher refers to it: keep it alive
        started = time.perf_counter()
        self.matcher = fastmm.FastMapMatch(network, fastmm.TransitionMode.SHORTEST,
                                           max_distance_between_candidates=delta_m,
                                           cache_dir=str(cache))
        self.setup_s = time.perf_counter() - started

    def match(self, lon, lat, t, *, sigma_m: float) -> list[np.ndarray]:
        """Matched pieces as WGS-84 (n, 2) arrays."""
        x, y = self.graph.to_metric.transform(lon, lat)
        traj = fastmm.Trajectory.from_xyt_tuples(list(zip(x.tolist(), y.tolist(), t.tolist())))
        result = self.matcher.match(traj, max_candidates=10,
                                    candidate_search_radius=max(50.0, 4 * sigma_m),
                                    gps_error=sigma_m, reverse_tolerance=2 * sigma_m)
        pieces = []
        for sub in result.subtrajectories:
            if sub.error_code != fastmm.MatchErrorCode.SUCCESS:
                continue
            xy = np.array([(p.x, p.y) for seg in sub.segments for edge in seg.edges
                           for p in edge.points])
            if len(xy) >= 2:
                pieces.append(np.column_stack(self.graph.to_lonlat.transform(xy[:, 0], xy[:, 1])))
        return pieces


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def synthetic(graph, other: FastMM) -> None:
    print("\n(a) synthetic Wuhan drives (road level; the carriageway is not decidable on this "
          "undirected table), %d per row" % TRACKS)
    print("| σ m | every s | fixes | ours fixes/s | ours σ given fixes/s | fastmm fixes/s "
          "| ours 5 m | fastmm 5 m | ours 30 m | fastmm 30 m |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for sigma in SIGMAS:
        for interval in INTERVALS:
            tracks = [synthetic_track(graph, rng, sigma_m=sigma, interval_s=interval)
                      for _ in range(TRACKS)]
            row = {k: [] for k in ("ours", "given", "fmm", "o5", "f5", "o30", "f30")}
            fixes = sum(len(tr.t) for tr in tracks)
            for tr in tracks:
                ours, seconds = timed(match_track, graph, tr.lon, tr.lat, tr.t)
                row["ours"].append(seconds)
                row["given"].append(timed(match_track, graph, tr.lon, tr.lat, tr.t,
                                          sigma_m=sigma)[1])
                theirs, seconds = timed(other.match, tr.lon, tr.lat, tr.t, sigma_m=sigma)
                row["fmm"].append(seconds)
                row["o5"].append(route_share(graph, tr.truth, ours, tolerance_m=5.0)[0])
                row["f5"].append(route_share(graph, tr.truth, theirs, tolerance_m=5.0)[0])
                row["o30"].append(route_share(graph, tr.truth, ours, tolerance_m=30.0)[0])
                row["f30"].append(route_share(graph, tr.truth, theirs, tolerance_m=30.0)[0])
            rate = {k: fixes / sum(row[k]) for k in ("ours", "given", "fmm")}
            share = {k: 100 * np.mean(row[k]) for k in ("o5", "f5", "o30", "f30")}
            print(f"| {sigma:.0f} | {interval:.0f} | {fixes} | {rate['ours']:,.0f} "
                  f"| {rate['given']:,.0f} | {rate['fmm']:,.0f} | {share['o5']:.1f}% "
                  f"| {share['f5']:.1f}% | {share['o30']:.1f}% | {share['f30']:.1f}% |",
                  flush=True)


def directed(settings: Settings, cache: Path) -> None:
    print("\n(b) synthetic drives on directed OSM extracts (one-way streets), %d per row: "
          "recall / precision within 5 m (worst recall)" % TRACKS)
    print("| place | σ m | every s | fixes | ours | fastmm | ours fixes/s | fastmm fixes/s |")
    print("|---|---|---|---|---|---|---|---|")
    for place, (name, min_length_m) in DIRECTED.items():
        graph = open_graph(ROOT / "data" / "osm" / name, SpeedModel(), settings.cache_dir)
        other = FastMM(graph, delta_m=3000.0, cache=cache)
        warm = synthetic_track(graph, np.random.default_rng(1), sigma_m=20.0, interval_s=10.0,
                               min_length_m=min_length_m)
        _compare(graph, other, warm, 20.0, {"fixes": 0, "o": [], "f": [], "ot": 0.0, "ft": 0.0})
        for sigma in SIGMAS:
            for interval in INTERVALS:
                rng = np.random.default_rng([int(sigma), int(interval)])
                tracks = [synthetic_track(graph, rng, sigma_m=sigma, interval_s=interval,
                                          min_length_m=min_length_m, legs=4)
                          for _ in range(TRACKS)]
                row = {"fixes": 0, "o": [], "f": [], "ot": 0.0, "ft": 0.0}
                for tr in tracks:
                    _compare(graph, other, tr, sigma, row)
                print(f"| {place} | {sigma:.0f} | {interval:.0f} | {_cells(row)} |", flush=True)


def _compare(graph, other: FastMM, tr, sigma_m: float, row: dict) -> None:
    """Match ``tr`` with both matchers (ours estimating σ, fastmm told ``sigma_m``) and add
    the times and (recall, precision) to ``row``."""
    ours, seconds = timed(match_track, graph, tr.lon, tr.lat, tr.t)
    row["ot"] += seconds
    theirs, seconds = timed(other.match, tr.lon, tr.lat, tr.t, sigma_m=sigma_m)
    row["ft"] += seconds
    row["fixes"] += len(tr.t)
    row["o"].append(route_share(graph, tr.truth, ours))
    row["f"].append(route_share(graph, tr.truth, theirs))


def _cells(row: dict) -> str:
    """Table cells: fixes, ours and fastmm as recall / precision (worst recall), rates."""
    def share(pairs):
        recall, precision = np.mean(pairs, axis=0) * 100
        return f"{recall:.1f} / {precision:.1f}% ({100 * np.min(pairs, axis=0)[0]:.1f}%)"
    return (f"{row['fixes']} | {share(row['o'])} | {share(row['f'])} "
            f"| {row['fixes'] / row['ot']:,.0f} | {row['fixes'] / row['ft']:,.0f}")


def kubicka(cache: Path) -> None:
    print("\n(c) Kubicka real drives: recall / precision within 5 m, mean of 12 (worst recall)")
    print("| every s | fixes | ours | fastmm | ours fixes/s | fastmm fixes/s |")
    print("|---|---|---|---|---|---|")
    rows = {dt: {"fixes": 0, "o": [], "f": [], "ot": 0.0, "ft": 0.0} for dt in INTERVALS}
    for tid in KUBICKA_TRACKS:
        graph = kubicka_map(tid)
        other = FastMM(graph, delta_m=3000.0, cache=cache)
        full = kubicka_track(tid)
        warm = full.every(30.0)  # build this map's road index before timing, as fastmm's setup
        match_track(graph, warm.lon, warm.lat, warm.t)
        for dt in INTERVALS:
            _compare(graph, other, full.every(dt), 10.0, rows[dt])
    for dt, row in rows.items():
        print(f"| {dt:.0f} | {_cells(row)} |")


def main() -> None:
    parts = set(sys.argv[1:]) or {"wuhan", "directed", "kubicka"}
    settings = Settings()
    started = time.perf_counter()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        if "wuhan" in parts:
            graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
            print(f"Wuhan: {graph.n_nodes} nodes, {graph.n_edges} directed edges")
            warm = synthetic_track(graph, np.random.default_rng(1), sigma_m=20.0,
                                   interval_s=10.0)
            match_track(graph, warm.lon, warm.lat, warm.t)  # compile the numba kernels
            other = FastMM(graph, delta_m=3000.0, cache=Path(tmp))
            print(f"fastmm UBODT precomputation (delta 3000 m): {other.setup_s:.1f} s")
            synthetic(graph, other)
        if "directed" in parts:
            directed(settings, Path(tmp))
        if "kubicka" in parts:
            kubicka(Path(tmp))
    print(f"\nload average at end: {os.getloadavg()}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
