"""Shared fixtures: real road networks imported once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import os
from contextlib import contextmanager
import uuid

import geopandas as gpd
import networkx as nx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from routing.compiled import RoadGraph, compile_graph
from routing.sources import ImportReport, read_drive_graph
from routing.speeds import SpeedModel
from zones.cluster import SERVICE_LOGIN_SQL, temporary_cluster
from zones.database import _with_psycopg

PROJECT = Path(__file__).resolve().parents[1]
# Move-up's background loop stays off in tests unless a test's settings turn it on.
os.environ.setdefault("PATROL_MOVEUP_INTERVAL_S", "0")
OSM_DIR = PROJECT / "data" / "osm"
POI_DIR = PROJECT / "data" / "poi"
WUHAN_ROADS = OSM_DIR / "wuhan_roads_osm.parquet"
#: Central Wuhan (Jianghan and Jiang'an districts, Hankou), WGS-84 lon/lat bounds.
WUHAN_CENTRAL_BBOX = (114.24, 30.57, 114.31, 30.63)
#: Both banks of the Yangtze at the Wuhan Yangtze River Bridge (Hanyang west, Wuchang east).
WUHAN_RIVER_BBOX = (114.26, 30.52, 114.32, 30.565)


@dataclass(frozen=True)
class Network:
    """One imported network: the compiled graph, the osmnx graph it came from, the report."""

    graph: RoadGraph
    nx_graph: nx.MultiDiGraph
    report: ImportReport


def _import(path: Path) -> Network:
    nx_graph, report = read_drive_graph(path, SpeedModel())
    return Network(compile_graph(nx_graph, {"source": path.name}), nx_graph, report)


@pytest.fixture(scope="session")
def helsinki() -> Network:
    """Central Helsinki from a raw OSM PBF extract: one-way streets and maxspeed tags."""
    return _import(OSM_DIR / "helsinki.osm.pbf")


def _clip_wuhan(tmp_path_factory, bbox, name: str) -> Path:
    edges = gpd.read_parquet(WUHAN_ROADS)
    west, south, east, north = bbox
    inside = edges.to_crs(4326).cx[west:east, south:north].index
    path = tmp_path_factory.mktemp("wuhan") / f"{name}.parquet"
    edges.loc[inside].to_parquet(path)
    return path


@pytest.fixture(scope="session")
def shanghai() -> Network:
    """Huangpu, Shanghai, from an OSM XML extract: many one-way streets and elevated roads."""
    return _import(OSM_DIR / "shanghai_huangpu.osm")


@pytest.fixture(scope="session")
def wuhan_central_source(tmp_path_factory) -> Path:
    """The Wuhan edge table clipped to central Hankou, as a GeoParquet file."""
    return _clip_wuhan(tmp_path_factory, WUHAN_CENTRAL_BBOX, "wuhan_central")


@pytest.fixture(scope="session")
def wuhan_river(tmp_path_factory) -> Network:
    """Both banks of the Yangtze joined by one bridge, imported from the Wuhan edge table."""
    return _import(_clip_wuhan(tmp_path_factory, WUHAN_RIVER_BBOX, "wuhan_river"))


@pytest.fixture(scope="session")
def wuhan_central(wuhan_central_source) -> Network:
    return _import(wuhan_central_source)


@pytest.fixture(scope="session")
def wuhan_central_compiled(wuhan_central, tmp_path_factory) -> Path:
    """The central Wuhan graph written as a compiled file, for CLI tests."""
    from routing.compiled import save_graph
    return save_graph(wuhan_central.graph,
                      tmp_path_factory.mktemp("compiled") / "wuhan_central.graph.npz")



@pytest.fixture(scope="session")
def server_url():
    """URL of a database on the test server, used to create fresh databases."""
    if os.environ.get("DATABASE_URL"):
        url = _with_psycopg(os.environ["DATABASE_URL"])
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # the role the API connects as (trusted, no password)
            conn.execute(sa.text(SERVICE_LOGIN_SQL))
        admin.dispose()
        yield url
        return
    with temporary_cluster("patrol-test-pg-") as cluster:
        yield cluster.up()


@pytest.fixture
def fresh_database(server_url):
    """Make empty databases (with PostGIS) on the test server; dropped after the test."""
    admin = sa.create_engine(make_url(server_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    made = []

    def make() -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def named_database(server_url: str, name: str):
    """A fresh database ``name`` on the test server (replacing any left over); yields its URL and
    drops it afterwards."""
    admin = sa.create_engine(make_url(server_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
