"""What the dispatch consoles read: the incidents changed since a horizon (the change feed of
migration 0012) and those deleted, beside the fleet's feed
(:func:`zones.alarm_store.fleet_changes`); and the recommended moves open now (a handful).

A reader keeps the horizon it was given (the oldest transaction still running when it read) and
passes it back next time; every incident written since then by a committed transaction is among
the rows returned (some it has seen already may come again, never one less).
"""

from __future__ import annotations

import psycopg

#: An incident as the console shows it; times in seconds since the Unix epoch.
_INCIDENT_JSON = """json_build_object(
    'id', i.id, 'category', i.category, 'priority', i.priority, 'description', i.description,
    'status', i.status, 'lon', ST_X(i.geom), 'lat', ST_Y(i.geom),
    'received_at', extract(epoch FROM i.received_at)::float8,
    'dispatched_at', extract(epoch FROM i.dispatched_at)::float8,
    'arrived_at', extract(epoch FROM i.arrived_at)::float8,
    'unit_id', a.unit_id, 'unit_callsign', un.callsign, 'eta_seconds', a.eta_seconds)"""

_SELECT = ("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
           "coalesce(json_agg(" + _INCIDENT_JSON + " ORDER BY i.id), '[]'::json), "
           "(SELECT coalesce(array_agg(s.id), '{}') FROM unnest(%(shown)s::bigint[]) s(id) "
           " WHERE NOT EXISTS (SELECT FROM incidents d WHERE d.id = s.id)) "
           "FROM incidents i "
           "LEFT JOIN assignments a ON a.incident_id = i.id AND a.released_at IS NULL "
           "LEFT JOIN units un ON un.id = a.unit_id ")
#: Every incident not closed (a console's first read).
_OPEN_INCIDENTS = _SELECT + "WHERE i.status IN ('open', 'dispatched', 'arrived')"
#: Every incident written at or after the horizon, closed ones included (so they leave).
_CHANGED_INCIDENTS = _SELECT + "WHERE i.changed_xid >= %(since)s"


async def incident_changes(conn: psycopg.AsyncConnection, *, since: int = 0,
                           shown: list[int] | tuple = ()) -> tuple[int, list[dict], list[int]]:
    """The horizon to read from next time, the incidents written since the horizon ``since``
    (0: every incident not closed), each a dict of ``_INCIDENT_JSON``'s keys, and the ids of
    ``shown`` that no longer exist (deleted: a deletion leaves no row to stamp). One index
    probe per shown incident."""
    values = {"since": since, "shown": list(shown)}
    async with conn.cursor() as cursor:
        await cursor.execute(_OPEN_INCIDENTS if since == 0 else _CHANGED_INCIDENTS, values)
        horizon, rows, deleted = await cursor.fetchone()
    return horizon, rows, sorted(deleted)


#: The proposed and accepted moves, as ``GET /moves`` orders them, with what the console shows:
#: the waiting point (WGS-84), the drive (seconds) and the expected coverage before and after.
_OPEN_MOVES = """
SELECT coalesce(json_agg(json_build_object(
    'id', m.id, 'unit_id', m.unit_id, 'callsign', u.callsign, 'status', m.status,
    'reason', m.reason, 'site_kind', m.site_kind, 'site_name', m.site_name, 'lon', m.lon,
    'lat', m.lat, 'drive_seconds', m.drive_seconds, 'gain', m.gain,
    'expected_before', m.coverage_before -> 'expected',
    'expected_after', m.coverage_after -> 'expected')
  ORDER BY m.status DESC, m.gain DESC, m.id), '[]'::json)
FROM moves m JOIN units u ON u.id = m.unit_id WHERE m.status IN ('proposed', 'accepted')
"""


async def open_moves(conn: psycopg.AsyncConnection) -> list[dict]:
    """The proposed and accepted moves (accepted first, then by gain), each a dict of
    ``_OPEN_MOVES``'s keys."""
    async with conn.cursor() as cursor:
        await cursor.execute(_OPEN_MOVES)
        (rows,) = await cursor.fetchone()
    return rows
