"""Independent answers from networkx Dijkstra on the osmnx graph a test imported."""

from __future__ import annotations

import networkx as nx

from routing.compiled import RoadGraph

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
