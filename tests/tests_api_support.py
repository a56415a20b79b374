"""Builders shared by the API tests (importable, unlike conftest modules)."""

from __future__ import annotations


import asyncio
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psycopg

import numpy as np
import sqlalchemy as sa

from conftest import POI_DIR, PROJECT, WUHAN_CENTRAL_BBOX
from zones import alarm_store
from zones.api_keys import create_api_key
from zones.unit_store import create_units
from zones.loading import load_generated_grid, load_hotspots, load_stations
from zones.migrate import upgrade

FLEET = 20


@dataclass
class City:
    url: str
    engine: sa.Engine
    keys: dict[str, str]
    unit_ids: list[int]

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def make_city(url: str, graph, fleet: int = FLEET) -> City:
    upgrade(url)
    engine = sa.create_engine(url)
    load_stations(engine, POI_DIR / "police.geojson", crs="gcj02")
    load_hotspots(engine, POI_DIR / "hospitals_grade3a.geojson", category="hospital",
                  crs="gcj02")
    load_generated_grid(engine, graph)
    west, south, east, north = WUHAN_CENTRAL_BBOX
    with engine.begin() as conn:
        stations = conn.execute(sa.text(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM stations WHERE kind = 'police_station' "
            "AND ST_X(geom) BETWEEN :w AND :e AND ST_Y(geom) BETWEEN :s AND :n ORDER BY id"),
            {"w": west + 0.005, "e": east - 0.005, "s": south + 0.005, "n": north - 0.005}).all()
        rng = np.random.default_rng(0)
        chosen = [stations[i] for i in rng.choice(len(stations), fleet, replace=True)]
        create_units(conn, [
            {"callsign": f"TEST-{n:03d}", "kind": "patrol_car", "home_station_id": sid,
             "lon": lon + rng.normal(0, 0.002), "lat": lat + rng.normal(0, 0.002),
             "simulated": True} for n, (sid, lon, lat) in enumerate(chosen)])
        keys = {role: create_api_key(conn, role, name=f"test {role}")
                for role in ("dispatcher", "planner", "admin")}
        unit_ids = list(conn.execute(sa.text("SELECT id FROM units ORDER BY id")).scalars())
    return City(url, engine, keys, unit_ids)




def fresh_fixes(client, city) -> None:
    """Every unit reports where it is now (so none is placed at its home station)."""
    units = client.get("/units", headers=city.headers("dispatcher")).json()
    now = datetime.now(timezone.utc).isoformat()
    fixes = [{"unit_id": u["id"], "lon": u["lon"], "lat": u["lat"], "timestamp": now}
             for u in units if u["lon"] is not None]
    assert client.put("/units/positions", json={"fixes": fixes},
                      headers=city.headers("dispatcher")).status_code == 200


def available_lonlat(client, city) -> dict[int, tuple[float, float]]:
    units = client.get("/units", headers=city.headers("dispatcher")).json()
    return {u["id"]: (u["lon"], u["lat"]) for u in units if u["status"] == "available"}


def store_without_decision(url: str, *, lon: float, lat: float, priority: int = 1) -> int:
    """Store an incident as an alarm's first round trip does, and nothing more (as if its
    process died then); returns its id."""
    async def store() -> int:
        async with await psycopg.AsyncConnection.connect(url.replace("+psycopg", ""),
                                                         autocommit=True) as conn:
            row, _ = await alarm_store.receive(
                conn, since=0, category="theft", priority=priority, description="crashed",
                lon=lon, lat=lat, road_lon=lon, road_lat=lat, input_crs="wgs84",
                unit_kind="patrol_car")
        return row["id"]

    return asyncio.run(store())


def add_hotspot(engine: sa.Engine, key: str, lon: float, lat: float) -> int:
    """A school hotspot at (lon, lat) WGS-84, written straight into the city; its id."""
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO hotspots (source_key, name, category, geom) VALUES (:key, :name, "
            "'school', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"),
            {"key": key, "name": key, "lon": lon, "lat": lat}).scalar()


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(database_url: str, graph_file: Path, log: Path, *, workers: int = 1,
                   env: dict[str, str] | None = None):
    """The API served by uvicorn in a subprocess on a free loopback port (``env``: further
    environment variables); yields its base URL once ``/health`` answers, and stops it
    afterwards."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PATROL_GRAPH": str(graph_file),
           **(env or {})}
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api:create_app", "--factory", "--workers",
             str(workers), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, log.read_text()
                time.sleep(0.5)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)
