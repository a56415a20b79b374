"""Move-up's SQL: what the coverage tables are built from (demand points with their patrol zone,
waiting points, each unit's own zone), and the recommended moves: stored, accepted, declined,
and settled when a relocating unit arrives (or is taken on the way)."""

from __future__ import annotations

import json

import sqlalchemy as sa

#: Hotspots and grid cells (at their centres) with the patrol zone that holds them (-1: none).
_DEMAND = sa.text("""
SELECT 'hotspot' AS kind, h.id, h.category, ST_X(h.geom), ST_Y(h.geom), coalesce(z.id, -1)
FROM hotspots h LEFT JOIN LATERAL (SELECT id FROM patrol_zones z
                                   WHERE ST_Intersects(z.geom, h.geom) ORDER BY id LIMIT 1) z
                ON true
UNION ALL
SELECT 'cell', a.id, NULL, ST_X(c.centre), ST_Y(c.centre), coalesce(z.id, -1)
FROM areas a CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS centre) c
LEFT JOIN LATERAL (SELECT id FROM patrol_zones z
                   WHERE ST_Intersects(z.geom, c.centre) ORDER BY id LIMIT 1) z ON true
WHERE a.level = 'grid'
ORDER BY 1 DESC, 2
""")

_SITES = sa.text("""
SELECT id, name, kind, lon, lat FROM stations WHERE kind = ANY(:kinds) ORDER BY id
""")

#: Each unit's own patrol zone: the zone of its home station (-1: none).
_UNIT_ZONES = sa.text("""
SELECT u.id, coalesce(min(z.id), -1) FROM units u
LEFT JOIN patrol_zones z ON z.station_id = u.home_station_id GROUP BY u.id
""")

MOVE_FIELDS = ("id", "unit_id", "callsign", "unit_status", "site_kind", "site_id", "site_name",
               "lon", "lat", "drive_seconds", "gain", "coverage_before", "coverage_after",
               "reason", "status", "created_at", "computed_at", "decided_at", "decided_by",
               "ended_at")
_MOVES = """
SELECT m.id, m.unit_id, u.callsign, u.status, m.site_kind, m.site_id, m.site_name, m.lon, m.lat,
       m.drive_seconds, m.gain, m.coverage_before, m.coverage_after, m.reason, m.status,
       m.created_at, m.computed_at, m.decided_at, m.decided_by, m.ended_at
FROM moves m JOIN units u ON u.id = m.unit_id
"""
_OPEN_MOVES = sa.text(_MOVES + "WHERE m.status IN ('proposed', 'accepted') "
                      "ORDER BY m.status DESC, m.gain DESC, m.id")
_MOVE = sa.text(_MOVES + "WHERE m.id = :id")
_LOCK_MOVE = sa.text("SELECT status, unit_id FROM moves WHERE id = :id FOR UPDATE")
_DECIDE = sa.text("UPDATE moves SET status = :status, decided_at = now(), decided_by = :by "
                  "WHERE id = :id")
#: Recommendations are written by one worker at a time (the others wait, then write theirs).
_WRITER_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext('patrol moves'))")
_PROPOSED = sa.text("SELECT id, unit_id, site_kind, site_id, lon, lat FROM moves "
                    "WHERE status = 'proposed' AND reason = :reason")
_SUPERSEDE = sa.text("UPDATE moves SET status = 'superseded', ended_at = now() "
                     "WHERE id = ANY(:ids) AND status = 'proposed'")
_REFRESH = sa.text("""
UPDATE moves SET drive_seconds = :drive_seconds, gain = :gain, computed_at = :computed_at,
                 coverage_before = CAST(:coverage_before AS jsonb),
                 coverage_after = CAST(:coverage_after AS jsonb)
WHERE id = :id AND status = 'proposed'
""")
_INSERT = sa.text("""
INSERT INTO moves (unit_id, site_kind, site_id, site_name, lon, lat, drive_seconds, gain,
                   coverage_before, coverage_after, reason, computed_at)
SELECT :unit_id, :site_kind, :site_id, :site_name, :lon, :lat, :drive_seconds, :gain,
       CAST(:coverage_before AS jsonb), CAST(:coverage_after AS jsonb), :reason, :computed_at
WHERE EXISTS (SELECT FROM units WHERE id = :unit_id AND status = 'available')
  AND NOT EXISTS (SELECT FROM moves d WHERE d.unit_id = :unit_id AND d.status = 'declined'
                  AND d.lon = :lon AND d.lat = :lat
                  AND d.decided_at > now() - make_interval(secs => :decline_memory_s))
""")
#: Relocating units with a fix taken after the acceptance within ``radius_m`` of the target.
_ARRIVED = sa.text("""
UPDATE units u SET status = 'available'
FROM moves m JOIN unit_positions p ON p.unit_id = m.unit_id
WHERE m.unit_id = u.id AND m.status = 'accepted' AND u.status = 'relocating'
  AND p.position_at >= m.decided_at
  AND ST_DWithin(p.position::geography, ST_SetSRID(ST_MakePoint(m.lon, m.lat), 4326)::geography,
                 :radius_m)
RETURNING u.id
""")
#: Accepted moves whose unit no longer relocates: arrived (available again), else interrupted.
_SETTLE = sa.text("""
UPDATE moves m SET status = CASE WHEN u.status = 'available' THEN 'arrived'
                                 ELSE 'interrupted' END,
                   ended_at = now()
FROM units u
WHERE u.id = m.unit_id AND m.status = 'accepted' AND u.status <> 'relocating'
RETURNING m.id, m.unit_id, m.status
""")
_TARGETS = sa.text("SELECT unit_id, lon, lat FROM moves WHERE status = 'accepted'")
_DECLINED = sa.text("SELECT unit_id, lon, lat, extract(epoch FROM decided_at)::float8 FROM moves "
                    "WHERE status = 'declined' "
                    "AND decided_at > now() - make_interval(secs => :within_s)")


