"""The app factory: the road graph, the database pools and the caches are loaded once in the
lifespan, and the reconciler (``patrol.reconciler``) and move-up (``patrol.moveup_loop``) run
for as long as the app; the routers,
the error answers and the body limit are wired here."""

from __future__ import annotations

import asyncio
import gc
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.callers import LOOKUP_CONNECTIONS, KeyRing
from api.errors import FieldError, Problem, add_error_handlers
from api.middleware import BodyLimit
from api.routers import (audit, circles, compliance, console, health, incidents, maps, moves,
                         plans, tracks, units)
from patrol import service
from patrol.console_feed import ConsoleHub
from patrol.circles import CircleOptions
from patrol.coverage import CoverageMaps
from patrol.dispatch import DispatchPolicy
from patrol.inputs import speed_model, tile_layer
from patrol.live_rings import LiveRings
from patrol.moveup_live import MoveUp
from patrol.moveup_loop import build_tables, moveup_forever
from patrol.reconciler import reconcile_forever
from routing import RoadGraph, open_graph, reach, snap_point
from routing.baseline import NetworkxRanker
from routing.search import rank
from settings import Settings
from zones.database import loop_pool, service_engine

#: Connections for storing GPS fixes (a batch of a whole fleet is one statement).
POSITION_CONNECTIONS = 4
#: Seconds the coverage map's gathered data is kept per zone and category.
MAP_CACHE_SECONDS = 600.0
#: How long a request on the thread pool may hold the interpreter while the event loop waits
#: (Python's default is 5 ms): every step of an alarm on the loop could wait that long behind a
#: long request on a thread (a batch of positions, a map), and an alarm takes dozens of steps.
SWITCH_INTERVAL_S = 0.0005

DESCRIPTION = """Patrol and rapid-response dispatch over a city's road network.

Every request but `/health` carries an API key (header `X-API-Key`) whose role decides what it
may do: dispatcher (incidents, units), planner (reading, circles, maps), admin (everything).
Every error answer is an RFC 9457 problem (`application/problem+json`)."""


def create_app(settings: Settings | None = None, *, graph: RoadGraph | None = None) -> FastAPI:
    """Build the app from ``settings`` (default: the environment); ``graph`` lets a test pass a
    graph it already holds."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        road_graph = graph or open_graph(settings.graph, speed_model(settings.speed_config),
                                         settings.cache_dir)
        _warm_up(road_graph)
        engine = service_engine(settings)
        app.state.loop_pool = loop_pool(settings)
        await app.state.loop_pool.open()
        # GPS fixes on a pool of their own: a fleet's reports never take an alarm's connection.
        app.state.position_pool = loop_pool(settings, name="patrol positions",
                                            size=POSITION_CONNECTIONS)
        await app.state.position_pool.open()
        app.state.settings = settings
        app.state.engine = engine
        app.state.key_pool = loop_pool(settings, name="patrol keys",
                                        size=LOOKUP_CONNECTIONS)
        await app.state.key_pool.open()
        app.state.key_ring = KeyRing(app.state.key_pool)
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
        app.state.moveup = MoveUp(engine, road_graph, snap_limit_m=settings.snap_limit_m,
                                  stale_after_s=settings.stale_position_s,
                                  busy=settings.moveup_busy)
        app.state.live_rings = LiveRings(road_graph, options=app.state.circle_options)
        app.state.console_tiles = tile_layer(settings.map_tiles)
        app.state.console_hub = ConsoleHub(  # its pool opens with the first console
            loop_pool(settings, name="patrol console", size=1),
            stale_after_s=settings.stale_position_s,
            deadlines_s=app.state.config.deadlines_s)
        if settings.moveup_interval_s > 0:
            await build_tables(app.state.moveup)
        _freeze_start_up_objects()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        reconciler = asyncio.create_task(reconcile_forever(
            app.state.loop_pool, app.state.config, after_s=settings.reconcile_after_s,
            interval_s=min(1.0, settings.reconcile_after_s / 3)))
        tasks = [reconciler]
        if settings.moveup_interval_s > 0:
            tasks.append(asyncio.create_task(moveup_forever(
                app.state.loop_pool, engine, app.state.config, app.state.moveup,
                interval_s=settings.moveup_interval_s,
                rebalance_every_s=settings.rebalance_every_s)))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.state.console_hub.close()
        await app.state.loop_pool.close()
        await app.state.position_pool.close()
        await app.state.key_pool.close()
        engine.dispose()

    app = FastAPI(title="Patrol and rapid-response dispatch", version="0.1.0", lifespan=lifespan,
                  description=DESCRIPTION)
    add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.state.methods = []  # (path pattern, methods): the Allow header of a 405
    for module in (incidents, units, moves, tracks, circles, maps, plans, compliance, audit,
                   console, health):
        app.include_router(module.router)
        app.state.methods += [(r.path_regex, r.methods) for r in module.router.routes]
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict:
    """The document, with the problem-details schema every error answer refers to."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (FieldError, Problem):
            schemas[model.__name__] = model.model_json_schema(
                ref_template="#/components/schemas/{model}")
        app.openapi_schema = document
    return app.openapi_schema


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
