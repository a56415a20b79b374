"""Benchmark of patrol plans: 15-minute loops through every zone's must-patrol targets.

Run: .venv/bin/python bench/bench_plans.py [--loop-minutes 15] [--zones N]

Whole Wuhan in a throwaway PostGIS: stations, hotspots, H3 grid and patrol zones as `patrol load
wuhan` makes them, then one point target at every 三圈 hotspot and metro station of each zone
(`patrol load targets --from-hotspots`). Measured:

- one zone (the median and the largest by targets): the whole use-case, database read to plan;
- every zone: `plan_all` (targets read, drive-time matrix, PyVRP, plan stored);
- quality per zone against OR-Tools' routing solver (guided local search) given the same time
  PyVRP took on the same integer matrix: loops (units) and total duration;
- on zones of up to 10 targets: the exact optimum (fewest loops, then least total duration) by
  enumeration (Held-Karp over subsets, then the best partition into loops).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli.load import WUHAN_FILES  # noqa: E402
from patrol.plan_solver import DEFAULT_TIME_S, solve_loops  # noqa: E402
from patrol.planning import plan_all, plan_zone  # noqa: E402
from patrol.plans import loop_problem  # noqa: E402
from routing import SpeedModel, open_graph  # noqa: E402
from settings import DATA_DIR, Settings  # noqa: E402
from zones import plan_store, targets  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.loading import load_generated_grid, load_hotspots, load_stations  # noqa: E402
from zones.migrate import upgrade  # noqa: E402


def loops_cost(travel, service, loops) -> int:
    """Total duration (ticks) of ``loops``."""
    return int(sum(sum(travel[a, b] for a, b in zip([0, *loop], [*loop, 0]))
                   + service[loop].sum() for loop in loops))


def ortools_loops(travel, service, limit: int, time_s: float) -> list[list[int]] | None:
    """OR-Tools' routing solver on the same problem: a vehicle per client available, a fixed
    cost per used vehicle (fewest loops first), duration capped at ``limit``."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(travel)
    manager = pywrapcp.RoutingIndexManager(n, n - 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    cost = travel  # arc cost: driving only, as PyVRP's distance
    duration = travel + service[:, None]  # time leaving i: its service, then the drive

    def arc(i, j):
        return int(cost[manager.IndexToNode(i), manager.IndexToNode(j)])

    def spent(i, j):
        return int(duration[manager.IndexToNode(i), manager.IndexToNode(j)])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(arc))
    routing.AddDimension(routing.RegisterTransitCallback(spent), 0, int(limit), True, "time")
    routing.SetFixedCostOfAllVehicles(2 * int(limit))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(max(1, int(time_s * 1000)))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    loops = []
    for v in range(n - 1):
        index, loop = solution.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            loop.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if loop:
            loops.append(loop)
    return loops


def exact_optimum(travel, service, limit: int) -> tuple[int, int]:
    """(fewest loops, least total duration) by enumeration: the best loop through every subset
    (Held-Karp), then the best partition of all clients into feasible loops."""
    n = len(travel) - 1
    full = (1 << n) - 1
    inf = float("inf")
    best_end = {}  # (subset, last) -> least time from the depot through subset ending at last
    for c in range(n):
        best_end[(1 << c, c)] = travel[0, c + 1] + service[c + 1]
    for size in range(2, n + 1):
        for subset in itertools.combinations(range(n), size):
            mask = sum(1 << c for c in subset)
            for last in subset:
                prev = mask ^ (1 << last)
                best_end[(mask, last)] = min(
                    best_end.get((prev, p), inf) + travel[p + 1, last + 1]
                    for p in subset if p != last) + service[last + 1]
    loop = [inf] * (full + 1)
    for (mask, last), t in best_end.items():
        loop[mask] = min(loop[mask], t + travel[last + 1, 0])
    best = [(inf, inf)] * (full + 1)
    best[0] = (0, 0)
    for mask in range(1, full + 1):
        low = mask & -mask
        sub = mask
        while sub:
            if sub & low and loop[sub] <= limit:
                rest = best[mask ^ sub]
                best[mask] = min(best[mask], (rest[0] + 1, rest[1] + loop[sub]))
            sub = (sub - 1) & mask
    return best[full]


