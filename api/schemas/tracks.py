"""GPS tracks as the API takes and reports them, and their replay."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.inputs import Crs, Id, Latitude, Longitude, Moment

FixStatusName = Literal["ok", "jump", "duplicate", "backwards", "refused"]


class TrackFixIn(BaseModel):
    """A GPS fix of a track: where (in the track's ``crs``) and when (with its time zone)."""

    lon: Longitude
    lat: Latitude
    timestamp: Moment


class TrackIn(BaseModel):
    """A unit's fixes, in the order the unit took them, all in one coordinate system."""

    crs: Crs = "wgs84"
    fixes: list[TrackFixIn] = Field(min_length=1, max_length=5000)


class UnitTrackIn(TrackIn):
    unit_id: Id


class TracksIn(BaseModel):
    tracks: list[UnitTrackIn] = Field(min_length=1, max_length=1000)


class FixReport(BaseModel):
    """What became of one fix."""

    index: int = Field(description="its place in ``fixes``, from 0")
    status: FixStatusName = Field(description="ok and jump are stored (a jump is not matched); "
                                  "duplicate, backwards and refused are not")
    reason: str | None = Field(description="why, unless ok")
    speed_kph: float | None = Field(description="from the unit's last good fix (km/h); null "
                                    "when not measured")


class TrackStored(BaseModel):
    """A track's report: how many fixes were received and stored, and each fix's status."""

    unit_id: int
    refused: str | None = Field(description="why the whole track was refused (an unknown "
                                "unit, a unit's second track); null when it was not")
    received: int
    stored: int
    counts: dict[FixStatusName, int]
    fixes: list[FixReport]


class TracksStored(BaseModel):
    tracks: list[TrackStored] = Field(description="one report per track, in the order sent")


class Replay(BaseModel):
    """A GeoJSON FeatureCollection (WGS-84): the matched path, one LineString per continuous
    piece with the time of every vertex (``properties.times``), then every stored fix as a
    Point (``properties``: time, lon, lat, jump)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["FeatureCollection"]
    unit_id: int
    callsign: str
    from_: str = Field(alias="from")
    to: str
    features: list[dict]
