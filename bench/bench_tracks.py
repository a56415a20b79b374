"""Benchmark of GPS track ingest: 500 cars reporting every 5 s.

Run: .venv/bin/python bench/bench_tracks.py [--seconds 60] [--phases PHASE ...]

Wuhan: all 派出所 as stations, 500 simulated patrol cars, ``patrol serve --workers 2`` on a
temporary PostgreSQL cluster. Each car drives east at 36 km/h (a fix 50 m from its last every
5 s, so none is a jump). Phases of ``--seconds`` each, one after the other in the same run:

1. idle: the server up, nothing sent (the baseline);
2. ``POST /units/tracks``: every 5 s one batch with each car's new fix (a gateway);
3. ``POST /units/{id}/track``: each car posts its own fix every 5 s with its unit key (100
   requests/s, spread evenly);
4. ``PUT /units/positions``: every 5 s one batch of the 500 fixes (the fleet's position path,
   which appends every fix to the tracks in its one statement).

Server CPU is read from /proc (user + system time) of the API processes (the server and its
workers) and of every process of the PostgreSQL cluster (backends, WAL writer, checkpointer...),
at the start and end of each phase; the cost of a phase is its CPU minus the idle phase's, over
its wall time, as a share of one core, split into the API's part and the database's. The load
generator's own CPU is not counted.

Then in the database alone: the position batch statement of 500 fixes, with and without its
track append (:data:`zones.track_store.APPEND_TRACK`), ``REPEAT`` times each, alternating:
the statement's latency and its backend's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import numpy as np
import psutil
import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_dispatch import FLEET, serve, wuhan_fleet  # noqa: E402
from routing import SpeedModel, open_graph  # noqa: E402
from settings import Settings  # noqa: E402
from zones import alarm_store  # noqa: E402
from zones.api_keys import create_api_key  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.track_store import APPEND_TRACK  # noqa: E402

INTERVAL_S, STEP_DEG = 5.0, 0.0005  # seconds between fixes, ~50 m east
REPEAT = 200
PHASES = ("tracks batch", "track per car", "positions batch")
PORT = 8775  # not bench_dispatch's: both may run at once
API = f"http://127.0.0.1:{PORT}"


class Fleet:
    """The cars' positions; each tick moves every car one step east, 5 s later."""

    def __init__(self, ids: list[int], lon: list[float], lat: list[float]) -> None:
        self.ids, self.lon, self.lat = ids, np.array(lon), np.array(lat)
        self.clock = datetime.now(timezone.utc) - timedelta(hours=2)

    def tick(self) -> list[dict]:
        self.lon += STEP_DEG
        self.clock += timedelta(seconds=INTERVAL_S)
        stamp = self.clock.isoformat()
        return [{"unit_id": u, "lon": float(x), "lat": float(y), "timestamp": stamp}
                for u, x, y in zip(self.ids, self.lon, self.lat)]


def server_cpu_s(server: psutil.Process, postmaster: psutil.Process) -> np.ndarray:
    """User + system seconds so far of the API's processes and of the cluster's: [api, db]."""
    totals = np.zeros(2)
    for side, root in enumerate((server, postmaster)):
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            totals[side] += times.user + times.system
    return totals


async def every_tick(seconds: float, send) -> int:
    """Call ``send(tick)`` every 5 s (tick 0, 1, ...) for ``seconds``; returns the ticks."""
    start, tick = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        await send(tick)
        tick += 1
        await asyncio.sleep(max(0.0, start + tick * INTERVAL_S - time.monotonic()))
    return tick


async def run_phase(name: str, seconds: float, fleet: Fleet, keys: dict) -> int:
    """Send what phase ``name`` sends; returns the requests that failed."""
    failed = 0
    async with aiohttp.ClientSession(API) as http:
        async def call(method: str, path: str, body: dict, key: str) -> None:
            nonlocal failed
            async with http.request(method, path, json=body,
                                    headers={"X-API-Key": key}) as reply:
                await reply.read()
                failed += reply.status != 200

        async def gateway(_):
            fixes = fleet.tick()
            await call("POST", "/units/tracks", {"tracks": [
                {"unit_id": f["unit_id"], "fixes": [_plain(f)]} for f in fixes]}, keys[None])

        async def positions(_):
            await call("PUT", "/units/positions", {"fixes": fleet.tick()}, keys[None])

        async def each_car(_):
            fixes = fleet.tick()
            gap, start = INTERVAL_S / len(fixes), time.monotonic()
            tasks = []
            for i, f in enumerate(fixes):  # spread evenly over the 5 s: car i at start + i gaps
                tasks.append(asyncio.create_task(call(
                    "POST", f"/units/{f['unit_id']}/track", {"fixes": [_plain(f)]},
                    keys[f["unit_id"]])))
                await asyncio.sleep(max(0.0, start + (i + 1) * gap - time.monotonic()))
            await asyncio.gather(*tasks)

        sends = {"idle": None, "tracks batch": gateway, "track per car": each_car,
                 "positions batch": positions}
        if sends[name] is None:
            await asyncio.sleep(seconds)
        else:
            await every_tick(seconds, sends[name])
    return failed


