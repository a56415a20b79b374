"""Incidents, their assignments and the dispatch-decision audit: the synchronous SQL of the
dispatcher's actions (assign, arrive, close) and of reading incidents back.

Plain SQL with bound parameters, as constants so that SQLAlchemy compiles each once. The rules
(which transition is legal, who may do what) live in ``patrol``; this module only reads and
writes rows.

No unit is ever given to two incidents: a unit is claimed only while its status is
``available`` (see :mod:`zones.unit_store` and :mod:`zones.alarm_store`), and the partial unique
index ``uq_assignments_active_unit`` refuses a second active assignment even if some other path
tried; ``uq_assignments_active_incident`` does the same for an incident. The database also
refuses illegal status changes and assignments to incidents that are not open or dispatched
(migrations 0005 and 0010); :data:`RULE_NAMES` are the names it refuses them by.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

#: The constraints and triggers that enforce the dispatch rules (migration 0005), by the name
#: the database reports when it refuses a write.
RULE_NAMES = ("uq_assignments_active_unit", "uq_assignments_active_incident",
              "status_transition", "assignment_incident_open", "busy_unit_assigned")

_ASSIGN = sa.text("""
WITH a AS (INSERT INTO assignments (incident_id, unit_id, eta_seconds)
           VALUES (:incident_id, :unit_id, :eta) RETURNING unit_id),
     u AS (UPDATE units SET status = 'dispatched' WHERE id = :unit_id RETURNING id)
UPDATE incidents SET status = 'dispatched', dispatched_at = coalesce(dispatched_at, now()),
                     decided_at = coalesce(decided_at, now())
WHERE id = :incident_id
RETURNING dispatched_at
""")

_RELEASE = sa.text("""
WITH r AS (UPDATE assignments SET released_at = now()
           WHERE incident_id = :incident_id AND released_at IS NULL RETURNING unit_id)
UPDATE units SET status = 'available' WHERE id IN (SELECT unit_id FROM r)
RETURNING id
""")

_DECISION = sa.text("""
INSERT INTO dispatch_decisions (incident_id, requested_by, mode, chosen_unit_id, reason,
                                candidates)
VALUES (:incident_id, :requested_by, :mode, :chosen_unit_id, :reason, CAST(:candidates AS jsonb))
""")

_DECISIONS = sa.text(
    "SELECT decided_at, requested_by, mode, chosen_unit_id, reason, candidates "
    "FROM dispatch_decisions WHERE incident_id = :id ORDER BY id")
_DECISION_FIELDS = ("decided_at", "requested_by", "mode", "chosen_unit_id", "reason",
                    "candidates")

#: An incident as the API shows it (``:id``; the alarm path runs it on psycopg too).
INCIDENT_SQL = """
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
_INCIDENT = sa.text(INCIDENT_SQL)

#: The keys of an incident as :func:`incident` returns it (the alarm path returns the same).
INCIDENT_FIELDS = ("id", "category", "priority", "description", "status", "unit_kind",
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

_SET_INCIDENT_STATUS = {
    "arrived": sa.text("UPDATE incidents SET status = 'arrived', arrived_at = now() "
                       "WHERE id = :id RETURNING arrived_at"),
    "closed": sa.text("UPDATE incidents SET status = 'closed', closed_at = now() "
                      "WHERE id = :id RETURNING closed_at"),
}
_UNIT_OF_INCIDENT = sa.text(
    "SELECT unit_id FROM assignments WHERE incident_id = :id AND released_at IS NULL")
#: An incident is locked before its units, on every path (FOR NO KEY UPDATE, as the alarm path).
_LOCK_INCIDENT = sa.text("SELECT status FROM incidents WHERE id = :id FOR NO KEY UPDATE")


def assign(conn: sa.Connection, incident_id: int, *, unit_id: int,
           eta_seconds: float | None) -> None:
    """Give a (claimed) unit to an incident: assignment, unit dispatched, incident dispatched;
    ``eta_seconds`` is the unit's drive time (None: unknown)."""
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
    """The audited decisions of an incident, oldest first."""
    rows = conn.execute(_DECISIONS, {"id": incident_id})
    return [dict(zip(_DECISION_FIELDS, r)) for r in rows]


def incident(conn: sa.Connection, incident_id: int) -> dict | None:
    """An incident with its place, station and active assignment (None: no such incident)."""
    row = conn.execute(_INCIDENT, {"id": incident_id}).first()
    return dict(zip(INCIDENT_FIELDS, row)) if row else None


def lock_incident(conn: sa.Connection, incident_id: int) -> str | None:
    """Lock an incident row for this transaction; returns its status (None: no such incident)."""
    return conn.execute(_LOCK_INCIDENT, {"id": incident_id}).scalar()


def unit_of_incident(conn: sa.Connection, incident_id: int) -> int | None:
    """The unit actively assigned to an incident (None: none)."""
    return conn.execute(_UNIT_OF_INCIDENT, {"id": incident_id}).scalar()


def set_incident_status(conn: sa.Connection, incident_id: int, *, status: str) -> None:
    """Mark an incident ``"arrived"`` or ``"closed"``, with the time it happened."""
    conn.execute(_SET_INCIDENT_STATUS[status], {"id": incident_id})


def list_incidents(conn: sa.Connection, *, status: str | None, zone_id: int | None,
                   since: datetime | None, until: datetime | None, limit: int) -> list[dict]:
    """Incidents as :func:`incident` shows them, newest first, filtered by what is not None."""
    ids = conn.execute(_LIST_INCIDENTS, {"status": status, "zone_id": zone_id, "since": since,
                                         "until": until, "limit": limit}).scalars().all()
    return [incident(conn, i) for i in ids]
