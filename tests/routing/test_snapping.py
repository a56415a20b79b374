"""Snapping points to road edges, with partial-edge travel times."""

import numpy as np
import pytest
import shapely

from routing.coords import from_wgs84
from routing.errors import OffNetworkError
from routing.search import Weights, reach
from routing.snapping import snap_many, snap_point


def midpoint_of_a_long_two_way_edge(graph):
    candidates = np.flatnonzero((graph.edge_twin >= 0) & (graph.edge_metres > 200))
    e = int(candidates[0])
    mid = shapely.line_interpolate_point(graph.edge_lines[e], 0.5, normalized=True)
    lon, lat = graph.to_lonlat.transform(mid.x, mid.y)
    return e, float(lon), float(lat)


def test_middle_of_an_edge_costs_half_the_edge_each_way(wuhan_central):
    graph = wuhan_central.graph
    e, lon, lat = midpoint_of_a_long_two_way_edge(graph)
    snap = snap_point(graph, lon, lat)
    assert snap.distance_m < 0.01
    road = {e, int(graph.edge_twin[e])}
    assert snap.edge in road
    result = reach(graph, snap, direction="depart", limit_s=600)
    head, tail = graph.edge_head[snap.edge], graph.edge_tail[snap.edge]
    twin = graph.edge_twin[snap.edge]
    assert result.seconds[head] == pytest.approx(0.5 * graph.edge_seconds[snap.edge], abs=1e-3)
    assert result.seconds[tail] == pytest.approx(0.5 * graph.edge_seconds[twin], abs=1e-3)
    back = reach(graph, snap, direction="arrive", limit_s=600)
    assert back.seconds[tail] == pytest.approx(0.5 * graph.edge_seconds[snap.edge], abs=1e-3)


def test_partial_edge_on_a_one_way_street_counts_one_way(helsinki):
    graph = helsinki.graph
    e = int(np.flatnonzero((graph.edge_twin < 0) & (graph.edge_metres > 80))[0])
    point = shapely.line_interpolate_point(graph.edge_lines[e], 0.25, normalized=True)
    lon, lat = graph.to_lonlat.transform(point.x, point.y)
    snap = snap_point(graph, float(lon), float(lat))
    assert snap.edge == e and snap.fraction == pytest.approx(0.25, abs=1e-6)
    w = Weights.free_flow(graph).forward
    assert [n for n, *_ in snap.departures(graph, w)] == [graph.edge_head[e]]
    assert snap.departures(graph, w)[0][1] == pytest.approx(0.75 * graph.edge_seconds[e])
    assert [n for n, *_ in snap.arrivals(graph, w)] == [graph.edge_tail[e]]


def test_point_two_km_off_the_network_is_an_error(wuhan_central):
    graph = wuhan_central.graph
    lon, lat = graph.node_lonlat[:, 0].max(), graph.node_lonlat[:, 1].max()
    x, y = graph.to_metric.transform(lon, lat)
    far_lon, far_lat = graph.to_lonlat.transform(x + 2000, y + 2000)
    with pytest.raises(OffNetworkError, match=r"the point is \d,\d{3} m from the nearest road"):
        snap_point(graph, far_lon, far_lat)


def test_gcj02_input_lands_where_its_wgs84_twin_does(wuhan_central):
    graph = wuhan_central.graph
    _, lon, lat = midpoint_of_a_long_two_way_edge(graph)
    gcj_lon, gcj_lat = from_wgs84(lon, lat, "gcj02")
    bd_lon, bd_lat = from_wgs84(lon, lat, "bd09")
    plain = snap_point(graph, lon, lat)
    for x, y, crs in ((gcj_lon, gcj_lat, "gcj02"), (bd_lon, bd_lat, "bd09")):
        snap = snap_point(graph, float(x), float(y), crs=crs)
        assert snap.edge == plain.edge
        assert snap.fraction == pytest.approx(plain.fraction, abs=1e-7)
        assert snap.distance_m < 0.01
    # GCJ-02 read as WGS-84 would land on another road, hundreds of metres away.
    misread = snap_point(graph, float(gcj_lon), float(gcj_lat))
    true_xy = graph.to_metric.transform(*plain.lonlat(graph))
    wrong_xy = graph.to_metric.transform(*misread.lonlat(graph))
    assert np.hypot(true_xy[0] - wrong_xy[0], true_xy[1] - wrong_xy[1]) > 200


def test_nearest_road_equals_geos_nearest_geometry(wuhan_central):
    """Points near roads, exactly on shared nodes (ties), and far off (GEOS's own path): the
    same distance as GEOS's nearest-geometry search, the same road unless two tie exactly, and
    the same position along it."""
    graph = wuhan_central.graph
    rng = np.random.default_rng(7)
    nodes = graph.node_xy[rng.integers(0, graph.n_nodes, 400)]
    low, high = graph.node_xy.min(axis=0), graph.node_xy.max(axis=0)
    xy = np.vstack([nodes, nodes + rng.normal(0, 40, nodes.shape),
                    rng.uniform(low - 3000, high + 3000, (400, 2))])
    ours = graph.road_index.nearest(xy[:, 0], xy[:, 1])
    lines = graph.edge_lines[graph.road_edges]
    points = shapely.points(xy)
    (which, road), distance = shapely.STRtree(lines).query_nearest(
        points, return_distance=True, all_matches=False)
    assert np.array_equal(which, np.arange(len(xy)))
    assert np.allclose(ours.distance, distance, rtol=0, atol=1e-6)
    assert (ours.distance > 800).any() and (ours.distance < 1e-6).sum() >= 400
    differ = ours.road != road
    assert np.allclose(shapely.distance(lines[ours.road[differ]], points[differ]),
                       distance[differ], rtol=0, atol=1e-6)  # exact ties only
    along = shapely.line_locate_point(lines[ours.road], points, normalized=True)
    assert np.allclose(ours.fraction[~differ], along[~differ], atol=1e-9)


def test_snapped_arrays_match_single_snaps(wuhan_central):
    graph = wuhan_central.graph
    lon, lat = graph.node_lonlat[::97].T
    many = snap_many(graph, lon + 0.0003, lat, limit_m=20)
    assert (~many.on_road).any() and many.on_road.any()
    for i, snap in enumerate(many.snaps()):
        if snap is None:
            with pytest.raises(OffNetworkError):
                snap_point(graph, lon[i] + 0.0003, lat[i], limit_m=20)
        else:
            assert snap == snap_point(graph, lon[i] + 0.0003, lat[i], limit_m=20)
