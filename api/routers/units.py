"""Units: positions (one or many), status, and the fleet list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import (EngineDep, PositionPoolDep, Reader, Reporter, SettingsDep,
                      require_own_units)
from api.errors import errors
from api.inputs import IdPath, NearDep
from api.schemas.units import (PositionIn, PositionsIn, PositionsStored, StatusIn,
                               UnitKindChoice, UnitMoved, UnitPublic, UnitStatusChoice)
from patrol import positions, service

router = APIRouter(prefix="/units", tags=["units"], responses=errors(401, 403, 422, 503))
BODY_ERRORS = errors(400, 404, 413)


@router.put("/positions", response_model=PositionsStored, responses=errors(400, 413))
async def update_positions(body: PositionsIn, pool: PositionPoolDep, caller: Reporter,
                           settings: SettingsDep) -> dict:
    """Many GPS fixes at once: the good ones are stored, and each the domain refuses (an
    unknown unit, a time in the future) is reported with its index in ``fixes`` and why. A
    body that does not match the document (a fix without a time zone...) is refused whole, and
    so is a unit key's batch with another unit's fix (403)."""
    require_own_units(caller, [f.unit_id for f in body.fixes])
    return await positions.move_units(pool, [f.model_dump() for f in body.fixes],
                                      max_speed_kph=settings.track_max_speed_kph)


@router.put("/{unit_id}/position", response_model=UnitMoved, responses=BODY_ERRORS)
async def update_position(unit_id: IdPath, body: PositionIn, pool: PositionPoolDep,
                          engine: EngineDep, caller: Reporter, settings: SettingsDep) -> dict:
    """One GPS fix; an older fix than the one kept is ignored (``stored`` false). A unit key
    may send its own unit's only."""
    require_own_units(caller, [unit_id])
    stored = await positions.move_unit(pool, {"unit_id": unit_id, **body.model_dump()},
                                       max_speed_kph=settings.track_max_speed_kph)
    return {**await run_in_threadpool(service.get_unit, engine, unit_id), "stored": stored}


@router.put("/{unit_id}/status", response_model=UnitPublic,
            responses={**BODY_ERRORS, **errors(409)})
def update_status(unit_id: IdPath, body: StatusIn, engine: EngineDep,
                  caller: Reporter) -> dict:
    """Change a unit's status by hand (dispatch owns "dispatched"); a unit key, its own
    unit's only."""
    require_own_units(caller, [unit_id])
    return service.set_unit_status(engine, unit_id, body.status, actor=caller.actor)


@router.get("", response_model=list[UnitPublic])
def read_units(engine: EngineDep, caller: Reader, near: NearDep,
               status: UnitStatusChoice | None = None, type: UnitKindChoice | None = None,
               limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> list[dict]:
    """Units by status and kind, within ``radius_m`` metres of ``near`` if given."""
    where = None if near is None else (near.lon, near.lat, near.radius_m)
    return service.list_units(engine, status=status, kind=type, near=where, limit=limit)


@router.get("/{unit_id:int}", response_model=UnitPublic, responses=errors(404))
def read_unit(unit_id: IdPath, engine: EngineDep, caller: Reader) -> dict:
    return service.get_unit(engine, unit_id)
