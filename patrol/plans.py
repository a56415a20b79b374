"""Patrol plans: closed loops from a zone's station through its must-patrol targets.

Every loop lasts at most the loop time (e.g. 15 minutes: 15分钟环线巡逻), dwells and line or area
traversals included, on the engine's drive times. As few loops (units) as possible serve every
target; with a unit limit, the most weight is patrolled. The solver (:mod:`patrol.plan_solver`)
works in whole tenths of a second: each drive time is rounded *up* to a tenth, so every loop
also holds its limit in exact seconds. A target that no loop can include (its round trip from
the station is longer than a loop, or it lies off the road network) is listed with the reason,
and so is every target left out for lack of units: none is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from patrol.errors import Invalid
from patrol.plan_solver import DEFAULT_TIME_S, solve_loops
from patrol.visits import waypoints
from routing.compiled import RoadGraph
from routing.matrix import DriveTimes, drive_times
from routing.snapping import DEFAULT_SNAP_LIMIT_M, Snapped, snap_many
from zones.targets import Target

TICKS_PER_S = 10  # the solver's unit: tenths of a second
MIN_LOOP_S = 60  # a loop lasts at least a minute


@dataclass(frozen=True)
class Stop:
    """A target on a loop: where the loop reaches it (on the road, WGS-84) and when (seconds
    from the loop's start)."""

    target_id: int
    name: str
    kind: str
    lon: float
    lat: float
    arrive_s: float


@dataclass(frozen=True)
class Loop:
    """One closed loop (numbered from 1): its stops, duration (s) and driven road path."""

    loop: int
    duration_s: float
    stops: list[Stop]
    path: NDArray[np.float64]  # (n, 2) WGS-84 lon/lat


@dataclass(frozen=True)
class Plan:
    """The loops of one zone and the targets they do not include (each a dict with the
    target's id, name, kind, weight, reason and round trip in seconds, None: not reachable)."""

    zone_id: int
    loop_seconds: float
    units: int | None
    graph_version: str
    loops: list[Loop]
    unreachable: list[dict] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)

    def to_geojson(self) -> dict:
        """A FeatureCollection with one LineString Feature per loop (WGS-84, RFC 7946)."""
        features = [{"type": "Feature",
                     "geometry": {"type": "LineString", "coordinates": loop.path.tolist()},
                     "properties": {"zone_id": self.zone_id, "loop": loop.loop,
                                    "duration_s": round(loop.duration_s, 1),
                                    "stops": [_stop_json(s) for s in loop.stops]}}
                    for loop in self.loops]
        return {"type": "FeatureCollection", "zone_id": self.zone_id,
                "loop_seconds": self.loop_seconds, "units": self.units,
                "graph_version": self.graph_version, "unreachable": self.unreachable,
                "left_out": self.left_out, "features": features}


def _stop_json(stop: Stop) -> dict:
    return {"target_id": stop.target_id, "name": stop.name, "kind": stop.kind,
            "lon": round(stop.lon, 7), "lat": round(stop.lat, 7),
            "arrive_s": round(stop.arrive_s, 1)}


