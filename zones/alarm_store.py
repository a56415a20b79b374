"""The alarm path: the asynchronous SQL of receiving an alarm, dispatching for it and following
the fleet, on psycopg's own connection (``AsyncConnection``, autocommit).

Every round trip costs the alarm, so each step is one statement, prepared by psycopg after a few
runs and committed by itself. First the incident is stored (durable from then on, whatever
happens next) and the fleet's changes read; then, after the ranking, the decision is recorded:
for a dispatch, in the same statement as the claim and the assignment of the unit, so that the
three happen together or not at all.

No unit is ever given to two incidents: a unit is claimed with ``FOR NO KEY UPDATE SKIP
LOCKED`` (two transactions never claim the same row, and neither waits for the other), only
while its status is ``available`` (or ``relocating``: on its way to a waiting point), and the
partial unique index ``uq_assignments_active_unit`` refuses a second active assignment even if
some other path tried. GPS fixes are rows of their own (``unit_positions``), so a batch of fixes
being written never hides a unit from a claim.

Locks are taken in one order on every path: the incident first, then its units. An incident is
decided once: the decision statement locks it, and records nothing if it was decided already
(by a retry of the same request or by the reconciler) or is no longer open.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import psycopg

from zones.claim import claim_ctes
from zones.incident_store import INCIDENT_FIELDS, INCIDENT_SQL
from zones.queries import LOCATE_FROM
from zones.track_store import APPEND_TRACK


def pyformat(sql: str) -> str:
    """SQLAlchemy's ``:name`` parameters → psycopg's ``%(name)s``, for statements this module
    runs on the driver's cursor (``::`` casts are left alone)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))


#: Store an incident together with its grid cell, zone and station, found in the same statement.
_INSERT_INCIDENT = """
INSERT INTO incidents (category, priority, description, geom, road_geom, input_crs, unit_kind,
                       grid_id, zone_id, station_id, api_key_id, idempotency_key, request_digest)
SELECT :category, :priority, :description, p.geom,
       ST_SetSRID(ST_MakePoint(:road_lon, :road_lat), 4326), :input_crs, :unit_kind,
       grid.id, zone.id, zone.station_id, :api_key_id, :idempotency_key, :request_digest
FROM """ + LOCATE_FROM + """
ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id, category, priority, description, status, unit_kind, input_crs, ST_X(geom) AS lon,
          ST_Y(geom) AS lat, ST_X(road_geom) AS road_lon, ST_Y(road_geom) AS road_lat,
          grid_id, zone_id, station_id, received_at
"""

#: The fleet's change feed (migration 0004): the units whose row or fix was written by
#: transactions the reader may not have seen, i.e. those at or above the oldest transaction
#: running at its last read (``since``; 0 reads every unit), with the horizon to start from next
#: time and the epoch (it moves when units are deleted or stations change). A unit's row and its
#: fix each carry their own revision (0: no fix). One row of arrays. The changed units' rows,
#: fixes and stations are looked up one by one (``OFFSET 0`` keeps each lookup a subquery):
#: prepared, the statement runs a generic plan, which otherwise read every unit, fix and
#: station into hash joins for the handful an alarm's read finds (0.9 ms against 0.15 ms).
_FLEET_CHANGES = """
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon,
       (SELECT epoch FROM fleet_epoch WHERE id = 1) AS epoch,
       array_agg(u.id), array_agg(u.revision), array_agg(coalesce(f.revision, 0)),
       array_agg(u.callsign), array_agg(u.kind), array_agg(u.status), array_agg(f.lon),
       array_agg(f.lat), array_agg(extract(epoch FROM f.position_at)::float8),
       array_agg(s.lon), array_agg(s.lat)
FROM (SELECT id FROM units WHERE changed_xid >= %(since)s
      UNION SELECT unit_id FROM unit_positions WHERE changed_xid >= %(since)s) AS changed
CROSS JOIN LATERAL (SELECT u.id, u.revision, u.callsign, u.kind, u.status, u.home_station_id
                    FROM units u WHERE u.id = changed.id OFFSET 0) AS u
LEFT JOIN LATERAL (SELECT f.revision, f.lon, f.lat, f.position_at FROM unit_positions f
                   WHERE f.unit_id = changed.id OFFSET 0) AS f ON true
LEFT JOIN LATERAL (SELECT s.lon, s.lat FROM stations s WHERE s.id = u.home_station_id
                   OFFSET 0) AS s ON true
"""
_FEED_FIELDS = ("horizon", "epoch", "id", "revision", "fix_revision", "callsign", "kind",
                "status", "lon", "lat", "fix_at", "home_lon", "home_lat")

