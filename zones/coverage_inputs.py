"""What the coverage analysis and the coverage map read: stations with their tiers, hotspots,
grid cells, patrol-zone outlines and recent incidents (WGS-84 lon/lat, WKT for outlines)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func, select

from zones.models import Area, Hotspot, Incident, PatrolZone, Station


def station_tier_rows(conn: sa.Connection) -> list[tuple[int, str, int, float, float]]:
    """Every station as (id, name, tier_minutes, lon, lat), by id."""
    query = select(Station.id, Station.name, Station.tier_minutes, Station.lon,
                   Station.lat).order_by(Station.id)
    return [tuple(r) for r in conn.execute(query)]


def response_stations(conn: sa.Connection, *, kinds: tuple[str, ...]) -> list[dict]:
    """Stations of ``kinds`` as dicts: id, name, kind, lon, lat."""
    query = (select(Station.id, Station.name, Station.kind, Station.lon, Station.lat)
             .where(Station.kind.in_(kinds)))
    return [dict(r._mapping) for r in conn.execute(query)]


def hotspot_rows(conn: sa.Connection, *, category: str | None = None
                 ) -> list[tuple[int, str, str, str | None, float, float]]:
    """Hotspots (of ``category``; None: all) as (id, name, category, district, lon, lat), by id."""
    query = select(Hotspot.id, Hotspot.name, Hotspot.category, Hotspot.district,
                   func.ST_X(Hotspot.geom), func.ST_Y(Hotspot.geom)).order_by(Hotspot.id)
    if category is not None:
        query = query.where(Hotspot.category == category)
    return [tuple(r) for r in conn.execute(query)]


def grid_codes(conn: sa.Connection) -> list[str]:
    """The codes of every grid cell (H3 indexes for generated cells), sorted."""
    return list(conn.execute(select(Area.code).where(Area.level == "grid")
                             .order_by(Area.code)).scalars())


def grid_outline_wkt(conn: sa.Connection) -> str | None:
    """The outlines of all grid cells as one WKT (multi)line, or None when there are none."""
    return conn.execute(select(func.ST_AsText(func.ST_Boundary(func.ST_Collect(Area.geom))))
                        .where(Area.level == "grid")).scalar()


def zone_wkt(conn: sa.Connection, zone_id: int) -> str | None:
    """A patrol zone's polygon as WKT, or None when there is no such zone."""
    return conn.execute(select(func.ST_AsText(PatrolZone.geom))
                        .where(PatrolZone.id == zone_id)).scalar()


def zone_outlines(conn: sa.Connection, *, tolerance_deg: float = 0.0001
                  ) -> list[tuple[int, str, str | None, str]]:
    """Every patrol zone as (id, name, its station's name, WKT simplified by ``tolerance_deg``
    degrees, topology kept)."""
    query = (select(PatrolZone.id, PatrolZone.name, Station.name,
                    func.ST_AsText(func.ST_SimplifyPreserveTopology(PatrolZone.geom,
                                                                    tolerance_deg)))
             .select_from(PatrolZone)
             .outerjoin(Station, Station.id == PatrolZone.station_id))
    return [tuple(r) for r in conn.execute(query)]


def recent_incident_points(conn: sa.Connection, *, limit: int = 5000
                           ) -> list[tuple[float, float]]:
    """(lon, lat) of the ``limit`` most recently received incidents, newest first."""
    query = (select(func.ST_X(Incident.geom), func.ST_Y(Incident.geom))
             .order_by(Incident.received_at.desc()).limit(limit))
    return [tuple(r) for r in conn.execute(query)]
