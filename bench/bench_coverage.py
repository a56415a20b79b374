"""Benchmark of the coverage analysis and the map (issue: planner maps and coverage).

Run: .venv/bin/python bench/bench_coverage.py

Whole Wuhan, a throwaway PostGIS with the Wuhan data loaded: drive times from the nearest station
of each of the three tiers to every hotspot and every grid cell (``patrol.analysis.tier_times``),
against networkx multi-source Dijkstra (a virtual node joined to every station) on the same graph,
in one run. Then the coverage map: HTML size and the time headless Chromium takes to render it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli import WUHAN_FILES, _load_one  # noqa: E402
from maps.coverage import coverage_map  # noqa: E402
from patrol.analysis import TIERS, grid_cells, hotspots, station_tiers, tier_times  # noqa: E402
from patrol.coverage import gather  # noqa: E402
from routing import SpeedModel, Weights, open_graph, snap_points  # noqa: E402
from settings import DATA_DIR, Settings  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.loading import load_generated_grid  # noqa: E402
from zones.migrate import upgrade  # noqa: E402


def networkx_tier_times(graph, digraph, stations, targets) -> np.ndarray:
    w = Weights.free_flow(graph).forward
    snaps, _ = snap_points(graph, [s[2] for s in stations], [s[3] for s in stations])
    g = digraph  # a virtual source joined to every station, removed afterwards
    for snap in snaps:
        if snap is not None:
            for node, seconds, _ in snap.departures(graph, w):
                if not g.has_edge("src", node) or g["src"][node]["weight"] > seconds:
                    g.add_edge("src", node, weight=seconds)
    dist = nx.single_source_dijkstra_path_length(g, "src", cutoff=900, weight="weight")
    g.remove_node("src")
    return np.array([min((dist.get(n, np.inf) + s for n, s, _ in t.arrivals(graph, w)),
                         default=np.inf) if t is not None else np.inf for t in targets])


def main() -> None:
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
    digraph = nx.DiGraph()
    for e in np.argsort(-graph.edge_seconds):
        digraph.add_edge(int(graph.edge_tail[e]), int(graph.edge_head[e]),
                         weight=float(graph.edge_seconds[e]))
    with temporary_cluster("patrol-bench-coverage-") as cluster:
        url = cluster.up()
        upgrade(url)
        engine = sa.create_engine(url)
        for name, kind, category in WUHAN_FILES:
            _load_one(engine, kind, DATA_DIR / "poi" / name, "gcj02", category)
        load_generated_grid(engine, graph)
        with engine.connect() as conn:
            tiers = station_tiers(conn)
            place_sets = [hotspots(conn), grid_cells(conn)]
        snapped = [snap_points(graph, p.lon, p.lat)[0] for p in place_sets]  # shared by both
        tier_times(graph, tiers[1], place_sets[0], snaps=snapped[0])  # warm the kernels
        t0 = time.perf_counter()
        ours = [tier_times(graph, tiers[t], p, snaps=s) for p, s in zip(place_sets, snapped)
                for t in TIERS]
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = [networkx_tier_times(graph, digraph, tiers[t], s) for s in snapped
                  for t in TIERS]
        theirs_s = time.perf_counter() - t0
        same = all(np.allclose(np.where(o.seconds <= 900, o.seconds, np.inf),
                               np.where(r <= 900, r, np.inf), atol=1e-6)
                   for o, r in zip(ours, theirs))
        sizes = {t: len(tiers[t]) for t in TIERS}
        print(f"stations per tier {sizes}; {len(place_sets[0].ids):,} hotspots and "
              f"{len(place_sets[1].ids):,} grid cells, three tiers (places snapped beforehand, for both): {ours_s:.2f} s; networkx "
              f"multi-source {theirs_s:.1f} s ({theirs_s / ours_s:.0f}x); same answers: {same}")
        t0 = time.perf_counter()
        data = gather(engine, graph)
        page = Path(tempfile.mkdtemp()) / "coverage.html"
        coverage_map(data, tiles=None).save(str(page))
        build_s = time.perf_counter() - t0
        engine.dispose()
    t0 = time.perf_counter()
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", f"--user-data-dir={tempfile.mkdtemp()}",
                    "--window-size=1400,900", f"--screenshot={page.with_suffix('.png')}",
                    page.as_uri()], capture_output=True, check=True, timeout=300)
    render_s = time.perf_counter() - t0
    print(f"coverage map of Wuhan: built in {build_s:.1f} s, {page.stat().st_size / 1e6:.1f} MB, "
          f"rendered by headless Chromium (start to screenshot) in {render_s:.1f} s")


if __name__ == "__main__":
    main()
