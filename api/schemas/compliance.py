"""Patrol compliance (见警率) as the API shows it: rates per zone, shift and target, and every
target's 15-minute windows."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.plans import TargetKind


class WindowPublic(BaseModel):
    """One target's 15-minute window."""

    start: str = Field(description="the window's start, ISO 8601 UTC")
    visited: bool
    first_visit: str | None = Field(description="arrival of the first visit counted for the "
                                    "window, ISO 8601 UTC")
    unit_id: int | None = Field(description="the unit of that visit")
    longest_stay_s: float = Field(description="the longest stay at the target overlapping "
                                  "the window, visit or not (seconds)")


class TargetCompliance(BaseModel):
    target_id: int
    zone_id: int
    kind: TargetKind
    name: str
    dwell_s: float = Field(description="the stay a visit needs, seconds")
    windows: int
    visited: int
    rate: float | None = Field(description="share of the windows visited (见警率)")
    by_window: list[WindowPublic]


class ZoneRate(BaseModel):
    zone_id: int
    targets: int
    target_windows: int
    visited: int
    rate: float | None
    weighted_rate: float | None = Field(description="each target's windows weighted by its "
                                        "weight")


class ShiftRate(BaseModel):
    zone_id: int
    shift_start: str
    shift_end: str
    local_start_h: float = Field(description="the shift's start, hours of the local day")
    windows: int
    target_windows: int
    visited: int
    rate: float | None
    weighted_rate: float | None


class CompliancePublic(BaseModel):
    """Compliance of a zone's must-patrol targets over whole 15-minute windows."""

    zone_id: int
    from_: str = Field(alias="from", description="start of the first window, ISO 8601 UTC")
    to: str = Field(description="end of the last window, ISO 8601 UTC")
    window_s: float
    visit_m: float = Field(description="distance from a target that counts as there, metres")
    units_tracked: int = Field(description="units with fixes near the targets in the range")
    zone: ZoneRate | None = Field(description="the zone's rates (None: it has no target)")
    shifts: list[ShiftRate]
    targets: list[TargetCompliance]
