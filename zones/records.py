"""SQL for dispatch: incidents, assignments, units, API keys and the decision audit.

Plain SQL with bound parameters, as constants so that SQLAlchemy compiles each once: these run
on every alarm. The rules (which transition is legal, who may do what) live in ``patrol``;
this module only reads and writes rows.

No unit is ever given to two incidents: a unit is claimed with ``FOR UPDATE SKIP LOCKED`` (two
transactions never claim the same row, and neither waits for the other), only while its status
is ``available``, and the partial unique index ``uq_assignments_active_unit`` refuses a second
active assignment even if some other path tried.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime

import numpy as np
import sqlalchemy as sa

from zones.queries import LOCATE_FROM


def _pyformat(sql: str) -> str:
    """SQLAlchemy's ``:name`` parameters → psycopg's ``%(name)s``, for statements this module
    runs on the driver's cursor (``::`` casts are left alone)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))

#: Store an incident together with its grid cell, zone and station, found in the same statement.
_INSERT_INCIDENT = """
INSERT INTO incidents (category, priority, description, geom, road_geom, input_crs, unit_kind,
                       grid_id, zone_id, station_id)
SELECT :category, :priority, :description, p.geom,
       ST_SetSRID(ST_MakePoint(:road_lon, :road_lat), 4326), :input_crs, :unit_kind,
       grid.id, zone.id, zone.station_id
FROM """ + LOCATE_FROM + """
RETURNING id, received_at
"""

#: One row of arrays rather than one row per unit: read on every incident, for hundreds of units.
#: The aggregates of one pass see the rows in the same order, so the arrays line up; an ORDER BY
#: per aggregate would cost a sort each (over 10 ms for seven of them). It is read in binary
#: (psycopg's binary cursor, a bound parameter as everywhere): formatting thousands of floats as
#: text cost the server three times as long as the rest of the query.
_AVAILABLE_UNITS = """
SELECT coalesce(array_agg(u.id), '{}') AS id,
       coalesce(array_agg(u.callsign), '{}'),
       coalesce(array_agg(u.lon), '{}'),
       coalesce(array_agg(u.lat), '{}'),
       coalesce(array_agg(extract(epoch FROM now() - u.position_at)::float8), '{}'),
       coalesce(array_agg(s.lon), '{}'),
       coalesce(array_agg(s.lat), '{}')
FROM units u LEFT JOIN stations s ON s.id = u.home_station_id
WHERE u.status = 'available' AND u.kind = %(kind)s
"""

_CLAIM_FIRST = sa.text("""
SELECT id FROM units
WHERE id = ANY(:ids) AND status = 'available'
ORDER BY array_position(:ids, id)
LIMIT 1
FOR UPDATE SKIP LOCKED
""")

_ASSIGN = sa.text("""
WITH a AS (INSERT INTO assignments (incident_id, unit_id, eta_seconds)
           VALUES (:incident_id, :unit_id, :eta) RETURNING unit_id),
     u AS (UPDATE units SET status = 'dispatched' WHERE id = :unit_id RETURNING id)
UPDATE incidents SET status = 'dispatched', dispatched_at = coalesce(dispatched_at, now())
WHERE id = :incident_id
RETURNING dispatched_at
""")

_RELEASE = sa.text("""
WITH r AS (UPDATE assignments SET released_at = now()
           WHERE incident_id = :incident_id AND released_at IS NULL RETURNING unit_id)
UPDATE units SET status = 'available' WHERE id IN (SELECT unit_id FROM r)
RETURNING id
""")

_DECISION_SQL = """
INSERT INTO dispatch_decisions (incident_id, requested_by, mode, chosen_unit_id, reason,
                                candidates)
VALUES (:incident_id, :requested_by, :mode, :chosen_unit_id, :reason, CAST(:candidates AS jsonb))
"""
_DECISION = sa.text(_DECISION_SQL)