def demand_rows(conn: sa.Connection) -> list[tuple]:
    """(kind "hotspot" or "cell", id, category, lon, lat, zone id or -1): hotspots first."""
    return [tuple(r) for r in conn.execute(_DEMAND)]


def site_rows(conn: sa.Connection, *, kinds: tuple[str, ...]) -> list[tuple]:
    """Stations of ``kinds`` as (id, name, kind, lon, lat), by id."""
    return [tuple(r) for r in conn.execute(_SITES, {"kinds": list(kinds)})]


def unit_zones(conn: sa.Connection) -> dict[int, int]:
    return dict(conn.execute(_UNIT_ZONES).all())


def open_moves(conn: sa.Connection) -> list[dict]:
    """Proposed and accepted moves, accepted first, then by gain."""
    return [dict(zip(MOVE_FIELDS, r)) for r in conn.execute(_OPEN_MOVES)]


def move(conn: sa.Connection, move_id: int) -> dict | None:
    row = conn.execute(_MOVE, {"id": move_id}).first()
    return dict(zip(MOVE_FIELDS, row)) if row else None


def lock_move(conn: sa.Connection, move_id: int) -> tuple[str, int] | None:
    """Lock a move for this transaction; (status, unit id), None when there is none."""
    row = conn.execute(_LOCK_MOVE, {"id": move_id}).first()
    return tuple(row) if row else None


def decide(conn: sa.Connection, move_id: int, *, status: str, by: str | None) -> None:
    conn.execute(_DECIDE, {"id": move_id, "status": status, "by": by})


def replace_proposed(conn: sa.Connection, moves: list[dict], *, reason: str,
                     decline_memory_s: float) -> None:
    """Make ``moves`` the proposed moves of ``reason``: those already proposed (same unit and
    waiting point) keep their ids (with the new figures), the others are superseded, new ones
    inserted (only for units still available, and not a move declined in the last
    ``decline_memory_s`` seconds)."""
    conn.execute(_WRITER_LOCK)
    current = {(r.unit_id, r.site_kind, r.site_id, round(r.lon, 7), round(r.lat, 7)): r.id
               for r in conn.execute(_PROPOSED, {"reason": reason})}
    wanted = {(m["unit_id"], m["site_kind"], m["site_id"], round(m["lon"], 7),
               round(m["lat"], 7)): m for m in moves}
    stale = [i for key, i in current.items() if key not in wanted]
    if stale:
        conn.execute(_SUPERSEDE, {"ids": stale})
    for key, m in wanted.items():
        values = {**m, "reason": reason, "decline_memory_s": decline_memory_s,
                  "coverage_before": json.dumps(m["coverage_before"]),
                  "coverage_after": json.dumps(m["coverage_after"])}
        if key in current:
            conn.execute(_REFRESH, {**values, "id": current[key]})
        else:
            conn.execute(_INSERT, values)


def settle_relocations(conn: sa.Connection, *, radius_m: float) -> list[tuple[int, int, str]]:
    """Relocating units with a fix within ``radius_m`` metres of their target become available;
    accepted moves whose unit no longer relocates end (arrived, or interrupted when it was
    dispatched or went off duty). Returns the ended moves as (move id, unit id, status)."""
    conn.execute(_ARRIVED, {"radius_m": radius_m})
    return [tuple(r) for r in conn.execute(_SETTLE)]


def accepted_targets(conn: sa.Connection) -> dict[int, tuple[float, float]]:
    """Where each relocating unit is going: unit id → (lon, lat)."""
    return {r.unit_id: (r.lon, r.lat) for r in conn.execute(_TARGETS)}


def declined_recently(conn: sa.Connection, *, within_s: float) -> list[tuple]:
    """Moves declined in the last ``within_s`` seconds: (unit, lon, lat, when in Unix s)."""
    return [tuple(r) for r in conn.execute(_DECLINED, {"within_s": within_s})]
