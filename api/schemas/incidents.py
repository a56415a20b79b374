"""Incidents as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from api.inputs import Id, Number, Text, choice
from api.schemas.moves import MoveHint
from api.schemas.units import Located, UnitKind, UnitKindChoice
from zones.models import INCIDENT_STATUSES

IncidentStatus = Literal[INCIDENT_STATUSES]  # type: ignore[valid-type]
Ring = Literal["1", "3", "5", "beyond"]
IncidentStatusChoice = choice("status", INCIDENT_STATUSES)


class IncidentCreate(Located):
    """An alarm: where (``crs``: wgs84, gcj02 or bd09), what, and how urgent."""

    category: Text = Field(min_length=1, max_length=32)
    priority: Annotated[int, Number] = Field(ge=1, le=5, description="1 (most urgent) to 5")
    description: Text | None = Field(None, max_length=2000)
    unit_kind: UnitKindChoice = "patrol_car"


class AssignUnit(BaseModel):
    """A dispatcher's choice of unit for an incident."""

    unit_id: Id


class IncidentPublic(BaseModel):
    """An incident: where (WGS-84, and its point on the road), its grid, zone and station, its
    times, the unit assigned (if any) and its arrival deadline and warning."""

    id: int
    category: str
    priority: int
    description: str | None
    status: IncidentStatus
    unit_kind: UnitKind
    input_crs: Literal["wgs84", "gcj02", "bd09"]
    lon: float
    lat: float
    road_lon: float
    road_lat: float
    grid_id: int | None
    grid_code: str | None
    zone_id: int | None
    station_id: int | None
    station_name: str | None
    received_at: datetime
    dispatched_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None
    unit_id: int | None
    unit_callsign: str | None
    eta_seconds: float | None = Field(description="drive time of the assigned unit, seconds")
    deadline_seconds: int = Field(description="time allowed from receipt to arrival, seconds")
    warning: Literal["blue", "yellow", "red"] | None
    eta_ring: Ring | None = None


class CandidatePublic(BaseModel):
    """A unit ranked for an incident by drive time."""

    unit_id: int
    callsign: str
    eta_seconds: float
    distance_m: float
    ring: Ring
    at_home_station: bool = Field(description="its last fix is stale: placed at its station")


class DecisionPublic(BaseModel):
    mode: Literal["auto", "recommendation", "override", "reconcile"]
    reason: str
    unit_id: int | None


class RouteFeature(BaseModel):
    """The chosen unit's route as a GeoJSON LineString feature (WGS-84)."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: dict[str, Any]


class IncidentCreated(IncidentPublic):
    """A received incident with its ranked candidates, the decision and, for a dispatch, the
    route of the unit sent."""

    candidates: list[CandidatePublic]
    decision: DecisionPublic | None = Field(
        description="none only when the incident was closed before it could be decided")
    route: RouteFeature | None = None
    replayed: bool = Field(description="stored by an earlier request with the same "
                                       "Idempotency-Key (then no route)")
    move_hint: MoveHint | None = Field(None, description="for a dispatch: the move that "
                                       "would best fill the gap the unit leaves, as worked out "
                                       "before the alarm (GET /moves has the current advice)")


class DecisionRecord(BaseModel):
    """One audited decision on an incident."""

    decided_at: datetime
    requested_by: str | None
    mode: str
    chosen_unit_id: int | None
    reason: str | None
    candidates: list[CandidatePublic] | None


class IncidentDetail(IncidentPublic):
    decisions: list[DecisionRecord]
