"""The alarm path: the asynchronous SQL of receiving an alarm, dispatching for it and following
the fleet, on psycopg's own connection (``AsyncConnection``, autocommit).

Every round trip costs the alarm, so each step is one statement, prepared by psycopg after a few
runs and committed by itself. First the incident is stored (durable from then on, whatever
happens next) and the fleet's changes read; then, after the ranking, the decision is recorded:
for a dispatch, in the same statement as the claim and the assignment of the unit, so that the
three happen together or not at all.

No unit is ever given to two incidents: a unit is claimed with ``FOR UPDATE SKIP LOCKED`` (two
transactions never claim the same row, and neither waits for the other), only while its status
is ``available``, and the partial unique index ``uq_assignments_active_unit`` refuses a second
active assignment even if some other path tried.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import psycopg

from zones.incident_store import INCIDENT_FIELDS, INSERT_DECISION_SQL
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

#: The first round trip of every alarm: the incident stored and returned as
#: :func:`zones.incident_store.incident` shows it, the fleet's changes read. The insert does not
#: change what the feed sees.
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
_RECORD_DECISION = _pyformat(INSERT_DECISION_SQL)


async def receive(conn: psycopg.AsyncConnection, *, since: int, **values
                  ) -> tuple[dict, dict]:
    """Store a new incident (status open) with its grid, zone and station, found from
    ``lon``/``lat`` (WGS-84), and read the fleet's changes as :func:`fleet_changes` does;
    returns the incident as :func:`zones.incident_store.incident` does, and the changes."""
    async with conn.cursor(binary=True) as cursor:
        await cursor.execute(_RECEIVE, {**values, "since": since})
        row = await cursor.fetchone()
    width = len(INCIDENT_FIELDS)
    return dict(zip(INCIDENT_FIELDS, row[:width])), dict(zip(_FEED_FIELDS, row[width:]))


async def fleet_changes(conn: psycopg.AsyncConnection, *, since: int = 0) -> dict:
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