_INCIDENT_SQL = """
SELECT i.id, i.category, i.priority, i.description, i.status, i.unit_kind, i.input_crs,
       ST_X(i.geom), ST_Y(i.geom), ST_X(i.road_geom), ST_Y(i.road_geom),
       i.grid_id, g.code, i.zone_id, i.station_id, s.name,
       i.received_at, i.dispatched_at, i.arrived_at, i.closed_at,
       a.unit_id, un.callsign, a.eta_seconds
FROM incidents i
LEFT JOIN areas g ON g.id = i.grid_id
LEFT JOIN stations s ON s.id = i.station_id
LEFT JOIN assignments a ON a.incident_id = i.id AND a.released_at IS NULL
LEFT JOIN units un ON un.id = a.unit_id
WHERE i.id = :id
"""
_INCIDENT = sa.text(_INCIDENT_SQL)
#: Audit a decision and read the incident back, in one round trip (on the driver's cursor).
_DECISION_AND_INCIDENT = _pyformat("WITH decision AS (" + _DECISION_SQL + ") " + _INCIDENT_SQL)

_INCIDENT_FIELDS = ("id", "category", "priority", "description", "status", "unit_kind",
                    "input_crs", "lon", "lat", "road_lon", "road_lat", "grid_id", "grid_code",
                    "zone_id", "station_id", "station_name", "received_at", "dispatched_at",
                    "arrived_at", "closed_at", "unit_id", "unit_callsign", "eta_seconds")

_LIST_INCIDENTS = sa.text("""
SELECT id FROM incidents
WHERE (CAST(:status AS text) IS NULL OR status = :status)
  AND (CAST(:zone_id AS integer) IS NULL OR zone_id = :zone_id)
  AND (CAST(:since AS timestamptz) IS NULL OR received_at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR received_at < :until)
ORDER BY received_at DESC, id DESC
LIMIT :limit
""")

_UNIT = sa.text("""
SELECT u.id, u.callsign, u.kind, u.status, u.simulated, u.home_station_id,
       ST_X(u.position), ST_Y(u.position), u.position_at, a.incident_id
FROM units u LEFT JOIN assignments a ON a.unit_id = u.id AND a.released_at IS NULL
WHERE u.id = :id
""")

_UNIT_FIELDS = ("id", "callsign", "kind", "status", "simulated", "home_station_id", "lon", "lat",
                "position_at", "incident_id")

_LIST_UNITS = sa.text("""
SELECT u.id FROM units u
WHERE (CAST(:status AS text) IS NULL OR u.status = :status)
  AND (CAST(:kind AS text) IS NULL OR u.kind = :kind)
  AND (CAST(:lon AS float8) IS NULL OR ST_DWithin(u.position::geography,
       ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius))
ORDER BY u.id
LIMIT :limit
""")

_MOVE_UNIT = sa.text("""
UPDATE units SET position = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), position_at = :at
WHERE id = :id AND (position_at IS NULL OR position_at <= :at)
""")

_SET_UNIT_STATUS = sa.text("UPDATE units SET status = :status WHERE id = :id")
_SET_INCIDENT_STATUS = {
    "arrived": sa.text("UPDATE incidents SET status = 'arrived', arrived_at = now() "
                       "WHERE id = :id RETURNING arrived_at"),
    "closed": sa.text("UPDATE incidents SET status = 'closed', closed_at = now() "
                      "WHERE id = :id RETURNING closed_at"),
}
_UNIT_OF_INCIDENT = sa.text(
    "SELECT unit_id FROM assignments WHERE incident_id = :id AND released_at IS NULL")
_LOCK_INCIDENT = sa.text("SELECT status FROM incidents WHERE id = :id FOR UPDATE")
_LOCK_UNIT = sa.text("SELECT status FROM units WHERE id = :id FOR UPDATE")


#: Both in one round trip, in binary (the units' arrays): the two statements of every alarm
#: that come before the ranking. The insert does not change what the units query sees.
_INSERT_INCIDENT_AND_UNITS = ("WITH incident AS (" + _pyformat(_INSERT_INCIDENT) + ") "
                              "SELECT incident.id, incident.received_at, units.* FROM incident, ("
                              + _AVAILABLE_UNITS + ") AS units")


def insert_incident_and_units(conn: sa.Connection, **values
                              ) -> tuple[int, datetime, dict[str, np.ndarray]]:
    """Store a new incident (status open) with its grid, zone and station, found from
    ``lon``/``lat`` (WGS-84), and read the available units of its ``unit_kind``; returns its id,
    its receipt time and the units as :func:`available_units` does."""
    with conn.connection.driver_connection.cursor(binary=True) as cursor:
        cursor.execute(_INSERT_INCIDENT_AND_UNITS, {**values, "kind": values["unit_kind"]})
        row = cursor.fetchone()
    return int(row[0]), row[1], _unit_arrays(row[2:])


