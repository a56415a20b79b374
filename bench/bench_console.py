"""Benchmark of the dispatch console (GET /console and its push channel).

Run: .venv/bin/python bench/bench_console.py [--screenshot docs/console.png]

Wuhan: all 派出所 as stations, grid and zones generated, 500 simulated patrol cars reporting
every 5 s through the API (``patrol fleet simulate``), served by ``patrol serve --workers 2``;
the console is opened in headless Chromium (selenium, Debian's chromium-driver).
1. First paint: from the start of navigation to the first snapshot drawn (every unit's marker
   and the queue), with the key already in the tab's session, median and worst of 5 loads.
2. Marker delay: a probe unit (not simulated) is moved through ``PUT /units/{id}/position``
   every 0.5 s; the delay runs from the moment the request is sent to the moment the page moves
   the marker (both on this machine's clock): p50, p95, max.
3. Bytes per second pushed to one console (a stream read by a plain client for 30 s; the first
   snapshot counted apart).
4. Server CPU: the two workers' CPU (user + system, % of one core) over 20 s with no console,
   with one, and with ten (plain stream readers spread over both workers); the cost per
   console is the difference divided by the consoles. Measured first, on a server started with
   the move-up loop off (``PATROL_MOVEUP_INTERVAL_S=0``): its refreshes come in bursts of
   seconds of CPU (the dispatch hints every 30 s), larger than ten consoles' share, so with it
   on the difference of two 20 s windows measures the bursts. Everything else runs on a server
   with move-up on (the default).
5. The coverage overlay (the 1/3/5-minute circles of the free units): seconds to work it out
   for the moving fleet, to answer it from memory, and its size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import httpx
import numpy as np
import psutil
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patrol.live_rings import MOVED_EVERY_S  # noqa: E402
from patrol.simulator import create_fleet  # noqa: E402
from routing import SpeedModel, open_graph  # noqa: E402
from settings import DATA_DIR, Settings  # noqa: E402
from zones.api_keys import create_api_key  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.loading import load_generated_grid, load_stations  # noqa: E402
from zones.migrate import upgrade  # noqa: E402
from zones.unit_store import create_units  # noqa: E402

FLEET, PROBE_MOVES, PROBE_EVERY_S = 500, 60, 0.5
BYTES_SECONDS, CPU_SECONDS, MANY_CONSOLES = 30.0, 20.0, 10
PORT = 8775  # not bench_dispatch's: both may run on one machine
BASE = f"http://127.0.0.1:{PORT}"


def prepare(url: str) -> tuple[str, int]:
    """The city, the fleet, a probe unit and a dispatcher key."""
    settings = Settings()
    graph = open_graph(settings.graph, SpeedModel(), settings.cache_dir)
    upgrade(url)
    engine = sa.create_engine(url)
    load_stations(engine, DATA_DIR / "poi" / "police.geojson", crs="gcj02")
    load_generated_grid(engine, graph)
    create_fleet(engine, graph, FLEET)
    with engine.begin() as conn:
        station, lon, lat = conn.execute(sa.text(
            "SELECT u.home_station_id, p.lon, p.lat FROM units u JOIN unit_positions p "
            "ON p.unit_id = u.id ORDER BY u.id LIMIT 1")).one()
        create_units(conn, [{"callsign": "PROBE-1", "kind": "patrol_car",
                             "home_station_id": station, "lon": lon, "lat": lat,
                             "simulated": False}])
        probe = conn.execute(sa.text("SELECT id FROM units WHERE callsign = 'PROBE-1'")).scalar()
        key = create_api_key(conn, "dispatcher", name="bench console")
    engine.dispose()
    return key, probe


def serve(env: dict) -> subprocess.Popen:
    """The API with two workers on :data:`PORT` (as ``patrol serve --workers 2``), once it
    answers. uvicorn's parent kills a worker that does not answer its health check within
    5 s, which a worker loading the Wuhan graph on a busy machine may not: allowed 60 s."""
    log = tempfile.NamedTemporaryFile(prefix="patrol-bench-console-", suffix=".log",
                                      delete=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api:create_app", "--factory", "--workers", "2",
         "--port", str(PORT), "--timeout-worker-healthcheck", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{BASE}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    for process in [*psutil.Process(server.pid).children(recursive=True), server]:
        process.kill()  # the workers too: they would keep the port
    raise RuntimeError(f"the API did not start on port {PORT}: "
                       f"{Path(log.name).read_text()[-3000:]}")


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,900", "--disable-background-networking"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def first_paint(driver: webdriver.Chrome, key: str) -> list[float]:
    """Milliseconds from navigation start to the first snapshot drawn, five loads."""
    driver.get(f"{BASE}/console")
    driver.execute_script("sessionStorage.setItem('patrol.console.key', arguments[0])", key)
    took = []
    for _ in range(5):
        driver.get(f"{BASE}/console")
        WebDriverWait(driver, 30, poll_frequency=0.05).until(
            lambda d: d.execute_script("return document.body.dataset.painted === 'true'"))
        took.append(driver.execute_script(
            "return performance.getEntriesByName('console-painted')[0].startTime"))
    return took


def marker_delays(driver: webdriver.Chrome, key: str, probe: int, lon: float, lat: float
                  ) -> np.ndarray:
    """Seconds from sending each probe fix to the page moving its marker."""
    driver.execute_script("window.patrolConsole.recordMoves = true")
    sent = []
    with httpx.Client(base_url=BASE, headers={"X-API-Key": key}) as client:
        for i in range(PROBE_MOVES):
            x = round(lon + 0.0001 * (i % 20 + 1) * (1 if i % 2 else -1), 6)
            t0 = time.time()
            reply = client.put(f"/units/{probe}/position", json={
                "lon": x, "lat": lat, "timestamp": datetime.now(timezone.utc).isoformat()})
            reply.raise_for_status()
            sent.append((x, t0))
            time.sleep(max(0.0, PROBE_EVERY_S - (time.time() - t0)))
    time.sleep(2)
    log = driver.execute_script("return window.patrolConsole.moveLog")
    moved = [(x, t / 1000) for unit, x, _, t in log if unit == probe]
    delays = []
    for x, t0 in sent:  # the first time the marker shows this fix after it was sent
        shown = [t for lon_shown, t in moved if abs(lon_shown - x) < 1e-7 and t >= t0 - 0.01]
        delays.append(min(shown) - t0 if shown else np.inf)
    return np.array(delays)


async def read_streams(key: str, consoles: int, seconds: float) -> list[tuple[int, int]]:
    """(snapshot bytes, bytes after it) of each of ``consoles`` streams read for ``seconds``."""
    async with aiohttp.ClientSession(headers={"X-API-Key": key}) as session:
        async def one() -> tuple[int, int]:
            first = rest = 0
            async with session.get(f"{BASE}/console/events") as reply:
                reply.raise_for_status()
                end = time.monotonic() + seconds
                while (left := end - time.monotonic()) > 0:
                    try:
                        chunk = await asyncio.wait_for(reply.content.readany(), left)
                    except asyncio.TimeoutError:
                        break
                    if not first and b"event: snapshot" in chunk:
                        first = len(chunk)
                        while not chunk.endswith(b"\r\n\r\n"):  # the rest of the snapshot
                            chunk = await reply.content.readany()
                            first += len(chunk)
                    else:
                        rest += len(chunk)
            return first, rest
        return await asyncio.gather(*(one() for _ in range(consoles)))


def worker_cpu_s(server: subprocess.Popen) -> float:
    processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(True)]
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


def cpu_with(server: subprocess.Popen, key: str, consoles: int) -> float:
    """The workers' CPU, % of one core, over CPU_SECONDS with ``consoles`` streams open."""
    before, t0 = worker_cpu_s(server), time.monotonic()
    if consoles:
        asyncio.run(read_streams(key, consoles, CPU_SECONDS))
    else:
        time.sleep(CPU_SECONDS)
    return 100 * (worker_cpu_s(server) - before) / (time.monotonic() - t0)


