"""Move-up: the live coverage, the recommended moves, and a dispatcher's answer to one."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConfigDep, Dispatcher, EngineDep, LoopPoolDep, MoveUpDep, Reader
from api.errors import errors
from api.inputs import IdPath
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
