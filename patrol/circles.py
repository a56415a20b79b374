"""Response circles around a point: the one computation behind ``GET /circles``, the station and
unit circles of the API, and ``patrol circles``."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from patrol.errors import Conflict, NotFound
from routing import CoordSystem, Direction, RoadGraph, Weights, reach, rings, snap_point, to_wgs84
from routing.circles import rings_geojson
from zones import lookups, unit_store


@dataclass(frozen=True)
class CircleOptions:
    """How circles are drawn: ``buffer_m`` around reachable roads and the raster ``cell_m`` of
    the outlines (metres), and the largest point-to-road distance ``snap_limit_m`` (metres).
    Built from the settings, so every entrance draws the same circles."""

    buffer_m: float
    cell_m: float
    snap_limit_m: float

    @classmethod
    def of(cls, settings) -> CircleOptions:
        """The options of a :class:`settings.Settings`."""
        return cls(settings.circle_buffer_m, settings.circle_cell_m, settings.snap_limit_m)


def circles_around(graph: RoadGraph, lon: float, lat: float, *, minutes: list[float],
                   direction: Direction | str, options: CircleOptions,
                   crs: CoordSystem | str = CoordSystem.WGS84,
                   weights: Weights | None = None) -> dict:
    """Rings reached within each of ``minutes`` from (depart) or to (arrive) the point
    (lon, lat in ``crs``, degrees), as a GeoJSON FeatureCollection in WGS-84 (EPSG:4326).

    ``origin`` tells the point as given, its coordinate system, where it snapped (WGS-84) and
    how far from the road it lies (metres). Raises ``OffNetworkError`` beyond the snapping
    limit and ``CoordinateError`` for coordinates out of range.
    """
    direction = Direction(direction)
    crs = CoordSystem(crs)
    seconds = [m * 60.0 for m in minutes]
    origin = snap_point(graph, lon, lat, crs=crs, limit_m=options.snap_limit_m)
    found = reach(graph, origin, direction=direction, limit_s=max(seconds), weights=weights)
    result = rings_geojson(graph, rings(found, seconds, buffer_m=options.buffer_m,
                                        cell_m=options.cell_m), direction=direction)
    snapped_lon, snapped_lat = origin.lonlat(graph)
    wgs_lon, wgs_lat = (float(v) for v in to_wgs84(lon, lat, crs))
    result["origin"] = {"lon": float(lon), "lat": float(lat), "crs": crs.value,
                        "wgs84": [round(wgs_lon, 7), round(wgs_lat, 7)],
                        "snapped": [round(snapped_lon, 7), round(snapped_lat, 7)],
                        "snap_distance_m": round(origin.distance_m, 1)}
    return result


def station_circles(engine: sa.Engine, graph: RoadGraph, station_id: int, *,
                    minutes: list[float], direction: Direction | str,
                    options: CircleOptions) -> dict:
    """:func:`circles_around` a station, with ``station`` (id, name); raises
    :class:`~patrol.errors.NotFound` for an unknown station."""
    with engine.connect() as conn:
        found = lookups.station_point(conn, station_id)
    if found is None:
        raise NotFound(f"no station {station_id}")
    name, lon, lat = found
    result = circles_around(graph, lon, lat, minutes=minutes, direction=direction,
                            options=options)
    result["station"] = {"id": station_id, "name": name}
    return result


def unit_circles(engine: sa.Engine, graph: RoadGraph, unit_id: int, *, minutes: list[float],
                 options: CircleOptions) -> dict:
    """:func:`circles_around` a unit's last reported position (depart), with ``unit`` (id,
    callsign, position_at); raises :class:`~patrol.errors.NotFound` for an unknown unit and
    :class:`~patrol.errors.Conflict` for a unit that has reported no position."""
    with engine.connect() as conn:
        unit = unit_store.unit(conn, unit_id)
    if unit is None:
        raise NotFound(f"no unit {unit_id}")
    if unit["lon"] is None:
        raise Conflict(f"unit {unit_id} has reported no position yet")
    result = circles_around(graph, unit["lon"], unit["lat"], minutes=minutes,
                            direction=Direction.DEPART, options=options)
    result["unit"] = {"id": unit_id, "callsign": unit["callsign"],
                      "position_at": unit["position_at"]}
    return result
