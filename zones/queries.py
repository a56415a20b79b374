"""Every spatial query the product asks, with bound parameters (SQLAlchemy Core).

Straight-line searches (within a radius) are pre-filters only: drive time decides.
Official boundaries take precedence over generated ones wherever both cover a point.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy import func, select

from zones.models import Hotspot, PatrolZone, Station, Unit, UnitPosition

SRID = 4326


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid cell, patrol zone and responsible station (None: none)."""

    grid_id: int | None
    grid_code: str | None
    zone_id: int | None
    station_id: int | None
    district: str | None


def _point(lon: float | None = None, lat: float | None = None):
    """A WGS-84 point from the bound parameters ``lon`` and ``lat``."""
    return func.ST_SetSRID(func.ST_MakePoint(sa.bindparam("lon", lon, type_=sa.Float),
                                             sa.bindparam("lat", lat, type_=sa.Float)),
                           sa.literal_column(str(SRID)))


#: Point → grid → zone → station, official boundaries first: the FROM part, for
#: this module's lookup and for storing an incident with its place in one statement. Plain SQL
#: with bound parameters: it runs for every incident, and SQLAlchemy cannot cache the compiled
#: form of the equivalent lateral-join construct.
LOCATE_FROM = """
(SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) AS p
LEFT JOIN LATERAL (SELECT a.id, a.code FROM areas a
                   WHERE a.level = 'grid' AND ST_Intersects(a.geom, p.geom)
                   ORDER BY a.official DESC, a.id LIMIT 1) AS grid ON true
LEFT JOIN LATERAL (SELECT z.id, z.station_id FROM patrol_zones z
                   WHERE ST_Intersects(z.geom, p.geom)
                   ORDER BY z.official DESC, z.id LIMIT 1) AS zone ON true
"""
_LOCATE = sa.text("SELECT grid.id, grid.code, zone.id, zone.station_id, district.name FROM "
                  + LOCATE_FROM + """
LEFT JOIN LATERAL (SELECT a.name FROM areas a
                   WHERE a.level = 'district' AND ST_Intersects(a.geom, p.geom)
                   ORDER BY a.official DESC, a.id LIMIT 1) AS district ON true""")


def locate(conn: sa.Connection, lon: float, lat: float) -> Location:
    """Point (WGS-84) → grid → patrol zone → responsible station, in one statement."""
    return Location(*conn.execute(_LOCATE, {"lon": float(lon), "lat": float(lat)}).one())


def station_distances(conn: sa.Connection, lon: float, lat: float, *, radius_m: float,
                      kinds: tuple[str, ...] | None = None) -> list[tuple[int, str, str, float]]:
    """Stations (of ``kinds``; None: all) within ``radius_m`` metres of a WGS-84 point in a
    straight line, nearest first: (id, kind, name, metres)."""
    point = _point(lon, lat)
    metres = func.ST_Distance(sa.cast(Station.geom, Geography), sa.cast(point, Geography))
    query = (select(Station.id, Station.kind, Station.name, metres)
             .where(func.ST_DWithin(sa.cast(Station.geom, Geography), sa.cast(point, Geography),
                                    radius_m))
             .order_by(metres))
    if kinds:
        query = query.where(Station.kind.in_(kinds))
    return [tuple(r) for r in conn.execute(query)]


def station_points_near(conn: sa.Connection, lon: float, lat: float, *, radius_m: float
                        ) -> list[tuple[int, str, str, int, float, float]]:
    """Stations within ``radius_m`` metres of a WGS-84 point in a straight line (a pre-filter
    for drive times), in no particular order: (id, name, kind, tier_minutes, lon, lat)."""
    point = _point(lon, lat)
    query = (select(Station.id, Station.name, Station.kind, Station.tier_minutes,
                    func.ST_X(Station.geom), func.ST_Y(Station.geom))
             .where(func.ST_DWithin(sa.cast(Station.geom, Geography), sa.cast(point, Geography),
                                    radius_m)))
    return [tuple(r) for r in conn.execute(query)]


def stations_within(conn: sa.Connection, polygon_wkt: str) -> list[int]:
    """Ids of the stations inside a WGS-84 polygon given as WKT."""
    area = func.ST_GeomFromText(sa.bindparam("area", polygon_wkt), SRID)
    return list(conn.execute(select(Station.id).where(func.ST_Intersects(Station.geom, area))
                             .order_by(Station.id)).scalars())


def unit_distances(conn: sa.Connection, lon: float, lat: float, *, radius_m: float,
                   status: str | None = None) -> list[tuple[int, str, float]]:
    """Units (of ``status``; None: any) whose last position is within ``radius_m`` metres of a
    WGS-84 point in a straight line, nearest first: (id, callsign, metres)."""
    point = _point(lon, lat)
    metres = func.ST_Distance(sa.cast(UnitPosition.position, Geography),
                              sa.cast(point, Geography))
    query = (select(Unit.id, Unit.callsign, metres)
             .join(UnitPosition, UnitPosition.unit_id == Unit.id)
             .where(func.ST_DWithin(sa.cast(UnitPosition.position, Geography),
                                    sa.cast(point, Geography), radius_m))
             .order_by(metres))
    if status:
        query = query.where(Unit.status == status)
    return [tuple(r) for r in conn.execute(query)]


def units_within(conn: sa.Connection, polygon_wkt: str) -> list[int]:
    """Ids of the units whose last position lies inside a WGS-84 polygon (WKT)."""
    area = func.ST_GeomFromText(sa.bindparam("area", polygon_wkt), SRID)
    return list(conn.execute(select(UnitPosition.unit_id)
                             .where(func.ST_Intersects(UnitPosition.position, area))
                             .order_by(UnitPosition.unit_id)).scalars())


def hotspots_in_zone(conn: sa.Connection, zone_id: int, *,
                     category: str | None = None) -> list[tuple[int, str, str]]:
    """Hotspots inside a patrol zone: (id, category, name)."""
    zone = select(PatrolZone.geom).where(PatrolZone.id == zone_id).scalar_subquery()
    query = (select(Hotspot.id, Hotspot.category, Hotspot.name)
             .where(func.ST_Intersects(Hotspot.geom, zone)).order_by(Hotspot.id))
    if category:
        query = query.where(Hotspot.category == category)
    return [tuple(r) for r in conn.execute(query)]
