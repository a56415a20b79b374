"""Patrol plans and must-patrol targets as the API takes and shows them (GeoJSON, WGS-84)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.inputs import Crs, Number, Text
from zones.models import TARGET_KINDS

TargetKind = Literal[TARGET_KINDS]  # type: ignore[valid-type]


class PlanIn(BaseModel):
    """How to plan a zone's loops."""

    loop_minutes: Annotated[float, Number] = Field(15.0, ge=1, le=240, allow_inf_nan=False,
                                description="longest loop, dwells included (minutes)")
    units: int | None = Field(None, ge=1, le=1000, description="at most this many loops: the "
                              "targets of most weight are kept, the rest listed in left_out")


class Stop(BaseModel):
    """A target on a loop: where the loop reaches it on the road and when."""

    target_id: int
    name: str
    kind: TargetKind
    lon: float
    lat: float
    arrive_s: float = Field(description="seconds from the loop's start")


class LoopProperties(BaseModel):
    zone_id: int
    loop: int = Field(description="the loop's number in its plan, from 1")
    duration_s: float = Field(description="the loop's time, dwells included, seconds")
    stops: list[Stop]
    unit_id: int | None = Field(None, description="the unit that drives it (None: no unit "
                                "of the zone's station left)")


class LineGeometry(BaseModel):
    """The driven road path, WGS-84 degrees."""

    type: Literal["LineString"]
    coordinates: list[list[float]]


class LoopFeature(BaseModel):
    type: Literal["Feature"]
    geometry: LineGeometry
    properties: LoopProperties


class MissingTarget(BaseModel):
    """A target no loop includes and why: beyond_reach (its round trip from the station, in
    seconds, is longer than a loop), off_network, or no_unit (left out for lack of units)."""

    target_id: int
    name: str
    kind: TargetKind
    weight: float
    reason: Literal["beyond_reach", "off_network", "no_unit"]
    round_trip_s: float | None


class PlanPublic(BaseModel):
    """A zone's patrol plan: one Feature per loop (a GeoJSON FeatureCollection)."""

    type: Literal["FeatureCollection"]
    zone_id: int
    loop_seconds: float
    units: int | None
    graph_version: str = Field(description="the compiled road graph the plan was computed on")
    computed_at: str
    unreachable: list[MissingTarget]
    left_out: list[MissingTarget]
    features: list[LoopFeature]


class TargetGeometry(BaseModel):
    """A GeoJSON Point, LineString or Polygon."""

    type: Literal["Point", "LineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any]


class TargetPublic(BaseModel):
    """A must-patrol point, line or area of a zone (geometry WGS-84)."""

    id: int
    zone_id: int
    kind: TargetKind
    name: str
    dwell_s: int = Field(description="seconds spent at the target")
    weight: float
    two_way: bool = Field(description="a line is driven there and back (else in its drawing "
                          "order)")
    geometry: TargetGeometry


class TargetCreate(BaseModel):
    """A new target: its kind follows the geometry (Point, LineString, Polygon), given in
    ``crs``; without ``dwell_s``, 60 s at a point and 0 on a line or area."""

    name: Text = Field(min_length=1, max_length=200)
    geometry: TargetGeometry
    crs: Crs = "wgs84"
    dwell_s: int | None = Field(None, ge=0, le=3600)
    weight: float = Field(1.0, gt=0, le=1000, allow_inf_nan=False)
    two_way: bool = True


class TargetUpdate(BaseModel):
    """The fields to change (at least one)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: Text = Field(None, min_length=1, max_length=200)
    dwell_s: int = Field(None, ge=0, le=3600)
    weight: float = Field(None, gt=0, le=1000, allow_inf_nan=False)
    two_way: bool = Field(None)

    @model_validator(mode="after")
    def _something(self) -> TargetUpdate:
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one of name, dwell_s, weight, two_way")
        return self
