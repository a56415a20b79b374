"""Benchmark of patrol compliance (见警率): every Wuhan target over one day.

Run: .venv/bin/python bench/bench_compliance.py [--hours 24] [--every 5] [--time-s 0.2]
     [--baseline-targets 40] [--match-units 3]

Whole Wuhan in a throwaway PostGIS as `patrol load wuhan` and `patrol load targets
--from-hotspots` make it, every zone planned with 15-minute loops (`plan_all`); then every loop
is driven for a day by a simulated car on the plan's timetable (:class:`LoopDrive`, stopping
each target's dwell), one position every ``--every`` seconds, without the HTTP service. Those
positions are on the road, so they serve as the matched tracks. Measured:

- compliance of every target over the day (:func:`patrol.compliance.compliance`): stays, windows,
  visits (the part the 5 s target is about);
- the rates per target, zone and shift;
- a baseline in the same run: a plain shapely loop per (target, unit) pair on a subset of the
  targets (distance of every position to the target, runs of positions within the distance,
  dwell by the positions' times), its time per pair scaled to all pairs, and the visited
  windows of both compared;
- optionally the map matching the use-case does first: ``--match-units`` cars' day of noisy
  fixes matched (fixes per second), and compliance on the matched tracks against the true ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_plans import load_city  # noqa: E402
from patrol.compliance import VISIT_M, Shifts, compliance  # noqa: E402
from patrol.compliance_rates import shift_rates, target_rates, zone_rates  # noqa: E402
from patrol.compliance_run import _matched, target_set  # noqa: E402
from patrol.loop_drive import LoopDrive  # noqa: E402
from patrol.planning import plan_all  # noqa: E402
from patrol.presence import Tracks  # noqa: E402
from routing import SpeedModel, open_graph  # noqa: E402
from settings import Settings  # noqa: E402
from zones import targets  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402

DAY0 = 1_764_518_400.0  # 2025-11-30T16:00Z = 2025-12-01 00:00 in Wuhan


def drives_of(graph, plans: list[dict], dwell: dict[int, float]) -> list[LoopDrive]:
    """One car per loop, each starting its first round at a different time before the day."""
    rng = np.random.default_rng(0)
    return [LoopDrive(graph, f["geometry"]["coordinates"], f["properties"]["stops"], dwell,
                      f["properties"]["duration_s"],
                      start_s=DAY0 - rng.uniform(0, f["properties"]["duration_s"]))
            for p in plans for f in p["features"]]


def true_tracks(drives: list[LoopDrive], start: float, end: float, every: float) -> Tracks:
    times = np.arange(start, end, every)
    parts = []
    for unit, drive in enumerate(drives):
        x, y = drive.metric_positions(times)
        n = len(times)
        parts.append(Tracks(np.full(n, unit, np.int64), np.zeros(n, np.int64), times, x, y))
    return Tracks.concat(parts)


def baseline(tracks: Tracks, chosen, sub: np.ndarray, start: float, end: float,
             visit_m: float) -> tuple[np.ndarray, float, int]:
    """Visited windows of targets ``sub`` by a shapely loop over every (target, unit) pair:
    positions within the distance (points, lines) or inside or within it (areas), runs of
    them, a run's stay from its first to its last position's time. Returns (visited, seconds,
    pairs)."""
    windows = np.arange(np.floor(start / 900) * 900, end, 900)
    visited = np.zeros((len(sub), len(windows)), bool)
    units = np.unique(tracks.unit)
    per_unit = {u: (tracks.t[tracks.unit == u], shapely.points(tracks.x[tracks.unit == u],
                                                               tracks.y[tracks.unit == u]))
                for u in units}
    started = time.perf_counter()
    for row, i in enumerate(sub):
        geom, dwell = chosen.geometry[i], chosen.dwell_s[i]
        for unit in units:
            t, points = per_unit[unit]
            inside = shapely.distance(points, geom) <= visit_m
            edges = np.diff(np.r_[0, inside.astype(np.int8), 0])
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1):
                if t[b] - t[a] >= dwell:
                    lo = int((t[a] + dwell - windows[0]) // 900)
                    hi = int(np.ceil((t[b] - windows[0]) / 900)) - 1
                    visited[row, max(lo, 0):min(max(hi, lo), len(windows) - 1) + 1] = True
    return visited, time.perf_counter() - started, len(sub) * len(units)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between positions")
    parser.add_argument("--time-s", type=float, default=0.2, help="PyVRP time per zone")
    parser.add_argument("--baseline-targets", type=int, default=40)
    parser.add_argument("--match-units", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
    with temporary_cluster("patrol-bench-compliance-") as cluster:
        url = cluster.up()
        load_city(url, graph)
        engine = sa.create_engine(url)
        t0 = time.perf_counter()
        plans = plan_all(engine, graph, loop_seconds=900, time_s=args.time_s, store=False)
        print(f"plans: {sum(len(p['features']) for p in plans)} loops in "
              f"{time.perf_counter() - t0:.1f} s")
        with engine.connect() as conn:
            chosen_targets = targets.all_targets(conn)
        engine.dispose()
    measure(graph, plans, chosen_targets, args)


def measure(graph, plans, chosen_targets, args) -> None:
    dwell = {t.id: float(t.dwell_s) for t in chosen_targets}
    drives = drives_of(graph, plans, dwell)
    start, end = DAY0, DAY0 + args.hours * 3600
    t0 = time.perf_counter()
    tracks = true_tracks(drives, start - 900, end, args.every)
    print(f"tracks: {len(drives)} cars, {len(tracks.t):,} positions every {args.every:g} s "
          f"over {args.hours:g} h, made in {time.perf_counter() - t0:.1f} s")
    chosen = target_set(graph, chosen_targets)
    kinds = dict(zip(*np.unique(chosen.kind, return_counts=True)))
    compliance(tracks, chosen, start_s=start, end_s=start + 3600)  # warm-up
    t0 = time.perf_counter()
    result = compliance(tracks, chosen, start_s=start, end_s=end)
    compute_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    zones, shifts = zone_rates(result), shift_rates(result, Shifts())
    target_rows = target_rates(result)
    rates_s = time.perf_counter() - t0
    planned = {s["target_id"] for p in plans for f in p["features"]
               for s in f["properties"]["stops"]}
    on_loop = np.isin(chosen.id, list(planned))
    print(f"targets: {len(chosen.id)} ({kinds}), {len(zones)} zones, {len(shifts)} zone-shifts; "
          f"{result.visited.shape[1]} windows")
    print(f"COMPLIANCE all targets, one day: {compute_s:.2f} s (target < 5 s); rates "
          f"{rates_s:.2f} s")
    print(f"visited target-windows: on a loop {result.visited[on_loop].mean():.4f}, "
          f"not on any loop {result.visited[~on_loop].mean() if (~on_loop).any() else 0:.4f}; "
          f"targets fully visited {sum(r['rate'] == 1.0 for r in target_rows)}")
    rng = np.random.default_rng(1)
    sub = np.sort(rng.choice(np.flatnonzero(on_loop), min(args.baseline_targets,
                                                           int(on_loop.sum())), replace=False))
    visited, base_s, pairs = baseline(tracks, chosen, sub, start, end, VISIT_M)
    all_pairs = len(chosen.id) * len(drives)
    scaled = base_s / pairs * all_pairs
    agree = (visited == result.visited[sub])
    print(f"BASELINE shapely loop: {pairs} pairs in {base_s:.2f} s -> {scaled:.0f} s for all "
          f"{all_pairs} pairs; ratio {scaled / compute_s:.0f}x slower; visited windows agree "
          f"{agree.mean():.4%} ({(~agree).sum()} of {agree.size} differ)")
    for r, w in zip(*np.nonzero(~agree)):
        print(f"  differs: target {chosen.id[sub[r]]} window {w}: ours "
              f"{result.visited[sub[r], w]}, longest stay {result.longest_s[sub[r], w]:.1f} s, "
              f"dwell {chosen.dwell_s[sub[r]]:g} s")
    if args.match_units:
        matched_check(graph, drives[:args.match_units], chosen, start, end, args.every)


def matched_check(graph, drives, chosen, start, end, every) -> None:
    """Noisy fixes of a few cars matched as the use-case does; compliance against the truth."""
    rng = np.random.default_rng(2)
    times = np.arange(start - 900, end, every)
    truth, matched, fixes, spent = [], [], 0, 0.0
    for unit, drive in enumerate(drives):
        x, y = drive.metric_positions(times)
        n = len(times)
        truth.append(Tracks(np.full(n, unit, np.int64), np.zeros(n, np.int64), times, x, y))
        lon, lat = graph.to_lonlat.transform(x + rng.normal(0, 10, n), y + rng.normal(0, 10, n))
        t0 = time.perf_counter()
        matched.append(_matched(graph, unit, times, np.asarray(lon), np.asarray(lat)))
        spent += time.perf_counter() - t0
        fixes += n
    a = compliance(Tracks.concat(truth), chosen, start_s=start, end_s=end)
    b = compliance(Tracks.concat(matched), chosen, start_s=start, end_s=end)
    touched = a.visited.any(axis=1) | b.visited.any(axis=1)
    same = a.visited[touched] == b.visited[touched]
    print(f"MATCHING {len(drives)} cars' day, {fixes:,} fixes with 10 m noise: {spent:.1f} s "
          f"({fixes / spent:,.0f} fixes/s); visited windows of their {int(touched.sum())} "
          f"targets, matched vs true: {same.mean():.4%} agree ({(~same).sum()} differ)")


if __name__ == "__main__":
    main()