def overlay_costs(driver: webdriver.Chrome, key: str) -> tuple[float, float, int]:
    """The coverage overlay (GET /coverage/live/rings) of the moving fleet: seconds to work it
    out (the first request once the kept answer is older than MOVED_EVERY_S, no page asking
    meanwhile), to answer from memory (the next one, on the same connection: the same
    worker), and its size in bytes."""
    driver.get("about:blank")
    time.sleep(MOVED_EVERY_S + 1)
    with httpx.Client(base_url=BASE, headers={"X-API-Key": key}, timeout=120) as client:
        client.get("/health")  # the connection opened
        t0 = time.perf_counter()
        first = client.get("/coverage/live/rings")
        t1 = time.perf_counter()
        client.get("/coverage/live/rings").raise_for_status()
        t2 = time.perf_counter()
    first.raise_for_status()
    return t1 - t0, t2 - t1, len(first.content)


def screenshot(driver: webdriver.Chrome, key: str, path: Path) -> None:
    """The console with a few incidents, one selected with its ranked units, the coverage
    overlay, the move-up hints and a car's last minutes replayed."""
    with httpx.Client(base_url=BASE, headers={"X-API-Key": key}) as client:
        for lon, lat, priority in ((114.262, 30.595, 4), (114.285, 30.610, 2),
                                   (114.300, 30.590, 3), (114.270, 30.580, 1)):
            client.post("/incidents", json={"lon": lon, "lat": lat, "category": "theft",
                                            "priority": priority}).raise_for_status()
        car = client.get("/units").json()[40]["id"]
    driver.get(f"{BASE}/console")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#queue li"))
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(
        "return window.patrolConsole.overlay()"))
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#moves li"))
    driver.execute_script(f"window.patrolConsole.replayUnit({car}, 10)")
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return window.patrolConsole.replay()"))
    driver.execute_script("window.patrolConsole.seekReplay(600)")
    driver.find_element(By.CSS_SELECTOR, "#queue li").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                              "#candidates tbody tr"))
    driver.execute_script("window.PatrolConsole.map.setView([30.598, 114.278], 13)")
    time.sleep(2)
    driver.save_screenshot(str(path))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the console here")
    args = parser.parse_args()
    with temporary_cluster("patrol-bench-console-") as cluster:
        url = cluster.up()
        key, probe = prepare(url)
        env = {**os.environ, "DATABASE_URL": url, "PATROL_MAP_TILES": "none",
               "PYTHONPATH": str(ROOT)}
        running = start({**env, "PATROL_MOVEUP_INTERVAL_S": "0"}, key)
        driver = None
        try:
            print_cpu(running[0], key)
            stop(*running)
            running = start(env, key)
            driver = browser()
            (first, rest), = asyncio.run(read_streams(key, 1, BYTES_SECONDS))
            print(f"pushed to one console: snapshot {first / 1e3:.1f} kB, then "
                  f"{rest / BYTES_SECONDS / 1e3:.2f} kB/s over {BYTES_SECONDS:.0f} s "
                  f"({FLEET} cars reporting every 5 s)")
            paint = first_paint(driver, key)
            print(f"first paint (navigation start to {FLEET + 1} units drawn), 5 loads: "
                  f"median {np.median(paint):.0f} ms, worst {max(paint):.0f} ms")
            with httpx.Client(base_url=BASE, headers={"X-API-Key": key}) as client:
                unit = client.get(f"/units/{probe}").json()
            delays = marker_delays(driver, key, probe, unit["lon"], unit["lat"])
            missed = int(np.isinf(delays).sum())
            shown = delays[np.isfinite(delays)] * 1e3
            print(f"position write to marker moved, {len(delays)} fixes every "
                  f"{PROBE_EVERY_S} s: p50 {np.median(shown):.0f} ms, "
                  f"p95 {np.percentile(shown, 95):.0f} ms, max {shown.max():.0f} ms"
                  + (f"; {missed} never shown" if missed else ""))
            worked, kept, size = overlay_costs(driver, key)
            print(f"coverage overlay of {FLEET + 1} units: worked out in {worked:.2f} s, "
                  f"answered from memory in {1e3 * kept:.0f} ms, {size / 1e6:.2f} MB")
            if args.screenshot:
                screenshot(driver, key, args.screenshot)
                print(f"screenshot: {args.screenshot}")
        finally:
            if driver is not None:
                driver.quit()
            stop(*running)


def start(env: dict, key: str) -> tuple[subprocess.Popen, subprocess.Popen]:
    """The API (:func:`serve`) and the simulator reporting the fleet to it, after its first
    reports."""
    server = serve(env)
    simulator = subprocess.Popen(
        [str(ROOT / ".venv/bin/patrol"), "fleet", "simulate", "--api", BASE,
         "--interval", "5"], cwd=ROOT, env={**env, "PATROL_API_KEY": key},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(10)
    return server, simulator


def print_cpu(server: subprocess.Popen, key: str) -> None:
    """Part 4: the workers' CPU with no, one and ten consoles."""
    cpu_none = cpu_with(server, key, 0)
    cpu_one = cpu_with(server, key, 1)
    cpu_many = cpu_with(server, key, MANY_CONSOLES)
    print(f"server CPU (2 workers, move-up loop off, % of one core, {CPU_SECONDS:.0f} s each): "
          f"no console {cpu_none:.1f} %, 1 console {cpu_one:.1f} %, {MANY_CONSOLES} consoles "
          f"{cpu_many:.1f} %: {(cpu_many - cpu_none) / MANY_CONSOLES:.2f} % per console "
          f"(the first on a worker starts its feed reader: {cpu_one - cpu_none:.1f} %)")


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    main()
