"""What the incident simulation reads: the simulated fleet with its home stations, and the
grid cells' centres (WGS-84 lon/lat). Hotspots come from ``zones.coverage_inputs``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func, select

from zones.models import Area, Station, Unit


def simulated_fleet(conn: sa.Connection, *, kind: str = "patrol_car"
                    ) -> list[tuple[int, str, float, float]]:
    """The simulated units of ``kind`` that are on duty and have a home station, as
    (id, callsign, station lon, station lat), by id."""
    query = (select(Unit.id, Unit.callsign, Station.lon, Station.lat)
             .join(Station, Station.id == Unit.home_station_id)
             .where(Unit.simulated, Unit.kind == kind, Unit.status != "off_duty")
             .order_by(Unit.id))
    return [tuple(r) for r in conn.execute(query)]


def grid_centres(conn: sa.Connection) -> list[tuple[float, float]]:
    """The centre (lon, lat) of every grid cell, by code."""
    centre = func.ST_Centroid(Area.geom)
    query = (select(func.ST_X(centre), func.ST_Y(centre)).where(Area.level == "grid")
             .order_by(Area.code))
    return [tuple(r) for r in conn.execute(query)]
