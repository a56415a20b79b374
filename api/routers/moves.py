"""Move-up: the live coverage, the recommended moves, and a dispatcher's answer to one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from api.deps import (ConfigDep, Dispatcher, EngineDep, LiveRingsDep, LoopPoolDep, MoveUpDep,
                      Reader)
from api.errors import errors
from api.inputs import IdPath
from api.schemas.geo import LiveRings
from api.schemas.moves import LiveCoverage, MovePublic
from patrol import moves
from patrol.moveup_loop import live_coverage

router = APIRouter(tags=["moves"], responses=errors(401, 403, 422, 503))


@router.get("/coverage/live", response_model=LiveCoverage)
async def read_live_coverage(pool: LoopPoolDep, config: ConfigDep, moveup: MoveUpDep,
                             caller: Reader) -> dict:
    """Shares of hotspots and grid cells reached within 1, 3 and 5 minutes by the units that
    may answer an alarm, as they stand now, and the hotspots reached twice within 3."""
    return await live_coverage(pool, config, moveup)


@router.get("/coverage/live/rings", response_model=LiveRings, responses={
    304: {"description": "unchanged since the entity tag sent in If-None-Match"}})
async def read_live_rings(pool: LoopPoolDep, config: ConfigDep, rings: LiveRingsDep,
                          caller: Reader, response: Response,
                          if_none_match: Annotated[str | None, Header()] = None
                          ) -> dict | Response:
    """The 1/3/5-minute circles of the units that may answer an alarm now (available or
    relocating, where they stand; a stale fix counts at the home station), dissolved, as
    GeoJSON polygons in WGS-84. Worked out again only when the fleet changed; the ``ETag``
    names the fleet state, and a request that sends it back (``If-None-Match``) is answered
    304 while it holds."""
    tag, answer = await rings.read(pool, config)
    if if_none_match == tag:
        return Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return answer


@router.get("/moves", response_model=list[MovePublic])
def read_moves(engine: EngineDep, caller: Reader) -> list[dict]:
    """The recommended moves (best first) and the accepted ones under way."""
    return moves.list_moves(engine)


@router.post("/moves/{move_id}/accept", response_model=MovePublic, responses=errors(404, 409))
def accept_move(move_id: IdPath, engine: EngineDep, caller: Dispatcher) -> dict:
    """Accept a proposed move: the unit becomes ``relocating`` (it can still be dispatched)
    and becomes available again at the waiting point (a fix near it, or its status set)."""
    return moves.accept_move(engine, move_id, actor=caller.actor)


@router.post("/moves/{move_id}/decline", response_model=MovePublic,
             responses=errors(404, 409))
def decline_move(move_id: IdPath, engine: EngineDep, moveup: MoveUpDep,
                 caller: Dispatcher) -> dict:
    """Decline a proposed move; it is not proposed again for a quarter of an hour."""
    declined = moves.decline_move(engine, move_id, actor=caller.actor)
    moveup.declines += 1
    return declined