def available_units(conn: sa.Connection, kind: str) -> dict[str, np.ndarray]:
    """Available units of a kind as arrays: id, callsign, lon, lat, age_s (seconds since the
    last fix), home_lon, home_lat; NaN where a unit has no fix or no home station."""
    with conn.connection.driver_connection.cursor(binary=True) as cursor:
        cursor.execute(_AVAILABLE_UNITS, {"kind": kind})
        return _unit_arrays(cursor.fetchone())


def _unit_arrays(row) -> dict[str, np.ndarray]:
    names = ("id", "callsign", "lon", "lat", "age_s", "home_lon", "home_lat")
    table = {}
    for name, values in zip(names, row):
        if name == "callsign":
            table[name] = np.array(values, dtype=object)
        elif name == "id":
            table[name] = np.array(values, dtype=np.int64)
        else:
            table[name] = np.array(values, dtype=np.float64)  # None (no fix, no home) → nan
    return table


def claim_first(conn: sa.Connection, unit_ids: list[int]) -> set[int]:
    """Lock, for this transaction, the first of ``unit_ids`` (in their order) that is available
    and not locked by another transaction; returns it as a set (empty: none could be had)."""
    if not unit_ids:
        return set()
    return set(conn.execute(_CLAIM_FIRST, {"ids": unit_ids}).scalars())


def assign(conn: sa.Connection, incident_id: int, unit_id: int, eta_seconds: float | None) -> None:
    """Give a (claimed) unit to an incident: assignment, unit dispatched, incident dispatched."""
    conn.execute(_ASSIGN, {"incident_id": incident_id, "unit_id": unit_id, "eta": eta_seconds})


def release(conn: sa.Connection, incident_id: int) -> list[int]:
    """End the incident's active assignment; its unit becomes available. Returns the unit ids."""
    return list(conn.execute(_RELEASE, {"incident_id": incident_id}).scalars())


def record_decision(conn: sa.Connection, *, incident_id: int, requested_by: str | None,
                    mode: str, chosen_unit_id: int | None, reason: str,
                    candidates: list[dict]) -> None:
    """Audit one dispatch decision."""
    conn.execute(_DECISION, {"incident_id": incident_id, "requested_by": requested_by,
                             "mode": mode, "chosen_unit_id": chosen_unit_id, "reason": reason,
                             "candidates": json.dumps(candidates, ensure_ascii=False)})


def record_decision_and_read(conn: sa.Connection, *, incident_id: int,
                             requested_by: str | None, mode: str, chosen_unit_id: int | None,
                             reason: str, candidates: list[dict]) -> dict:
    """:func:`record_decision`, then the incident as :func:`incident` returns it."""
    with conn.connection.driver_connection.cursor() as cursor:
        cursor.execute(_DECISION_AND_INCIDENT, {
            "incident_id": incident_id, "id": incident_id, "requested_by": requested_by,
            "mode": mode, "chosen_unit_id": chosen_unit_id, "reason": reason,
            "candidates": json.dumps(candidates, ensure_ascii=False)})
        row = cursor.fetchone()
    return dict(zip(_INCIDENT_FIELDS, row))


def decisions(conn: sa.Connection, incident_id: int) -> list[dict]:
    rows = conn.execute(sa.text(
        "SELECT decided_at, requested_by, mode, chosen_unit_id, reason, candidates "
        "FROM dispatch_decisions WHERE incident_id = :id ORDER BY id"), {"id": incident_id})
    return [dict(zip(("decided_at", "requested_by", "mode", "chosen_unit_id", "reason",
                      "candidates"), r)) for r in rows]


def incident(conn: sa.Connection, incident_id: int) -> dict | None:
    row = conn.execute(_INCIDENT, {"id": incident_id}).first()
    return dict(zip(_INCIDENT_FIELDS, row)) if row else None


def lock_incident(conn: sa.Connection, incident_id: int) -> str | None:
    """Lock an incident row for this transaction; returns its status (None: no such incident)."""
    return conn.execute(_LOCK_INCIDENT, {"id": incident_id}).scalar()


def lock_unit(conn: sa.Connection, unit_id: int) -> str | None:
    """Lock a unit row for this transaction; returns its status (None: no such unit)."""
    return conn.execute(_LOCK_UNIT, {"id": unit_id}).scalar()


def unit_of_incident(conn: sa.Connection, incident_id: int) -> int | None:
    return conn.execute(_UNIT_OF_INCIDENT, {"id": incident_id}).scalar()


