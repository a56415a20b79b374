"""Patrol planning use-cases shared by the API and the CLI: plan a zone (or every zone) from its
stored targets and station, store the plan, read it back."""

from __future__ import annotations

import sqlalchemy as sa

from patrol.errors import Invalid, NotFound
from patrol.plan_solver import DEFAULT_TIME_S
from patrol.plans import MIN_LOOP_S, plan_loops, unplanned
from routing.compiled import RoadGraph
from routing.snapping import DEFAULT_SNAP_LIMIT_M
from zones import plan_store, targets


def plan_zone(engine: sa.Engine, graph: RoadGraph, zone_id: int, *, loop_seconds: float,
              units: int | None = None, snap_limit_m: float = DEFAULT_SNAP_LIMIT_M,
              time_s: float = DEFAULT_TIME_S, store: bool = True) -> dict:
    """Compute (and store, with its units) the loops of one zone; returns the GeoJSON plan."""
    if not loop_seconds >= MIN_LOOP_S:
        raise Invalid(f"the loop time must be at least {MIN_LOOP_S} s, not {loop_seconds:g} s")
    with engine.connect() as conn:
        station = plan_store.zone_station(conn, zone_id)
        if station is None:
            raise NotFound(f"no patrol zone {zone_id}")
        station_id, lon, lat = station
        if station_id is None:
            raise Invalid(f"patrol zone {zone_id} has no station to start its loops from")
        zone_targets = targets.zone_targets(conn, zone_id)
    try:
        plan = plan_loops(graph, (lon, lat), zone_targets, zone_id=zone_id,
                          loop_seconds=loop_seconds, units=units, snap_limit_m=snap_limit_m,
                          time_s=time_s).to_geojson()
    except Invalid as exc:
        raise Invalid(f"patrol zone {zone_id}: {exc}") from None
    if store:
        with engine.begin() as conn:
            plan_store.save_plan(conn, plan)
            return plan_store.read_plan(conn, zone_id)
    return plan


def plan_all(engine: sa.Engine, graph: RoadGraph, *, loop_seconds: float,
             units: int | None = None, snap_limit_m: float = DEFAULT_SNAP_LIMIT_M,
             time_s: float = DEFAULT_TIME_S, store: bool = True) -> list[dict]:
    """:func:`plan_zone` for every zone that has targets, in zone order; a zone without a
    station gets no loop and lists its targets as unreachable (reason ``no_station``)."""
    with engine.connect() as conn:
        zone_ids = plan_store.zones_with_targets(conn)
        stationless = {z: targets.zone_targets(conn, z) for z in zone_ids
                       if plan_store.zone_station(conn, z)[0] is None}
    return [unplanned(graph, z, stationless[z], loop_seconds=loop_seconds,
                      reason="no_station").to_geojson() if z in stationless else
            plan_zone(engine, graph, z, loop_seconds=loop_seconds, units=units,
                      snap_limit_m=snap_limit_m, time_s=time_s, store=store)
            for z in zone_ids]


def stored_plan(engine: sa.Engine, zone_id: int) -> dict:
    """The stored plan of a zone, or :class:`NotFound`."""
    with engine.connect() as conn:
        plan = plan_store.read_plan(conn, zone_id)
        if plan is None:
            if plan_store.zone_station(conn, zone_id) is None:
                raise NotFound(f"no patrol zone {zone_id}")
            raise NotFound(f"patrol zone {zone_id} has no stored plan; compute one first")
    return plan


def merge_plans(plans: list[dict]) -> dict:
    """Plans of several zones as one FeatureCollection; each unreachable or left-out target
    names its zone."""
    return {"type": "FeatureCollection",
            "features": [f for plan in plans for f in plan["features"]],
            "unreachable": [{"zone_id": p["zone_id"], **t} for p in plans
                            for t in p["unreachable"]],
            "left_out": [{"zone_id": p["zone_id"], **t} for p in plans for t in p["left_out"]],
            "zones": [p["zone_id"] for p in plans]}
