"""The HTTP API: thin handlers over ``patrol.service`` and the routing engine.

``create_app(settings)`` builds the app; the road graph and the database pool are loaded once in
its lifespan. Every request carries an API key (header ``X-API-Key``) whose role decides what it
may do: dispatcher (incidents, units), planner (reading, circles, maps), admin (everything).
Errors map to status codes in one place: bad input 422, unknown ids 404, illegal transitions
409, a missing or unknown key 401, the wrong role 403, an oversized body 413, and a database
that cannot be reached 503 (the pool reconnects by itself when it is back).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Literal

import numpy as np
import psycopg
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from patrol import service
from patrol.circles import CircleOptions, circles_around
from patrol.coverage import CoverageMaps
from patrol.dispatch import DispatchPolicy, ring_of
from patrol.errors import Conflict, Invalid, NotFound, StoredButNotDispatched
from patrol.fleet import routing_positions
from patrol.inputs import (parse_category, parse_lonlat, parse_minutes, speed_model,
                           tile_layer)
from routing import (RoadGraph, RoutingError, open_graph, parse_coord_system, reach, snap_many,
                     snap_point, to_wgs84)
from routing.baseline import NetworkxRanker
from routing.search import rank, times_to
from settings import Settings
from zones import api_keys, lookups, queries, unit_store
from zones.cluster import ClusterError
from zones.database import LoopPool, loop_pool, ping, service_engine

KEY_CACHE_SECONDS = 30.0
MAP_CACHE_SECONDS = 600.0
#: How long a request on the thread pool may hold the interpreter while the event loop waits
#: (Python's default is 5 ms): every step of an alarm on the loop could wait that long behind a
#: long request on a thread (a batch of positions, a map), and an alarm takes dozens of steps.
SWITCH_INTERVAL_S = 0.0005


class Caller(BaseModel):
    key_id: int
    role: str
    name: str | None = None

    @property
    def label(self) -> str:
        return f"key {self.key_id} ({self.role}{', ' + self.name if self.name else ''})"


class Unauthorized(Exception):
    pass


class Forbidden(Exception):
    pass


class IncidentIn(BaseModel):
    lon: float = Field(description="longitude, degrees")
    lat: float = Field(description="latitude, degrees")
    crs: str = Field("wgs84", description="wgs84, gcj02 or bd09")
    category: str = Field(min_length=1, max_length=32)
    priority: int = Field(ge=1, le=5, description="1 (most urgent) to 5")
    description: str | None = Field(None, max_length=2000)
    unit_kind: str = Field("patrol_car", description="patrol_car, motorcycle or foot_patrol")


class AssignIn(BaseModel):
    unit_id: int


class PositionIn(BaseModel):
    lon: float
    lat: float
    crs: str = "wgs84"
    timestamp: datetime


class FixIn(PositionIn):
    unit_id: int


class PositionsIn(BaseModel):
    fixes: list[FixIn] = Field(max_length=5000)


class StatusIn(BaseModel):
    status: str


def create_app(settings: Settings | None = None, *, graph: RoadGraph | None = None) -> FastAPI:
    """Build the app; ``graph`` lets a test pass a graph it already holds."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        road_graph = graph or open_graph(settings.graph, speed_model(settings.speed_config),
                                         settings.cache_dir)
        _warm_up(road_graph)
        engine = service_engine(settings)
        app.state.loop_pool = loop_pool(settings)
        await app.state.loop_pool.open()
        app.state.settings = settings
        app.state.engine = engine
        app.state.keys = {}
        app.state.circle_options = CircleOptions.of(settings)
        app.state.coverage_maps = CoverageMaps(
            engine, road_graph, options=app.state.circle_options,
            tiles=tile_layer(settings.map_tiles), attribution=settings.map_attribution,
            keep_s=MAP_CACHE_SECONDS)
        app.state.config = service.DispatchConfig(
            graph=road_graph,
            policy=DispatchPolicy(auto_dispatch_level=settings.auto_dispatch_level,
                                  candidates=settings.dispatch_candidates),
            stale_after_s=settings.stale_position_s, snap_limit_m=settings.snap_limit_m,
            baseline=NetworkxRanker(road_graph) if settings.ranking == "networkx" else None)
        _freeze_start_up_objects()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        yield
        await app.state.loop_pool.close()
        engine.dispose()

    app = FastAPI(title="Patrol and rapid-response dispatch", version="0.1.0", lifespan=lifespan,
                  description=__doc__)
    _add_error_handlers(app)
    _add_body_limit(app, settings.max_body_bytes)
    for router in (incidents, units, circles, maps, health):
        app.include_router(router)
    return app


