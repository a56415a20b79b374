"""What handlers are given: the long-lived state of the app (engine, pools, the dispatch
configuration, the circle options, the coverage maps) and the caller behind the API key.

Declared async so that FastAPI runs them on the event loop rather than handing each to the
thread pool (a thread hop per dependency per request); none of them blocks but a key lookup on a
cache miss, which waits on a pool of its own (:mod:`api.callers`).
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from api.callers import Caller
from api.errors import Forbidden, Unauthorized
from patrol.circles import CircleOptions
from patrol.coverage import CoverageMaps
from patrol.live_rings import LiveRings
from patrol.moveup_live import MoveUp
from patrol.service import DispatchConfig
from settings import Settings
from zones.database import LoopPool

api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="your API key (patrol keys create --role ROLE)")


async def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


async def get_loop_pool(request: Request) -> LoopPool:
    return request.app.state.loop_pool


async def get_position_pool(request: Request) -> LoopPool:
    return request.app.state.position_pool


async def get_config(request: Request) -> DispatchConfig:
    return request.app.state.config


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_circle_options(request: Request) -> CircleOptions:
    return request.app.state.circle_options


async def get_coverage_maps(request: Request) -> CoverageMaps:
    return request.app.state.coverage_maps


async def get_moveup(request: Request) -> MoveUp:
    return request.app.state.moveup


async def get_live_rings(request: Request) -> LiveRings:
    return request.app.state.live_rings


async def get_caller(request: Request,
                     key: Annotated[str | None, Security(api_key)] = None) -> Caller:
    """The caller of a valid key (see :class:`api.callers.KeyRing`)."""
    if not key:
        raise Unauthorized("missing X-API-Key header: every request needs an API key "
                           "(patrol keys create --role ROLE)")
    caller = await request.app.state.key_ring.caller(key)
    if caller is None:
        raise Unauthorized("unknown or revoked API key")
    return caller


def allow(*roles: str):
    """A dependency admitting callers with one of ``roles`` (admin is always admitted)."""

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role != "admin" and caller.role not in roles:
            raise Forbidden(f"this needs the {' or '.join(roles)} role; your key is a "
                            f"{caller.role} key")
        return caller

    return check


def require_own_units(caller: Caller, unit_ids: list[int]) -> None:
    """A unit key may report for its own unit only (403 otherwise)."""
    if caller.role != "unit":
        return
    others = sorted({u for u in unit_ids if u != caller.unit_id})
    if others:
        raise Forbidden(f"this unit key reports for unit {caller.unit_id} only, not for unit "
                        f"{others[0]}")


EngineDep = Annotated[sa.Engine, Depends(get_engine)]
LoopPoolDep = Annotated[LoopPool, Depends(get_loop_pool)]
PositionPoolDep = Annotated[LoopPool, Depends(get_position_pool)]
ConfigDep = Annotated[DispatchConfig, Depends(get_config)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CircleOptionsDep = Annotated[CircleOptions, Depends(get_circle_options)]
CoverageMapsDep = Annotated[CoverageMaps, Depends(get_coverage_maps)]
MoveUpDep = Annotated[MoveUp, Depends(get_moveup)]
LiveRingsDep = Annotated[LiveRings, Depends(get_live_rings)]
Dispatcher = Annotated[Caller, Depends(allow("dispatcher"))]
Reporter = Annotated[Caller, Depends(allow("dispatcher", "unit"))]
Reader = Annotated[Caller, Depends(allow("dispatcher", "planner"))]
Planner = Annotated[Caller, Depends(allow("planner"))]
Admin = Annotated[Caller, Depends(allow("admin"))]
