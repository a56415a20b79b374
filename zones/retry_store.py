"""The SQL of retrying alarms left without a unit: the open incidents at or above the
auto-dispatch level that were decided while no unit could be had, and the claim of a unit that
has become available for one of them, on psycopg's async connection (autocommit: each
statement is its own transaction).

The claim is the alarm's (``zones.claim``): the incident is locked first, then the first of
the ranked units that is available and not being claimed (``FOR NO KEY UPDATE SKIP LOCKED``)
is assigned; the decision (mode ``retry``) and its audit row are written in the same
statement, and only when a unit was claimed. An incident another worker is retrying is skipped,
not waited for.
"""

from __future__ import annotations

import json
from datetime import datetime

import psycopg

from zones.audit import Actor
from zones.claim import claim_ctes

#: Incidents waiting for a unit, most urgent first, then oldest.
_WAITING = """
SELECT id, priority, unit_kind, ST_X(road_geom), ST_Y(road_geom), received_at FROM incidents i
WHERE status = 'open' AND decided_at IS NOT NULL AND priority <= %(level)s
  AND NOT EXISTS (SELECT FROM assignments a WHERE a.incident_id = i.id AND a.released_at IS NULL)
ORDER BY priority, received_at
LIMIT %(limit)s
"""
_WAITING_FIELDS = ("id", "priority", "unit_kind", "road_lon", "road_lat", "received_at")

_RETRY = """
WITH waiting AS (SELECT id FROM incidents i
                 WHERE id = %(incident_id)s AND status = 'open' AND decided_at IS NOT NULL
                   AND NOT EXISTS (SELECT FROM assignments a
                                   WHERE a.incident_id = i.id AND a.released_at IS NULL)
                 FOR NO KEY UPDATE SKIP LOCKED),
     """ + claim_ctes("waiting") + """,
     unit AS (UPDATE units SET status = 'dispatched'
              WHERE id = (SELECT unit_id FROM assignment)),
     incident AS (UPDATE incidents SET status = 'dispatched', dispatched_at = now()
                  WHERE id = (SELECT id FROM waiting) AND EXISTS (SELECT FROM assignment)
                  RETURNING dispatched_at),
     decision AS (INSERT INTO dispatch_decisions (incident_id, requested_by, mode,
                                                  chosen_unit_id, reason, candidates)
                  SELECT %(incident_id)s, %(actor)s, 'retry', unit_id,
                         (%(reasons)s::text[])[array_position(%(ids)s, unit_id)],
                         CAST(%(candidates)s AS jsonb)
                  FROM assignment),
     audit AS (INSERT INTO audit_events (actor, api_key_id, action, incident_id, unit_id,
                                         details)
               SELECT %(actor)s, %(api_key_id)s, 'retry', %(incident_id)s, unit_id,
                      jsonb_build_object('eta_seconds', eta_seconds)
               FROM assignment)
SELECT (SELECT unit_id FROM assignment), (SELECT dispatched_at FROM incident)
"""


async def waiting_incidents(conn: psycopg.AsyncConnection, *, level: int, limit: int = 20
                            ) -> list[dict]:
    """Open incidents of priority 1..``level`` decided without getting a unit, most urgent
    first, then oldest: id, priority, unit_kind, road_lon, road_lat (WGS-84), received_at."""
    async with conn.cursor() as cursor:
        await cursor.execute(_WAITING, {"level": level, "limit": limit})
        rows = await cursor.fetchall()
    return [dict(zip(_WAITING_FIELDS, row)) for row in rows]


async def claim_for_waiting(conn: psycopg.AsyncConnection, *, incident_id: int,
                            unit_ids: list[int], etas: list[float], reasons: list[str],
                            candidates: list[dict], actor: Actor
                            ) -> tuple[int | None, datetime | None]:
    """If the incident still waits for a unit (and no other worker is at it), claim and assign
    the first of ``unit_ids`` (ranked, ETAs in seconds) that can be had, recording the decision
    (mode ``retry``, ``reasons[i]`` if unit i is the one) and its audit row as ``actor``'s.
    Returns the unit and the dispatch time (None, None: nothing changed)."""
    async with conn.cursor() as cursor:
        await cursor.execute(_RETRY, {
            "incident_id": incident_id, "ids": unit_ids, "etas": etas, "reasons": reasons,
            "actor": actor.label, "api_key_id": actor.api_key_id,
            "candidates": json.dumps(candidates, ensure_ascii=False)})
        unit_id, dispatched_at = await cursor.fetchone()
    return unit_id, dispatched_at