def _warm_up(graph: RoadGraph) -> None:
    """Load the compiled kernels (numba) and the spatial index before the first alarm arrives."""
    e = int(graph.road_edges[0])
    lon, lat = (float(v) for v in graph.node_lonlat[graph.edge_tail[e]])
    point = snap_point(graph, lon, lat)
    reach(graph, point, direction="arrive", limit_s=60)
    rank(graph, point, [point, point], k=1)


def _freeze_start_up_objects() -> None:
    """Leave everything loaded so far (graph, modules, compiled kernels: some 300 000 objects)
    out of Python's garbage collections: a full collection over them took 150 ms, an alarm
    stalled behind it. Requests' own objects are still collected."""
    gc.collect()
    gc.freeze()


# Dependencies -----------------------------------------------------------------------------------
# Declared async so that FastAPI runs them on the event loop rather than handing each to the
# thread pool (a thread hop per dependency per request); none of them blocks but a key lookup
# on a cache miss, which goes to the thread pool itself.

async def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


async def get_loop_pool(request: Request) -> LoopPool:
    return request.app.state.loop_pool


async def get_config(request: Request) -> service.DispatchConfig:
    return request.app.state.config


async def get_caller(request: Request,
                     x_api_key: Annotated[str | None, Header(description="your API key")] = None
                     ) -> Caller:
    if not x_api_key:
        raise Unauthorized("missing X-API-Key header: every request needs an API key "
                           "(patrol keys create --role ROLE)")
    cache: dict = request.app.state.keys
    hit = cache.get(x_api_key)
    if hit is None or hit[0] < time.monotonic():
        found = await run_in_threadpool(_role_of_key, request.app.state.engine, x_api_key)
        if found is None:
            raise Unauthorized("unknown or revoked API key")
        hit = (time.monotonic() + KEY_CACHE_SECONDS, Caller(key_id=found[0], role=found[1],
                                                            name=found[2]))
        cache[x_api_key] = hit
    return hit[1]


def _encoded(content: dict, status: int) -> Response:
    """A JSON reply encoded here: the alarm path skips FastAPI's generic validation and
    encoding of a plain dict. Datetimes as ISO 8601 (UTC as Z), as FastAPI writes them."""
    return Response(json.dumps(content, ensure_ascii=False, default=_json_value),
                    status_code=status, media_type="application/json")


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


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
ConfigDep = Annotated[service.DispatchConfig, Depends(get_config)]
Dispatcher = Annotated[Caller, Depends(allow("dispatcher"))]
Reader = Annotated[Caller, Depends(allow("dispatcher", "planner"))]


# Incidents --------------------------------------------------------------------------------------

incidents = APIRouter(prefix="/incidents", tags=["incidents"])


@incidents.post("", status_code=201, response_class=JSONResponse)
async def create_incident(body: IncidentIn, pool: LoopPoolDep, config: ConfigDep,
                          caller: Dispatcher) -> Response:
    """Receive an incident: locate its grid, zone and station, rank units by drive time, and
    dispatch the fastest (priority at or above the auto-dispatch level) or recommend it."""
    view = await service.receive_incident(pool, config, requested_by=caller.label,
                                          **body.model_dump())
    return _encoded(view, 201)


