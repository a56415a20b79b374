"""GPS tracks: a unit's fixes stored (one unit or many) and replayed over a time range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import (ConfigDep, EngineDep, PositionPoolDep, Reader, Reporter, SettingsDep,
                      require_own_units)
from api.errors import errors
from api.inputs import IdPath, Moment
from api.schemas.tracks import Replay, TrackIn, TracksIn, TracksStored, TrackStored
from patrol.track_ingest import ingest_track, ingest_tracks
from patrol.track_replay import track_replay

router = APIRouter(prefix="/units", tags=["tracks"], responses=errors(401, 403, 422, 503))


@router.post("/tracks", response_model=TracksStored, responses=errors(400, 413))
async def create_tracks(body: TracksIn, pool: PositionPoolDep, caller: Reporter,
                        settings: SettingsDep) -> dict:
    """Several units' tracks at once: each is cleaned against its unit's stored track and
    stored, and reported fix by fix; a track of an unknown unit, or a unit's second track, is
    refused by itself (``refused``) and the others are stored. A coordinate out of range
    refuses the whole batch (422). A unit key may send its own unit's track only (403)."""
    require_own_units(caller, [t.unit_id for t in body.tracks])
    reports = await ingest_tracks(pool, [t.model_dump() for t in body.tracks],
                                  max_speed_kph=settings.track_max_speed_kph)
    return {"tracks": reports}


@router.post("/{unit_id}/track", response_model=TrackStored, responses=errors(400, 404, 413))
async def create_track(unit_id: IdPath, body: TrackIn, pool: PositionPoolDep, caller: Reporter,
                       settings: SettingsDep) -> dict:
    """A unit's GPS fixes, in any coordinate system: stored in its track, its newest good fix
    made its position, each fix reported (duplicates dropped, time going backwards refused,
    jumps faster than ``PATROL_TRACK_MAX_SPEED_KPH`` stored but left out of matching). A unit
    key may send its own unit's track only (403)."""
    require_own_units(caller, [unit_id])
    return await ingest_track(pool, {"unit_id": unit_id, **body.model_dump()},
                              max_speed_kph=settings.track_max_speed_kph)


@router.get("/{unit_id}/track", response_model=Replay, response_model_by_alias=True,
            responses=errors(404))
async def read_track(unit_id: IdPath, engine: EngineDep, config: ConfigDep, caller: Reader,
                     start: Annotated[Moment, Query(alias="from", description="from (included)")],
                     end: Annotated[Moment, Query(alias="to", description="to (excluded), at "
                                                  "most 24 hours after from")]) -> dict:
    """Replay (轨迹回放): the unit's fixes taken in [from, to) as stored, and their matched road
    path with the time of every vertex, as GeoJSON."""
    return await run_in_threadpool(track_replay, engine, config.graph, unit_id, start=start,
                                   end=end)
