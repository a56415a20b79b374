"""Units: the synchronous SQL of reading, locking and changing them, and of creating them.

A unit is claimed for an incident only while its status is ``available`` (or ``relocating``);
the claim itself is in :mod:`zones.incident_store` (a dispatcher's override) and
:mod:`zones.alarm_store` (the alarm path).
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

#: One row of arrays rather than one row per unit, read in binary. The aggregates of one pass
#: see the rows in the same order, so the arrays line up; an ORDER BY per aggregate would cost
#: a sort each.
_AVAILABLE_UNITS = """
SELECT coalesce(array_agg(u.id), '{}') AS id,
       coalesce(array_agg(u.callsign), '{}'),
       coalesce(array_agg(f.lon), '{}'),
       coalesce(array_agg(f.lat), '{}'),
       coalesce(array_agg(extract(epoch FROM now() - f.position_at)::float8), '{}'),
       coalesce(array_agg(s.lon), '{}'),
       coalesce(array_agg(s.lat), '{}')
FROM units u LEFT JOIN unit_positions f ON f.unit_id = u.id
LEFT JOIN stations s ON s.id = u.home_station_id
WHERE u.status IN ('available', 'relocating') AND u.kind = %(kind)s
"""
_AVAILABLE_FIELDS = ("id", "callsign", "lon", "lat", "age_s", "home_lon", "home_lat")

_UNIT_SQL = """
SELECT u.id, u.callsign, u.kind, u.status, u.simulated, u.home_station_id,
       f.lon, f.lat, f.position_at, a.incident_id
FROM units u LEFT JOIN unit_positions f ON f.unit_id = u.id
LEFT JOIN assignments a ON a.unit_id = u.id AND a.released_at IS NULL
"""
_UNIT = sa.text(_UNIT_SQL + "WHERE u.id = :id")

_UNIT_FIELDS = ("id", "callsign", "kind", "status", "simulated", "home_station_id", "lon", "lat",
                "position_at", "incident_id")

_LIST_UNITS = sa.text(_UNIT_SQL + """
WHERE (CAST(:status AS text) IS NULL OR u.status = :status)
  AND (CAST(:kind AS text) IS NULL OR u.kind = :kind)
  AND (CAST(:lon AS float8) IS NULL OR ST_DWithin(f.position::geography,
       ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius))
ORDER BY u.id
LIMIT :limit
""")

_SET_UNIT_STATUS = sa.text("UPDATE units SET status = :status WHERE id = :id")
#: Units are locked after the incident they are assigned to, several in the order of their ids:
#: every path takes its locks in that one order. FOR NO KEY UPDATE, as a claim does.
_LOCK_UNITS = sa.text("SELECT id, status FROM units WHERE id = ANY(:ids) ORDER BY id "
                      "FOR NO KEY UPDATE")
_CREATE_UNITS = sa.text("""
WITH unit AS (INSERT INTO units (callsign, kind, home_station_id, status, simulated)
              VALUES (:callsign, :kind, :home_station_id, 'available', :simulated)
              ON CONFLICT (callsign) DO NOTHING RETURNING id)
INSERT INTO unit_positions (unit_id, position, position_at)
SELECT id, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), now() FROM unit
""")


def available_units(conn: sa.Connection, *, kind: str) -> dict[str, np.ndarray]:
    """Available units of a kind as arrays: id, callsign, lon, lat, age_s (seconds since the
    last fix), home_lon, home_lat (WGS-84); NaN where a unit has no fix or no home station."""
    with conn.connection.driver_connection.cursor(binary=True) as cursor:
        cursor.execute(_AVAILABLE_UNITS, {"kind": kind})
        return _unit_arrays(cursor.fetchone())


def _unit_arrays(row) -> dict[str, np.ndarray]:
    table = {}
    for name, values in zip(_AVAILABLE_FIELDS, row):
        if name == "callsign":
            table[name] = np.array(values, dtype=object)
        elif name == "id":
            table[name] = np.array(values, dtype=np.int64)
        else:
            table[name] = np.array(values, dtype=np.float64)  # None (no fix, no home) → nan
    return table


def unit(conn: sa.Connection, unit_id: int) -> dict | None:
    """A unit with its last position (WGS-84) and active incident (None: no such unit)."""
    row = conn.execute(_UNIT, {"id": unit_id}).first()
    return dict(zip(_UNIT_FIELDS, row)) if row else None


def list_units(conn: sa.Connection, *, status: str | None, kind: str | None,
               near: tuple[float, float, float] | None, limit: int) -> list[dict]:
    """Units as :func:`unit` shows them, by id, filtered by what is not None; ``near`` is
    (lon, lat, radius in metres)."""
    lon, lat, radius = near if near else (None, None, None)
    rows = conn.execute(_LIST_UNITS, {"status": status, "kind": kind, "lon": lon, "lat": lat,
                                      "radius": radius, "limit": limit})
    return [dict(zip(_UNIT_FIELDS, row)) for row in rows]


def lock_units(conn: sa.Connection, unit_ids: list[int]) -> dict[int, str]:
    """Lock unit rows for this transaction, in the order of their ids; returns each found unit's
    status by id."""
    return dict(conn.execute(_LOCK_UNITS, {"ids": list(unit_ids)}).all())


def set_unit_status(conn: sa.Connection, unit_id: int, *, status: str) -> None:
    """Set a unit's status (the rules of which change is legal live in ``patrol``)."""
    conn.execute(_SET_UNIT_STATUS, {"id": unit_id, "status": status})


def create_units(conn: sa.Connection, units: list[dict]) -> int:
    """Insert units {callsign, kind, home_station_id, lon, lat (WGS-84), simulated}, available
    and placed now; skip known callsigns. Returns how many were new."""
    if not units:
        return 0
    return sum(conn.execute(_CREATE_UNITS, unit).rowcount for unit in units)
