"""A simulated patrol fleet for demos and benchmarks. Every unit it makes is marked simulated
(``units.simulated``, callsigns ``SIM-0001``…): nothing here is real police data.

Cars start on the road at and around the police stations. The simulator moves every available
simulated car: a car given a patrol loop (``patrol/plans.py``) drives it round and round, taking
the loop's duration (dwells included) for each round (on the plan's timetable, stopping at each
target, with :class:`patrol.loop_drive.LoopDrive`); any other car drives the road graph at its
edges' speeds, turning at random at intersections (never straight back unless the road ends). It
reports the positions through the HTTP API as a real fleet's GPS units would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import numpy as np
import shapely
import sqlalchemy as sa

from patrol.loop_drive import LoopDrive
from routing import RoadGraph, snap_points
from zones import lookups, unit_store

CALLSIGN = "SIM-{:04d}"


def create_fleet(engine: sa.Engine, graph: RoadGraph, count: int, *, seed: int = 0) -> int:
    """Make ``count`` simulated patrol cars, spread over the police stations on the network, on a
    road within about 300 m of their station. Returns how many were new (callsigns are fixed, so
    running it twice adds none)."""
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        stations = lookups.police_stations(conn)
        lonlat = np.array([(s[2], s[3]) for s in stations])
        snaps, _ = snap_points(graph, lonlat[:, 0], lonlat[:, 1])
        on_network = [s for s, snap in zip(stations, snaps) if snap is not None]
        if not on_network:
            raise ValueError("no police station lies on the road network: load stations first")
        cars = []
        for n in range(count):
            station_id, _, lon, lat = on_network[n % len(on_network)]
            jitter_lon, jitter_lat = rng.normal(0, 0.0015, 2)
            (snap,), _ = snap_points(graph, lon + jitter_lon, lat + jitter_lat, limit_m=2000)
            x, y = snap.lonlat(graph) if snap is not None else (lon, lat)
            cars.append({"callsign": CALLSIGN.format(n + 1), "kind": "patrol_car",
                         "home_station_id": station_id, "lon": x, "lat": y, "simulated": True})
        return unit_store.create_units(conn, cars)


@dataclass
class Car:
    """A simulated car on edge ``edge`` at ``fraction`` of its length from the tail."""

    unit_id: int
    edge: int
    fraction: float


class FleetMotion:
    """Moves cars along the graph; pure apart from its random generator."""

    def __init__(self, graph: RoadGraph, seed: int = 0) -> None:
        self.graph = graph
        self.rng = np.random.default_rng(seed)

    def advance(self, car: Car, seconds: float) -> None:
        """Drive ``seconds`` further, turning at random where the edge ends."""
        graph = self.graph
        left = seconds
        for _ in range(1000):  # bounded: a car crosses few edges per tick
            edge_time = max(graph.edge_seconds[car.edge], 1e-6)
            remaining = (1.0 - car.fraction) * edge_time
            if left < remaining:
                car.fraction += left / edge_time
                return
            left -= remaining
            car.edge, car.fraction = self._next_edge(car.edge), 0.0

    def position(self, car: Car) -> tuple[float, float]:
        """WGS-84 lon/lat of the car."""
        point = shapely.line_interpolate_point(self.graph.edge_lines[car.edge], car.fraction,
                                               normalized=True)
        lon, lat = self.graph.to_lonlat.transform(point.x, point.y)
        return float(lon), float(lat)

    def _next_edge(self, edge: int) -> int:
        graph = self.graph
        node = graph.edge_head[edge]
        options = np.arange(graph.fwd_indptr[node], graph.fwd_indptr[node + 1])
        forward = options[options != graph.edge_twin[edge]]
        choices = forward if len(forward) else options
        return int(self.rng.choice(choices))


class LoopRound:
    """A car driving its patrol loop: where it is after ``elapsed_s`` seconds of its round."""

    def __init__(self, path: list[list[float]], duration_s: float, *, start_s: float = 0.0
                 ) -> None:
        self.line = shapely.LineString(path)
        self.duration_s = max(float(duration_s), 1e-6)
        self.elapsed_s = start_s % self.duration_s

    def advance(self, seconds: float) -> tuple[float, float]:
        """Drive ``seconds`` further along the loop; the WGS-84 lon/lat reached."""
        self.elapsed_s = (self.elapsed_s + seconds) % self.duration_s
        point = shapely.line_interpolate_point(self.line, self.elapsed_s / self.duration_s,
                                               normalized=True)
        return float(point.x), float(point.y)


def simulate(base_url: str, api_key: str, graph: RoadGraph, *, interval_s: float = 5.0,
             ticks: int | None = None, seed: int = 0,
             loops: dict[int, tuple[list[list[float]], float] | LoopDrive] | None = None
             ) -> None:
    """Every ``interval_s`` seconds, move the available simulated cars and report them through
    ``PUT /units/positions``. ``loops``: unit id → (loop path, loop seconds) of the units that
    patrol a loop (:func:`zones.plan_store.unit_loops`), or anything that drives it with
    ``advance(seconds)`` (:class:`patrol.loop_drive.LoopDrive` keeps the plan's timetable and
    stops at each target). Runs ``ticks`` times (forever when None)."""
    motion = FleetMotion(graph, seed)
    cars: dict[int, Car] = {}
    rounds = {unit: spec if hasattr(spec, "advance") else LoopRound(*spec)
              for unit, spec in (loops or {}).items()}
    headers = {"X-API-Key": api_key}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        tick = 0
        while ticks is None or tick < ticks:
            started = time.monotonic()
            units = client.get("/units", params={"status": "available", "limit": 5000})
            units.raise_for_status()
            fixes = []
            for unit in units.json():
                if not unit["simulated"] or unit["lon"] is None:
                    continue
                where = _move(unit, rounds, cars, motion, interval_s)
                if where is not None:
                    fixes.append({"unit_id": unit["id"], "lon": where[0], "lat": where[1],
                                  "timestamp": datetime.now(timezone.utc).isoformat()})
            if fixes:
                client.put("/units/positions", json={"fixes": fixes}).raise_for_status()
            tick += 1
            time.sleep(max(0.0, interval_s - (time.monotonic() - started)))


def _move(unit: dict, rounds: dict[int, LoopRound], cars: dict[int, Car], motion: FleetMotion,
          seconds: float) -> tuple[float, float] | None:
    """Drive a unit ``seconds`` on: round its loop, else at random from where it was reported
    (None: too far from any road to place it)."""
    if unit["id"] in rounds:
        return rounds[unit["id"]].advance(seconds)
    car = cars.get(unit["id"])
    if car is None:
        (snap,), _ = snap_points(motion.graph, unit["lon"], unit["lat"], limit_m=1000)
        if snap is None:
            return None
        car = cars[unit["id"]] = Car(unit["id"], snap.edge, snap.fraction)
    motion.advance(car, seconds)
    return motion.position(car)
