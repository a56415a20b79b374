"""Drive-time matrices equal networkx shortest paths between the same points on the road."""

import networkx as nx
import numpy as np
import pytest
import shapely

from routing.matrix import drive_times
from routing.snapping import Snap, snap_points


def distinct_road_snaps(network, count, seed):
    """Snaps of random points, at most one per road (so each splits a different road)."""
    rng = np.random.default_rng(seed)
    graph = network.graph
    lo, hi = graph.node_lonlat.min(axis=0), graph.node_lonlat.max(axis=0)
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


@pytest.mark.parametrize("network_name", ["helsinki", "wuhan_central"])
def test_matrix_equals_networkx(request, network_name):
    network = request.getfixturevalue(network_name)
    snaps = distinct_road_snaps(network, 12, seed=5)
    matrix = drive_times(network.graph, snaps)
    g = split_at(network, snaps)
    for i in range(len(snaps)):
        expected = nx.single_source_dijkstra_path_length(g, ("p", i), weight="travel_time")
        for j in range(len(snaps)):
            assert matrix.seconds[i, j] == pytest.approx(expected[("p", j)], abs=1e-6)


def test_limit_leaves_far_points_unreached(wuhan_central):
    snaps = distinct_road_snaps(wuhan_central, 8, seed=9)
    full = drive_times(wuhan_central.graph, snaps)
    limited = drive_times(wuhan_central.graph, snaps, limit_s=120)
    within = full.seconds <= 120
    assert np.allclose(limited.seconds[within], full.seconds[within])
    assert np.isinf(limited.seconds[~within]).all()


def test_points_on_one_road_are_joined_along_it(wuhan_central):
    graph = wuhan_central.graph
    edge = int(np.flatnonzero(graph.edge_twin >= 0)[0])
    a, b = Snap(edge, 0.2, 0.0), Snap(edge, 0.7, 0.0)
    matrix = drive_times(graph, [a, b])
    twin = int(graph.edge_twin[edge])
    assert matrix.seconds[0, 1] == pytest.approx(0.5 * graph.edge_seconds[edge])
    assert matrix.seconds[1, 0] == pytest.approx(0.5 * graph.edge_seconds[twin])


def test_path_is_a_road_line_of_the_leg_length(wuhan_central):
    """The drawn path starts and ends at the points and is as long as the fastest path."""
    graph = wuhan_central.graph
    snaps = distinct_road_snaps(wuhan_central, 4, seed=2)
    matrix = drive_times(graph, snaps)
    for i, j in [(0, 1), (1, 2), (3, 0)]:
        path = matrix.path(i, j)
        assert np.allclose(path[0], snaps[i].lonlat(graph), atol=1e-7)
        assert np.allclose(path[-1], snaps[j].lonlat(graph), atol=1e-7)
        x, y = graph.to_metric.transform(path[:, 0], path[:, 1])
        assert shapely.LineString(np.column_stack([x, y])).length > 0
