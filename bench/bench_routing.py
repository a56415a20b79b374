"""Benchmark of the road engine on the whole Wuhan network (issue: road network engine).

Run: .venv/bin/python bench/bench_routing.py

Over 200 random police stations (派出所 rows of police.geojson, GCJ-02, seed 0), in one run:
(a) the reachable set for 1+3+5 minutes from one search, against networkx single_source_dijkstra
    with a cutoff on the same graph (as an osmnx MultiDiGraph and as a simple DiGraph);
(b) the same plus the three ring polygons.
Then the load time and memory of the compiled graph, each in a fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing import SpeedModel, open_graph, reach, rings, snap_points  # noqa: E402
from routing.graph_store import compiled_path  # noqa: E402
from settings import Settings  # noqa: E402

STATIONS = 200
LIMIT_S = 300.0


def police_station_snaps(graph, count: int, seed: int = 0):
    frame = gpd.read_file(ROOT / "data" / "poi" / "police.geojson")
    frame = frame[frame["name"].str.endswith("派出所")]
    snaps, _ = snap_points(graph, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(),
                           crs="gcj02")
    on_network = [s for s in snaps if s is not None]
    rng = np.random.default_rng(seed)
    return [on_network[i] for i in rng.choice(len(on_network), count, replace=False)]


def timed(fn, items):
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return np.array(out) * 1e3


def summary(ms: np.ndarray) -> str:
    return f"median {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms"


def load_in_fresh_process(path: Path) -> dict:
    code = f"""
import json, time, resource, sys
sys.path.insert(0, {str(ROOT)!r})
def rss():
    return int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024
import numpy, shapely, pyproj, numba  # libraries every command imports anyway
from routing.compiled import load_compiled
before = rss()
t0 = time.perf_counter()
g = load_compiled({str(path)!r})
g.road_index  # the spatial index is built on load
seconds = time.perf_counter() - t0
print(json.dumps({{"seconds": seconds, "rss_mb": rss(), "graph_mb": rss() - before}}))
"""
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                      text=True, check=True).stdout) for _ in range(5)]
    return {k: float(np.median([r[k] for r in runs])) for k in runs[0]}


def main() -> None:
    settings = Settings()
    speeds = SpeedModel()
    graph = open_graph(settings.graph, speeds, settings.cache_dir)
    snaps = police_station_snaps(graph, STATIONS)
    heads = [int(graph.edge_head[s.edge]) for s in snaps]

    multi = nx.MultiDiGraph()
    multi.add_nodes_from(range(graph.n_nodes))
    for e in range(graph.n_edges):
        multi.add_edge(int(graph.edge_tail[e]), int(graph.edge_head[e]),
                       travel_time=float(graph.edge_seconds[e]))
    simple = nx.DiGraph()
    for u, v, d in multi.edges(data=True):
        if not simple.has_edge(u, v) or simple[u][v]["travel_time"] > d["travel_time"]:
            simple.add_edge(u, v, travel_time=d["travel_time"])

    reach(graph, snaps[0], direction="depart", limit_s=LIMIT_S)  # compile the kernel
    ours = timed(lambda s: reach(graph, s, direction="depart", limit_s=LIMIT_S), snaps)
    nx_multi = timed(lambda n: nx.single_source_dijkstra(multi, n, cutoff=LIMIT_S,
                                                         weight="travel_time"), heads)
    nx_simple = timed(lambda n: nx.single_source_dijkstra(simple, n, cutoff=LIMIT_S,
                                                          weight="travel_time"), heads)
    with_rings = timed(lambda s: rings(reach(graph, s, direction="depart", limit_s=LIMIT_S),
                                       [60, 180, 300], buffer_m=settings.circle_buffer_m,
                                       cell_m=settings.circle_cell_m), snaps)
    sizes = [len(reach(graph, s, direction="depart", limit_s=LIMIT_S).settled) for s in snaps]
    load = load_in_fresh_process(compiled_path(settings.graph, speeds, settings.cache_dir))

    print(f"graph: {graph.n_nodes:,} nodes, {graph.n_edges:,} directed edges (simplified from "
          f"the source's OSM nodes); {STATIONS} police stations; median {np.median(sizes):.0f} "
          f"nodes reached in 300 s")
    print(f"(a) reachable set 1+3+5 min, one search from the snapped point: {summary(ours)}")
    print(f"    networkx single_source_dijkstra, cutoff 300 s, MultiDiGraph: {summary(nx_multi)}"
          f" -> {np.median(nx_multi) / np.median(ours):.1f}x")
    print(f"    networkx single_source_dijkstra, cutoff 300 s, DiGraph:      {summary(nx_simple)}"
          f" -> {np.median(nx_simple) / np.median(ours):.1f}x")
    print(f"(b) the same with the three ring polygons: {summary(with_rings)}")
    print(f"load compiled graph + spatial index (fresh process, median of 5): "
          f"{load['seconds'] * 1e3:.0f} ms; resident {load['rss_mb']:.0f} MB in all, "
          f"{load['graph_mb']:.0f} MB for the graph")


if __name__ == "__main__":
    main()