#: The first round trip of every alarm: the incident stored and returned as
#: :func:`zones.incident_store.incident` shows it, the fleet's changes read. The insert does not
#: change what the feed sees.
_RECEIVE = pyformat("WITH incident AS (" + _INSERT_INCIDENT + """)
SELECT i.id, i.category, i.priority, i.description, i.status, i.unit_kind, i.input_crs, i.lon,
       i.lat, i.road_lon, i.road_lat, i.grid_id, g.code, i.zone_id, i.station_id, s.name,
       i.received_at, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::integer,
       NULL::text, NULL::float8, feed.*
FROM incident i LEFT JOIN areas g ON g.id = i.grid_id LEFT JOIN stations s ON s.id = i.station_id,
     (""") + _FLEET_CHANGES + ") AS feed"

#: A dispatch in one statement. The incident is locked first, and only if it is open and not yet
#: decided; then the first of the ranked units that is available and not being claimed by
#: another alarm (``FOR NO KEY UPDATE SKIP LOCKED``) is claimed and assigned, it and the incident are
#: marked dispatched, and the decision is recorded that the claim's outcome selects from those
#: worked out beforehand (one per unit that could be claimed, and one for none; unless
#: ``record_none`` is false: then no unit, nothing recorded). Returns whether the incident was
#: open and undecided, the unit and the dispatch time.
_DISPATCH = """
WITH undecided AS (SELECT id FROM incidents
                   WHERE id = %(incident_id)s AND status = 'open' AND decided_at IS NULL
                   FOR NO KEY UPDATE),
     """ + claim_ctes("undecided") + """,
     unit AS (UPDATE units SET status = 'dispatched'
              WHERE id = (SELECT unit_id FROM assignment)),
     incident AS (UPDATE incidents
                  SET decided_at = now(),
                      status = CASE WHEN EXISTS (SELECT FROM assignment) THEN 'dispatched'
                                    ELSE status END,
                      dispatched_at = CASE WHEN EXISTS (SELECT FROM assignment) THEN now() END
                  WHERE id = (SELECT id FROM undecided)
                    AND (%(record_none)s OR EXISTS (SELECT FROM assignment))
                  RETURNING dispatched_at),
     decision AS (INSERT INTO dispatch_decisions (incident_id, requested_by, mode,
                                                  chosen_unit_id, reason, candidates)
                  SELECT %(incident_id)s, %(requested_by)s, %(mode)s, a.unit_id,
                         coalesce((%(reasons)s::text[])[array_position(%(ids)s, a.unit_id)],
                                  %(reason_if_none)s),
                         CAST(%(candidates)s AS jsonb)
                  FROM (SELECT (SELECT unit_id FROM assignment) AS unit_id) AS a
                  WHERE EXISTS (SELECT FROM undecided)
                    AND (%(record_none)s OR a.unit_id IS NOT NULL))
SELECT EXISTS (SELECT FROM undecided), (SELECT unit_id FROM assignment),
       (SELECT dispatched_at FROM incident)
"""

#: Audit a decision that assigns nothing, if the incident is open and not yet decided (then
#: marked decided).
_RECORD_DECISION = """
WITH undecided AS (UPDATE incidents SET decided_at = now()
                   WHERE id = %(incident_id)s AND decided_at IS NULL AND status = 'open'
                   RETURNING id)
INSERT INTO dispatch_decisions (incident_id, requested_by, mode, chosen_unit_id, reason,
                                candidates)
SELECT id, %(requested_by)s, %(mode)s, %(chosen_unit_id)s, %(reason)s,
       CAST(%(candidates)s AS jsonb)
FROM undecided
RETURNING id
"""

#: Open incidents stored more than ``older_than_s`` seconds ago without a decision, oldest first.
_UNDECIDED = """
SELECT id, priority, unit_kind, ST_X(road_geom), ST_Y(road_geom), received_at FROM incidents
WHERE decided_at IS NULL AND status = 'open'
  AND received_at < now() - make_interval(secs => %(older_than_s)s)
ORDER BY received_at
LIMIT %(limit)s
"""

#: An incident as the API shows it, and its first decision (None: none yet).
_INCIDENT_WITH_DECISION = pyformat("SELECT i.*, d.* FROM (" + INCIDENT_SQL + """) AS i
LEFT JOIN LATERAL (SELECT d.mode, d.chosen_unit_id, d.reason, d.candidates
                   FROM dispatch_decisions d WHERE d.incident_id = i.id
                   ORDER BY d.id LIMIT 1) AS d ON true""")
