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
import psycopg
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
RETURNING id, category, priority, description, status, unit_kind, input_crs, ST_X(geom) AS lon,
          ST_Y(geom) AS lat, ST_X(road_geom) AS road_lon, ST_Y(road_geom) AS road_lat,
          grid_id, zone_id, station_id, received_at
"""

#: One row of arrays rather than one row per unit, read in binary. The aggregates of one pass
#: see the rows in the same order, so the arrays line up; an ORDER BY per aggregate would cost
#: a sort each.
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

_UNIT_SQL = """
SELECT u.id, u.callsign, u.kind, u.status, u.simulated, u.home_station_id,
       ST_X(u.position), ST_Y(u.position), u.position_at, a.incident_id
FROM units u LEFT JOIN assignments a ON a.unit_id = u.id AND a.released_at IS NULL
"""
_UNIT = sa.text(_UNIT_SQL + "WHERE u.id = :id")

_UNIT_FIELDS = ("id", "callsign", "kind", "status", "simulated", "home_station_id", "lon", "lat",
                "position_at", "incident_id")

_LIST_UNITS = sa.text(_UNIT_SQL + """
WHERE (CAST(:status AS text) IS NULL OR u.status = :status)
  AND (CAST(:kind AS text) IS NULL OR u.kind = :kind)
  AND (CAST(:lon AS float8) IS NULL OR ST_DWithin(u.position::geography,
       ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius))
ORDER BY u.id
LIMIT :limit
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
    rows = conn.execute(_LIST_UNITS, {"status": status, "kind": kind, "lon": lon, "lat": lat,
                                      "radius": radius, "limit": limit})
    return [dict(zip(_UNIT_FIELDS, row)) for row in rows]


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


# The alarm path -------------------------------------------------------------------------------
# Async, on psycopg's own connection (``AsyncConnection``, autocommit): every round trip costs the
# alarm, so each step is one statement, prepared by psycopg after a few runs and committed by
# itself. First the incident is stored (durable from then on, whatever happens next) and the
# fleet's changes read; then, after the ranking, the decision is recorded: for a dispatch, in
# the same statement as the claim and the assignment of the unit, so that the three happen
# together or not at all.

#: The fleet's change feed (migration 0004): the units written by transactions the reader may
#: not have seen, i.e. those at or above the oldest transaction running at its last read
#: (``since``; 0 reads every unit), with the horizon to start from next time and the epoch (it
#: moves when units are deleted or stations change). One row of arrays.
_FLEET_CHANGES = """
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon,
       (SELECT epoch FROM fleet_epoch WHERE id = 1) AS epoch,
       array_agg(u.id), array_agg(u.revision), array_agg(u.callsign), array_agg(u.kind),
       array_agg(u.status), array_agg(u.lon), array_agg(u.lat),
       array_agg(extract(epoch FROM u.position_at)::float8), array_agg(s.lon), array_agg(s.lat)
FROM units u LEFT JOIN stations s ON s.id = u.home_station_id
WHERE u.changed_xid >= %(since)s
"""
_FEED_FIELDS = ("horizon", "epoch", "id", "revision", "callsign", "kind", "status", "lon",
                "lat", "fix_at", "home_lon", "home_lat")

#: The first round trip of every alarm: the incident stored and returned as :func:`incident`
#: shows it, the fleet's changes read. The insert does not change what the feed sees.
_RECEIVE = _pyformat("WITH incident AS (" + _INSERT_INCIDENT + """)
SELECT i.id, i.category, i.priority, i.description, i.status, i.unit_kind, i.input_crs, i.lon,
       i.lat, i.road_lon, i.road_lat, i.grid_id, g.code, i.zone_id, i.station_id, s.name,
       i.received_at, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::integer,
       NULL::text, NULL::float8, feed.*
FROM incident i LEFT JOIN areas g ON g.id = i.grid_id LEFT JOIN stations s ON s.id = i.station_id,
     (""") + _FLEET_CHANGES + ") AS feed"

#: A dispatch in one statement: claim the first of the ranked units that is available and not
#: being claimed by another alarm (``FOR UPDATE SKIP LOCKED``), assign it, mark it and the
#: incident dispatched, and record the decision that the claim's outcome selects from those
#: worked out beforehand (one per unit that could be claimed, and one for none).
_DISPATCH = """
WITH claimed AS (SELECT id FROM units
                 WHERE id = ANY(%(ids)s) AND status = 'available'
                 ORDER BY array_position(%(ids)s, id)
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED),
     assignment AS (INSERT INTO assignments (incident_id, unit_id, eta_seconds)
                    SELECT %(incident_id)s, id, (%(etas)s::float8[])[array_position(%(ids)s, id)]
                    FROM claimed
                    RETURNING unit_id),
     unit AS (UPDATE units SET status = 'dispatched'
              WHERE id = (SELECT unit_id FROM assignment)),
     incident AS (UPDATE incidents SET status = 'dispatched',
                                       dispatched_at = coalesce(dispatched_at, now())
                  WHERE id = %(incident_id)s AND EXISTS (SELECT FROM assignment)
                  RETURNING dispatched_at),
     decision AS (INSERT INTO dispatch_decisions (incident_id, requested_by, mode,
                                                  chosen_unit_id, reason, candidates)
                  SELECT %(incident_id)s, %(requested_by)s, 'auto', a.unit_id,
                         coalesce((%(reasons)s::text[])[array_position(%(ids)s, a.unit_id)],
                                  %(reason_if_none)s),
                         CAST(%(candidates)s AS jsonb)
                  FROM (SELECT (SELECT unit_id FROM assignment) AS unit_id) AS a)
SELECT (SELECT unit_id FROM assignment), (SELECT dispatched_at FROM incident)
"""
_RECORD_DECISION = _pyformat(_DECISION_SQL)


