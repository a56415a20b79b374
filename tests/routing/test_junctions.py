"""Points where roads meet: every road at the point is a way in and out.

Checked on the Shanghai Huangpu extract (many one-way streets) against networkx Dijkstra on the
graph as read from OSM, before simplification: a point on a junction is that OSM node, so the
reference trusts nothing of the compiled graph or of snapping.
"""

import networkx as nx
import numpy as np
import pytest
import shapely

from reference import unsimplified_graph
from conftest import OSM_DIR
from routing.search import Weights, rank_to, reach
from routing.snapping import SAME_DISTANCE_M, Snap, snap_many, snap_point

LIMIT_S = 300.0


@pytest.fixture(scope="module")
def raw(shanghai) -> nx.MultiDiGraph:
    return unsimplified_graph(OSM_DIR / "shanghai_huangpu.osm")


def junctions(network, count: int, seed: int) -> np.ndarray:
    """Random nodes where three or more roads meet and no other road passes within
    :data:`SAME_DISTANCE_M` (a bridge over a junction would be a way in there too)."""
    graph = network.graph
    roads = graph.road_edges
    degree = np.bincount(np.concatenate([graph.edge_tail[roads], graph.edge_head[roads]]),
                         minlength=graph.n_nodes)
    tree = shapely.STRtree(graph.edge_lines)
    chosen = []
    rng = np.random.default_rng(seed)
    for node in rng.permutation(np.flatnonzero(degree >= 3)):
        near = tree.query(shapely.Point(graph.node_xy[node]), predicate="dwithin",
                          distance=SAME_DISTANCE_M + 0.01)
        if np.all((graph.edge_tail[near] == node) | (graph.edge_head[near] == node)):
            chosen.append(int(node))
        if len(chosen) == count:
            break
    return np.array(chosen)


def snap_at(network, nodes):
    lon, lat = network.graph.node_lonlat[nodes].T
    return snap_many(network.graph, lon, lat)


def compiled_times(result) -> dict[int, float]:
    graph = result.graph
    return {int(graph.node_osmid[n]): float(result.seconds[n]) for n in result.settled}


def reference_times(network, raw, sources: dict, *, reverse: bool) -> dict[int, float]:
    """networkx from OSM nodes with start offsets (``sources``: OSM id → seconds), on the
    unsimplified graph; only the nodes the compiled graph keeps."""
    g = raw.reverse(copy=False) if reverse else raw
    times = nx.multi_source_dijkstra_path_length(g, set(sources), cutoff=LIMIT_S,
                                                 weight="travel_time") \
        if all(v == 0 for v in sources.values()) else _with_offsets(g, sources)
    kept = set(network.graph.node_osmid.tolist())
    return {n: t for n, t in times.items() if n in kept}


def _with_offsets(g, sources: dict) -> dict[int, float]:
    g = nx.MultiDiGraph(g)
    g.add_node("start")
    for node, seconds in sources.items():
        g.add_edge("start", node, travel_time=seconds)
    times = nx.single_source_dijkstra_path_length(g, "start", cutoff=LIMIT_S,
                                                  weight="travel_time")
    times.pop("start")
    return times


def assert_same(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    assert max(abs(got[n] - expected[n]) for n in expected) < 1e-6


@pytest.mark.parametrize("direction", ["depart", "arrive"])
def test_reach_from_a_junction_equals_networkx_from_its_node(shanghai, raw, direction):
    graph = shanghai.graph
    nodes = junctions(shanghai, 12, seed=1)
    snapped = snap_at(shanghai, nodes)
    for i, node in enumerate(nodes):
        result = reach(graph, snapped.snap(i), direction=direction, limit_s=LIMIT_S)
        expected = reference_times(shanghai, raw, {int(graph.node_osmid[node]): 0.0},
                                   reverse=direction == "arrive")
        assert_same(compiled_times(result), expected)


@pytest.mark.parametrize("direction", ["depart", "arrive"])
def test_one_search_from_many_junctions_equals_networkx(shanghai, raw, direction):
    graph = shanghai.graph
    nodes = junctions(shanghai, 15, seed=2)
    result = reach(graph, snap_at(shanghai, nodes), direction=direction, limit_s=LIMIT_S)
    expected = reference_times(shanghai, raw, {int(o): 0.0 for o in graph.node_osmid[nodes]},
                               reverse=direction == "arrive")
    assert_same(compiled_times(result), expected)


@pytest.mark.parametrize("direction", ["depart", "arrive"])
def test_reach_from_the_middle_of_a_road_equals_networkx(shanghai, raw, direction):
    """A point placed on a road away from its ends has that road only, entered at its place."""
    graph = shanghai.graph
    w = Weights.free_flow(graph).forward
    rng = np.random.default_rng(3)
    for e in rng.choice(np.flatnonzero(graph.edge_metres > 30), 12, replace=False):
        f = float(rng.uniform(0.2, 0.8))
        where = shapely.line_interpolate_point(graph.edge_lines[e], f, normalized=True)
        lon, lat = graph.to_lonlat.transform(where.x, where.y)
        snap = snap_point(graph, lon, lat)
        placed = Snap(int(e), f, 0.0)  # where the point was put, as the reference's entry
        ways = placed.departures(graph, w) if direction == "depart" else placed.arrivals(graph, w)
        sources = {}
        for node, seconds, _ in ways:
            osmid = int(graph.node_osmid[node])
            sources[osmid] = min(seconds, sources.get(osmid, np.inf))
        result = reach(graph, snap, direction=direction, limit_s=LIMIT_S)
        expected = reference_times(shanghai, raw, sources, reverse=direction == "arrive")
        got = compiled_times(result)
        assert got.keys() == expected.keys()
        assert max(abs(got[n] - expected[n]) for n in expected) < 1e-6


def test_nearest_to_a_junction_ranks_like_networkx(shanghai, raw):
    """12 queries: the location and 40 candidates all on junction nodes; every candidate's
    time to the location equals networkx's from its node to the location's node."""
    graph = shanghai.graph
    to_node = raw.reverse(copy=False)
    wrong = []
    for query in range(12):
        nodes = junctions(shanghai, 41, seed=100 + query)
        snapped = snap_at(shanghai, nodes)
        target, candidates = snapped.snap(0), snapped.take(np.arange(1, 41))
        ranked = rank_to(graph, target, candidates, k=40)
        times = nx.single_source_dijkstra_path_length(to_node, int(graph.node_osmid[nodes[0]]),
                                                      weight="travel_time")
        expected = np.array([times[int(o)] for o in graph.node_osmid[nodes[1:]]])
        got = np.full(40, np.inf)
        for r in ranked:
            got[r.index] = r.seconds
        order_ok = np.all(np.diff(expected[[r.index for r in ranked]]) >= -1e-6)
        if len(ranked) != 40 or not np.allclose(got, expected, atol=1e-6) or not order_ok:
            worst = int(np.argmax(np.abs(got - expected)))
            wrong.append(f"query {query}: candidate {worst} at {got[worst]:.1f} s, "
                         f"networkx {expected[worst]:.1f} s")
    assert not wrong, f"{len(wrong)} of 12 queries rank wrongly: {wrong}"
