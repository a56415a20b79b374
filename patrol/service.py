"""The dispatch service: each operation in one database transaction, rules from ``patrol``,
drive times from ``routing``, SQL from ``zones``. The HTTP layer only calls these."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from patrol import deadlines
from patrol.dispatch import Candidate, DispatchPolicy, decide, ring_of
from patrol.errors import Conflict, Invalid, NotFound
from patrol.fleet import routing_positions
from routing import RoadGraph, Snapped, snap_many, snap_point, snap_points, to_wgs84
from routing.search import rank
from zones import records
from zones.models import INCIDENT_STATUSES, UNIT_KINDS, UNIT_STATUSES

#: How many ranked units a claim may walk through when nearer ones are being claimed at once.
CLAIM_DEPTH = 25


class SnapCache:
    """Snaps of recent unit positions: units report the same position until they move, and
    every incident ranks all of them. Bounded; cleared when full."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._snaps: dict[tuple[float, float], tuple[int, float, float]] = {}
        self._lock = threading.Lock()  # requests run on several threads

    def snap(self, graph: RoadGraph, lon: np.ndarray, lat: np.ndarray, limit_m: float
             ) -> Snapped:
        """The points (WGS-84) snapped, as arrays; only those not seen before are snapped."""
        points = list(zip(lon.tolist(), lat.tolist()))
        with self._lock:
            known = self._snaps
            missing = [i for i, p in enumerate(points) if p not in known]
            if missing:
                if len(known) + len(missing) > self.capacity:
                    known.clear()
                found = snap_many(graph, lon[missing], lat[missing], limit_m=limit_m)
                known.update(zip((points[i] for i in missing), zip(
                    found.edge.tolist(), found.fraction.tolist(), found.distance_m.tolist())))
            rows = np.array([known[p] for p in points], dtype=np.float64).reshape(-1, 3)
        return Snapped(rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2])


@dataclass(frozen=True)
class DispatchConfig:
    """Everything the service needs besides the database."""

    graph: RoadGraph
    policy: DispatchPolicy = DispatchPolicy()
    stale_after_s: float = 120.0
    snap_limit_m: float = 500.0
    deadlines_s: dict[int, int] = field(default_factory=lambda:
                                        dict(deadlines.DEFAULT_ARRIVAL_DEADLINE_S))
    snaps: SnapCache = field(default_factory=SnapCache)
    baseline: object | None = None  # a routing.baseline.NetworkxRanker: benchmark baseline only


def now() -> datetime:
    return datetime.now(timezone.utc)


def receive_incident(engine: sa.Engine, config: DispatchConfig, *, lon: float, lat: float,
                     crs: str, category: str, priority: int, description: str | None,
                     unit_kind: str, requested_by: str | None) -> dict:
    """Store an incident, rank the available units by drive time to it, and dispatch the fastest
    (or recommend it, below the auto-dispatch level). Returns the incident as the API shows it."""
    _check_choice("unit kind", unit_kind, UNIT_KINDS)
    graph = config.graph
    lon_w, lat_w = (float(v) for v in to_wgs84(lon, lat, crs))
    snap = snap_point(graph, lon_w, lat_w, limit_m=config.snap_limit_m)
    road_lon, road_lat = snap.lonlat(graph)
    with engine.begin() as conn:
        incident_id, received_at, units = records.insert_incident_and_units(
            conn, category=category, priority=priority, description=description, lon=lon_w,
            lat=lat_w, road_lon=road_lon, road_lat=road_lat, input_crs=str(crs),
            unit_kind=unit_kind)
        positions = routing_positions(units, config.stale_after_s)
        unit_snaps = config.snaps.snap(graph, positions.lon, positions.lat, config.snap_limit_m)
        on_road = np.flatnonzero(unit_snaps.on_road)
        snaps_on_road = unit_snaps.take(on_road)
        depth = max(config.policy.candidates, CLAIM_DEPTH)
        if config.baseline is not None:
            ranking, top = None, config.baseline.rank_to(snap, snaps_on_road.snaps(), k=depth)
        else:
            ranking = rank(graph, snap, snaps_on_road, k=depth)
            top = ranking.top
        ranked = [_candidate(positions, on_road[r.index], r) for r in top]
        auto = priority <= config.policy.auto_dispatch_level
        claimable = (records.claim_first(conn, [c.unit_id for c in ranked]) if auto
                     else {c.unit_id for c in ranked})
        decision = decide(priority, ranked, claimable, config.policy)
        shown = ranked[:config.policy.candidates]
        if decision.chosen is not None and decision.mode == "auto":
            records.assign(conn, incident_id, decision.chosen.unit_id, decision.chosen.seconds)
        row = records.record_decision_and_read(
            conn, incident_id=incident_id, requested_by=requested_by, mode=decision.mode,
            chosen_unit_id=decision.chosen.unit_id if decision.chosen else None,
            reason=decision.reason, candidates=[c.as_dict() for c in ranked])
    view = _with_warning(row, config, now())
    view["candidates"] = [c.as_dict() for c in shown]
    view["decision"] = {"mode": decision.mode, "reason": decision.reason,
                        "unit_id": decision.chosen.unit_id if decision.chosen else None}
    if decision.mode == "auto" and decision.chosen is not None and ranking is not None:
        index = next(r.index for r in ranking.top
                     if positions.unit_id[on_road[r.index]] == decision.chosen.unit_id)
        view["route"] = _route_feature(ranking.route(index), decision.chosen)
    return view


