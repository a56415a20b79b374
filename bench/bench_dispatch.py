"""Benchmark of the dispatch service (issue: dispatch service).

Run: .venv/bin/python bench/bench_dispatch.py [compiled|networkx ...]  (default: both rankings)

Wuhan: all 派出所 as stations, grid and zones generated, 500 simulated patrol cars.
1. In-process ranking alone (no HTTP, no database): top 3 of the 500 cars by drive time to 300
   random incident points, compiled kernel against the plain networkx ranking.
2. ``POST /incidents`` latency (p50, p99) at 50 and 200 requests/s, open loop from a load
   generator on loopback (latency counts from each request's scheduled send time, so queueing
   is included), against ``patrol serve --workers 2`` while the simulator moves the 500 cars and
   reports them through the API; once with the compiled ranking and once with the same
   endpoint switched to the networkx ranking (``PATROL_RANKING=networkx``).
   Incidents are priority 4 (ranked and recommended, not auto-dispatched), so the fleet stays
   available for the whole run.
3. The alarm path under load, compiled ranking: priority-1 incidents at 50, 100 and 200/s for
   10 s each, each claiming and assigning a car, closed (the car released) ``HOLD_S`` seconds
   after its answer (an incident answered without a car too: a car the retry gave it meanwhile
   is released), while the simulator reports the 500 cars: latency; the CPU time of the service
   (both workers and their parent) and of PostgreSQL (all its processes) per alarm, from /proc
   (on a shared machine compare these, not latencies); and how many alarms were answered without
   a unit although one was free: a car that no assignment held from one second before the
   alarm's receipt to one second after its decision, among the cars dispatched during the phase
   (so reachable) — the target is none.
4. CPU per alarm, saturation left out: ``CPU_ALARMS`` priority-1 alarms, at most
   ``CPU_CONCURRENCY`` at once (closed loop: nothing queues, nothing times out), each closed
   when answered, while the simulator reports the 500 cars; the CPU seconds of the service and
   of PostgreSQL over them, less what the same processes use per second without alarms (the
   simulator, move-up; measured for as long, and at least 30 s: move-up's hints come in bursts
   every 30 s) times the alarms' duration, per alarm and its close. On a shared machine these
   are the figures to compare. Every part starts 15 s after the warm-up, once the move-up
   loop's first pass is done.

Run ``bench_dispatch.py cpu`` for part 4 alone (compiled ranking).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patrol.simulator import create_fleet  # noqa: E402
from routing import Snapped, SpeedModel, open_graph, snap_many, snap_points  # noqa: E402
from routing.baseline import NetworkxRanker  # noqa: E402
from routing.search import rank_to  # noqa: E402
from settings import DATA_DIR, Settings  # noqa: E402
from zones.api_keys import create_api_key  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.loading import load_generated_grid, load_stations  # noqa: E402
from zones.migrate import upgrade  # noqa: E402

RATES = ((50, 20.0), (200, 10.0))  # requests/s, seconds
DISPATCH_RATES, DISPATCH_SECONDS, HOLD_S = (50, 100, 200), 10.0, 1.0  # priority 1; held 1 s
FLEET = 500
PORT = 8765
#: Seconds after the warm-up before measuring (the move-up loop's first pass, seconds of CPU
#: per worker, is not the steady state), and the least time the CPU without alarms is
#: measured for (the hint period of ``patrol.moveup_loop``).
SETTLE_S, IDLE_S = 15.0, 30.0
REQUEST_TIMEOUT_S = 20.0
CPU_ALARMS, CPU_CONCURRENCY = 1000, 4


def in_process(graph, units: Snapped, targets) -> None:
    """The ranking alone, as the service calls it: the units' snaps as arrays (the service
    keeps them in its snap cache), the networkx baseline given the same snaps."""
    baseline = NetworkxRanker(graph)
    unit_list = units.snaps()
    rank_to(graph, targets[0], units, k=3)
    ours, theirs = [], []
    for target in targets:
        t0 = time.perf_counter()
        rank_to(graph, target, units, k=3)
        ours.append(time.perf_counter() - t0)
    for target in targets[:60]:
        t0 = time.perf_counter()
        baseline.rank_to(target, unit_list, k=3)
        theirs.append(time.perf_counter() - t0)
    ours_ms, theirs_ms = np.array(ours) * 1e3, np.array(theirs) * 1e3
    print(f"in-process ranking, top 3 of {len(units)} units, {len(targets)} incidents: "
          f"median {np.median(ours_ms):.3f} ms, p99 {np.percentile(ours_ms, 99):.3f} ms; "
          f"networkx median {np.median(theirs_ms):.1f} ms "
          f"({np.median(theirs_ms) / np.median(ours_ms):.0f}x)")


async def open_loop(key: str, rate: int, seconds: float, bodies: list[bytes], *,
                    hold_s: float | None = None) -> tuple[np.ndarray, int]:
    """Send ``rate`` requests/s for ``seconds`` on a fixed schedule (open loop); each latency
    counts from the request's scheduled send time. A first second at the same rate, not
    counted, opens the client's connections (dispatch consoles keep theirs open). aiohttp: the
    client's own work per request is a fraction of what httpx costs, and it shares the two
    cores with the service. With ``hold_s``, each incident is closed that many seconds after
    its answer; returns the latencies (ms) and the ids of the counted incidents answered
    without a unit."""
    warm_up = rate
    n = warm_up + int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=500)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    closes: list[asyncio.Task] = []
    failures: Counter = Counter()  # (status, the detail's start) of each error answer
    async with aiohttp.ClientSession(f"http://127.0.0.1:{PORT}", connector=connector,
                                     timeout=timeout, headers={
                                         "X-API-Key": key,
                                         "Content-Type": "application/json"}) as client:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def release(incident_id: int) -> None:
            await asyncio.sleep(hold_s)
            async with client.post(f"/incidents/{incident_id}/close") as reply:
                await reply.read()

        async def one(i: int) -> tuple[float, int, int | None]:
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            try:
                async with client.post("/incidents", data=bodies[i % len(bodies)]) as reply:
                    answer = await reply.read()
                    took = loop.time() - scheduled
            except (aiohttp.ClientError, asyncio.TimeoutError):  # overloaded
                return loop.time() - scheduled, 0, None
            if reply.status != 201:
                failures[(reply.status, json.loads(answer).get("detail", "")[:90])] += 1
                return took, reply.status, None
            if hold_s is None:
                return took, reply.status, None
            incident = json.loads(answer)
            closes.append(asyncio.create_task(release(incident["id"])))
            return took, reply.status, incident["id"] if incident["unit_id"] is None else None

        results = (await asyncio.gather(*(one(i) for i in range(n))))[warm_up:]
        await asyncio.gather(*closes, return_exceptions=True)
    failed = sum(c != 201 for _, c, _ in results)
    if failed:
        print(f"    {failed} of {len(results)} requests failed or timed out "
              f"({REQUEST_TIMEOUT_S:.0f} s); latencies below include them at the time they "
              f"gave up")
        for (status, detail), count in failures.most_common(5):
            print(f"    {count} x {status}: {detail}")
    return (np.array([t for t, _, _ in results]) * 1e3,
            [incident for _, _, incident in results if incident is not None])


#: Of the incidents ``ids`` decided without a unit, those for which a car was free: dispatched
#: during the phase (from ``since``), yet held by no assignment from a second before the
#: incident's receipt to a second after its decision (the margins: ``now()`` is when a
#: transaction began, and a claim or a close commits later).
FREE_WHILE_UNANSWERED = sa.text("""
SELECT i.id FROM incidents i
WHERE i.id = ANY(:ids) AND EXISTS (
  SELECT FROM units u
  WHERE u.kind = i.unit_kind
    AND EXISTS (SELECT FROM assignments a WHERE a.unit_id = u.id AND a.assigned_at >= :since)
    AND NOT EXISTS (SELECT FROM assignments a WHERE a.unit_id = u.id
                    AND a.assigned_at <= i.decided_at + interval '1 second'
                    AND coalesce(a.released_at, 'infinity')
                        >= i.received_at - interval '1 second'))""")


def cpu_seconds(pids: set[int]) -> float:
    """CPU seconds (user + system) of the processes ``pids``, with their children that have
    ended (and were waited for)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> set[int]:
    """``root`` and all its descendants now."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def postmaster_pid(url: str) -> int:
    """The PostgreSQL server's process id, as it reports it."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        data_dir = conn.execute(sa.text("SHOW data_directory")).scalar()
    engine.dispose()
    return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])


