"""Benchmark of ``patrol simulate`` (issue: coverage-keeping moves, the simulation).

Run: .venv/bin/python bench/bench_simulate.py [--hours 24] [--rate 120] [--seed 0]

Whole Wuhan in a throwaway PostGIS (stations, hotspots, H3 grid cells as ``patrol load wuhan``
loads them) with the 500 simulated patrol cars of ``patrol fleet create``; then the command
itself, ``patrol simulate --hours H --rate R -o DIR`` (both runs, move-up off and on, on the
same incidents), in a subprocess, timed from start to exit. Reported: the command's wall time,
each run's own wall time, and per run the share of priority-1 incidents reached within
1/3/5 minutes, mean and p90 response, moves per incident, and the change in late priority-1
arrivals (beyond 3 minutes) with move-up. Targets: 24 h in under 2 minutes; at least 10 % fewer
late arrivals with at most 0.5 moves per incident.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zones.cluster import temporary_cluster  # noqa: E402
from zones.migrate import upgrade  # noqa: E402


def patrol(url: str, *argv: str) -> None:
    """Run a ``patrol`` command on the database ``url``."""
    subprocess.run([sys.executable, "-m", "cli", *argv], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "DATABASE_URL": url})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--rate", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    with temporary_cluster("patrol-bench-simulate-") as cluster:
        url = cluster.up()
        upgrade(url)
        patrol(url, "load", "wuhan")
        patrol(url, "fleet", "create", "--count", "500")
        started = time.perf_counter()
        patrol(url, "simulate", "--hours", f"{args.hours:g}", "--rate", f"{args.rate:g}",
               "--seed", str(args.seed), "-o", str(out))
        wall = time.perf_counter() - started
    summary = json.loads((out / "summary.json").read_text())
    inputs = summary["inputs"]
    print(f"patrol simulate --hours {args.hours:g} --rate {args.rate:g} --seed {args.seed}: "
          f"{inputs['incidents']} incidents, {inputs['units']} units; the command (both runs, "
          f"graph and city read) took {wall:.1f} s")
    for name, run in summary["runs"].items():
        p1 = run["priority_1"]
        within = ", ".join(f"{int(s) // 60} min {v:.1%}" for s, v in p1["within"].items())
        print(f"  move-up {name}: run {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU; priority 1 ({p1['count']}): "
              f"{within}; late {p1['late']}; mean {p1['mean_s']:.0f} s, p90 "
              f"{p1['p90_s']:.0f} s; moves per incident {run['moves_per_incident']:.2f}")
    change = summary.get("comparison", {})
    if change:
        share = change["fewer_late_share"]
        print(f"  move-up: {share:.1%} fewer late priority-1 arrivals "
              f"({change['priority_1_late_off']} → {change['priority_1_late_on']}), "
              f"{change['moves_per_incident']:.2f} moves per incident; files in {out}")


if __name__ == "__main__":
    main()
