"""Stations and hotspots by id, and lists of station points (WGS-84 lon/lat)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func, select

from zones.models import Hotspot, Station


def station_point(conn: sa.Connection, station_id: int) -> tuple[str, float, float] | None:
    """A station's (name, lon, lat), or None when there is no such station."""
    row = conn.execute(select(Station.name, func.ST_X(Station.geom), func.ST_Y(Station.geom))
                       .where(Station.id == station_id)).first()
    return tuple(row) if row else None


def hotspot_point(conn: sa.Connection, hotspot_id: int
                  ) -> tuple[str, str, float, float] | None:
    """A hotspot's (name, category, lon, lat), or None when there is no such hotspot."""
    row = conn.execute(select(Hotspot.name, Hotspot.category, func.ST_X(Hotspot.geom),
                              func.ST_Y(Hotspot.geom)).where(Hotspot.id == hotspot_id)).first()
    return tuple(row) if row else None


def station_points(conn: sa.Connection, *, kinds: tuple[str, ...] | None = None
                   ) -> list[tuple[int, str, float, float]]:
    """Stations (of ``kinds``; None: all) as (id, name, lon, lat), by id."""
    query = (select(Station.id, Station.name, func.ST_X(Station.geom), func.ST_Y(Station.geom))
             .order_by(Station.id))
    if kinds is not None:
        query = query.where(Station.kind.in_(kinds))
    return [tuple(r) for r in conn.execute(query)]


def police_stations(conn: sa.Connection) -> list[tuple[int, str, float, float]]:
    """Every police station (派出所): (id, name, lon, lat), by id."""
    return station_points(conn, kinds=("police_station",))