async def receive(conn: psycopg.AsyncConnection, *, since: int, **values
                  ) -> tuple[dict, dict]:
    """Store a new incident (status open) with its grid, zone and station, found from
    ``lon``/``lat`` (WGS-84), and read the fleet's changes as :func:`fleet_changes` does;
    returns the incident as :func:`incident` does, and the changes."""
    async with conn.cursor(binary=True) as cursor:
        await cursor.execute(_RECEIVE, {**values, "since": since})
        row = await cursor.fetchone()
    width = len(_INCIDENT_FIELDS)
    return dict(zip(_INCIDENT_FIELDS, row[:width])), dict(zip(_FEED_FIELDS, row[width:]))


async def fleet_changes(conn: psycopg.AsyncConnection, since: int = 0) -> dict:
    """The units written since the horizon ``since`` (0: all units) as lists (id, revision,
    callsign, kind, status, lon, lat, fix_at: seconds since the Unix epoch, home_lon,
    home_lat; None where missing, and each None when no unit changed), with ``horizon`` and
    ``epoch`` (see ``patrol.fleet_cache``). Read in binary: the whole fleet is thousands of
    numbers, which the server formats as text three times slower than it finds them."""
    async with conn.cursor(binary=True) as cursor:
        await cursor.execute(_FLEET_CHANGES, {"since": since})
        return dict(zip(_FEED_FIELDS, await cursor.fetchone()))


async def dispatch_first_claimable(conn: psycopg.AsyncConnection, *, incident_id: int,
                                   unit_ids: list[int], etas: list[float],
                                   reasons: list[str], reason_if_none: str,
                                   requested_by: str | None, candidates: list[dict]
                                   ) -> tuple[int | None, datetime | None]:
    """Claim and assign the first of ``unit_ids`` (ranked, with their ETAs in seconds) that can
    be had, and audit the decision (``reasons``: the reason if that unit is the one; else
    ``reason_if_none``); returns the unit and the dispatch time (None, None: no unit)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_DISPATCH, {
            "incident_id": incident_id, "ids": unit_ids, "etas": etas, "reasons": reasons,
            "reason_if_none": reason_if_none, "requested_by": requested_by,
            "candidates": json.dumps(candidates, ensure_ascii=False)})
        unit_id, dispatched_at = await cursor.fetchone()
    return unit_id, dispatched_at


async def record_recommendation(conn: psycopg.AsyncConnection, *, incident_id: int,
                                requested_by: str | None, mode: str,
                                chosen_unit_id: int | None, reason: str,
                                candidates: list[dict]) -> None:
    """Audit a decision that assigns nothing (a recommendation, or a dispatch with no unit)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_RECORD_DECISION, {
            "incident_id": incident_id, "requested_by": requested_by, "mode": mode,
            "chosen_unit_id": chosen_unit_id, "reason": reason,
            "candidates": json.dumps(candidates, ensure_ascii=False)})


#: Many fixes in one statement, all or none: nothing moves if a unit is unknown. Per unit the
#: newest fix of the batch counts, and only if it is newer than the stored one.
_MOVE_UNITS = """
WITH fix AS (SELECT * FROM unnest(%(ids)s::integer[], %(lons)s::float8[], %(lats)s::float8[],
                                  %(ats)s::timestamptz[]) AS fix(id, lon, lat, at)),
     unknown AS (SELECT DISTINCT fix.id FROM fix LEFT JOIN units u ON u.id = fix.id
                 WHERE u.id IS NULL),
     newest AS (SELECT DISTINCT ON (id) id, lon, lat, at FROM fix ORDER BY id, at DESC),
     moved AS (UPDATE units u
               SET position = ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326), position_at = f.at
               FROM newest f
               WHERE u.id = f.id AND (u.position_at IS NULL OR u.position_at <= f.at)
                 AND NOT EXISTS (SELECT FROM unknown)
               RETURNING u.id)
SELECT coalesce((SELECT array_agg(id ORDER BY id) FROM unknown), '{}'),
       (SELECT count(*) FROM moved)
"""


async def move_units(conn: psycopg.AsyncConnection, fixes: list[dict]) -> tuple[list[int], int]:
    """Store GPS fixes {id, lon, lat (WGS-84), at}; returns the unknown unit ids (then nothing
    was stored) and how many units moved."""
    async with conn.cursor() as cursor:
        await cursor.execute(_MOVE_UNITS, {name: [f[key] for f in fixes] for name, key in (
            ("ids", "id"), ("lons", "lon"), ("lats", "lat"), ("ats", "at"))})
        unknown, moved = await cursor.fetchone()
    return list(unknown), int(moved)
