"""Shared fixtures: real road networks imported once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest

from routing.compiled import RoadGraph, compile_graph
from routing.sources import ImportReport, read_drive_graph
from routing.speeds import SpeedModel

PROJECT = Path(__file__).resolve().parents[1]
OSM_DIR = PROJECT / "data" / "osm"
POI_DIR = PROJECT / "data" / "poi"
WUHAN_ROADS = OSM_DIR / "wuhan_roads_osm.parquet"
#: Central Wuhan (Jianghan and Jiang'an districts, Hankou), WGS-84 lon/lat bounds.
WUHAN_CENTRAL_BBOX = (114.24, 30.57, 114.31, 30.63)


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


@pytest.fixture(scope="session")
def wuhan_central_source(tmp_path_factory) -> Path:
    """The Wuhan edge table clipped to central Hankou, as a GeoParquet file."""
    edges = gpd.read_parquet(WUHAN_ROADS)
    west, south, east, north = WUHAN_CENTRAL_BBOX
    inside = edges.to_crs(4326).cx[west:east, south:north].index
    path = tmp_path_factory.mktemp("wuhan") / "wuhan_central.parquet"
    edges.loc[inside].to_parquet(path)
    return path


@pytest.fixture(scope="session")
def wuhan_central(wuhan_central_source) -> Network:
    return _import(wuhan_central_source)


@pytest.fixture(scope="session")
def wuhan_central_compiled(wuhan_central, tmp_path_factory) -> Path:
    """The central Wuhan graph written as a compiled file, for CLI tests."""
    from routing.compiled import save_graph
    return save_graph(wuhan_central.graph,
                      tmp_path_factory.mktemp("compiled") / "wuhan_central.graph.npz")
