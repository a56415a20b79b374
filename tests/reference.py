"""Independent answers from networkx Dijkstra on the osmnx graph a test imported."""

from __future__ import annotations

import networkx as nx
import numpy as np

from routing.compiled import RoadGraph
from routing.snapping import snap_points

SOURCE = "source"


def times_from_entries(network, entries: list[tuple[int, float, float]], *, reverse: bool,
                       cutoff: float | None = None) -> dict[int, float]:
    """networkx Dijkstra from a virtual node joined to compiled ``entries`` (node, seconds, m).

    Keys and answers are OSM node ids, so nothing of the compiled graph but the entry offsets
    is trusted. With ``reverse`` the search follows edges backwards.
    """
    graph: RoadGraph = network.graph
    g = network.nx_graph.reverse(copy=True) if reverse else network.nx_graph.copy()
    g.add_node(SOURCE)
    for node, seconds, _ in entries:
        g.add_edge(SOURCE, int(graph.node_osmid[node]), travel_time=seconds)
    times = nx.single_source_dijkstra_path_length(g, SOURCE, cutoff=cutoff, weight="travel_time")
    times.pop(SOURCE)
    return times


def distinct_road_snaps(network, count, seed, *, bbox=None):
    """Snaps of random points (in the network's extent or ``bbox``: west, south, east, north),
    at most one per road (so each splits a different road)."""
    rng = np.random.default_rng(seed)
    graph = network.graph
    lo, hi = graph.node_lonlat.min(axis=0), graph.node_lonlat.max(axis=0)
    if bbox is not None:
        lo, hi = np.array(bbox[:2]), np.array(bbox[2:])
    lon, lat = rng.uniform(lo[0], hi[0], count * 5), rng.uniform(lo[1], hi[1], count * 5)
    snaps, _ = snap_points(graph, lon, lat, limit_m=300)
    used, chosen = set(), []
    for snap in snaps:
        if snap is None or not 0.01 < snap.fraction < 0.99:
            continue
        road = {snap.edge, int(graph.edge_twin[snap.edge])}
        if used & road:
            continue
        used |= road
        chosen.append(snap)
    return chosen[:count]


def split_at(network, snaps):
    """The osmnx graph with a node ("p", i) inserted where each snap lies on its road."""
    graph, g = network.graph, network.nx_graph.copy()

    def split(edge, fraction, node):
        u, v = int(graph.node_osmid[graph.edge_tail[edge]]), int(graph.node_osmid[graph.edge_head[edge]])
        key = min(g[u][v], key=lambda k: abs(g[u][v][k]["travel_time"] - graph.edge_seconds[edge]))
        t = g[u][v][key]["travel_time"]
        g.remove_edge(u, v, key)
        g.add_edge(u, node, travel_time=fraction * t)
        g.add_edge(node, v, travel_time=(1 - fraction) * t)

    for i, snap in enumerate(snaps):
        split(snap.edge, snap.fraction, ("p", i))
        twin = int(graph.edge_twin[snap.edge])
        if twin >= 0:
            split(twin, 1 - snap.fraction, ("p", i))
    return g


def unsimplified_graph(path) -> nx.MultiDiGraph:
    """The drive graph of an OSM file as read, before simplification: every OSM node of the
    largest strongly connected component, each way segment an edge with its travel time."""
    import osmnx as ox

    from routing.sources import ImportReport, _add_travel_times, _graph_from_osm
    from routing.speeds import SpeedModel

    graph = _graph_from_osm(path, ImportReport(str(path)))
    _add_travel_times(graph, SpeedModel())
    return ox.truncate.largest_component(graph, strongly=True)


def times_between_snapped(graph: RoadGraph, sources, places, *, weights,
                          cutoff: float) -> "np.ndarray":
    """Seconds from the nearest of ``sources`` to each of ``places`` (both
    :class:`routing.snapping.Snapped`), by networkx on the compiled edges with every road that
    holds a point cut at it: each entry of a point becomes a node of its road, so points on one
    road reach each other along it and a point on several roads uses any of them. Nothing of
    the engine's searches or of its way-combining rules is used; ``inf`` beyond ``cutoff``."""
    import numpy as np

    w = weights
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(graph.n_nodes))
    cuts: dict[int, list[tuple[float, object]]] = {}
    for kind, snapped in (("s", sources), ("p", places)):
        for i in range(len(snapped)):
            snap = snapped.snap(i)
            for j, (edge, frac) in enumerate(() if snap is None else snap.entries):
                twin = int(graph.edge_twin[edge])
                road, at = (twin, 1.0 - frac) if 0 <= twin < edge else (edge, frac)
                cut = (kind, i, j)
                cuts.setdefault(road, []).append((at, cut))
                if kind == "s":
                    g.add_edge((kind, i), cut, travel_time=0.0)
                else:
                    g.add_edge(cut, (kind, i), travel_time=0.0)
    for e in range(graph.n_edges):
        twin = int(graph.edge_twin[e])
        road = twin if 0 <= twin < e else e
        if road not in cuts:
            g.add_edge(int(graph.edge_tail[e]), int(graph.edge_head[e]), travel_time=w[e])
            continue
        chain = sorted(cuts[road], key=lambda c: c[0])
        at = [0.0] + [c[0] for c in chain] + [1.0]
        nodes = [int(graph.edge_tail[road])] + [c[1] for c in chain] + [int(graph.edge_head[road])]
        if e != road:  # the twin runs the chain backwards
            at, nodes = [1.0 - a for a in reversed(at)], nodes[::-1]
        for a, b, x, y in zip(nodes, nodes[1:], at, at[1:]):
            g.add_edge(a, b, travel_time=(y - x) * w[e])
    starts = {("s", i) for i in range(len(sources)) if sources.edge[i] >= 0}
    times = nx.multi_source_dijkstra_path_length(g, starts, cutoff=cutoff,
                                                 weight="travel_time") if starts else {}
    return np.array([times.get(("p", i), np.inf) for i in range(len(places))])
