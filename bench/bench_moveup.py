"""Benchmark of move-up (recommendations after a dispatch, and the HiGHS rebalance).

Run: .venv/bin/python bench/bench_moveup.py [--units 500] [--dispatches 30] [--seed 15]

Whole Wuhan, without a database: the 三圈 hotspots of data/poi (GCJ-02, converted), the H3
resolution-9 grid cells over every road, police stations and posts as waiting points (plus the
road node at each hotspot), patrol zones as each station's network Voronoi cells, and N patrol
cars spread over the stations (a few hundred metres off, as the simulated fleet is). Timed:

- building the waiting points' drive-time table (once per worker) and every unit's row (once,
  then only for units that moved); a refresh of the service's move-up loop after every unit
  moved (its rows again, and every unit's dispatch hint, which the loop works out every 30 s);
- a recommendation after one dispatch: the dispatched unit taken out, the fleet's cover from the
  kept rows, and the per-event rule (``recommend_moves``, up to 3 moves), many times;
- the rebalance (double standard model, HiGHS, up to 5 moves);
- as the baseline in the same run: one alarm's ranking of the whole fleet by drive time
  (``routing.search.rank``, what every alarm does), so that the ratios hold on a busy machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h3
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli.load import WUHAN_FILES  # noqa: E402
from patrol.cover_tables import CoverTables  # noqa: E402
from patrol.moveup import Fleet, moves_after_dispatch, recommend_moves  # noqa: E402
from patrol.moveup_live import demand_of, waiting_points  # noqa: E402
from patrol.rebalance import rebalance  # noqa: E402
from routing import SpeedModel, open_graph, snap_many  # noqa: E402
from routing.search import rank  # noqa: E402
from settings import DATA_DIR, Settings  # noqa: E402
from zones.grids import assign_cells, road_cells, station_snaps  # noqa: E402
from zones.loading import LoadReport, read_points  # noqa: E402
from zones.poi import station_kind  # noqa: E402

SITE_KINDS = ("police_station", "police_post")


def wuhan_city(graph, rng):
    """(demand rows, station rows, station zone per station) as the service reads them."""
    police = read_points(DATA_DIR / "poi" / "police.geojson", crs="gcj02",
                         report=LoadReport("police"))
    stations = [(i, str(name), station_kind(str(name)), lon, lat) for i, (name, lon, lat)
                in enumerate(zip(police["name"], police["lon"], police["lat"]))
                if station_kind(str(name)) in SITE_KINDS]
    snaps, kept = station_snaps(graph, np.array([(s[3], s[4]) for s in stations]))
    stations = [stations[i] for i in kept]
    cells = assign_cells(graph, road_cells(graph), snaps)
    zone_of_cell = {c.code: c.station for c in cells}
    rows = []
    for name, kind, category in WUHAN_FILES:
        if kind != "hotspots":
            continue
        frame = read_points(DATA_DIR / "poi" / name, crs="gcj02", report=LoadReport(name))
        for lon, lat in zip(frame["lon"], frame["lat"]):
            zone = zone_of_cell.get(h3.latlng_to_cell(lat, lon, 9), -1)
            rows.append(("hotspot", len(rows), category, float(lon), float(lat), zone))
    for c in cells:
        lat, lon = h3.cell_to_latlng(c.code)
        rows.append(("cell", len(rows), None, lon, lat, c.station))
    return rows, stations


def fleet_positions(graph, stations, n, rng):
    """N cars around randomly chosen stations (about 300 m off), snapped; their home zones."""
    home = rng.integers(0, len(stations), n)
    lon = np.array([stations[h][3] for h in home]) + rng.normal(0, 0.003, n)
    lat = np.array([stations[h][4] for h in home]) + rng.normal(0, 0.003, n)
    return snap_many(graph, lon, lat, limit_m=500), home


def timed(fn, repeat: int) -> tuple[list[float], object]:
    """Wall-clock seconds of each of ``repeat`` runs (and the CPU seconds of this process in
    ``CPU``), and the last answer."""
    times, out = [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - start)
        CPU.append(time.process_time() - cpu)
    return times, out


CPU: list[float] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--dispatches", type=int, default=30)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
    rows, stations = wuhan_city(graph, rng)
    demand, points = demand_of(graph, rows, snap_limit_m=settings.snap_limit_m)
    sites, site_points = waiting_points(graph, stations, rows, points,
                                        snap_limit_m=settings.snap_limit_m)
    print(f"Wuhan: {graph.n_nodes:,} nodes; {int(demand.hotspot.sum()):,} hotspots, "
          f"{int((~demand.hotspot).sum()):,} grid cells, {len(sites):,} waiting points "
          f"({len(stations)} stations and posts), {args.units} units")

    start = time.perf_counter()
    tables = CoverTables.build(graph, demand, points, site_points)
    print(f"waiting points' table: {time.perf_counter() - start:.2f} s (once per worker)")
    snaps, home = fleet_positions(graph, stations, args.units, rng)
    ids = np.arange(args.units)
    start = time.perf_counter()
    tables.fleet_rows(ids, snaps)
    print(f"every unit's row: {time.perf_counter() - start:.2f} s (then only units that moved)")
    moved, _ = fleet_positions(graph, stations, args.units, np.random.default_rng(args.seed + 1))
    (rows_s,), (cover, to_site) = timed(lambda: tables.fleet_rows(ids, moved), 1)
    fleet = Fleet(cover, np.ones(args.units, bool), home, to_site)
    (hints_s,), hints = timed(lambda: moves_after_dispatch(demand, fleet, tables.sites), 1)
    print(f"a move-up refresh after every unit moved: rows {rows_s:.2f} s (CPU {CPU[-2]:.2f} s); "
          f"every unit's dispatch hint ({len(hints)} found) {hints_s:.2f} s (CPU {CPU[-1]:.2f} s)")
    CPU.clear()

    baseline, _ = timed(lambda: rank(graph, snaps.snap(int(rng.integers(args.units))), snaps,
                                     k=25), args.dispatches)
    cpu = {"baseline": CPU[:]}
    CPU.clear()
    after_dispatch = []
    for gone in rng.choice(args.units, args.dispatches, replace=False):
        keep = ids[ids != gone]

        def recommend(keep=keep):
            cover, to_site = tables.fleet_rows(keep, snaps.take(keep))
            fleet = Fleet(cover, np.ones(len(keep), bool), home[keep], to_site)
            return recommend_moves(demand, fleet, tables.sites, max_moves=3)

        t, moves = timed(recommend, 1)
        after_dispatch += t
    cpu["after_dispatch"] = CPU[:]
    CPU.clear()
    cover, to_site = tables.fleet_rows(ids, snaps)
    fleet = Fleet(cover, np.ones(args.units, bool), home, to_site)
    rebalanced, result = timed(lambda: rebalance(demand, fleet, tables.sites, max_moves=5), 3)
    cpu["rebalance"] = CPU[:]

    base = np.median(baseline)
    print(f"baseline, one alarm's ranking of {args.units} units: median {base * 1e3:.1f} ms "
          f"(CPU {np.median(cpu['baseline']) * 1e3:.1f} ms)")
    for name, key, t, target in (
            ("recommendation after one dispatch", "after_dispatch", after_dispatch, 0.050),
            ("HiGHS rebalance (5 moves)", "rebalance", rebalanced, 2.0)):
        med = float(np.median(t))
        print(f"{name}: median {med * 1e3:.1f} ms, p90 {np.percentile(t, 90) * 1e3:.1f} ms, "
              f"CPU median {np.median(cpu[key]) * 1e3:.1f} ms, {med / base:.1f}× the baseline "
              f"(target {target * 1e3:.0f} ms)")
    print(f"last recommendation: {len(moves)} moves, expected coverage "
          f"{moves[0].before.expected:.4f} → {moves[-1].after.expected:.4f}" if moves else
          "last recommendation: no move")
    print(f"rebalance: {result.status}, gap {result.gap:.2g}, {len(result.moves)} moves; "
          f"hotspots reached twice within 3 min {result.before.hotspots_double:.3f} → "
          f"{result.after.hotspots_double:.3f}; expected {result.before.expected:.4f} → "
          f"{result.after.expected:.4f}")


if __name__ == "__main__":
    main()