def graph_version(graph: RoadGraph) -> str:
    """The compiled graph's version: its source's content key, else a hash of its metadata."""
    key = graph.meta.get("source_key")
    return str(key) if key else hashlib.sha256(
        json.dumps(graph.meta, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Visit:
    """A target as the solver sees it: its points in the matrix, service time (s)."""

    target: Target
    first: int  # index of its first point in the matrix; its last is first + count - 1
    count: int
    service_s: float

    @property
    def last(self) -> int:
        return self.first + self.count - 1


@dataclass(frozen=True)
class LoopProblem:
    """A zone's routing problem: the visits that fit a loop on their own, their travel and
    service times in ticks (depot 0 = the station), the loop limit in ticks, the drive times
    between all points and the targets no loop can include."""

    visits: list[_Visit]
    travel: NDArray[np.int64]
    service: NDArray[np.int64]
    limit: int
    weights: NDArray[np.float64]
    times: DriveTimes
    unreachable: list[dict]


def loop_problem(graph: RoadGraph, station: tuple[float, float], targets: list[Target], *,
                 loop_seconds: float, snap_limit_m: float = DEFAULT_SNAP_LIMIT_M
                 ) -> LoopProblem:
    """Snap the station and the targets' points, compute their drive times and set aside the
    targets no loop can include."""
    if not loop_seconds >= MIN_LOOP_S:
        raise Invalid(f"the loop time must be at least {MIN_LOOP_S} s, not {loop_seconds:g} s")
    home = snap_many(graph, [station[0]], [station[1]], limit_m=snap_limit_m)
    if not home.on_road[0]:
        raise Invalid(f"the station lies more than {snap_limit_m:.0f} m from any road")
    unreachable: list[dict] = []
    parts, visits = [home], []
    first = 1
    for target in targets:
        points = waypoints(graph, target.kind, target.geometry, two_way=target.two_way)
        snapped = snap_many(graph, points[:, 0], points[:, 1], limit_m=snap_limit_m)
        if not snapped.on_road.all():
            unreachable.append(_missing(target, "off_network", None))
            continue
        parts.append(snapped)
        visits.append(_Visit(target, first, len(snapped), float(target.dwell_s)))
        first += len(snapped)
    points = Snapped(*(np.concatenate([getattr(p, f) for p in parts])
                       for f in ("edge", "fraction", "distance_m")))
    times = drive_times(graph, points, limit_s=loop_seconds)
    visits = [_with_traversal(v, times.seconds) for v in visits]
    limit = int(np.floor(loop_seconds * TICKS_PER_S + 1e-9))
    fits, far = _split_by_reach(visits, times.seconds, limit)
    unreachable += [_missing(v.target, "beyond_reach", _round_trip(graph, points, v))
                    for v in far]
    travel, service = _solver_matrix(fits, times.seconds)
    weights = np.array([1.0] + [v.target.weight for v in fits])
    return LoopProblem(fits, travel, service, limit, weights, times, unreachable)


def plan_loops(graph: RoadGraph, station: tuple[float, float], targets: list[Target], *,
               zone_id: int, loop_seconds: float, units: int | None = None,
               snap_limit_m: float = DEFAULT_SNAP_LIMIT_M,
               time_s: float = DEFAULT_TIME_S) -> Plan:
    """Loops from ``station`` (WGS-84 lon, lat) through ``targets``; see the module docstring."""
    if units is not None and units < 1:
        raise Invalid(f"the number of units must be at least 1, not {units}")
    problem = loop_problem(graph, station, targets, loop_seconds=loop_seconds,
                           snap_limit_m=snap_limit_m)
    fits, times = problem.visits, problem.times
    routes = solve_loops(problem.travel, problem.service, limit=problem.limit,
                         weights=problem.weights, units=units, time_s=time_s)
    loops = [_loop(n + 1, [fits[c - 1] for c in route], times)
             for n, route in enumerate(routes.loops)]
    left_out = [_missing(fits[c - 1].target, "no_unit", round(_loop_time(
        [fits[c - 1]], times.seconds), 1)) for c in routes.unvisited]
    return Plan(zone_id, loop_seconds, units, graph_version(graph), loops, problem.unreachable,
                sorted(left_out, key=lambda t: -t["weight"]))


def _with_traversal(visit: _Visit, seconds: NDArray) -> _Visit:
    """The visit with its service time: dwell plus the drive through its points."""
    legs = [seconds[i, i + 1] for i in range(visit.first, visit.last)]
    return _Visit(visit.target, visit.first, visit.count, visit.service_s + float(sum(legs)))


def _ticks(seconds: NDArray | float) -> NDArray[np.int64]:
    """Seconds as whole tenths, rounded up (a loop that fits in tenths fits in seconds)."""
    scaled = np.ceil(np.asarray(seconds, float) * TICKS_PER_S - 1e-6)
    return np.where(np.isfinite(scaled), scaled, np.iinfo(np.int64).max // 4).astype(np.int64)


def _solver_matrix(visits: list[_Visit], seconds: NDArray) -> tuple[NDArray, NDArray]:
    """Travel between visits (from one's last point to the next one's first; the station is
    0) and service times, in ticks."""
    enter = np.array([0] + [v.first for v in visits])
    leave = np.array([0] + [v.last for v in visits])
    travel = _ticks(seconds[np.ix_(leave, enter)])
    np.fill_diagonal(travel, 0)
    service = _ticks(np.array([0.0] + [v.service_s for v in visits]))
    return travel, service


def _split_by_reach(visits: list[_Visit], seconds: NDArray, limit: int
                    ) -> tuple[list[_Visit], list[_Visit]]:
    """Visits a loop can hold on their own, and the others."""
    fits, far = [], []
    for visit in visits:
        travel, service = _solver_matrix([visit], seconds)
        alone = travel[0, 1] + service[1] + travel[1, 0]
        (fits if alone <= limit and np.isfinite(visit.service_s) else far).append(visit)
    return fits, far


def _loop_time(visits: list[_Visit], seconds: NDArray) -> float:
    """Seconds to drive from the station through ``visits`` and back."""
    order = [0] + [p for v in visits for p in (v.first, v.last)] + [0]
    legs = [seconds[a, b] for a, b in zip(order[::2], order[1::2])]
    return float(sum(legs) + sum(v.service_s for v in visits))


def _round_trip(graph: RoadGraph, points: Snapped, visit: _Visit) -> float | None:
    """The round trip through one target with no time limit (None: no way there and back)."""
    index = np.r_[0, visit.first:visit.last + 1]
    full = drive_times(graph, points.take(index)).seconds
    trip = (full[0, 1] + visit.target.dwell_s + sum(full[i, i + 1] for i in range(1, len(index) - 1))
            + full[len(index) - 1, 0])
    return round(float(trip), 1) if np.isfinite(trip) else None


def unplanned(graph: RoadGraph, zone_id: int, zone_targets: list[Target], *,
              loop_seconds: float, reason: str) -> Plan:
    """The plan of a zone that cannot have loops (e.g. it has no station): no loop, and every
    target listed as unreachable with ``reason``."""
    return Plan(zone_id, loop_seconds, None, graph_version(graph), [],
                [_missing(t, reason, None) for t in zone_targets])


def _missing(target: Target, reason: str, round_trip_s: float | None) -> dict:
    return {"target_id": target.id, "name": target.name, "kind": target.kind,
            "weight": target.weight, "reason": reason, "round_trip_s": round_trip_s}


def _loop(number: int, visits: list[_Visit], times: DriveTimes) -> Loop:
    """The loop through ``visits`` in order: stops with arrival times, duration, road path."""
    seconds = times.seconds
    clock, here, stops, pieces = 0.0, 0, [], []
    for visit in visits:
        clock += seconds[here, visit.first]
        pieces.append(times.path(here, visit.first))
        lon, lat = times.path(visit.first, visit.first)[0]
        stops.append(Stop(visit.target.id, visit.target.name, visit.target.kind, float(lon),
                          float(lat), clock))
        for i in range(visit.first, visit.last):
            pieces.append(times.path(i, i + 1))
        clock += visit.service_s
        here = visit.last
    clock += seconds[here, 0]
    pieces.append(times.path(here, 0))
    path = np.concatenate(pieces)
    keep = np.ones(len(path), bool)
    keep[1:] = np.any(np.diff(path, axis=0) != 0, axis=1)
    return Loop(number, clock, stops, path[keep])