def load_city(url: str, graph) -> None:
    upgrade(url)
    engine = sa.create_engine(url)
    for name, kind, category in WUHAN_FILES:
        path = DATA_DIR / "poi" / name
        if kind == "stations":
            load_stations(engine, path, crs="gcj02")
        else:
            load_hotspots(engine, path, category=category, crs="gcj02")
    load_generated_grid(engine, graph)
    added = targets.targets_from_hotspots(engine)
    print(f"targets generated from hotspots: {added}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loop-minutes", type=float, default=15)
    parser.add_argument("--zones", type=int, default=0, help="compare on N zones (0: all)")
    parser.add_argument("--time-s", type=float, default=DEFAULT_TIME_S,
                        help="PyVRP's time limit per zone (seconds)")
    args = parser.parse_args()
    loop_s = args.loop_minutes * 60
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
    with temporary_cluster("patrol-bench-plans-") as cluster:
        url = cluster.up()
        started = time.perf_counter()
        load_city(url, graph)
        print(f"city loaded in {time.perf_counter() - started:.1f} s")
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            zone_ids = plan_store.zones_with_targets(conn)
            sizes = {z: len(targets.zone_targets(conn, z)) for z in zone_ids}
        counts = sorted(sizes.values())
        print(f"zones with targets: {len(zone_ids)}; targets per zone: median "
              f"{statistics.median(counts)}, max {counts[-1]}, total {sum(counts)}")
        plan_zone(engine, graph, zone_ids[0], loop_seconds=loop_s, store=False,
                  time_s=args.time_s)  # warm-up
        by_size = sorted(zone_ids, key=lambda z: sizes[z])
        for label, zone in (("median", by_size[len(by_size) // 2]), ("largest", by_size[-1])):
            t0 = time.perf_counter()
            plan = plan_zone(engine, graph, zone, loop_seconds=loop_s, time_s=args.time_s)
            print(f"one zone ({label}, {sizes[zone]} targets): {time.perf_counter() - t0:.2f} s, "
                  f"{len(plan['features'])} loops, {len(plan['unreachable'])} unreachable")
        t0 = time.perf_counter()
        plans = plan_all(engine, graph, loop_seconds=loop_s, time_s=args.time_s)
        total_s = time.perf_counter() - t0
        loops = sum(len(p["features"]) for p in plans)
        unreachable = sum(len(p["unreachable"]) for p in plans)
        longest = max(f["properties"]["duration_s"] for p in plans for f in p["features"])
        print(f"all zones: {total_s:.1f} s for {len(plans)} zones, {loops} loops, "
              f"{unreachable} targets unreachable, longest loop {longest:.1f} s")
        compare(engine, graph, zone_ids[:args.zones or None], loop_s, args.time_s)


def compare(engine, graph, zone_ids, loop_s, time_s) -> None:
    """PyVRP against OR-Tools (same time) and against the exact optimum (small zones)."""
    ours_units = ours_total = their_units = their_total = 0
    wins = ties = losses = 0
    exact_rows = []
    for zone in zone_ids:
        with engine.connect() as conn:
            _, lon, lat = plan_store.zone_station(conn, zone)
            zone_targets = targets.zone_targets(conn, zone)
        problem = loop_problem(graph, (lon, lat), zone_targets, loop_seconds=loop_s)
        travel, service, limit = problem.travel, problem.service, problem.limit
        if len(travel) < 2:
            continue
        t0 = time.perf_counter()
        ours = solve_loops(travel, service, limit=limit, time_s=time_s).loops
        spent = time.perf_counter() - t0
        theirs = ortools_loops(travel, service, limit, spent)
        mine = (len(ours), loops_cost(travel, service, ours))
        other = (len(theirs), loops_cost(travel, service, theirs)) if theirs else (999, 0)
        ours_units, ours_total = ours_units + mine[0], ours_total + mine[1]
        their_units, their_total = their_units + other[0], their_total + other[1]
        wins, ties, losses = (wins + (mine < other), ties + (mine == other),
                              losses + (mine > other))
        if len(travel) - 1 <= 10:
            exact_rows.append((mine, exact_optimum(travel, service, limit)))
    print(f"PyVRP vs OR-Tools (same time, {len(zone_ids)} zones): units {ours_units} vs "
          f"{their_units}; total duration {ours_total / 10 / 3600:.2f} h vs "
          f"{their_total / 10 / 3600:.2f} h; zones better/equal/worse {wins}/{ties}/{losses}")
    optimal = sum(1 for mine, best in exact_rows if mine == best)
    same_units = sum(1 for mine, best in exact_rows if mine[0] == best[0])
    gap = [mine[1] / best[1] - 1 for mine, best in exact_rows if mine[0] == best[0] and best[1]]
    print(f"exact optimum on {len(exact_rows)} zones of <= 10 targets: optimal {optimal}, same "
          f"units {same_units}, duration gap where units equal: mean "
          f"{100 * np.mean(gap) if gap else 0:.2f} %, max {100 * max(gap, default=0):.2f} %")


if __name__ == "__main__":
    main()
