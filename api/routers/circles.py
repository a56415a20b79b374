"""Response circles around a point, a station and a unit, and who reaches a hotspot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CircleOptionsDep, ConfigDep, EngineDep, Reader
from api.errors import errors
from api.inputs import Crs, IdPath, MinutesDep
from api.schemas.geo import (CirclesPublic, Direction, HotspotCoverage, StationCircles,
                             UnitCircles)
from patrol.circles import circles_around, station_circles, unit_circles
from patrol.hotspot_coverage import hotspot_coverage

router = APIRouter(tags=["circles"], responses=errors(401, 403, 422, 503))
LonQuery = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False,
                                  description="longitude, degrees")]
LatQuery = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False,
                                  description="latitude, degrees")]


@router.get("/circles", response_model=CirclesPublic)
def read_circles(lon: LonQuery, lat: LatQuery, config: ConfigDep, options: CircleOptionsDep,
                 caller: Reader, minutes: MinutesDep, direction: Direction = "depart",
                 crs: Crs = "wgs84") -> dict:
    """Response circles around a point (``crs``: wgs84, gcj02 or bd09), as GeoJSON polygons
    (WGS-84). A point farther from every road than the snapping limit is refused (422)."""
    return circles_around(config.graph, lon, lat, minutes=minutes, direction=direction,
                          crs=crs, options=options)


@router.get("/stations/{station_id}/circles", response_model=StationCircles,
            responses=errors(404))
def read_station_circles(station_id: IdPath, engine: EngineDep, config: ConfigDep,
                         options: CircleOptionsDep, caller: Reader, minutes: MinutesDep,
                         direction: Direction = "depart") -> dict:
    """Response circles around a station."""
    return station_circles(engine, config.graph, station_id, minutes=minutes,
                           direction=direction, options=options)


@router.get("/units/{unit_id}/circles", response_model=UnitCircles, responses=errors(404, 409))
def read_unit_circles(unit_id: IdPath, engine: EngineDep, config: ConfigDep,
                      options: CircleOptionsDep, caller: Reader, minutes: MinutesDep) -> dict:
    """Where a unit can be within each time from its last reported position (409 before its
    first fix)."""
    return unit_circles(engine, config.graph, unit_id, minutes=minutes, options=options)


@router.get("/hotspots/{hotspot_id}/coverage", response_model=HotspotCoverage,
            responses=errors(404))
def read_hotspot_coverage(hotspot_id: IdPath, engine: EngineDep, config: ConfigDep,
                          caller: Reader) -> dict:
    """Which stations and available units reach the hotspot within 1, 3 and 5 minutes now."""
    return hotspot_coverage(engine, config.graph, hotspot_id, snap_limit_m=config.snap_limit_m,
                            stale_after_s=config.stale_after_s)
