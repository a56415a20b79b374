"""Which stations and available patrol cars reach one hotspot within 1, 3 and 5 minutes now: the
use-case behind ``GET /hotspots/{id}/coverage``."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from patrol.dispatch import RING_SECONDS, ring_of
from patrol.errors import NotFound
from patrol.fleet import routing_positions
from routing import RoadGraph, snap_many, snap_point
from routing.search import times_to
from zones import lookups, queries, unit_store

#: Straight-line pre-filter, metres: nothing beyond it is within 5 minutes at city speeds.
STATION_RADIUS_M = 10_000
#: The unit kind whose available units are counted.
UNIT_KIND = "patrol_car"


def hotspot_coverage(engine: sa.Engine, graph: RoadGraph, hotspot_id: int, *,
                     snap_limit_m: float, stale_after_s: float) -> dict:
    """The hotspot (id, name, category, lon, lat in WGS-84) and, per ring "1", "3" and "5"
    (minutes), the stations and available units that reach it in that ring, fastest first:
    type ("station" or "unit"), id, name, kind, seconds and ring.

    Units whose last fix is older than ``stale_after_s`` seconds stand at their home station;
    points farther than ``snap_limit_m`` metres from a road are left out. Raises
    :class:`~patrol.errors.NotFound` for an unknown hotspot and ``OffNetworkError`` when the
    hotspot itself is off the road network."""
    with engine.connect() as conn:
        found = lookups.hotspot_point(conn, hotspot_id)
        if found is None:
            raise NotFound(f"no hotspot {hotspot_id}")
        name, category, lon, lat = found
        stations = queries.station_points_near(conn, lon, lat, radius_m=STATION_RADIUS_M)
        units = unit_store.available_units(conn, kind=UNIT_KIND)
    target = snap_point(graph, lon, lat, limit_m=snap_limit_m)
    positions = routing_positions(units, stale_after_s=stale_after_s)
    reachers = ([("station", s[0], s[1], s[2]) for s in stations]
                + [("unit", int(u), str(c), UNIT_KIND)
                   for u, c in zip(positions.unit_id, positions.callsign)])
    snapped = snap_many(graph, [s[4] for s in stations] + list(positions.lon),
                        [s[5] for s in stations] + list(positions.lat), limit_m=snap_limit_m)
    # One search back from the hotspot, each place taken at its best way: the batch analysis's
    # own computation (best_source_at), so the two answers agree.
    seconds = times_to(graph, target, snapped, limit_s=max(RING_SECONDS))
    reached = [{"type": reachers[i][0], "id": reachers[i][1], "name": reachers[i][2],
                "kind": reachers[i][3], "seconds": round(float(seconds[i]), 1),
                "ring": ring_of(float(seconds[i]))}
               for i in np.argsort(seconds, kind="stable") if np.isfinite(seconds[i])]
    return {"hotspot": {"id": hotspot_id, "name": name, "category": category, "lon": lon,
                        "lat": lat},
            "rings": {str(s // 60): [x for x in reached if x["ring"] == str(s // 60)]
                      for s in RING_SECONDS}}
