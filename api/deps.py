"""What handlers are given: the long-lived state of the app (engine, pools, the dispatch
configuration, the circle options, the coverage maps) and the caller behind the API key.

Declared async so that FastAPI runs them on the event loop rather than handing each to the
thread pool (a thread hop per dependency per request); none of them blocks but a key lookup on a
cache miss, which goes to the thread pool itself.
"""

from __future__ import annotations

import time
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from api.errors import Forbidden, Unauthorized
from patrol.circles import CircleOptions
from patrol.coverage import CoverageMaps
from patrol.service import DispatchConfig
from zones import api_keys
from zones.database import LoopPool

#: Seconds a looked-up API key is trusted before it is looked up again.
KEY_CACHE_SECONDS = 30.0

api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="your API key (patrol keys create --role ROLE)")


class Caller(BaseModel):
    """Who sent the request: the key's id, role and name."""

    key_id: int
    role: str
    name: str | None = None

    @property
    def label(self) -> str:
        return f"key {self.key_id} ({self.role}{', ' + self.name if self.name else ''})"


async def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


async def get_loop_pool(request: Request) -> LoopPool:
    return request.app.state.loop_pool


async def get_config(request: Request) -> DispatchConfig:
    return request.app.state.config


async def get_circle_options(request: Request) -> CircleOptions:
    return request.app.state.circle_options


async def get_coverage_maps(request: Request) -> CoverageMaps:
    return request.app.state.coverage_maps


async def get_caller(request: Request,
                     key: Annotated[str | None, Security(api_key)] = None) -> Caller:
    """The caller of a valid key (looked up at most every :data:`KEY_CACHE_SECONDS`)."""
    if not key:
        raise Unauthorized("missing X-API-Key header: every request needs an API key "
                           "(patrol keys create --role ROLE)")
    cache: dict = request.app.state.keys
    hit = cache.get(key)
    if hit is None or hit[0] < time.monotonic():
        found = await run_in_threadpool(_role_of_key, request.app.state.engine, key)
        if found is None:
            raise Unauthorized("unknown or revoked API key")
        hit = (time.monotonic() + KEY_CACHE_SECONDS,
               Caller(key_id=found[0], role=found[1], name=found[2]))
        cache[key] = hit
    return hit[1]


def _role_of_key(engine: sa.Engine, key: str) -> tuple | None:
    with engine.connect() as conn:
        return api_keys.role_of_key(conn, key)


def allow(*roles: str):
    """A dependency admitting callers with one of ``roles`` (admin is always admitted)."""

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role != "admin" and caller.role not in roles:
            raise Forbidden(f"this needs the {' or '.join(roles)} role; your key is a "
                            f"{caller.role} key")
        return caller

    return check


EngineDep = Annotated[sa.Engine, Depends(get_engine)]
LoopPoolDep = Annotated[LoopPool, Depends(get_loop_pool)]
ConfigDep = Annotated[DispatchConfig, Depends(get_config)]
CircleOptionsDep = Annotated[CircleOptions, Depends(get_circle_options)]
CoverageMapsDep = Annotated[CoverageMaps, Depends(get_coverage_maps)]
Dispatcher = Annotated[Caller, Depends(allow("dispatcher"))]
Reader = Annotated[Caller, Depends(allow("dispatcher", "planner"))]
Planner = Annotated[Caller, Depends(allow("planner"))]
Admin = Annotated[Caller, Depends(allow("admin"))]
