"""SQL for patrol plans: a zone's station, storing a zone's plan with its loops and the units
that drive them, and reading it back as GeoJSON.

A zone keeps one plan: storing a new one replaces the old (its loops go with it). Each loop is
given to a unit of the zone's station that drives no other loop (``uq_patrol_loops_unit``),
lowest id first; a loop with no unit left keeps ``unit_id`` NULL.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

_ZONE = sa.text("""
SELECT z.id, z.station_id, ST_X(s.geom), ST_Y(s.geom)
FROM patrol_zones z LEFT JOIN stations s ON s.id = z.station_id WHERE z.id = :zone_id
""")


def zone_station(conn: sa.Connection, zone_id: int
                 ) -> tuple[int | None, float | None, float | None] | None:
    """(station id, lon, lat) of a zone (Nones: the zone has no station); None: no such zone."""
    row = conn.execute(_ZONE, {"zone_id": zone_id}).first()
    return None if row is None else (row[1], row[2], row[3])


def zones_with_targets(conn: sa.Connection) -> list[int]:
    """Ids of the zones that have must-patrol targets, in order."""
    return list(conn.execute(sa.text(
        "SELECT DISTINCT zone_id FROM patrol_targets ORDER BY zone_id")).scalars())


_INSERT_PLAN = sa.text("""
INSERT INTO patrol_plans (zone_id, loop_seconds, units_limit, graph_version, unreachable, left_out)
VALUES (:zone_id, :loop_seconds, :units, :graph_version, CAST(:unreachable AS jsonb),
        CAST(:left_out AS jsonb))
RETURNING id
""")

_INSERT_LOOP = sa.text("""
INSERT INTO patrol_loops (plan_id, loop, duration_s, stops, geom)
VALUES (:plan_id, :loop, :duration_s, CAST(:stops AS jsonb),
        ST_SetSRID(ST_GeomFromGeoJSON(:geom), 4326))
""")

_ASSIGN_UNITS = sa.text("""
WITH free AS (
    SELECT u.id, row_number() OVER (ORDER BY u.id) AS n
    FROM units u JOIN patrol_zones z ON z.station_id = u.home_station_id
    WHERE z.id = :zone_id AND u.id NOT IN (SELECT unit_id FROM patrol_loops
                                           WHERE unit_id IS NOT NULL)
)
UPDATE patrol_loops l SET unit_id = free.id FROM free
WHERE l.plan_id = :plan_id AND l.loop = free.n
""")


def save_plan(conn: sa.Connection, collection: dict) -> int:
    """Store a plan given as the FeatureCollection of :meth:`patrol.plans.Plan.to_geojson`,
    replacing the zone's previous plan, and give its loops to units. Returns the plan id."""
    zone_id = collection["zone_id"]
    conn.execute(sa.text("DELETE FROM patrol_plans WHERE zone_id = :z"), {"z": zone_id})
    plan_id = conn.execute(_INSERT_PLAN, {
        "zone_id": zone_id, "loop_seconds": int(round(collection["loop_seconds"])),
        "units": collection["units"], "graph_version": collection["graph_version"],
        "unreachable": json.dumps(collection["unreachable"]),
        "left_out": json.dumps(collection["left_out"])}).scalar_one()
    loops = [{"plan_id": plan_id, "loop": f["properties"]["loop"],
              "duration_s": f["properties"]["duration_s"],
              "stops": json.dumps(f["properties"]["stops"]), "geom": json.dumps(f["geometry"])}
             for f in collection["features"]]
    if loops:
        conn.execute(_INSERT_LOOP, loops)
        conn.execute(_ASSIGN_UNITS, {"zone_id": zone_id, "plan_id": plan_id})
    return plan_id


_READ_PLAN = sa.text("""
SELECT p.id, p.loop_seconds, p.units_limit, p.graph_version, p.computed_at, p.unreachable,
       p.left_out
FROM patrol_plans p WHERE p.zone_id = :zone_id
""")

_READ_LOOPS = sa.text("""
SELECT loop, duration_s, stops, unit_id, ST_AsGeoJSON(geom)
FROM patrol_loops WHERE plan_id = :plan_id ORDER BY loop
""")


def read_plan(conn: sa.Connection, zone_id: int) -> dict | None:
    """The stored plan of a zone as a FeatureCollection (None: none stored); each loop's
    properties also name its ``unit_id``."""
    plan = conn.execute(_READ_PLAN, {"zone_id": zone_id}).first()
    if plan is None:
        return None
    features = [{"type": "Feature", "geometry": json.loads(geom),
                 "properties": {"zone_id": zone_id, "loop": loop, "duration_s": duration,
                                "stops": stops, "unit_id": unit_id}}
                for loop, duration, stops, unit_id, geom in
                conn.execute(_READ_LOOPS, {"plan_id": plan[0]})]
    return {"type": "FeatureCollection", "zone_id": zone_id, "loop_seconds": plan[1],
            "units": plan[2], "graph_version": plan[3], "computed_at": plan[4].isoformat(),
            "unreachable": plan[5], "left_out": plan[6], "features": features}


def unit_loops(conn: sa.Connection) -> dict[int, tuple[list[list[float]], float]]:
    """Every unit's assigned loop: its road path (WGS-84 lon/lat vertices) and duration (s)."""
    rows = conn.execute(sa.text("SELECT unit_id, ST_AsGeoJSON(geom), duration_s "
                                "FROM patrol_loops WHERE unit_id IS NOT NULL"))
    return {unit_id: (json.loads(geom)["coordinates"], duration)
            for unit_id, geom, duration in rows}


_MAP_LOOPS = sa.text("""
SELECT p.zone_id, l.loop, l.unit_id, l.duration_s, jsonb_array_length(l.stops),
       ST_AsGeoJSON(ST_Simplify(l.geom, 0.00003), 5)
FROM patrol_loops l JOIN patrol_plans p ON p.id = l.plan_id
WHERE CAST(:zone_id AS int) IS NULL OR p.zone_id = :zone_id
ORDER BY p.zone_id, l.loop
""")

_MAP_TARGETS = sa.text("""
SELECT id, zone_id, kind, name, dwell_s, weight, ST_AsGeoJSON(geom, 6)
FROM patrol_targets WHERE CAST(:zone_id AS int) IS NULL OR zone_id = :zone_id ORDER BY id
""")


def map_features(conn: sa.Connection, *, zone_id: int | None = None
                 ) -> tuple[list[dict], list[dict]]:
    """GeoJSON Features of the stored loops (simplified to about 3 m) and of the targets, of
    one zone or all, for the coverage map."""
    loops = [{"type": "Feature", "geometry": json.loads(geom),
              "properties": {"zone_id": zone, "loop": loop, "unit_id": unit,
                             "minutes": round(duration / 60, 1), "stops": stops}}
             for zone, loop, unit, duration, stops, geom in
             conn.execute(_MAP_LOOPS, {"zone_id": zone_id})]
    marks = [{"type": "Feature", "geometry": json.loads(geom),
              "properties": {"id": i, "zone_id": zone, "kind": kind, "name": name,
                             "dwell_s": dwell, "weight": weight}}
             for i, zone, kind, name, dwell, weight, geom in
             conn.execute(_MAP_TARGETS, {"zone_id": zone_id})]
    return loops, marks
