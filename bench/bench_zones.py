"""Benchmark of the PostGIS city model (issue: PostGIS city model).

Run: .venv/bin/python bench/bench_zones.py

1. `patrol load wuhan` from an empty database (a throwaway cluster, migrated): wall time of
   each step and of the whole, with the grid cell size and the row count of every table.
2. Latency of the point → grid → zone → station lookup over 10,000 random points in the Wuhan
   road network's extent (median, p99), one connection, after 100 warm-up lookups.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli.load import WUHAN_FILES  # noqa: E402
from routing import SpeedModel, open_graph  # noqa: E402
from settings import DATA_DIR, Settings  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.loading import load_generated_grid, load_hotspots, load_stations  # noqa: E402
from zones.migrate import upgrade  # noqa: E402
from zones.queries import locate  # noqa: E402

LOOKUPS = 10_000


def main() -> None:
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)  # compiled beforehand
    with temporary_cluster("patrol-bench-pg-") as cluster:
        url = cluster.up()
        upgrade(url)
        engine = sa.create_engine(url)
        start = time.perf_counter()
        for name, kind, category in WUHAN_FILES:
            t0 = time.perf_counter()
            path = DATA_DIR / "poi" / name
            report = (load_stations(engine, path, crs="gcj02") if kind == "stations" else
                      load_hotspots(engine, path, category=category, crs="gcj02"))
            print(f"  {report.summary()} in {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        print(f"  {load_generated_grid(engine, graph)} in {time.perf_counter() - t0:.2f} s")
        total = time.perf_counter() - start
        print(f"load wuhan from an empty database: {total:.1f} s (H3 resolution 9, ~0.1 km² cells)")
        with engine.connect() as conn:
            for table in ("stations", "hotspots", "areas", "patrol_zones"):
                n = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                print(f"  {table}: {n:,} rows")
            lon0, lat0 = graph.node_lonlat.min(axis=0)
            lon1, lat1 = graph.node_lonlat.max(axis=0)
            rng = np.random.default_rng(0)
            lon, lat = rng.uniform(lon0, lon1, LOOKUPS), rng.uniform(lat0, lat1, LOOKUPS)
            for x, y in zip(lon[:100], lat[:100]):
                locate(conn, x, y)
            times, hits = [], 0
            for x, y in zip(lon, lat):
                t0 = time.perf_counter()
                hits += locate(conn, x, y).station_id is not None
                times.append(time.perf_counter() - t0)
        ms = np.array(times) * 1e3
        print(f"lookup point → grid → zone → station over {LOOKUPS:,} random points: median "
              f"{np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms "
              f"({hits:,} fell in a zone)")
        engine.dispose()


if __name__ == "__main__":
    main()
