"""Closing an incident on the event loop in one statement (psycopg's async connection,
autocommit): the incident locked first (as on every path), its active assignment ended, its
unit available again, the incident closed and the change audited, together or not at all.

A dispatch centre closes every incident it receives, so a close is as frequent as an alarm:
one round trip, where the same steps on the thread pool took seven (begin, lock, release,
status, audit, read back, commit).
"""

from __future__ import annotations

import psycopg

from zones.alarm_store import pyformat
from zones.audit import Actor
from zones.incident_store import INCIDENT_FIELDS, INCIDENT_SQL

#: The incident as it was (``INCIDENT_SQL``: the statement sees the rows as they were before
#: it), its status then, and when it was closed here (NULL: not found, or closed already). The
#: audit row is the one ``zones.audit.record`` writes for a close.
_CLOSE = "WITH " + pyformat("""locked AS (SELECT id, status FROM incidents WHERE id = :id
                FOR NO KEY UPDATE),
     still_open AS (SELECT id, status FROM locked WHERE status <> 'closed'),
     released AS (UPDATE assignments SET released_at = now()
                  WHERE incident_id = (SELECT id FROM still_open) AND released_at IS NULL
                  RETURNING unit_id),
     freed AS (UPDATE units SET status = 'available'
               WHERE id IN (SELECT unit_id FROM released)),
     closed AS (UPDATE incidents SET status = 'closed', closed_at = now()
                WHERE id = (SELECT id FROM still_open)
                RETURNING closed_at),
     audited AS (INSERT INTO audit_events (actor, api_key_id, action, incident_id, unit_id,
                                           details)
                 SELECT :actor, :api_key_id, 'close', id, (SELECT unit_id FROM released),
                        jsonb_build_object('from', status)
                 FROM still_open)
SELECT v.*, (SELECT closed_at FROM closed) FROM (""" + INCIDENT_SQL + ") AS v")


async def close(conn: psycopg.AsyncConnection, incident_id: int, *, actor: Actor
                ) -> tuple[dict | None, bool]:
    """Close the incident (audited as ``actor``'s) and make its unit available. Returns the
    incident as :func:`zones.incident_store.incident` shows it afterwards (None: no such
    incident) and whether it was closed here (False: it was closed already)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_CLOSE, {"id": incident_id, "actor": actor.label,
                                      "api_key_id": actor.api_key_id})
        row = await cursor.fetchone()
    if row is None:
        return None, False
    incident = dict(zip(INCIDENT_FIELDS, row[:len(INCIDENT_FIELDS)]))
    closed_at = row[len(INCIDENT_FIELDS)]
    if closed_at is None:
        return incident, False
    incident.update(status="closed", closed_at=closed_at, unit_id=None, unit_callsign=None,
                    eta_seconds=None)
    return incident, True