def assign_unit(engine: sa.Engine, config: DispatchConfig, incident_id: int, unit_id: int,
                requested_by: str | None) -> dict:
    """A dispatcher's override: give ``unit_id`` to the incident (releasing any unit it had)."""
    with engine.begin() as conn:
        status = _locked_incident(conn, incident_id)
        if status not in ("open", "dispatched"):
            raise Conflict(f"incident {incident_id} is {status}; only open or dispatched "
                           f"incidents can be assigned a unit")
        unit_status = records.lock_unit(conn, unit_id)
        if unit_status is None:
            raise NotFound(f"no unit {unit_id}")
        if records.unit_of_incident(conn, incident_id) == unit_id:
            raise Conflict(f"unit {unit_id} is already assigned to incident {incident_id}")
        if unit_status != "available":
            busy = records.unit(conn, unit_id)["incident_id"]
            where = f" to incident {busy}" if busy else ""
            raise Conflict(f"unit {unit_id} is {unit_status}{where}, not available")
        records.release(conn, incident_id)
        eta = _eta(conn, config, incident_id, unit_id)
        records.assign(conn, incident_id, unit_id, eta)
        records.record_decision(conn, incident_id=incident_id, requested_by=requested_by,
                                mode="override", chosen_unit_id=unit_id,
                                reason="assigned by a dispatcher", candidates=[])
        return _incident_view(conn, config, incident_id)


def mark_arrived(engine: sa.Engine, config: DispatchConfig, incident_id: int) -> dict:
    """The assigned unit is on scene."""
    with engine.begin() as conn:
        status = _locked_incident(conn, incident_id)
        if status != "dispatched":
            raise Conflict(f"incident {incident_id} is {status}; only a dispatched incident can "
                           f"be marked arrived")
        records.set_incident_status(conn, incident_id, "arrived")
        unit_id = records.unit_of_incident(conn, incident_id)
        if unit_id is not None:
            records.set_unit_status(conn, unit_id, "on_scene")
        return _incident_view(conn, config, incident_id)


def close_incident(engine: sa.Engine, config: DispatchConfig, incident_id: int) -> dict:
    """Close an incident; its unit becomes available again."""
    with engine.begin() as conn:
        status = _locked_incident(conn, incident_id)
        if status == "closed":
            raise Conflict(f"incident {incident_id} is already closed")
        records.release(conn, incident_id)
        records.set_incident_status(conn, incident_id, "closed")
        return _incident_view(conn, config, incident_id)


def get_incident(engine: sa.Engine, config: DispatchConfig, incident_id: int) -> dict:
    with engine.connect() as conn:
        view = _incident_view(conn, config, incident_id)
        view["decisions"] = records.decisions(conn, incident_id)
        return view


def list_incidents(engine: sa.Engine, config: DispatchConfig, *, status: str | None,
                   zone_id: int | None, since: datetime | None, until: datetime | None,
                   limit: int) -> list[dict]:
    if status is not None:
        _check_choice("status", status, INCIDENT_STATUSES)
    with engine.connect() as conn:
        rows = records.list_incidents(conn, status=status, zone_id=zone_id, since=since,
                                      until=until, limit=limit)
    moment = now()
    return [_with_warning(row, config, moment) for row in rows]


