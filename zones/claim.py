"""The claim of a unit for an incident, shared by the statements that dispatch (an alarm's
first decision, ``zones.alarm_store``; a retry for an alarm left without a unit,
``zones.retry_store``), so that every path claims alike.

No unit is ever given to two incidents: of the ranked units ``%(ids)s`` (their ETAs, seconds,
in ``%(etas)s``) the first that is available (or relocating: on its way to a waiting point)
and not being claimed by another transaction is locked (``FOR NO KEY UPDATE SKIP LOCKED``: two
transactions never claim the same row, and neither waits for the other) and assigned to
``%(incident_id)s``; the partial unique index ``uq_assignments_active_unit`` refuses a second
active assignment even if some other path tried.
"""

from __future__ import annotations


def claim_ctes(guard: str) -> str:
    """The CTEs ``claimed`` (the unit locked) and ``assignment`` (unit_id, eta_seconds; no row:
    no unit could be had), claiming only if the CTE named ``guard`` (the incident, locked
    first) has a row."""
    return f"""claimed AS (SELECT id FROM units
                 WHERE id = ANY(%(ids)s) AND status IN ('available', 'relocating')
                   AND EXISTS (SELECT FROM {guard})
                 ORDER BY array_position(%(ids)s, id)
                 LIMIT 1
                 FOR NO KEY UPDATE SKIP LOCKED),
     assignment AS (INSERT INTO assignments (incident_id, unit_id, eta_seconds)
                    SELECT %(incident_id)s, id, (%(etas)s::float8[])[array_position(%(ids)s, id)]
                    FROM claimed
                    RETURNING unit_id, eta_seconds)"""
