"""Benchmark of the coverage analysis and the map (issue: planner maps and coverage).

Run: .venv/bin/python bench/bench_coverage.py

Whole Wuhan, a throwaway PostGIS with the Wuhan data loaded: drive times from the nearest station
of each of the three tiers to every hotspot and every grid cell (``patrol.analysis.search_tier``: one search per tier),
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

from cli.load import WUHAN_FILES  # noqa: E402
from maps.coverage import coverage_map  # noqa: E402
from patrol.analysis import TIERS, grid_cells, hotspots, search_tier, station_tiers  # noqa: E402
from patrol.coverage import gather  # noqa: E402
from routing import SpeedModel, Weights, open_graph, snap_many, snap_points  # noqa: E402
from settings import DATA_DIR, Settings  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.loading import load_generated_grid, load_hotspots, load_stations  # noqa: E402
from zones.migrate import upgrade  # noqa: E402


def networkx_tier_times(graph, digraph, stations, place_sets) -> list[np.ndarray]:
    """One networkx multi-source search for the tier, evaluated at every place set."""
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
    return [np.array([min((dist.get(n, np.inf) + s for n, s, _ in t.arrivals(graph, w)),
                          default=np.inf) if t is not None else np.inf for t in targets])
            for targets in place_sets]


def our_tier_times(graph, stations, place_sets) -> list[np.ndarray]:
    """One search for the tier (``search_tier``), evaluated at every place set."""
    search = search_tier(graph, stations)
    return [search.at(snapped).seconds for snapped in place_sets]


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
            path = DATA_DIR / "poi" / name
            if kind == "stations":
                load_stations(engine, path, crs="gcj02")
            else:
                load_hotspots(engine, path, category=category, crs="gcj02")
        load_generated_grid(engine, graph)
        with engine.connect() as conn:
            tiers = station_tiers(conn)
            place_sets = [hotspots(conn), grid_cells(conn)]
        snapped = [snap_many(graph, p.lon, p.lat) for p in place_sets]  # shared by both
        as_snaps = [s.snaps() for s in snapped]
        our_tier_times(graph, tiers[1], snapped)  # warm the kernels
        ours_runs, theirs_runs = [], []
        for _ in range(5):  # alternate, keep the median of each
            t0 = time.perf_counter()
            ours = [t for tier in TIERS for t in our_tier_times(graph, tiers[tier], snapped)]
            ours_runs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            theirs = [t for tier in TIERS
                      for t in networkx_tier_times(graph, digraph, tiers[tier], as_snaps)]
            theirs_runs.append(time.perf_counter() - t0)
        ours_s, theirs_s = float(np.median(ours_runs)), float(np.median(theirs_runs))
        ours_all = np.concatenate([np.where(o <= 900, o, np.inf) for o in ours])
        theirs_all = np.concatenate([np.where(r <= 900, r, np.inf) for r in theirs])
        same = np.isclose(ours_all, theirs_all, atol=1e-6) | (ours_all == theirs_all)
        faster = ours_all[~same] < theirs_all[~same]  # networkx here enters by road ends only
        sizes = {t: len(tiers[t]) for t in TIERS}
        print(f"stations per tier {sizes}; {len(place_sets[0].ids):,} hotspots and "
              f"{len(place_sets[1].ids):,} grid cells, three tiers, one search per tier (places "
              f"snapped beforehand, for both), median of 5: ours {ours_s * 1e3:.0f} ms; networkx "
              f"multi-source {theirs_s * 1e3:.0f} ms ({theirs_s / ours_s:.1f}x); same answers: "
              f"{same.sum():,} of {len(same):,}; the others faster by ours (a station on the "
              f"place's own road, driven directly): {bool(np.all(faster))}")
        t0 = time.perf_counter()
        data = gather(engine, graph)
        page = Path(tempfile.mkdtemp()) / "coverage.html"
        coverage_map(data, tiles=None).save(str(page))
        build_s = time.perf_counter() - t0
        engine.dispose()
    renders = []
    for _ in range(3):  # a browser's cold start varies; keep the median of three
        t0 = time.perf_counter()
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", f"--user-data-dir={tempfile.mkdtemp()}",
                        "--window-size=1400,900", f"--screenshot={page.with_suffix('.png')}",
                        page.as_uri()], capture_output=True, check=True, timeout=300)
        renders.append(time.perf_counter() - t0)
    render_s = float(np.median(renders))
    print(f"coverage map of Wuhan: built in {build_s:.1f} s, {page.stat().st_size / 1e6:.1f} MB, "
          f"rendered by headless Chromium (start to screenshot, median of 3) in {render_s:.1f} s")


if __name__ == "__main__":
    main()
