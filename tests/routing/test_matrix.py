"""Drive-time matrices equal networkx shortest paths between the same points on the road."""

import networkx as nx
import numpy as np
import pytest
import shapely

from reference import distinct_road_snaps, split_at
from routing.matrix import drive_times
from routing.snapping import Snap


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
