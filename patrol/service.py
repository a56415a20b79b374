"""The dispatch service: rules from ``patrol``, drive times from ``routing``, SQL from ``zones``.
The HTTP layer only calls these. Each operation is one database transaction, but the alarm
(:func:`receive_incident`), which is async and stores the incident before it decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import psycopg
import sqlalchemy as sa

from patrol import deadlines
from patrol.dispatch import Candidate, Decision, DispatchPolicy, decide, ring_of
from patrol.errors import Conflict, Invalid, NotFound, StoredButNotDispatched
from patrol.fleet import UnitPositions
from patrol.fleet_cache import FleetCache
from routing import (RoadGraph, Snap, Snapped, parse_coord_system, snap_point, snap_points,
                     to_wgs84)
from routing.search import Ranking, rank
from zones import alarm_store, incident_store, unit_store
from zones.database import LoopPool
from zones.models import INCIDENT_STATUSES, UNIT_KINDS, UNIT_STATUSES

#: How many ranked units a claim may walk through when nearer ones are being claimed at once.
CLAIM_DEPTH = 25


@dataclass(frozen=True)
class DispatchConfig:
    """Everything the service needs besides the database."""

    graph: RoadGraph
    policy: DispatchPolicy = DispatchPolicy()
    stale_after_s: float = 120.0
    snap_limit_m: float = 500.0
    deadlines_s: dict[int, int] = field(default_factory=lambda:
                                        dict(deadlines.DEFAULT_ARRIVAL_DEADLINE_S))
    fleet: FleetCache = field(default_factory=FleetCache)
    baseline: object | None = None  # a routing.baseline.NetworkxRanker: benchmark baseline only


def now() -> datetime:
    return datetime.now(timezone.utc)


async def receive_incident(pool: LoopPool, config: DispatchConfig, *, lon: float,
                           lat: float, crs: str, category: str, priority: int,
                           description: str | None, unit_kind: str,
                           requested_by: str | None) -> dict:
    """Store an incident, rank the available units by drive time to it, and dispatch the fastest
    (or recommend it, below the auto-dispatch level). Returns the incident as the API shows it.

    Runs on the event loop, in two round trips: the incident is stored (and from then on kept,
    whatever happens next) with the fleet's changes read; after the ranking, the decision is
    recorded, for a dispatch together with the claim and the assignment of the unit."""
    _check_choice("unit kind", unit_kind, UNIT_KINDS)
    graph = config.graph
    lon_w, lat_w = (float(v) for v in to_wgs84(lon, lat, crs))
    snap = snap_point(graph, lon_w, lat_w, limit_m=config.snap_limit_m)
    road_lon, road_lat = snap.lonlat(graph)
    auto = priority <= config.policy.auto_dispatch_level
    since = config.fleet.since
    async with pool.connection() as conn:
        row, changes = await alarm_store.receive(
            conn, since=since, category=category, priority=priority,
            description=description, lon=lon_w, lat=lat_w, road_lon=road_lon,
            road_lat=road_lat, input_crs=parse_coord_system(crs).value, unit_kind=unit_kind)
        try:
            positions, unit_snaps = await _available_units(conn, config, since, changes,
                                                           unit_kind, row["received_at"])
            # A recommendation shows the top few; a dispatch ranks deeper, for failed claims.
            depth = (max(config.policy.candidates, CLAIM_DEPTH) if auto
                     else config.policy.candidates)
            ranking, ranked = _ranked(config, snap, positions, unit_snaps, depth)
            decision = await _decide_and_record(conn, config, row, priority, ranked,
                                                requested_by)
        except psycopg.OperationalError as error:
            raise StoredButNotDispatched(row["id"]) from error
    view = _with_warning(row, config, now())
    view["candidates"] = [c.as_dict() for c in ranked[:config.policy.candidates]]
    view["decision"] = {"mode": decision.mode, "reason": decision.reason,
                        "unit_id": decision.chosen.unit_id if decision.chosen else None}
    chosen = decision.chosen if decision.mode == "auto" else None
    if chosen is not None and ranking is not None:
        index = next(r.index for r, c in zip(ranking.top, ranked) if c.unit_id == chosen.unit_id)
        view["route"] = _route_feature(ranking.route(index), chosen)
    return view


async def _decide_and_record(conn: psycopg.AsyncConnection, config: DispatchConfig, row: dict,
                             priority: int, ranked: list[Candidate],
                             requested_by: str | None) -> Decision:
    """Decide and audit; a dispatch claims and assigns its unit in the same statement, which
    picks, by the claim's outcome, among the decisions worked out beforehand for each unit
    that could be claimed. ``row`` (the incident's view) is updated with the assignment."""
    policy, ids = config.policy, [c.unit_id for c in ranked]
    candidates = [c.as_dict() for c in ranked]
    if priority > policy.auto_dispatch_level or not ranked:
        decision = decide(priority, ranked, set(ids), policy)
        await alarm_store.record_recommendation(
            conn, incident_id=row["id"], requested_by=requested_by, mode=decision.mode,
            chosen_unit_id=decision.chosen.unit_id if decision.chosen else None,
            reason=decision.reason, candidates=candidates)
        return decision
    if_claimed = [decide(priority, ranked, {unit_id}, policy) for unit_id in ids]
    if_none = decide(priority, ranked, set(), policy)
    unit_id, dispatched_at = await alarm_store.dispatch_first_claimable(
        conn, incident_id=row["id"], unit_ids=ids, etas=[c.seconds for c in ranked],
        reasons=[d.reason for d in if_claimed], reason_if_none=if_none.reason,
        requested_by=requested_by, candidates=candidates)
    if unit_id is None:
        return if_none
    decision = if_claimed[ids.index(unit_id)]
    row.update(status="dispatched", dispatched_at=dispatched_at, unit_id=unit_id,
               unit_callsign=decision.chosen.callsign, eta_seconds=decision.chosen.seconds)
    return decision


async def _available_units(conn: psycopg.AsyncConnection, config: DispatchConfig, since: int,
                           changes: dict, kind: str, at: datetime
                           ) -> tuple[UnitPositions, Snapped]:
    """The available units of ``kind`` at ``at``, placed and snapped, from the worker's copy of
    the fleet brought up to date with ``changes`` (read from the horizon ``since``)."""
    fleet = config.fleet
    if not fleet.update(since, changes, config.graph, config.snap_limit_m):
        whole = await alarm_store.fleet_changes(conn)
        fleet.update(0, whole, config.graph, config.snap_limit_m)
    return fleet.available(kind, at.timestamp(), config.stale_after_s)


def _ranked(config: DispatchConfig, target: Snap, positions: UnitPositions, snaps: Snapped,
            depth: int) -> tuple[Ranking | None, list[Candidate]]:
    """The ``depth`` units nearest to ``target`` by drive time, as candidates; the ranking too
    (None with the networkx baseline), for the route of the one chosen."""
    on_road = np.flatnonzero(snaps.on_road)
    snaps_on_road = snaps.take(on_road)
    if config.baseline is not None:
        ranking, top = None, config.baseline.rank_to(target, snaps_on_road.snaps(), k=depth)
    else:
        ranking = rank(config.graph, target, snaps_on_road, k=depth)
        top = ranking.top
    return ranking, [_candidate(positions, on_road[r.index], r) for r in top]


def assign_unit(engine: sa.Engine, config: DispatchConfig, incident_id: int, unit_id: int,
                requested_by: str | None) -> dict:
    """A dispatcher's override: give ``unit_id`` to the incident (releasing any unit it had)."""
    with engine.begin() as conn:
        status = _locked_incident(conn, incident_id)
        if status not in ("open", "dispatched"):
            raise Conflict(f"incident {incident_id} is {status}; only open or dispatched "
                           f"incidents can be assigned a unit")
        unit_status = unit_store.lock_unit(conn, unit_id)
        if unit_status is None:
            raise NotFound(f"no unit {unit_id}")
        if incident_store.unit_of_incident(conn, incident_id) == unit_id:
            raise Conflict(f"unit {unit_id} is already assigned to incident {incident_id}")
        if unit_status != "available":
            busy = unit_store.unit(conn, unit_id)["incident_id"]
            where = f" to incident {busy}" if busy else ""
            raise Conflict(f"unit {unit_id} is {unit_status}{where}, not available")
        incident_store.release(conn, incident_id)
        eta = _eta(conn, config, incident_id, unit_id)
        incident_store.assign(conn, incident_id, unit_id=unit_id, eta_seconds=eta)
        incident_store.record_decision(conn, incident_id=incident_id, requested_by=requested_by,
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
        incident_store.set_incident_status(conn, incident_id, status="arrived")
        unit_id = incident_store.unit_of_incident(conn, incident_id)
        if unit_id is not None:
            unit_store.set_unit_status(conn, unit_id, status="on_scene")
        return _incident_view(conn, config, incident_id)


def close_incident(engine: sa.Engine, config: DispatchConfig, incident_id: int) -> dict:
    """Close an incident; its unit becomes available again."""
    with engine.begin() as conn:
        status = _locked_incident(conn, incident_id)
        if status == "closed":
            raise Conflict(f"incident {incident_id} is already closed")
        incident_store.release(conn, incident_id)
        incident_store.set_incident_status(conn, incident_id, status="closed")
        return _incident_view(conn, config, incident_id)


def get_incident(engine: sa.Engine, config: DispatchConfig, incident_id: int) -> dict:
    with engine.connect() as conn:
        view = _incident_view(conn, config, incident_id)
        view["decisions"] = incident_store.decisions(conn, incident_id)
        return view


def list_incidents(engine: sa.Engine, config: DispatchConfig, *, status: str | None,
                   zone_id: int | None, since: datetime | None, until: datetime | None,
                   limit: int) -> list[dict]:
    if status is not None:
        _check_choice("status", status, INCIDENT_STATUSES)
    with engine.connect() as conn:
        rows = incident_store.list_incidents(conn, status=status, zone_id=zone_id, since=since,
                                      until=until, limit=limit)
    moment = now()
    return [_with_warning(row, config, moment) for row in rows]


async def move_units(pool: LoopPool, fixes: list[dict]) -> int:
    """Store GPS fixes [{unit_id, lon, lat, crs, timestamp}]; all or none (unknown unit: 404).
    Runs on the event loop: fleets report all the time."""
    moment = now()
    for fix in fixes:
        at = fix["timestamp"]
        if at.tzinfo is None:
            raise Invalid(f"timestamp {at.isoformat()} of unit {fix['unit_id']} has no time "
                          f"zone; send e.g. 2026-11-21T08:00:00+08:00")
        if at > moment + timedelta(seconds=60):
            raise Invalid(f"timestamp {at.isoformat()} of unit {fix['unit_id']} is in the future")
    lon, lat = _fixes_in_wgs84(fixes)
    rows = [{"id": f["unit_id"], "lon": x, "lat": y, "at": f["timestamp"]}
            for f, x, y in zip(fixes, lon.tolist(), lat.tolist())]
    async with pool.connection() as conn:
        unknown, moved = await alarm_store.move_units(conn, rows)
    if unknown:
        raise NotFound(f"no unit {', '.join(map(str, unknown))}; nothing was stored")
    return moved


def _fixes_in_wgs84(fixes: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The fixes' coordinates in WGS-84 (arrays, one entry per fix), converted per CRS."""
    lon = np.array([f["lon"] for f in fixes], dtype=np.float64)
    lat = np.array([f["lat"] for f in fixes], dtype=np.float64)
    crs = np.array([str(f["crs"]) for f in fixes])
    for system in np.unique(crs):
        same = crs == system
        lon[same], lat[same] = to_wgs84(lon[same], lat[same], str(system))
    return lon, lat


def set_unit_status(engine: sa.Engine, unit_id: int, status: str) -> dict:
    """Change a unit's status by hand. Dispatch owns "dispatched"; an assigned unit can only be
    en route or on scene until its incident is closed or reassigned."""
    _check_choice("status", status, UNIT_STATUSES)
    with engine.begin() as conn:
        current = unit_store.lock_unit(conn, unit_id)
        if current is None:
            raise NotFound(f"no unit {unit_id}")
        incident_id = unit_store.unit(conn, unit_id)["incident_id"]
        if status == "dispatched":
            raise Conflict("units are dispatched by assigning them to an incident")
        if incident_id is not None and status in ("available", "off_duty"):
            raise Conflict(f"unit {unit_id} is assigned to incident {incident_id}; close or "
                           f"reassign the incident first")
        if incident_id is None and status in ("en_route", "on_scene"):
            raise Conflict(f"unit {unit_id} has no incident to be {status.replace('_', ' ')} to")
        unit_store.set_unit_status(conn, unit_id, status=status)
        return unit_store.unit(conn, unit_id)


def get_unit(engine: sa.Engine, unit_id: int) -> dict:
    with engine.connect() as conn:
        found = unit_store.unit(conn, unit_id)
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
        return unit_store.list_units(conn, status=status, kind=kind, near=near, limit=limit)


def _candidate(positions, i: int, ranked) -> Candidate:
    return Candidate(int(positions.unit_id[i]), str(positions.callsign[i]), ranked.seconds,
                     ranked.metres, bool(positions.at_home_station[i]))


def _incident_view(conn: sa.Connection, config: DispatchConfig, incident_id: int) -> dict:
    row = incident_store.incident(conn, incident_id)
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
    status = incident_store.lock_incident(conn, incident_id)
    if status is None:
        raise NotFound(f"no incident {incident_id}")
    return status


def _eta(conn: sa.Connection, config: DispatchConfig, incident_id: int, unit_id: int
         ) -> float | None:
    """Drive time (seconds) of one unit to an incident, None when it cannot be placed."""
    row = incident_store.incident(conn, incident_id)
    unit = unit_store.unit(conn, unit_id)
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
