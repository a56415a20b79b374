"""Response circles and hotspot coverage as the API shows them (GeoJSON, WGS-84)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.incidents import Ring
from zones.models import HOTSPOT_CATEGORIES

Direction = Literal["depart", "arrive"]


class Geometry(BaseModel):
    """A GeoJSON polygon or multipolygon, WGS-84 degrees."""

    type: Literal["Polygon", "MultiPolygon", "GeometryCollection"]
    coordinates: list[Any] = Field(default_factory=list)


class RingProperties(BaseModel):
    minutes: float
    seconds: float
    direction: Direction
    road_length_m: float = Field(description="length of the roads reached, metres")
    area_m2: float = Field(description="area of the ring, square metres")


class RingFeature(BaseModel):
    type: Literal["Feature"]
    geometry: Geometry
    properties: RingProperties


class Origin(BaseModel):
    """The point as given, its coordinate system, where it lies in WGS-84 and where it snapped
    to the road network (metres away)."""

    lon: float
    lat: float
    crs: Literal["wgs84", "gcj02", "bd09"]
    wgs84: list[float]
    snapped: list[float]
    snap_distance_m: float


class CirclesPublic(BaseModel):
    """Rings reached within each time, smallest first (a GeoJSON FeatureCollection)."""

    type: Literal["FeatureCollection"]
    features: list[RingFeature]
    origin: Origin


class LiveRings(BaseModel):
    """The 1/3/5-minute circles of the units that may answer an alarm now, dissolved, smallest
    first (a GeoJSON FeatureCollection, WGS-84; no features when no unit is counted)."""

    type: Literal["FeatureCollection"]
    features: list[RingFeature]
    computed_at: datetime = Field(description="the fleet as of this moment")
    unit_ids: list[int] = Field(description="the units counted")
    fleet_state: str = Field(description="the fleet state they are of (their ETag: sent back "
                             "in If-None-Match, answered 304 while it holds)")


class StationRef(BaseModel):
    id: int
    name: str


class StationCircles(CirclesPublic):
    station: StationRef


class UnitRef(BaseModel):
    id: int
    callsign: str
    position_at: datetime | None


class UnitCircles(CirclesPublic):
    unit: UnitRef


class HotspotRef(BaseModel):
    id: int
    name: str | None
    category: Literal[HOTSPOT_CATEGORIES]  # type: ignore[valid-type]
    lon: float
    lat: float


class Reacher(BaseModel):
    """A station or an available patrol car that reaches the hotspot."""

    type: Literal["station", "unit"]
    id: int
    name: str | None
    kind: str
    seconds: float
    ring: Ring


class HotspotCoverage(BaseModel):
    """Who reaches the hotspot within 1, 3 and 5 minutes now, fastest first per ring."""

    hotspot: HotspotRef
    rings: dict[Literal["1", "3", "5"], list[Reacher]]
