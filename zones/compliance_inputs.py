"""What the patrol compliance reads: the units' GPS fixes near the targets over a time range
(``track_fixes``), and the stored loops with their stops' dwells (for the simulated fleet)."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import sqlalchemy as sa

_FIXES_NEAR = sa.text("""
SELECT unit_id, array_agg(CAST(extract(epoch FROM at) AS float8) ORDER BY at),
       array_agg(ST_X(geom) ORDER BY at), array_agg(ST_Y(geom) ORDER BY at)
FROM track_fixes
WHERE at >= :start AND at < :end AND NOT jump
  AND (CAST(:x0 AS float8) IS NULL OR geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))
GROUP BY unit_id ORDER BY unit_id
""")


def fixes_near(conn: sa.Connection, *, start: datetime, end: datetime,
               bbox: tuple[float, float, float, float] | None = None
               ) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The good (not jump) fixes taken in [start, end) inside ``bbox`` (WGS-84 lon0, lat0,
    lon1, lat1; None: anywhere), per unit: unit id → (seconds since 1970, lon, lat), in time
    order."""
    x0, y0, x1, y1 = bbox if bbox is not None else (None,) * 4
    rows = conn.execute(_FIXES_NEAR, {"start": start, "end": end, "x0": x0, "y0": y0,
                                      "x1": x1, "y1": y1})
    return {unit: (np.array(t, dtype=np.float64), np.array(lon, dtype=np.float64),
                   np.array(lat, dtype=np.float64)) for unit, t, lon, lat in rows}


_LOOPS = sa.text("""
SELECT l.unit_id, p.zone_id, ST_AsGeoJSON(l.geom), l.duration_s, l.stops,
       coalesce((SELECT jsonb_object_agg(t.id, t.dwell_s) FROM patrol_targets t
                 WHERE t.id IN (SELECT CAST(s ->> 'target_id' AS int)
                                FROM jsonb_array_elements(l.stops) s)), '{}'::jsonb)
FROM patrol_loops l JOIN patrol_plans p ON p.id = l.plan_id
WHERE l.unit_id IS NOT NULL AND (CAST(:zone_id AS int) IS NULL OR p.zone_id = :zone_id)
ORDER BY l.unit_id
""")


def loop_timetables(conn: sa.Connection, *, zone_id: int | None = None) -> dict[int, dict]:
    """Every unit's stored loop (of one zone, or all): unit id → {zone_id, path (WGS-84
    vertices), duration_s, stops (the plan's), dwell_s (target id → seconds)}."""
    return {unit: {"zone_id": zone, "path": json.loads(geom)["coordinates"],
                   "duration_s": float(duration), "stops": stops,
                   "dwell_s": {int(k): float(v) for k, v in dwells.items()}}
            for unit, zone, geom, duration, stops, dwells in
            conn.execute(_LOOPS, {"zone_id": zone_id})}