def move_units(engine: sa.Engine, fixes: list[dict]) -> int:
    """Store GPS fixes [{unit_id, lon, lat, crs, timestamp}]; all or none (unknown unit: 404)."""
    moment = now()
    rows = []
    for fix in fixes:
        lon, lat = (float(v) for v in to_wgs84(fix["lon"], fix["lat"], fix["crs"]))
        at = fix["timestamp"]
        if at.tzinfo is None:
            raise Invalid(f"timestamp {at.isoformat()} of unit {fix['unit_id']} has no time "
                          f"zone; send e.g. 2026-11-21T08:00:00+08:00")
        if at > moment + timedelta(seconds=60):
            raise Invalid(f"timestamp {at.isoformat()} of unit {fix['unit_id']} is in the future")
        rows.append({"id": fix["unit_id"], "lon": lon, "lat": lat, "at": at})
    with engine.begin() as conn:
        ids = [r["id"] for r in rows]
        missing = sorted(set(ids) - records.existing_unit_ids(conn, ids))
        if missing:
            raise NotFound(f"no unit {', '.join(map(str, missing))}; nothing was stored")
        return records.move_units(conn, rows)


def set_unit_status(engine: sa.Engine, unit_id: int, status: str) -> dict:
    """Change a unit's status by hand. Dispatch owns "dispatched"; an assigned unit can only be
    en route or on scene until its incident is closed or reassigned."""
    _check_choice("status", status, UNIT_STATUSES)
    with engine.begin() as conn:
        current = records.lock_unit(conn, unit_id)
        if current is None:
            raise NotFound(f"no unit {unit_id}")
        incident_id = records.unit(conn, unit_id)["incident_id"]
        if status == "dispatched":
            raise Conflict("units are dispatched by assigning them to an incident")
        if incident_id is not None and status in ("available", "off_duty"):
            raise Conflict(f"unit {unit_id} is assigned to incident {incident_id}; close or "
                           f"reassign the incident first")
        if incident_id is None and status in ("en_route", "on_scene"):
            raise Conflict(f"unit {unit_id} has no incident to be {status.replace('_', ' ')} to")
        records.set_unit_status(conn, unit_id, status)
        return records.unit(conn, unit_id)


def get_unit(engine: sa.Engine, unit_id: int) -> dict:
    with engine.connect() as conn:
        found = records.unit(conn, unit_id)
    if found is None:
        raise NotFound(f"no unit {unit_id}")
    return found


def list_units(engine: sa.Engine, *, status: str | None, kind: str | None,
               near: tuple[float, float, float] | None, limit: int) -> list[dict]:
    if status is not None:
        _check_choice("status", status, UNIT_STATUSES)
    if kind is not None:
        _check_choice("unit kind", kind, UNIT_KINDS)
    with engine.connect() as conn:
        return records.list_units(conn, status=status, kind=kind, near=near, limit=limit)


def _candidate(positions, i: int, ranked) -> Candidate:
    return Candidate(int(positions.unit_id[i]), str(positions.callsign[i]), ranked.seconds,
                     ranked.metres, bool(positions.at_home_station[i]))


def _incident_view(conn: sa.Connection, config: DispatchConfig, incident_id: int) -> dict:
    row = records.incident(conn, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return _with_warning(row, config, now())


def _with_warning(row: dict, config: DispatchConfig, moment: datetime) -> dict:
    row = dict(row)
    row["deadline_seconds"] = deadlines.deadline_seconds(row["priority"], config.deadlines_s)
    row["warning"] = deadlines.warning(row["priority"], row["received_at"], moment, row["status"],
                                       config.deadlines_s)
    if row.get("eta_seconds") is not None:
        row["eta_ring"] = ring_of(row["eta_seconds"])
    return row


def _locked_incident(conn: sa.Connection, incident_id: int) -> str:
    status = records.lock_incident(conn, incident_id)
    if status is None:
        raise NotFound(f"no incident {incident_id}")
    return status


def _eta(conn: sa.Connection, config: DispatchConfig, incident_id: int, unit_id: int
         ) -> float | None:
    """Drive time (seconds) of one unit to an incident, None when it cannot be placed."""
    row = records.incident(conn, incident_id)
    unit = records.unit(conn, unit_id)
    if unit["lon"] is None:
        return None
    target = snap_point(config.graph, row["road_lon"], row["road_lat"],
                        limit_m=config.snap_limit_m)
    (start,), _ = snap_points(config.graph, unit["lon"], unit["lat"], limit_m=config.snap_limit_m)
    if start is None:
        return None
    top = rank(config.graph, target, [start], k=1).top
    return top[0].seconds if top else None


def _route_feature(lonlat: np.ndarray, chosen: Candidate) -> dict:
    return {"type": "Feature",
            "geometry": {"type": "LineString",
                         "coordinates": np.round(lonlat, 7).tolist()},
            "properties": {"unit_id": chosen.unit_id, "eta_seconds": round(chosen.seconds, 1),
                           "distance_m": round(chosen.metres, 1)}}


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise Invalid(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