@incidents.get("")
def read_incidents(engine: EngineDep, config: ConfigDep, caller: Reader,
                   status: str | None = None, zone_id: int | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    return service.list_incidents(engine, config, status=status, zone_id=zone_id, since=since,
                                  until=until, limit=limit)


@incidents.get("/{incident_id}")
def read_incident(incident_id: int, engine: EngineDep, config: ConfigDep, caller: Reader) -> dict:
    return service.get_incident(engine, config, incident_id)


@incidents.post("/{incident_id}/assign")
def assign_incident(incident_id: int, body: AssignIn, engine: EngineDep, config: ConfigDep,
                    caller: Dispatcher) -> dict:
    return service.assign_unit(engine, config, incident_id, body.unit_id, caller.label)


@incidents.post("/{incident_id}/arrive")
def arrive_incident(incident_id: int, engine: EngineDep, config: ConfigDep,
                    caller: Dispatcher) -> dict:
    return service.mark_arrived(engine, config, incident_id)


@incidents.post("/{incident_id}/close")
def close_incident(incident_id: int, engine: EngineDep, config: ConfigDep,
                   caller: Dispatcher) -> dict:
    return service.close_incident(engine, config, incident_id)


# Units ------------------------------------------------------------------------------------------

units = APIRouter(prefix="/units", tags=["units"])


@units.put("/positions")
async def update_positions(body: PositionsIn, pool: LoopPoolDep, caller: Dispatcher) -> dict:
    """Many GPS fixes at once; all are stored or none (an unknown unit rejects the batch)."""
    stored = await service.move_units(pool, [f.model_dump() for f in body.fixes])
    return {"received": len(body.fixes), "stored": stored}


@units.put("/{unit_id}/position")
async def update_position(unit_id: int, body: PositionIn, pool: LoopPoolDep, engine: EngineDep,
                          caller: Dispatcher) -> dict:
    stored = await service.move_units(pool, [{"unit_id": unit_id, **body.model_dump()}])
    return {**await run_in_threadpool(service.get_unit, engine, unit_id), "stored": bool(stored)}


@units.put("/{unit_id}/status")
def update_status(unit_id: int, body: StatusIn, engine: EngineDep, caller: Dispatcher) -> dict:
    return service.set_unit_status(engine, unit_id, body.status)


@units.get("")
def read_units(engine: EngineDep, caller: Reader, status: str | None = None,
               type: str | None = None,
               near: Annotated[str | None, Query(description="LON,LAT (WGS-84)")] = None,
               radius_m: Annotated[float, Query(gt=0, le=50_000)] = 2000,
               limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> list[dict]:
    where = None
    if near is not None:
        lon, lat = _lonlat(near)
        where = (lon, lat, radius_m)
    return service.list_units(engine, status=status, kind=type, near=where, limit=limit)


@units.get("/{unit_id}")
def read_unit(unit_id: int, engine: EngineDep, caller: Reader) -> dict:
    return service.get_unit(engine, unit_id)


# Circles ----------------------------------------------------------------------------------------

circles = APIRouter(tags=["circles"])
MinutesQuery = Annotated[str, Query(description="ring times in minutes, e.g. 1,3,5")]
DirectionQuery = Annotated[Literal["depart", "arrive"], Query()]


@circles.get("/circles")
def read_circles(request: Request, lon: float, lat: float, config: ConfigDep, caller: Reader,
                 minutes: MinutesQuery = "1,3,5", direction: DirectionQuery = "depart",
                 crs: str = "wgs84") -> dict:
    """Response circles around a point, as GeoJSON polygons (WGS-84)."""
    return _circles(request, config, lon, lat, minutes, direction, crs)


@circles.get("/stations/{station_id}/circles")
def read_station_circles(request: Request, station_id: int, engine: EngineDep, config: ConfigDep, caller: Reader,
                         minutes: MinutesQuery = "1,3,5",
                         direction: DirectionQuery = "depart") -> dict:
    with engine.connect() as conn:
        found = lookups.station_point(conn, station_id)
    if found is None:
        raise NotFound(f"no station {station_id}")
    result = _circles(request, config, found[1], found[2], minutes, direction)
    result["station"] = {"id": station_id, "name": found[0]}
    return result


@circles.get("/units/{unit_id}/circles")
def read_unit_circles(request: Request, unit_id: int, engine: EngineDep, config: ConfigDep, caller: Reader,
                      minutes: MinutesQuery = "1,3,5") -> dict:
    unit = service.get_unit(engine, unit_id)
    if unit["lon"] is None:
        raise Conflict(f"unit {unit_id} has reported no position yet")
    result = _circles(request, config, unit["lon"], unit["lat"], minutes, "depart")
    result["unit"] = {"id": unit_id, "callsign": unit["callsign"],
                      "position_at": unit["position_at"]}
    return result


@circles.get("/hotspots/{hotspot_id}/coverage")
def read_hotspot_coverage(hotspot_id: int, engine: EngineDep, config: ConfigDep,
                          caller: Reader) -> dict:
    """Which stations and available units reach the hotspot within 1, 3 and 5 minutes now."""
    graph = config.graph
    with engine.connect() as conn:
        found = lookups.hotspot_point(conn, hotspot_id)
        if found is None:
            raise NotFound(f"no hotspot {hotspot_id}")
        name, category, lon, lat = found
        # Straight-line pre-filter: nothing beyond 10 km is within 5 minutes at city speeds.
        stations = queries.station_points_near(conn, lon, lat, radius_m=10_000)
        units_rows = unit_store.available_units(conn, kind="patrol_car")
    target = snap_point(graph, lon, lat, limit_m=config.snap_limit_m)
    positions = routing_positions(units_rows, stale_after_s=config.stale_after_s)
    points = ([(("station", s[0], s[1], s[2]), s[4], s[5]) for s in stations]
              + [(("unit", int(u), str(c), "patrol_car"), x, y) for u, c, x, y in
                 zip(positions.unit_id, positions.callsign, positions.lon, positions.lat)])
    snapped = snap_many(graph, [p[1] for p in points], [p[2] for p in points],
                        limit_m=config.snap_limit_m)
    seconds = times_to(graph, target, snapped, limit_s=300)
    reach_list = [{"type": points[i][0][0], "id": points[i][0][1], "name": points[i][0][2],
                   "kind": points[i][0][3], "seconds": round(float(seconds[i]), 1),
                   "ring": ring_of(float(seconds[i]))}
                  for i in np.argsort(seconds, kind="stable") if np.isfinite(seconds[i])]
    return {"hotspot": {"id": hotspot_id, "name": name, "category": category, "lon": lon,
                        "lat": lat},
            "rings": {m: [x for x in reach_list if x["ring"] == m] for m in ("1", "3", "5")}}


def _circles(request: Request, config: service.DispatchConfig, lon: float, lat: float,
             minutes: str, direction: str, crs: str = "wgs84") -> dict:
    return circles_around(config.graph, lon, lat, minutes=parse_minutes(minutes),
                          direction=direction, crs=parse_coord_system(crs),
                          options=request.app.state.circle_options)


def _lonlat(text: str) -> tuple[float, float]:
    lon, lat = parse_lonlat(text, name="near")
    x, y = to_wgs84(lon, lat, "wgs84")
    return float(x), float(y)


# Maps -------------------------------------------------------------------------------------------

maps = APIRouter(prefix="/maps", tags=["maps"])
Planner = Annotated[Caller, Depends(allow("planner"))]


@maps.get("/coverage", response_class=HTMLResponse)
def read_coverage_map(request: Request, engine: EngineDep, config: ConfigDep, caller: Planner,
                      zone: int | None = None, category: str | None = None,
                      coords: Literal["wgs84", "gcj02"] = "wgs84") -> HTMLResponse:
    """The planners' coverage map as an HTML page (see ``patrol map coverage``). Gathered data is
    kept for ten minutes per zone and category: stations change rarely."""
    coverage_maps: CoverageMaps = request.app.state.coverage_maps
    page, _ = coverage_maps.draw(zone_id=zone, category=parse_category(category), coords=coords)
    return HTMLResponse(page.get_root().render())


# Health -----------------------------------------------------------------------------------------

health = APIRouter(tags=["health"])


@health.get("/health")
def read_health(engine: EngineDep, config: ConfigDep) -> dict:
    """Liveness without a key: the graph in memory and whether the database answers."""
    ping(engine)
    return {"status": "ok", "graph": config.graph.meta.get("source"),
            "nodes": config.graph.n_nodes}


# Errors -----------------------------------------------------------------------------------------

def _database_down(exc: Exception) -> bool:
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.TimeoutError, ClusterError,
                        psycopg.OperationalError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def _add_error_handlers(app: FastAPI) -> None:
    def reply(status: int, message: str) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": message})

    status_of = ((RoutingError, 422), (Invalid, 422), (NotFound, 404), (Conflict, 409),
                 (Unauthorized, 401), (Forbidden, 403), (StoredButNotDispatched, 503))
    for error, status in status_of:
        app.add_exception_handler(error, lambda request, exc, s=status: reply(s, str(exc)))

    async def database_errors(request: Request, exc: Exception) -> JSONResponse:
        if _database_down(exc):
            return reply(503, "the database is unavailable; the request was not carried out. "
                              "Try again shortly")
        raise exc

    app.add_exception_handler(sa.exc.DBAPIError, database_errors)
    app.add_exception_handler(sa.exc.TimeoutError, database_errors)
    app.add_exception_handler(ClusterError, database_errors)
    app.add_exception_handler(psycopg.OperationalError, database_errors)  # the loop's pool


def _add_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Refuse a body over ``max_bytes`` with 413: by its declared length, and by what arrives
    when it declares none. A plain ASGI middleware (no per-request task or stream copies)."""
    app.add_middleware(BodyLimit, max_bytes=max_bytes)


class BodyLimit:
    """ASGI middleware: 413 for request bodies over ``max_bytes``."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(f"{int(length):,} bytes", send)
        received = 0

        async def counted():  # a body without a declared length is counted as it arrives
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, f"request body is over the limit of "
                                         f"{self.max_bytes:,} bytes")
            return message

        return await self.app(scope, counted, send)

    async def _refuse(self, size: str, send) -> None:
        reply = JSONResponse(status_code=413, content={
            "detail": f"request body of {size} is over the limit of {self.max_bytes:,} bytes"})
        await reply({"type": "http"}, None, send)
