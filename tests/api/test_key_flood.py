"""A flood of unknown API keys leaves alarms alone: on the real server, alarms paced at 20/s
are answered as fast with as without random keys arriving meanwhile, all of them 201."""

from __future__ import annotations

import asyncio
import secrets
import time

from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import httpx
import numpy as np
import sqlalchemy as sa

from api.callers import LOOKUP_CONNECTIONS

from tests_api_support import running_server

ALARMS = 80
ALARM_INTERVAL_S = 0.05
FLOODERS = 16


async def _alarms(base: str, headers: dict, rng: np.random.Generator) -> tuple[list, list]:
    """ALARMS priority-3 alarms (recommended, so the fleet stays free), one every
    ALARM_INTERVAL_S: their statuses and latencies (seconds)."""
    statuses, latencies = [], []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        async def one(body):
            started = time.perf_counter()
            reply = await client.post("/incidents", json=body)
            latencies.append(time.perf_counter() - started)
            statuses.append(reply.status_code)

        tasks = []
        for _ in range(ALARMS):
            body = {"lon": float(rng.uniform(114.26, 114.29)),
                    "lat": float(rng.uniform(30.59, 30.61)), "category": "theft", "priority": 3}
            tasks.append(asyncio.create_task(one(body)))
            await asyncio.sleep(ALARM_INTERVAL_S)
        await asyncio.gather(*tasks)
    return statuses, latencies


def _flood(base: str, seconds: float) -> list[int]:
    """FLOODERS loops of requests with random keys for ``seconds`` (run in a process of its own,
    so that the alarms' client does not wait behind it): their statuses."""
    async def flood() -> list[int]:
        statuses, ends = [], time.monotonic() + seconds
        limits = httpx.Limits(max_connections=FLOODERS)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            async def loop():
                while time.monotonic() < ends:
                    reply = await client.get("/incidents",
                                             headers={"X-API-Key": secrets.token_urlsafe(32)})
                    statuses.append(reply.status_code)

            await asyncio.gather(*(loop() for _ in range(FLOODERS)))
        return statuses

    return asyncio.run(flood())


def _connections(engine: sa.Engine) -> dict[str, int]:
    """The server's connections to the database, by pool (application name)."""
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE application_name LIKE 'patrol %' GROUP BY 1")).all())


async def _watch(engine: sa.Engine, stop: asyncio.Event) -> Counter:
    """The most connections of each pool seen until ``stop``."""
    most: Counter = Counter()
    while not stop.is_set():
        most |= Counter(await asyncio.to_thread(_connections, engine))
        await asyncio.sleep(0.05)
    return most


async def _alarms_under_flood(base: str, headers: dict, engine: sa.Engine,
                              seed: int) -> tuple[list, list, list, Counter]:
    alarms_s = ALARMS * ALARM_INTERVAL_S
    with ProcessPoolExecutor(1) as flooder:
        flood = asyncio.wrap_future(flooder.submit(_flood, base, alarms_s + 2.0))
        await asyncio.sleep(1.0)
        stop = asyncio.Event()
        watch = asyncio.create_task(_watch(engine, stop))
        statuses, latencies = await _alarms(base, headers, np.random.default_rng(seed))
        stop.set()
        return statuses, latencies, await flood, await watch


def test_a_flood_of_unknown_keys_leaves_alarms_alone(city, wuhan_central_compiled, tmp_path):
    headers = city.headers("dispatcher")
    with running_server(city.url, wuhan_central_compiled, tmp_path / "server.log") as base:
        asyncio.run(_alarms(base, headers, np.random.default_rng(1)))  # warm-up
        calm, calm_s = asyncio.run(_alarms(base, headers, np.random.default_rng(2)))
        before = _connections(city.engine)
        flooded, flooded_s, flood, most = asyncio.run(
            _alarms_under_flood(base, headers, city.engine, 3))
        health = httpx.get(f"{base}/health", timeout=10).status_code
    calm_ms = np.percentile(calm_s, [50, 99]) * 1000
    flooded_ms = np.percentile(flooded_s, [50, 99]) * 1000
    print(f"alarms alone p50/p99 {calm_ms.round(1)} ms; under a flood of {len(flood)} "
          f"unknown keys {flooded_ms.round(1)} ms; connections {before} before, at most "
          f"{dict(most)} during the flood")
    assert calm == flooded == [201] * ALARMS
    assert len(flood) > 3 * ALARMS and set(flood) == {401}, set(flood)
    # Lookups never take more than their own pool, nor a connection of the service's pool.
    assert most["patrol keys"] <= LOOKUP_CONNECTIONS
    assert most["patrol service"] <= before.get("patrol service", 0) + 1
    assert most["patrol alarms"] <= 20
    assert flooded_ms[0] < 3 * calm_ms[0] + 30, (calm_ms, flooded_ms)
    assert flooded_ms[1] < 3 * calm_ms[1] + 50, (calm_ms, flooded_ms)
    assert health == 200