def serve(env: dict, *, port: int = PORT) -> subprocess.Popen:
    """``patrol serve --workers 2`` on ``port``, returned once both workers have started (the
    first answer to /health comes from whichever started first)."""
    log = tempfile.TemporaryFile("w+")
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/patrol"), "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(240):
        log.seek(0)
        try:
            if (log.read().count("Application startup complete") >= 2 and httpx.get(
                    f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    raise RuntimeError("the API did not start")


def wuhan_fleet(url: str, graph, *, grid: bool = True) -> None:
    """The database at ``url`` migrated, with all 派出所 as stations, the grid and zones (unless
    ``grid`` is false) and the 500 simulated cars."""
    upgrade(url)
    engine = sa.create_engine(url)
    load_stations(engine, DATA_DIR / "poi" / "police.geojson", crs="gcj02")
    if grid:
        load_generated_grid(engine, graph)
    create_fleet(engine, graph, FLEET)
    engine.dispose()


def dispatch_phase(url: str, server: subprocess.Popen, key: str, rate: int,
                   bodies: list[bytes]) -> None:
    """Priority-1 alarms at ``rate``/s (see the module): latency, CPU per alarm, and the
    alarms answered without a unit while one was free."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        since = conn.execute(sa.text("SELECT now()")).scalar()
    service, database = process_tree(server.pid), process_tree(postmaster_pid(url))
    cpu = cpu_seconds(service), cpu_seconds(database)
    ms, unanswered = asyncio.run(open_loop(key, rate, DISPATCH_SECONDS, bodies,
                                           hold_s=HOLD_S))
    alarms = len(ms) + rate  # with the uncounted first second
    service_ms = (cpu_seconds(service) - cpu[0]) / alarms * 1e3
    database_ms = (cpu_seconds(database | process_tree(postmaster_pid(url))) - cpu[1]
                   ) / alarms * 1e3
    with engine.connect() as conn:
        free = conn.execute(FREE_WHILE_UNANSWERED, {"ids": unanswered, "since": since}
                            ).scalars().all()
    engine.dispose()
    print(f"POST /incidents, priority 1 (claim, assign; closed after {HOLD_S:.0f} s), "
          f"{rate}/s for {DISPATCH_SECONDS:.0f} s ({len(ms)} requests): "
          f"p50 {np.median(ms):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms; CPU per alarm "
          f"(closes, fixes and background work included): service {service_ms:.2f} ms, "
          f"PostgreSQL {database_ms:.2f} ms; answered without a unit {len(unanswered)}, of "
          f"them while one was free {len(free)}" + (f" (incidents {free[:10]})" if free else ""))


async def closed_loop(key: str, bodies: list[bytes], n: int, concurrency: int) -> int:
    """``n`` priority-1 alarms, at most ``concurrency`` at once, each closed when answered;
    returns how many were answered 201."""
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{PORT}", headers={
            "X-API-Key": key, "Content-Type": "application/json"}) as client:

        async def one(i: int) -> bool:
            async with limit:
                async with client.post("/incidents", data=bodies[i % len(bodies)]) as reply:
                    answer = await reply.read()
                if reply.status != 201:
                    return False
                async with client.post(f"/incidents/{json.loads(answer)['id']}/close") as closed:
                    await closed.read()
                return True

        return sum(await asyncio.gather(*(one(i) for i in range(n))))


def cpu_phase(url: str, server: subprocess.Popen, key: str, bodies: list[bytes]) -> None:
    """Part 4 of the module: CPU per alarm (and its close) of the service and of PostgreSQL,
    without saturation, less the same processes' CPU without alarms for as long."""
    service, database = process_tree(server.pid), process_tree(postmaster_pid(url))

    def used() -> tuple[float, float]:
        return (cpu_seconds(service),
                cpu_seconds(database | process_tree(postmaster_pid(url))))

    asyncio.run(closed_loop(key, bodies, 50, CPU_CONCURRENCY))  # warm
    start, t0 = used(), time.monotonic()
    answered = asyncio.run(closed_loop(key, bodies, CPU_ALARMS, CPU_CONCURRENCY))
    busy, t1 = used(), time.monotonic()
    time.sleep(max(t1 - t0, IDLE_S))  # a whole move-up hint period: its passes come in bursts
    idle, idle_s, took = used(), time.monotonic() - t1, t1 - t0
    rate = [(idle[k] - busy[k]) / idle_s for k in (0, 1)]  # CPU seconds per second
    per_alarm = [((busy[k] - start[k]) - rate[k] * took) / CPU_ALARMS * 1e3 for k in (0, 1)]
    print(f"CPU per priority-1 alarm and its close, {CPU_ALARMS} alarms at most "
          f"{CPU_CONCURRENCY} at once ({answered} answered 201, {CPU_ALARMS / took:.0f}/s): "
          f"service {per_alarm[0]:.2f} ms, PostgreSQL {per_alarm[1]:.2f} ms (less "
          f"{rate[0] * 1e3:.0f} and {rate[1] * 1e3:.0f} ms/s used without alarms, "
          f"over {idle_s:.0f} s)")


def main() -> None:
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
    with temporary_cluster("patrol-bench-dispatch-") as cluster:
        url = cluster.up()
        wuhan_fleet(url, graph)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            key = create_api_key(conn, "dispatcher", name="bench")
            positions = conn.execute(sa.text(
                "SELECT lon, lat FROM unit_positions")).all()
        engine.dispose()
        lon = np.array([p[0] for p in positions])
        lat = np.array([p[1] for p in positions])
        snapped = snap_many(graph, lon, lat)
        units = snapped.take(np.flatnonzero(snapped.on_road))
        rng = np.random.default_rng(0)
        idx = rng.integers(0, len(lon), 2000)
        points_lon, points_lat = lon[idx] + rng.normal(0, 0.01, 2000), lat[idx] + rng.normal(
            0, 0.01, 2000)
        snaps, _ = snap_points(graph, points_lon, points_lat)
        keep = [i for i, s in enumerate(snaps) if s is not None]
        only_cpu = sys.argv[1:] == ["cpu"]
        if not only_cpu:
            in_process(graph, units, [snaps[i] for i in keep[:300]])
        bodies = {priority: [json.dumps({"lon": float(points_lon[i]), "lat": float(points_lat[i]),
                                         "category": "bench", "priority": priority}).encode()
                             for i in keep] for priority in (1, 4)}

        for ranking in ("compiled",) if only_cpu else sys.argv[1:] or ("compiled", "networkx"):
            # PYTHONPATH: serve this checkout's code, not whichever the `patrol` script finds.
            env = {**os.environ, "DATABASE_URL": url, "PATROL_RANKING": ranking,
                   "PYTHONPATH": str(ROOT)}
            server = serve(env)
            said = tempfile.TemporaryFile("w+")  # why the simulator stopped, if it did
            simulator = subprocess.Popen(
                [str(ROOT / ".venv/bin/patrol"), "fleet", "simulate", "--api",
                 f"http://127.0.0.1:{PORT}", "--interval", "5"],
                cwd=ROOT, env={**env, "PATROL_API_KEY": key}, stdout=subprocess.DEVNULL,
                stderr=said)
            try:
                asyncio.run(open_loop(key, 20, 2.0, bodies[4]))  # warm up both workers
                time.sleep(SETTLE_S)  # the move-up loop's first pass: every car's row, hints
                if only_cpu:
                    cpu_phase(url, server, key, bodies[1])
                    continue
                for rate, seconds in RATES:
                    ms, _ = asyncio.run(open_loop(key, rate, seconds, bodies[4]))
                    print(f"POST /incidents, {ranking} ranking, {rate}/s for {seconds:.0f} s "
                          f"({len(ms)} requests): p50 {np.median(ms):.1f} ms, "
                          f"p99 {np.percentile(ms, 99):.1f} ms")
                if ranking == "compiled":
                    cpu_phase(url, server, key, bodies[1])
                    for rate in DISPATCH_RATES:
                        dispatch_phase(url, server, key, rate, bodies[1])
                if simulator.poll() is not None:
                    said.seek(0)
                    print(f"    the simulator stopped during the runs: {said.read().strip()}")
            finally:
                simulator.terminate()
                server.terminate()
                simulator.wait(30)
                server.wait(30)


if __name__ == "__main__":
    main()
