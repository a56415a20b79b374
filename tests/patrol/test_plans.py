"""Patrol loops on real roads: every reachable target visited, every loop within its limit
(recomputed with the engine and with networkx), splitting, unit limits, the river, bad input."""

import itertools

import networkx as nx
import numpy as np
import pytest
import shapely

from patrol.errors import Invalid
from patrol.plans import plan_loops
from reference import distinct_road_snaps, split_at
from routing.matrix import drive_times
from routing.snapping import snap_many
from zones.targets import Target

#: Around Jianghan Road, central Hankou (WGS-84).
STATION = (114.2745, 30.5905)
NEAR = (114.262, 30.580, 114.287, 30.600)


def point_targets(graph, snaps, *, dwell_s=60, weights=None):
    targets = []
    for i, snap in enumerate(snaps):
        lon, lat = snap.lonlat(graph)
        weight = 1.0 if weights is None else weights[i]
        targets.append(Target(i + 1, 1, "point", f"target {i + 1}", dwell_s, weight, True,
                              shapely.Point(lon, lat)))
    return targets


def visited(plan):
    return [stop.target_id for loop in plan.loops for stop in loop.stops]


@pytest.fixture(scope="module")
def central_plan(wuhan_central):
    snaps = distinct_road_snaps(wuhan_central, 20, seed=4, bbox=NEAR)
    targets = point_targets(wuhan_central.graph, snaps)
    plan = plan_loops(wuhan_central.graph, STATION, targets, zone_id=1, loop_seconds=900)
    return snaps, targets, plan


def test_every_target_is_visited_once_and_a_full_zone_is_split(central_plan):
    _, targets, plan = central_plan
    assert sorted(visited(plan)) == [t.id for t in targets]
    assert plan.unreachable == [] and plan.left_out == []
    assert sum(t.dwell_s for t in targets) > 900  # one loop cannot hold the dwells alone
    assert len(plan.loops) >= 2
    assert all(loop.duration_s <= 900 for loop in plan.loops)


def loop_legs(plan, loop, graph):
    """The stops of ``loop`` re-snapped from their output coordinates, station first."""
    lon = [STATION[0]] + [s.lon for s in loop.stops]
    lat = [STATION[1]] + [s.lat for s in loop.stops]
    return snap_many(graph, lon, lat)


def test_loop_durations_recomputed_with_the_engine(central_plan, wuhan_central):
    graph = wuhan_central.graph
    _, targets, plan = central_plan
    dwell = {t.id: t.dwell_s for t in targets}
    for loop in plan.loops:
        points = loop_legs(plan, loop, graph)
        seconds = drive_times(graph, points).seconds
        order = list(range(len(points))) + [0]
        clock = 0.0
        for stop, (a, b) in zip(loop.stops + [None], zip(order, order[1:])):
            clock += seconds[a, b]
            if stop is not None:
                assert stop.arrive_s == pytest.approx(clock, abs=0.05)
                clock += dwell[stop.target_id]
        assert clock == pytest.approx(loop.duration_s, abs=0.05)
        assert clock <= 900


def test_loop_durations_recomputed_with_networkx(central_plan, wuhan_central):
    graph = wuhan_central.graph
    snaps, targets, plan = central_plan
    station = snap_many(graph, [STATION[0]], [STATION[1]]).snap(0)
    g = split_at(wuhan_central, [station, *snaps])  # node ("p", 0) is the station
    for loop in plan.loops:
        nodes = [("p", 0)] + [("p", s.target_id) for s in loop.stops] + [("p", 0)]
        drive = sum(nx.dijkstra_path_length(g, a, b, weight="travel_time")
                    for a, b in zip(nodes, nodes[1:]))
        assert drive + 60 * len(loop.stops) == pytest.approx(loop.duration_s, abs=0.05)


def test_loop_path_is_a_closed_road_line(central_plan):
    _, _, plan = central_plan
    for loop in plan.loops:
        assert np.allclose(loop.path[0], loop.path[-1], atol=1e-4)  # back at the station
        assert len(loop.path) > 2 * len(loop.stops)


def best_weight_in_one_loop(seconds, weights, dwell_s, limit_s):
    """The most weight one loop from point 0 can visit, by enumerating subsets and orders."""
    best = 0.0
    clients = range(1, len(seconds))
    for size in range(1, len(seconds)):
        feasible = False
        for subset in itertools.combinations(clients, size):
            worth = sum(weights[c - 1] for c in subset)
            if worth <= best:
                continue
            for order in itertools.permutations(subset):
                legs = zip((0,) + order, order + (0,))
                if sum(seconds[a, b] for a, b in legs) + dwell_s * size <= limit_s:
                    best, feasible = worth, True
                    break
            feasible = feasible or worth <= best
        if not feasible:
            break
    return best


