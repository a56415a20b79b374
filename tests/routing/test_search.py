"""Drive-time searches equal networkx Dijkstra on the same graph."""

from datetime import time

import numpy as np
import pytest

from reference import times_from_entries
from routing.search import Weights, rank_to, reach
from routing.snapping import direct_seconds, snap_points
from routing.speeds import SpeedModel


def random_snaps(network, count, seed):
    """Snaps of random points inside the network's extent (those within the snapping limit)."""
    rng = np.random.default_rng(seed)
    lonlat = network.graph.node_lonlat
    lo, hi = lonlat.min(axis=0), lonlat.max(axis=0)
    lon, lat = rng.uniform(lo[0], hi[0], count * 3), rng.uniform(lo[1], hi[1], count * 3)
    snaps, _ = snap_points(network.graph, lon, lat, limit_m=300)
    return [s for s in snaps if s is not None][:count]


def compiled_times(result):
    graph = result.graph
    return {int(graph.node_osmid[n]): result.seconds[n] for n in result.settled}


@pytest.mark.parametrize("network_name", ["helsinki", "wuhan_central"])
@pytest.mark.parametrize("direction", ["depart", "arrive"])
def test_reachable_set_and_times_equal_networkx(request, network_name, direction):
    network = request.getfixturevalue(network_name)
    weights = Weights.free_flow(network.graph)
    for snap in random_snaps(network, 15, seed=7):
        result = reach(network.graph, snap, direction=direction, limit_s=300)
        entries = (snap.departures(network.graph, weights.forward) if direction == "depart"
                   else snap.arrivals(network.graph, weights.forward))
        expected = times_from_entries(network, entries, reverse=direction == "arrive", cutoff=300)
        got = compiled_times(result)
        assert got.keys() == expected.keys()
        assert max(abs(got[n] - expected[n]) for n in expected) < 1e-6


def test_unlimited_search_reaches_the_whole_strongly_connected_graph(wuhan_central):
    snap = random_snaps(wuhan_central, 1, seed=3)[0]
    result = reach(wuhan_central.graph, snap, direction="depart", limit_s=np.inf)
    assert len(result.settled) == wuhan_central.graph.n_nodes


def test_metres_follow_the_fastest_path(wuhan_central):
    """The metres of a node equal the length of the path networkx finds, where it is unique."""
    import networkx as nx
    graph, g = wuhan_central.graph, wuhan_central.nx_graph
    snap = random_snaps(wuhan_central, 1, seed=11)[0]
    result = reach(graph, snap, direction="depart", limit_s=300)
    head = int(graph.edge_head[snap.edge])
    start = graph.node_osmid[head]
    for node in result.settled[-20:]:
        path = nx.dijkstra_path(g, start, graph.node_osmid[node], weight="travel_time")
        length = sum(min(d["length"] for d in g.get_edge_data(a, b).values())
                     for a, b in zip(path, path[1:]))
        through_head = result.seconds[head] + nx.dijkstra_path_length(
            g, start, graph.node_osmid[node], weight="travel_time")
        if abs(through_head - result.seconds[node]) < 1e-9:  # the fastest path passes the head
            assert result.metres[node] == pytest.approx(result.metres[head] + length)


def test_one_way_streets_make_arrive_and_depart_differ(helsinki):
    differ = 0
    for snap in random_snaps(helsinki, 10, seed=5):
        out = reach(helsinki.graph, snap, direction="depart", limit_s=120)
        back = reach(helsinki.graph, snap, direction="arrive", limit_s=120)
        both = np.intersect1d(out.settled, back.settled)
        if set(out.settled) != set(back.settled) or not np.allclose(out.seconds[both],
                                                                     back.seconds[both]):
            differ += 1
    assert differ >= 5


