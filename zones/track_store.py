"""GPS tracks: the SQL of storing every fix a unit reports (``track_fixes``) and reading a
unit's fixes over a time range.

Fixes are stored already judged (:mod:`patrol.track_cleaning`): duplicates and fixes going
back in time never reach the table, a jump is stored with ``jump`` true (replayed, left out of
matching). Two ways in:

- the track endpoints (:func:`track_state`, :func:`store_track`, async, inside one
  transaction): the units are locked (an advisory lock per unit, which no other path takes),
  their last stored fixes read, the fixes cleaned in Python fix by fix and reported, then
  stored together with each unit's newest good fix as its last position;
- the position batches of the alarm path (:data:`APPEND_TRACK`, a part of their one
  statement): judged in SQL against each unit's stored track, see there.

Reading (:func:`fixes_between`) is synchronous SQLAlchemy, for the replay and the analyses.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
import sqlalchemy as sa

#: Appends the fixes of a position batch to the tracks, for a statement that has a CTE
#: ``fix(id, lon, lat, at)`` (WGS-84) and a parameter ``max_speed_kph``. A fix at or before
#: the unit's newest stored fix (a duplicate, or going back) is left out, as is a second fix of
#: a unit at one instant; a fix reached from the unit's last good stored fix only faster than
#: ``max_speed_kph`` (great-circle distance over time) is stored as a jump. A batch carrying
#: several fixes of one unit judges each against the last good fix stored before the batch:
#: that never flags a good fix (the speed over the longer span is at most the fastest step's),
#: but it can miss a jump between two of them; the track endpoints judge fix by fix. Unknown
#: units' fixes are left out. Two index probes per fix, on the primary key.
APPEND_TRACK = """
     track AS (INSERT INTO track_fixes (unit_id, at, geom, jump)
               SELECT f.id, f.at, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326),
                      coalesce(ST_DistanceSphere(good.geom, ST_SetSRID(ST_MakePoint(f.lon, f.lat),
                                                                       4326))
                               > %(max_speed_kph)s / 3.6 * extract(epoch FROM f.at - good.at),
                               false)
               FROM fix f JOIN units u ON u.id = f.id
               LEFT JOIN LATERAL (SELECT at FROM track_fixes t WHERE t.unit_id = f.id
                                  ORDER BY at DESC LIMIT 1) AS newest ON true
               LEFT JOIN LATERAL (SELECT at, geom FROM track_fixes t
                                  WHERE t.unit_id = f.id AND NOT jump
                                  ORDER BY at DESC LIMIT 1) AS good ON true
               WHERE newest.at IS NULL OR f.at > newest.at
               ON CONFLICT DO NOTHING)"""

#: Waits for the track endpoints' lock on each unit, in the order of their ids (so two never
#: deadlock), until the transaction ends. The class of the lock is the table's oid.
_LOCK_UNITS = """
SELECT count(pg_advisory_xact_lock('track_fixes'::regclass::oid::integer, id))
FROM (SELECT DISTINCT id FROM unnest(%(ids)s::integer[]) AS u(id) ORDER BY id) AS u
"""

#: Per known unit of ``ids``: its last good stored fix (time, lon, lat), the time of its newest
#: stored fix, and its stored fixes at the times in ``ats`` (time, lon, lat arrays).
_STATE = """
WITH fix AS (SELECT * FROM unnest(%(ids)s::integer[], %(ats)s::timestamptz[]) AS fix(id, at))
SELECT u.id, good.at, ST_X(good.geom), ST_Y(good.geom), newest.at, same.ats, same.lons,
       same.lats
FROM units u
LEFT JOIN LATERAL (SELECT at, geom FROM track_fixes t WHERE t.unit_id = u.id AND NOT jump
                   ORDER BY at DESC LIMIT 1) AS good ON true
LEFT JOIN LATERAL (SELECT at FROM track_fixes t WHERE t.unit_id = u.id
                   ORDER BY at DESC LIMIT 1) AS newest ON true
