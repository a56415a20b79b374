"""Live coverage and recommended moves as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.units import UnitStatus
from zones.models import MOVE_STATUSES

MoveStatus = Literal[MOVE_STATUSES]  # type: ignore[valid-type]


class CoverageShares(BaseModel):
    """Shares (0..1): hotspots (by category weight) and grid cells reached within 1, 3 and 5
    minutes (keys "1", "3", "5"), hotspots reached by two units within 3 minutes, and the
    expected coverage (MEXCLP: a point reached by k units within 3 minutes is served with
    probability 1 − q^k; hotspots and cells count half each)."""

    hotspots: dict[str, float]
    cells: dict[str, float]
    hotspots_double_3: float
    expected: float


class LiveCoverage(BaseModel):
    """Coverage now, from the units that may answer an alarm (available or relocating; a
    relocating unit counts at its waiting point)."""

    computed_at: datetime
    units: int = Field(description="units counted")
    relocating: int
    hotspots: int = Field(description="hotspots counted (on the road network)")
    cells: int = Field(description="grid cells counted")
    hotspots_double_3: int = Field(description="hotspots reached by two units within 3 minutes")
    busy_fraction: float = Field(description="q: the share of time a unit is busy")
    coverage: CoverageShares


class MoveHint(BaseModel):
    """A move: which unit, to which waiting point (a station or post, or the road node at a
    hotspot; WGS-84), the drive there, the gain in expected coverage and the coverage before
    and after it."""

    unit_id: int
    callsign: str
    site_kind: Literal["station", "road_node"]
    site_id: int | None = Field(description="the station's id (none for a road node)")
    site_name: str | None
    lon: float
    lat: float
    drive_seconds: float
    gain: float
    coverage_before: CoverageShares
    coverage_after: CoverageShares
    computed_at: datetime = Field(description="its figures are of the fleet as of this moment")


class MovePublic(MoveHint):
    """A recommended move and what became of it."""

    id: int
    unit_status: UnitStatus
    reason: Literal["event", "rebalance"]
    status: MoveStatus
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    ended_at: datetime | None