_DECISION_FIELDS = ("mode", "chosen_unit_id", "reason", "candidates")

#: A stored incident to decide, if it is open and undecided.
_TO_DECIDE = """
SELECT id, priority, unit_kind, ST_X(road_geom), ST_Y(road_geom), received_at FROM incidents
WHERE id = %(id)s AND decided_at IS NULL AND status = 'open'
"""
_TO_DECIDE_FIELDS = ("id", "priority", "unit_kind", "road_lon", "road_lat", "received_at")

#: The incident a client stored before with the same Idempotency-Key, and whether it is decided.
_BY_IDEMPOTENCY_KEY = """
SELECT id, request_digest, decided_at IS NOT NULL FROM incidents
WHERE api_key_id IS NOT DISTINCT FROM %(api_key_id)s AND idempotency_key = %(idempotency_key)s
"""


async def receive(conn: psycopg.AsyncConnection, *, since: int, **values
                  ) -> tuple[dict | None, dict | None]:
    """Store a new incident (status open) with its grid, zone and station, found from
    ``lon``/``lat`` (WGS-84), and read the fleet's changes as :func:`fleet_changes` does;
    returns the incident as :func:`zones.incident_store.incident` does, and the changes. With
    an ``idempotency_key`` that ``api_key_id`` has used before, nothing is stored: (None, None)
    (see :func:`incident_by_idempotency_key`)."""
    async with conn.cursor(binary=True) as cursor:
        await cursor.execute(_RECEIVE, {"api_key_id": None, "idempotency_key": None,
                                        "request_digest": None, **values, "since": since})
        row = await cursor.fetchone()
    if row is None:
        return None, None
    width = len(INCIDENT_FIELDS)
    return dict(zip(INCIDENT_FIELDS, row[:width])), dict(zip(_FEED_FIELDS, row[width:]))


async def incident_by_idempotency_key(conn: psycopg.AsyncConnection, *, api_key_id: int | None,
                                      idempotency_key: str) -> tuple[int, str, bool] | None:
    """(id, request digest, decided) of the incident ``api_key_id`` stored with
    ``idempotency_key``; None: none."""
    async with conn.cursor() as cursor:
        await cursor.execute(_BY_IDEMPOTENCY_KEY, {"api_key_id": api_key_id,
                                                   "idempotency_key": idempotency_key})
        row = await cursor.fetchone()
    return tuple(row) if row else None


async def fleet_changes(conn: psycopg.AsyncConnection, *, since: int = 0) -> dict:
    """The units written since the horizon ``since`` (0: all units) as lists (id, revision,
    fix_revision, callsign, kind, status, lon, lat, fix_at: seconds since the Unix epoch,
    home_lon, home_lat; None where missing, and each None when no unit changed), with
    ``horizon`` and ``epoch`` (see ``patrol.fleet_cache``). Read in binary: the whole fleet is
    thousands of numbers, which the server formats as text three times slower than it finds
    them."""
    async with conn.cursor(binary=True) as cursor:
        await cursor.execute(_FLEET_CHANGES, {"since": since})
        return dict(zip(_FEED_FIELDS, await cursor.fetchone()))