LEFT JOIN LATERAL (SELECT array_agg(t.at) AS ats, array_agg(ST_X(t.geom)) AS lons,
                          array_agg(ST_Y(t.geom)) AS lats
                   FROM track_fixes t
                   WHERE t.unit_id = u.id AND t.at IN (SELECT at FROM fix WHERE fix.id = u.id)
                   ) AS same ON true
WHERE u.id IN (SELECT id FROM fix)
"""
_STATE_FIELDS = ("good_at", "good_lon", "good_lat", "newest_at", "same_at", "same_lon",
                 "same_lat")

#: Judged fixes stored, and each unit moved to its newest good one (when newer than its last
#: position), as a position batch moves it. Returns how many fixes were stored.
_STORE = """
WITH fix AS (SELECT * FROM unnest(%(ids)s::integer[], %(lons)s::float8[], %(lats)s::float8[],
                                  %(ats)s::timestamptz[], %(jumps)s::boolean[])
             AS fix(id, lon, lat, at, jump)),
     stored AS (INSERT INTO track_fixes (unit_id, at, geom, jump)
                SELECT id, at, ST_SetSRID(ST_MakePoint(lon, lat), 4326), jump FROM fix
                ON CONFLICT DO NOTHING
                RETURNING 1),
     newest AS (SELECT DISTINCT ON (id) id, lon, lat, at FROM fix WHERE NOT jump
                ORDER BY id, at DESC),
     moved AS (INSERT INTO unit_positions AS p (unit_id, position, position_at)
               SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326), at FROM newest
               ON CONFLICT (unit_id) DO UPDATE
               SET position = excluded.position, position_at = excluded.position_at
               WHERE p.position_at <= excluded.position_at)
SELECT count(*) FROM stored
"""

_FIXES_BETWEEN = sa.text("""
SELECT at, ST_X(geom) AS lon, ST_Y(geom) AS lat, jump FROM track_fixes
WHERE unit_id = :unit_id AND at >= :start AND at < :end
ORDER BY at
""")


async def track_state(conn: psycopg.AsyncConnection, unit_ids: list[int],
                      ats: list[datetime]) -> dict[int, dict]:
    """Lock the units' tracks until the transaction ends (call inside one) and read, per
    known unit (``unit_ids`` and ``ats``: one entry per fix; an ``at`` may be None), what cleaning its new fixes
    needs: ``good_at``, ``good_lon``, ``good_lat`` (its last good fix, WGS-84; None: none),
    ``newest_at`` (its newest fix, a jump or not) and ``same_at``, ``same_lon``, ``same_lat``
    (its stored fixes at the times of the new ones; None: none). Unknown units are absent."""
    async with conn.cursor() as cursor:
        await cursor.execute(_LOCK_UNITS, {"ids": unit_ids})
        await cursor.execute(_STATE, {"ids": unit_ids, "ats": ats})
        rows = await cursor.fetchall()
    return {row[0]: dict(zip(_STATE_FIELDS, row[1:])) for row in rows}


async def store_track(conn: psycopg.AsyncConnection, fixes: list[dict]) -> int:
    """Store judged fixes {id, lon, lat (WGS-84), at, jump} and move each unit to its newest
    fix that is not a jump, unless a newer position is kept; returns how many were stored (a
    fix of a unit at an instant already stored is not)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_STORE, {name: [f[key] for f in fixes] for name, key in (
            ("ids", "id"), ("lons", "lon"), ("lats", "lat"), ("ats", "at"),
            ("jumps", "jump"))})
        (stored,) = await cursor.fetchone()
    return int(stored)


def fixes_between(conn: sa.Connection, unit_id: int, start: datetime, end: datetime
                  ) -> list[dict]:
    """A unit's stored fixes taken at or after ``start`` and before ``end`` (time zone aware),
    in time order: {at (UTC), lon, lat (WGS-84 degrees), jump (left out of matching)}."""
    rows = conn.execute(_FIXES_BETWEEN, {"unit_id": unit_id, "start": start, "end": end})
    return [dict(row._mapping) for row in rows]