@pytest.mark.parametrize("network_name", ["helsinki", "wuhan_central"])
def test_rank_to_equals_brute_force_networkx(request, network_name):
    network = request.getfixturevalue(network_name)
    graph = network.graph
    weights = Weights.free_flow(graph)
    candidates = random_snaps(network, 60, seed=1)
    for target in random_snaps(network, 8, seed=2):
        ranked = rank_to(graph, target, candidates, k=5)
        to_target = times_from_entries(network, target.arrivals(graph, weights.forward),
                                       reverse=True)
        brute = []
        for cand in candidates:
            best = direct_seconds(graph, cand, target, weights.forward)[0]
            for node, seconds, _ in cand.departures(graph, weights.forward):
                best = min(best, seconds + to_target.get(int(graph.node_osmid[node]), np.inf))
            brute.append(best)
        expected = np.sort(brute)[:5]
        assert np.allclose([r.seconds for r in ranked], expected, atol=1e-6)
        for r in ranked:
            assert abs(brute[r.index] - r.seconds) < 1e-6


def test_rank_to_leaves_out_candidates_beyond_the_limit(wuhan_central):
    candidates = random_snaps(wuhan_central, 40, seed=4)
    target = random_snaps(wuhan_central, 1, seed=9)[0]
    everything = rank_to(wuhan_central.graph, target, candidates, k=40)
    limited = rank_to(wuhan_central.graph, target, candidates, k=40, limit_s=120)
    assert len(everything) == 40
    assert [r.index for r in limited] == [r.index for r in everything if r.seconds <= 120]


def test_congestion_slows_the_classes_it_names(wuhan_central, tmp_path):
    config = tmp_path / "rush.toml"
    config.write_text('[[congestion]]\nstart = "07:00"\nend = "09:00"\nfactor = 2.0\n'
                      'classes = ["primary", "secondary"]\n')
    speeds = SpeedModel.from_toml(config)
    graph = wuhan_central.graph
    rush = Weights.at(graph, speeds, time(8, 0))
    named = np.isin(np.array(graph.classes)[graph.edge_class], ["primary", "secondary"])
    assert named.any() and (~named).any()
    assert np.allclose(rush.forward[named], 2 * graph.edge_seconds[named])
    assert np.array_equal(rush.forward[~named], graph.edge_seconds[~named])
    assert np.array_equal(rush.reverse, rush.forward[graph.rev_edge])
    assert np.array_equal(Weights.at(graph, speeds, time(12, 0)).forward, graph.edge_seconds)
    snap = random_snaps(wuhan_central, 1, seed=8)[0]
    free = reach(graph, snap, direction="depart", limit_s=300)
    slow = reach(graph, snap, direction="depart", limit_s=300, weights=rush)
    assert len(slow.settled) < len(free.settled)
    assert np.all(slow.seconds[slow.settled] >= free.seconds[slow.settled] - 1e-9)


def test_route_runs_from_the_unit_to_the_incident_and_takes_its_time(wuhan_central):
    """The drawn route starts at the candidate, ends at the target, and driving its length at
    the speeds of its edges takes the ranked time (checked on its length: metres match)."""
    from routing.search import rank
    graph = wuhan_central.graph
    candidates = random_snaps(wuhan_central, 30, seed=21)
    for target in random_snaps(wuhan_central, 5, seed=22):
        ranking = rank(graph, target, candidates, k=3)
        for item in ranking.top:
            lonlat = ranking.route(item.index)
            x, y = graph.to_metric.transform(lonlat[:, 0], lonlat[:, 1])
            length = float(np.sum(np.hypot(np.diff(x), np.diff(y))))
            assert length == pytest.approx(item.metres, rel=0.01, abs=1.0)
            start = candidates[item.index].lonlat(graph)
            end = target.lonlat(graph)
            assert np.allclose(lonlat[0], start, atol=1e-6)
            assert np.allclose(lonlat[-1], end, atol=1e-6)


def test_networkx_baseline_ranks_like_the_kernel(wuhan_central):
    from routing.baseline import NetworkxRanker
    graph = wuhan_central.graph
    baseline = NetworkxRanker(graph)
    candidates = random_snaps(wuhan_central, 40, seed=31)
    for target in random_snaps(wuhan_central, 4, seed=32):
        ours = rank_to(graph, target, candidates, k=5)
        theirs = baseline.rank_to(target, candidates, k=5)
        assert np.allclose([r.seconds for r in ours], [r.seconds for r in theirs], atol=1e-6)