async def dispatch_first_claimable(conn: psycopg.AsyncConnection, *, incident_id: int,
                                   unit_ids: list[int], etas: list[float],
                                   reasons: list[str], reason_if_none: str,
                                   requested_by: str | None, candidates: list[dict],
                                   mode: str = "auto", record_none: bool = True
                                   ) -> tuple[bool, int | None, datetime | None]:
    """If the incident is open and undecided: claim and assign the first of ``unit_ids``
    (ranked, with their ETAs in seconds) that can be had, and audit the decision as ``mode``
    (``reasons``: the reason if that unit is the one; else ``reason_if_none``, and only with
    ``record_none``: without, an incident that gets no unit stays undecided). Returns whether
    it was open and undecided, the unit and the dispatch time (None, None: no unit)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_DISPATCH, {
            "incident_id": incident_id, "ids": unit_ids, "etas": etas, "reasons": reasons,
            "reason_if_none": reason_if_none, "requested_by": requested_by, "mode": mode,
            "record_none": record_none,
            "candidates": json.dumps(candidates, ensure_ascii=False)})
        decided, unit_id, dispatched_at = await cursor.fetchone()
    return decided, unit_id, dispatched_at


async def record_recommendation(conn: psycopg.AsyncConnection, *, incident_id: int,
                                requested_by: str | None, mode: str,
                                chosen_unit_id: int | None, reason: str,
                                candidates: list[dict]) -> bool:
    """Audit a decision that assigns nothing (a recommendation, or a dispatch with no unit),
    unless the incident was decided already; returns whether it was recorded."""
    async with conn.cursor() as cursor:
        await cursor.execute(_RECORD_DECISION, {
            "incident_id": incident_id, "requested_by": requested_by, "mode": mode,
            "chosen_unit_id": chosen_unit_id, "reason": reason,
            "candidates": json.dumps(candidates, ensure_ascii=False)})
        return await cursor.fetchone() is not None


async def undecided_incidents(conn: psycopg.AsyncConnection, *, older_than_s: float,
                              limit: int = 50) -> list[dict]:
    """Open incidents stored more than ``older_than_s`` seconds ago and never decided, oldest
    first: id, priority, unit_kind, road_lon, road_lat (WGS-84), received_at."""
    async with conn.cursor() as cursor:
        await cursor.execute(_UNDECIDED, {"older_than_s": older_than_s, "limit": limit})
        rows = await cursor.fetchall()
    return [dict(zip(_TO_DECIDE_FIELDS, row)) for row in rows]


async def incident_to_decide(conn: psycopg.AsyncConnection, incident_id: int) -> dict | None:
    """The incident as :func:`undecided_incidents` gives it, if it is open and undecided."""
    async with conn.cursor() as cursor:
        await cursor.execute(_TO_DECIDE, {"id": incident_id})
        row = await cursor.fetchone()
    return dict(zip(_TO_DECIDE_FIELDS, row)) if row else None


async def incident_with_decision(conn: psycopg.AsyncConnection, incident_id: int
                                 ) -> tuple[dict | None, dict | None]:
    """An incident as :func:`zones.incident_store.incident` shows it (None: no such incident),
    and its first decision (mode, chosen_unit_id, reason, candidates; None: not decided)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_INCIDENT_WITH_DECISION, {"id": incident_id})
        row = await cursor.fetchone()
    if row is None:
        return None, None
    width = len(INCIDENT_FIELDS)
    first = dict(zip(_DECISION_FIELDS, row[width:]))
    return dict(zip(INCIDENT_FIELDS, row[:width])), first if first["mode"] else None


#: Many fixes in one statement. Per unit the newest fix of the batch counts, and only if it is
#: newer than the stored one; fixes of unknown units are left out and named. Fixes are rows of
#: their own: writing them locks no unit (the foreign key's check takes a KEY SHARE lock, which
#: a claim's FOR NO KEY UPDATE does not conflict with). Every fix is also appended to its
#: unit's track in the same statement (:data:`zones.track_store.APPEND_TRACK`).
_MOVE_UNITS = """
WITH fix AS (SELECT * FROM unnest(%(ids)s::integer[], %(lons)s::float8[], %(lats)s::float8[],
                                  %(ats)s::timestamptz[]) AS fix(id, lon, lat, at)),""" + APPEND_TRACK + """,
     newest AS (SELECT DISTINCT ON (fix.id) fix.id, lon, lat, at
                FROM fix JOIN units u ON u.id = fix.id ORDER BY fix.id, at DESC),
     moved AS (INSERT INTO unit_positions AS p (unit_id, position, position_at)
               SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326), at FROM newest
               ON CONFLICT (unit_id) DO UPDATE
               SET position = excluded.position, position_at = excluded.position_at
               WHERE p.position_at <= excluded.position_at
               RETURNING p.unit_id)
SELECT coalesce((SELECT array_agg(DISTINCT fix.id) FROM fix
                 WHERE NOT EXISTS (SELECT FROM units u WHERE u.id = fix.id)), '{}'),
       (SELECT count(*) FROM moved)
"""


async def move_units(conn: psycopg.AsyncConnection, fixes: list[dict], *,
                     max_speed_kph: float) -> tuple[list[int], int]:
    """Store GPS fixes {id, lon, lat (WGS-84), at}, each also in its unit's track (a fix
    reached faster than ``max_speed_kph`` km/h marked a jump there); returns the unknown unit
    ids (their fixes were left out) and how many units moved."""
    async with conn.cursor() as cursor:
        await cursor.execute(_MOVE_UNITS, {"max_speed_kph": max_speed_kph, **{
            name: [f[key] for f in fixes] for name, key in (
                ("ids", "id"), ("lons", "lon"), ("lats", "lat"), ("ats", "at"))}})
        unknown, moved = await cursor.fetchone()
    return list(unknown), int(moved)