def test_one_unit_keeps_the_most_weight_and_reports_the_rest(wuhan_central):
    graph = wuhan_central.graph
    snaps = distinct_road_snaps(wuhan_central, 12, seed=8, bbox=NEAR)
    weights = [5.0 if i % 4 == 0 else 1.0 for i in range(len(snaps))]
    targets = point_targets(graph, snaps, weights=weights)
    plan = plan_loops(graph, STATION, targets, zone_id=1, loop_seconds=600, units=1)
    assert len(plan.loops) == 1 and plan.loops[0].duration_s <= 600
    kept = set(visited(plan))
    station = snap_many(graph, [STATION[0]], [STATION[1]]).snap(0)
    seconds = drive_times(graph, [station, *snaps]).seconds
    assert sum(t.weight for t in targets if t.id in kept) == best_weight_in_one_loop(
        seconds, weights, 60, 600 - 0.1 * len(snaps))
    left = {t["target_id"] for t in plan.left_out}
    assert left and all(t["reason"] == "no_unit" for t in plan.left_out)
    assert [t["weight"] for t in plan.left_out] == sorted(
        [t["weight"] for t in plan.left_out], reverse=True)
    assert kept | left == {t.id for t in targets} and not kept & left


def test_a_target_across_the_river_beyond_reach_is_reported(wuhan_river):
    graph = wuhan_river.graph
    station = (114.265, 30.535)  # Hanyang bank
    across = shapely.Point(114.29, 30.537)  # Wuchang bank, over the Yangtze
    same_bank = shapely.Point(114.265, 30.562)  # farther in a straight line, same bank
    targets = [Target(1, 1, "point", "Wuchang bank", 60, 1.0, True, across),
               Target(2, 1, "point", "Hanyang bank", 60, 1.0, True, same_bank)]
    x, y = graph.to_metric.transform([station[0], across.x, same_bank.x],
                                     [station[1], across.y, same_bank.y])
    assert np.hypot(x[1] - x[0], y[1] - y[0]) < np.hypot(x[2] - x[0], y[2] - y[0])
    plan = plan_loops(graph, station, targets, zone_id=1, loop_seconds=720)
    assert visited(plan) == [2]
    (far,) = plan.unreachable
    assert far["target_id"] == 1 and far["reason"] == "beyond_reach"
    assert 720 < far["round_trip_s"] < 1200


def test_lines_and_areas_are_driven_through(wuhan_central):
    graph = wuhan_central.graph
    snap = snap_many(graph, [114.2745], [30.5935]).snap(0)
    street = shapely.LineString(graph.edge_lines[snap.edge].coords)
    street = shapely.transform(street, lambda xy: np.column_stack(
        graph.to_lonlat.transform(xy[:, 0], xy[:, 1])))
    area = shapely.Point(114.268, 30.586).buffer(0.002)
    targets = [Target(1, 1, "line", "street", 0, 1.0, True, street),
               Target(2, 1, "area", "square", 30, 1.0, True, area),
               Target(3, 1, "point", "gate", 60, 1.0, True, shapely.Point(114.28, 30.595))]
    plan = plan_loops(graph, STATION, targets, zone_id=1, loop_seconds=900)
    assert sorted(visited(plan)) == [1, 2, 3]
    (loop,) = plan.loops
    kinds = {s.target_id: s.kind for s in loop.stops}
    assert kinds == {1: "line", 2: "area", 3: "point"}
    one_way_time = graph.edge_seconds[snap.edge]
    assert loop.duration_s > 2 * 0.9 * one_way_time + 90  # there and back, plus the dwells


def test_targets_at_one_place_share_a_stop_time(wuhan_central):
    gate = shapely.Point(114.28, 30.595)
    targets = [Target(1, 1, "point", "gate", 60, 1.0, True, gate),
               Target(2, 1, "point", "same gate", 30, 1.0, True, gate)]
    plan = plan_loops(wuhan_central.graph, STATION, targets, zone_id=1, loop_seconds=900)
    (loop,) = plan.loops
    first, second = loop.stops
    assert second.arrive_s == pytest.approx(first.arrive_s + (60 if first.target_id == 1 else 30))


@pytest.mark.parametrize("loop_seconds", [0, -60, 0.001, 59, float("nan")])
def test_loop_time_must_be_positive(wuhan_central, loop_seconds):
    with pytest.raises(Invalid, match="loop time must be at least 60 s"):
        plan_loops(wuhan_central.graph, STATION, [], zone_id=1, loop_seconds=loop_seconds)


def test_station_off_the_network_is_refused(wuhan_central):
    with pytest.raises(Invalid, match="from any road"):
        plan_loops(wuhan_central.graph, (114.0, 30.0), [], zone_id=1, loop_seconds=900)
