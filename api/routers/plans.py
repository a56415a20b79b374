"""Patrol plans of a zone (15-minute loops through its must-patrol targets) and the targets."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Admin, ConfigDep, EngineDep, Planner, Reader
from api.errors import errors
from api.inputs import IdPath
from api.schemas.plans import (PlanIn, PlanPublic, TargetCreate, TargetPublic,
                               TargetUpdate)
from patrol import target_admin
from patrol.planning import plan_zone, stored_plan

router = APIRouter(tags=["patrol plans"], responses=errors(401, 403, 422, 503))


@router.post("/zones/{zone_id}/plan", response_model=PlanPublic,
             responses=errors(400, 404, 413))
def create_plan(zone_id: IdPath, body: PlanIn, engine: EngineDep, config: ConfigDep,
                caller: Planner) -> dict:
    """Compute the zone's patrol loops from its station through every must-patrol target, each
    within ``loop_minutes`` (dwells included), with as few units as possible (or at most
    ``units``, keeping the most weight); store the plan and give its loops to the station's
    units. Targets no loop can include are listed with the reason, never dropped."""
    return plan_zone(engine, config.graph, zone_id, loop_seconds=body.loop_minutes * 60,
                     units=body.units, snap_limit_m=config.snap_limit_m)


@router.get("/zones/{zone_id}/plan", response_model=PlanPublic, responses=errors(404))
def read_plan(zone_id: IdPath, engine: EngineDep, caller: Reader) -> dict:
    """The zone's stored plan (404 until one is computed)."""
    return stored_plan(engine, zone_id)


@router.get("/zones/{zone_id}/targets", response_model=list[TargetPublic],
            responses=errors(404))
def read_targets(zone_id: IdPath, engine: EngineDep, caller: Reader) -> list[dict]:
    """The zone's must-patrol points, lines and areas."""
    return target_admin.list_targets(engine, zone_id)


@router.post("/zones/{zone_id}/targets", response_model=TargetPublic, status_code=201,
             responses=errors(400, 404, 413))
def create_target(zone_id: IdPath, body: TargetCreate, engine: EngineDep,
                  caller: Admin) -> dict:
    """Add a must-patrol target to the zone (admin)."""
    return target_admin.create_target(engine, zone_id, name=body.name,
                                      geometry=body.geometry.model_dump(), crs=body.crs,
                                      dwell_s=body.dwell_s, weight=body.weight,
                                      two_way=body.two_way)


@router.patch("/targets/{target_id}", response_model=TargetPublic,
              responses=errors(400, 404, 413))
def update_target(target_id: IdPath, body: TargetUpdate, engine: EngineDep,
                  caller: Admin) -> dict:
    """Change a target's name, dwell, weight or direction (admin)."""
    return target_admin.edit_target(engine, target_id, **body.model_dump(exclude_none=True))


@router.delete("/targets/{target_id}", status_code=204, responses=errors(404))
def delete_target(target_id: IdPath, engine: EngineDep, caller: Admin) -> Response:
    """Remove a target (admin)."""
    target_admin.remove_target(engine, target_id)
    return Response(status_code=204)
