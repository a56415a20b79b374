"""Units and their positions as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.inputs import Crs, Id, Latitude, Longitude, Moment, choice
from zones.models import UNIT_KINDS, UNIT_STATUSES

UnitKind = Literal[UNIT_KINDS]  # type: ignore[valid-type]
UnitStatus = Literal[UNIT_STATUSES]  # type: ignore[valid-type]
UnitKindChoice = choice("unit kind", UNIT_KINDS)
UnitStatusChoice = choice("status", UNIT_STATUSES)


class Located(BaseModel):
    """A point in degrees, in the coordinate system ``crs``: wgs84, gcj02 or bd09. Its range is
    checked where it is converted to WGS-84, the first step of every use (an alarm's CPU is
    counted in microseconds: the check is not made twice)."""

    lon: Longitude
    lat: Latitude
    crs: Crs = "wgs84"


class PositionIn(Located):
    """A GPS fix: where and when (with its time zone, not in the future)."""

    timestamp: Moment


class FixIn(PositionIn):
    unit_id: Id


class PositionsIn(BaseModel):
    fixes: list[FixIn] = Field(max_length=5000)


class StatusIn(BaseModel):
    status: UnitStatusChoice


class UnitPublic(BaseModel):
    """A unit: its kind and status, its last position (WGS-84) and the incident it is on."""

    id: int
    callsign: str
    kind: UnitKind
    status: UnitStatus
    simulated: bool
    home_station_id: int | None
    lon: float | None
    lat: float | None
    position_at: datetime | None
    incident_id: int | None


class UnitMoved(UnitPublic):
    stored: bool = Field(description="false when the fix is older than the one kept")


class FixRefused(BaseModel):
    """A fix of a batch that was not stored, and why."""

    index: int = Field(description="its place in ``fixes``, from 0")
    unit_id: int
    reason: str


class PositionsStored(BaseModel):
    received: int
    stored: int = Field(description="units moved: fixes newer than the ones kept")
    rejected: list[FixRefused] = Field(description="the fixes refused, each with why")
