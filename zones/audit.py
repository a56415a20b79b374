"""The audit of state changes: one row per change in ``audit_events`` (migration 0009), written
on the caller's connection inside the caller's transaction, so that the change and its audit
are committed together or not at all.

The service's database role may only read and add audit rows. An alarm's own decision (the
auto-dispatch or recommendation) is audited by its row in ``dispatch_decisions``, written in the
same statement as the claim and equally append-only for the service; :func:`events` lists both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg
import sqlalchemy as sa


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key's label and id, or a process of the service itself."""

    label: str
    api_key_id: int | None = None


#: The reconciler (incidents stored without a decision, alarms waiting for a unit).
RECONCILER = Actor("reconciler")
#: The service itself, for changes no caller asked for.
SYSTEM = Actor("system")

_INSERT = ("INSERT INTO audit_events (actor, api_key_id, action, incident_id, unit_id, details) "
           "VALUES (%(actor)s, %(api_key_id)s, %(action)s, %(incident_id)s, %(unit_id)s, "
           "CAST(%(details)s AS jsonb))")
_INSERT_SA = sa.text(_INSERT.replace("%(", ":").replace(")s", ""))

#: Audit rows and the alarms' own decisions, newest first. ``since`` is inclusive.
_EVENTS = sa.text("""
SELECT * FROM (
    SELECT 'audit' AS source, e.id, e.at, e.actor, e.api_key_id, e.action, e.incident_id,
           e.unit_id, e.details
    FROM audit_events e
    WHERE (CAST(:incident_id AS bigint) IS NULL OR e.incident_id = :incident_id)
      AND (CAST(:unit_id AS integer) IS NULL OR e.unit_id = :unit_id)
      AND (CAST(:since AS timestamptz) IS NULL OR e.at >= :since)
    UNION ALL
    SELECT 'decision', d.id, d.decided_at, coalesce(d.requested_by, 'system'), i.api_key_id,
           CASE d.mode WHEN 'auto' THEN 'dispatch' ELSE 'recommend' END, d.incident_id,
           d.chosen_unit_id, jsonb_build_object('reason', d.reason)
    FROM dispatch_decisions d JOIN incidents i ON i.id = d.incident_id
    WHERE d.mode IN ('auto', 'recommendation')
      AND (CAST(:incident_id AS bigint) IS NULL OR d.incident_id = :incident_id)
      AND (CAST(:unit_id AS integer) IS NULL OR d.chosen_unit_id = :unit_id)
      AND (CAST(:since AS timestamptz) IS NULL OR d.decided_at >= :since)) AS events
ORDER BY at DESC, source, id DESC
LIMIT :limit
""")
EVENT_FIELDS = ("source", "id", "at", "actor", "api_key_id", "action", "incident_id",
                "unit_id", "details")


def _values(actor: Actor, action: str, incident_id: int | None, unit_id: int | None,
            details: dict | None) -> dict:
    return {"actor": actor.label, "api_key_id": actor.api_key_id, "action": action,
            "incident_id": incident_id, "unit_id": unit_id,
            "details": json.dumps(details or {}, ensure_ascii=False, default=str)}


def record(conn: sa.Connection, actor: Actor, action: str, *, incident_id: int | None = None,
           unit_id: int | None = None, details: dict | None = None) -> None:
    """Audit one change on ``conn`` (a SQLAlchemy connection or session), in its transaction."""
    conn.execute(_INSERT_SA, _values(actor, action, incident_id, unit_id, details))


async def record_async(conn: psycopg.AsyncConnection, actor: Actor, action: str, *,
                       incident_id: int | None = None, unit_id: int | None = None,
                       details: dict | None = None) -> None:
    """:func:`record` on psycopg's async connection (the alarm path's), in its transaction
    (with autocommit and no transaction open, the row is committed at once)."""
    await conn.execute(_INSERT, _values(actor, action, incident_id, unit_id, details))


def events(conn: sa.Connection, *, incident_id: int | None = None, unit_id: int | None = None,
           since: datetime | None = None, limit: int = 100) -> list[dict]:
    """Audited changes and alarm decisions (``source`` audit or decision), newest first,
    filtered by what is not None."""
    rows = conn.execute(_EVENTS, {"incident_id": incident_id, "unit_id": unit_id,
                                  "since": since, "limit": limit})
    return [dict(zip(EVENT_FIELDS, row)) for row in rows]