def _cost(costs: dict[str, np.ndarray], name: str) -> str:
    """A phase's server CPU (API + database) as % of one core, and over the idle phase's."""
    api, db = costs[name] * 100
    said = f"server CPU {api + db:.2f} % of one core (API {api:.2f}, database {db:.2f})"
    if name == "idle":
        return said
    api, db = (costs[name] - costs["idle"]) * 100
    return f"{said}, over idle {api + db:.2f} % (API {api:.2f}, database {db:.2f})"


def _plain(fix: dict) -> dict:
    return {"lon": fix["lon"], "lat": fix["lat"], "timestamp": fix["timestamp"]}


def in_database(url: str, fleet: Fleet) -> None:
    """The position batch statement with and without its track append, alternating."""
    without = alarm_store._MOVE_UNITS.replace(APPEND_TRACK + ",", "")
    assert without != alarm_store._MOVE_UNITS
    results = {"with the track append": [], "without": []}
    cpu = dict.fromkeys(results, 0.0)
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        backend = psutil.Process(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        for _ in range(REPEAT):
            for label, sql in (("with the track append", alarm_store._MOVE_UNITS),
                               ("without", without)):
                fixes = fleet.tick()
                params = {"max_speed_kph": 150.0, "ids": [f["unit_id"] for f in fixes],
                          "lons": [f["lon"] for f in fixes], "lats": [f["lat"] for f in fixes],
                          "ats": [datetime.fromisoformat(f["timestamp"]) for f in fixes]}
                before, t0 = backend.cpu_times(), time.perf_counter()
                conn.execute(sql, params)
                results[label].append((time.perf_counter() - t0) * 1e3)
                after = backend.cpu_times()
                cpu[label] += after.user + after.system - before.user - before.system
    for label, ms in results.items():
        print(f"position batch of {FLEET} fixes in the database, {label}: p50 "
              f"{np.median(ms):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, backend CPU "
              f"{cpu[label] / REPEAT * 1e3:.2f} ms per batch ({REPEAT} batches)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES,
                        help="phases to run after idle (default: all)")
    args = parser.parse_args()
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
    with temporary_cluster("patrol-bench-tracks-") as cluster:
        url = cluster.up()
        wuhan_fleet(url, graph, grid=False)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT unit_id, lon, lat FROM unit_positions "
                                        "ORDER BY unit_id")).all()
            keys = {None: create_api_key(conn, "dispatcher", name="bench")}
            keys.update({r[0]: create_api_key(conn, "unit", name=f"car {r[0]}", unit_id=r[0])
                         for r in rows})
        engine.dispose()
        fleet = Fleet([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        postmaster = psutil.Process(int(
            (cluster.data_dir / "postmaster.pid").read_text().split()[0]))
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        server = serve(env, port=PORT)
        try:
            asyncio.run(run_phase("tracks batch", 2 * INTERVAL_S, fleet, keys))  # warm up
            costs = {}
            for name in ("idle", *args.phases):
                cpu0, t0 = server_cpu_s(psutil.Process(server.pid), postmaster), time.monotonic()
                failed = asyncio.run(run_phase(name, args.seconds, fleet, keys))
                wall = time.monotonic() - t0
                costs[name] = (server_cpu_s(psutil.Process(server.pid), postmaster) - cpu0) / wall
                print(f"{name}: {_cost(costs, name)} over {wall:.0f} s; failed requests {failed}")
        finally:
            server.terminate()
            server.wait(30)
        with sa.create_engine(url).connect() as conn:
            print("fixes stored:", conn.execute(sa.text("SELECT count(*) FROM track_fixes")
                                                ).scalar())
        in_database(url, fleet)


if __name__ == "__main__":
    main()