def set_incident_status(conn: sa.Connection, incident_id: int, status: str) -> None:
    conn.execute(_SET_INCIDENT_STATUS[status], {"id": incident_id})


def list_incidents(conn: sa.Connection, *, status: str | None, zone_id: int | None,
                   since: datetime | None, until: datetime | None, limit: int) -> list[dict]:
    ids = conn.execute(_LIST_INCIDENTS, {"status": status, "zone_id": zone_id, "since": since,
                                         "until": until, "limit": limit}).scalars().all()
    return [incident(conn, i) for i in ids]


def unit(conn: sa.Connection, unit_id: int) -> dict | None:
    row = conn.execute(_UNIT, {"id": unit_id}).first()
    return dict(zip(_UNIT_FIELDS, row)) if row else None


def list_units(conn: sa.Connection, *, status: str | None, kind: str | None,
               near: tuple[float, float, float] | None, limit: int) -> list[dict]:
    lon, lat, radius = near if near else (None, None, None)
    ids = conn.execute(_LIST_UNITS, {"status": status, "kind": kind, "lon": lon, "lat": lat,
                                     "radius": radius, "limit": limit}).scalars().all()
    return [unit(conn, i) for i in ids]


def move_units(conn: sa.Connection, fixes: list[dict]) -> int:
    """Store GPS fixes {id, lon, lat, at}; an older fix than the stored one is ignored."""
    if not fixes:
        return 0
    return conn.execute(_MOVE_UNIT, fixes).rowcount


def existing_unit_ids(conn: sa.Connection, ids: list[int]) -> set[int]:
    return set(conn.execute(sa.text("SELECT id FROM units WHERE id = ANY(:ids)"),
                            {"ids": ids}).scalars())


def set_unit_status(conn: sa.Connection, unit_id: int, status: str) -> None:
    conn.execute(_SET_UNIT_STATUS, {"id": unit_id, "status": status})


def station_point(conn: sa.Connection, station_id: int) -> tuple[str, float, float] | None:
    row = conn.execute(sa.text("SELECT name, ST_X(geom), ST_Y(geom) FROM stations "
                               "WHERE id = :id"), {"id": station_id}).first()
    return tuple(row) if row else None


def hotspot_point(conn: sa.Connection, hotspot_id: int) -> tuple[str, str, float, float] | None:
    row = conn.execute(sa.text("SELECT name, category, ST_X(geom), ST_Y(geom) FROM hotspots "
                               "WHERE id = :id"), {"id": hotspot_id}).first()
    return tuple(row) if row else None


def stations_near(conn: sa.Connection, lon: float, lat: float, radius_m: float
                  ) -> list[tuple[int, str, str, int, float, float]]:
    """Stations within a straight-line radius (a pre-filter): (id, name, kind, tier, lon, lat)."""
    rows = conn.execute(sa.text(
        "SELECT id, name, kind, tier_minutes, ST_X(geom), ST_Y(geom) FROM stations "
        "WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,"
        " :radius)"), {"lon": lon, "lat": lat, "radius": radius_m})
    return [tuple(r) for r in rows]


def create_units(conn: sa.Connection, units: list[dict]) -> int:
    """Insert units {callsign, kind, home_station_id, lon, lat, simulated}; skip known callsigns."""
    if not units:
        return 0
    return conn.execute(sa.text(
        "INSERT INTO units (callsign, kind, home_station_id, status, simulated, position, "
        "position_at) VALUES (:callsign, :kind, :home_station_id, 'available', :simulated, "
        "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), now()) ON CONFLICT (callsign) DO NOTHING"),
        units).rowcount


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(conn: sa.Connection, role: str, name: str | None) -> str:
    """Make a new key for ``role``; only its hash is stored, the key is returned once."""
    raw = secrets.token_urlsafe(32)
    conn.execute(sa.text("INSERT INTO api_keys (key_hash, role, name) VALUES (:h, :r, :n)"),
                 {"h": hash_key(raw), "r": role, "n": name})
    return raw


def role_of_key(conn: sa.Connection, raw: str) -> tuple[int, str, str | None] | None:
    """(key id, role, name) of a valid, unrevoked key, else None."""
    row = conn.execute(sa.text("SELECT id, role, name FROM api_keys WHERE key_hash = :h "
                               "AND revoked_at IS NULL"), {"h": hash_key(raw)}).first()
    return tuple(row) if row else None
