"""Compile a node-and-arc road map (the format of map-matching data sets) into a road graph.

Some map-matching data sets (Kubicka et al. 2015) ship their road map as two tab-separated text
files without a header: ``nodes`` (``lon lat`` per line, WGS-84; node id = 0-based line number)
and ``arcs`` (``from to`` per line; arc id = line number), each arc a directed straight segment;
a two-way road is two arcs. Such a map is a corridor around one drive, not a city: it is not
strongly connected, so it is compiled as it is, without the import's largest-component rule.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
from pyproj import Geod

from routing.compiled import RoadGraph, compile_graph
from routing.errors import GraphImportError
from routing.speeds import SpeedModel

_GEOD = Geod(ellps="WGS84")


def arc_graph(nodes: str | Path, arcs: str | Path, *, speeds: SpeedModel | None = None,
              highway: str = "unclassified") -> RoadGraph:
    """The compiled graph of a ``nodes`` file and an ``arcs`` file (see the module); every arc
    is a ``highway`` road at that class's speed (metres, seconds)."""
    try:
        lonlat = np.loadtxt(nodes, ndmin=2, dtype=np.float64)
        pairs = np.loadtxt(arcs, ndmin=2, dtype=np.int64)
    except (OSError, ValueError) as exc:
        raise GraphImportError(f"{nodes}, {arcs}: not a node and arc map ({exc})") from None
    if lonlat.shape[1] != 2 or pairs.shape[1] != 2 or not len(pairs):
        raise GraphImportError(f"{nodes}, {arcs}: expected two columns and at least one arc")
    if pairs.min() < 0 or pairs.max() >= len(lonlat):
        raise GraphImportError(f"{arcs}: an arc names a node that {nodes} does not have")
    pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
    a, b = lonlat[pairs[:, 0]], lonlat[pairs[:, 1]]
    metres = _GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]
    seconds = metres / ((speeds or SpeedModel()).edge_speed_kph(highway, None) / 3.6)
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    used = np.unique(pairs)
    graph.add_nodes_from((int(n), {"x": lonlat[n, 0], "y": lonlat[n, 1]}) for n in used)
    graph.add_edges_from(
        (int(u), int(v), {"length": float(m), "travel_time": float(s), "highway": highway})
        for (u, v), m, s in zip(pairs, metres, seconds))
    return compile_graph(graph, {"source": Path(arcs).name})
