"""What the dispatch consoles read: the incidents changed since a horizon (the change feed of
migration 0012), beside the fleet's feed (:func:`zones.alarm_store.fleet_changes`).

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
           "coalesce(json_agg(" + _INCIDENT_JSON + " ORDER BY i.id), '[]'::json) "
           "FROM incidents i "
           "LEFT JOIN assignments a ON a.incident_id = i.id AND a.released_at IS NULL "
           "LEFT JOIN units un ON un.id = a.unit_id ")
#: Every incident not closed (a console's first read).
_OPEN_INCIDENTS = _SELECT + "WHERE i.status IN ('open', 'dispatched', 'arrived')"
#: Every incident written at or after the horizon, closed ones included (so they leave).
_CHANGED_INCIDENTS = _SELECT + "WHERE i.changed_xid >= %(since)s"


async def incident_changes(conn: psycopg.AsyncConnection, *, since: int = 0
                           ) -> tuple[int, list[dict]]:
    """The horizon to read from next time, and the incidents written since the horizon
    ``since`` (0: every incident not closed), each a dict of ``_INCIDENT_JSON``'s keys."""
    async with conn.cursor() as cursor:
        if since == 0:
            await cursor.execute(_OPEN_INCIDENTS)
        else:
            await cursor.execute(_CHANGED_INCIDENTS, {"since": since})
        horizon, rows = await cursor.fetchone()
    return horizon, rows
