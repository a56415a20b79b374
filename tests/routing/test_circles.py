"""Response circles built from reachable road pieces."""

import numpy as np
import pytest
import shapely
import shapely.ops

from routing.circles import buffer_pieces, reachable_pieces, rings, rings_geojson
from routing.search import reach
from routing.snapping import snap_point


def snap_at_fraction(graph, e, fraction):
    point = shapely.line_interpolate_point(graph.edge_lines[e], fraction, normalized=True)
    lon, lat = graph.to_lonlat.transform(point.x, point.y)
    return snap_point(graph, float(lon), float(lat))


def long_two_way_edge(graph):
    return int(np.flatnonzero((graph.edge_twin >= 0) & (graph.edge_metres > 300))[0])


def test_partial_edges_are_cut_at_the_remaining_time(wuhan_central):
    """From the middle of a long two-way road, 5 s of driving covers 5 s worth each way."""
    graph = wuhan_central.graph
    e = long_two_way_edge(graph)
    snap = snap_at_fraction(graph, e, 0.5)
    result = reach(graph, snap, direction="depart", limit_s=5.0)
    (ring,) = rings(result, [5.0])
    speed_m_s = graph.edge_metres[snap.edge] / graph.edge_seconds[snap.edge]
    assert ring.road_length_m == pytest.approx(2 * 5.0 * speed_m_s, rel=1e-6)
    pieces = reachable_pieces(result, 5.0)
    assert len(pieces.edge) == 1
    share = 5.0 / graph.edge_seconds[snap.edge]
    assert pieces.lo[0] == pytest.approx(snap_frac(snap, graph) - share)
    assert pieces.hi[0] == pytest.approx(snap_frac(snap, graph) + share)


def snap_frac(snap, graph):
    """The snap's fraction on the road's canonical (lower id) edge."""
    twin = graph.edge_twin[snap.edge]
    return 1 - snap.fraction if 0 <= twin < snap.edge else snap.fraction


def test_rings_are_nested_valid_and_contain_every_reachable_node(wuhan_central):
    graph = wuhan_central.graph
    snap = snap_at_fraction(graph, long_two_way_edge(graph), 0.3)
    result = reach(graph, snap, direction="depart", limit_s=300)
    circles = rings(result, [60, 180, 300])
    for inner, outer in zip(circles, circles[1:]):
        assert inner.polygon.is_valid and outer.polygon.is_valid
        assert inner.area_m2 < outer.area_m2 and inner.road_length_m < outer.road_length_m
        assert shapely.area(shapely.difference(inner.polygon, outer.polygon)) < 0.01 * inner.area_m2
    for ring in circles:
        nodes = result.settled[result.seconds[result.settled] <= ring.seconds]
        points = shapely.points(graph.node_xy[nodes])
        assert shapely.contains(ring.polygon.buffer(1.0), points).all()


def test_outline_matches_an_exact_vector_buffer(wuhan_central):
    """The raster outline is within about one cell of shapely's exact buffer of the pieces."""
    graph = wuhan_central.graph
    snap = snap_at_fraction(graph, long_two_way_edge(graph), 0.6)
    result = reach(graph, snap, direction="arrive", limit_s=120)
    pieces = reachable_pieces(result, 120)
    lines = []
    for e, lo, hi in zip(pieces.edge, pieces.lo, pieces.hi):
        line = graph.edge_lines[e]
        lines.append(shapely.ops.substring(line, lo, hi, normalized=True))
    exact = shapely.buffer(shapely.MultiLineString([l for l in lines if l.length > 0]), 50.0)
    ours = buffer_pieces(graph, pieces, buffer_m=50.0, cell_m=25.0)
    assert ours.area == pytest.approx(exact.area, rel=0.05)
    assert shapely.symmetric_difference(ours, exact).area < 0.12 * exact.area
    assert ours.buffer(26).contains(exact) and exact.buffer(26).contains(ours)


def test_arrive_and_depart_circles_differ_on_one_way_streets(helsinki):
    graph = helsinki.graph
    one_way = int(np.flatnonzero((graph.edge_twin < 0) & (graph.edge_metres > 60))[0])
    snap = snap_at_fraction(graph, one_way, 0.5)
    out = rings(reach(graph, snap, direction="depart", limit_s=60), [60])[0]
    back = rings(reach(graph, snap, direction="arrive", limit_s=60), [60])[0]
    assert shapely.symmetric_difference(out.polygon, back.polygon).area > 0.05 * out.area_m2


def test_geojson_has_one_polygon_per_ring_in_wgs84(wuhan_central):
    graph = wuhan_central.graph
    snap = snap_at_fraction(graph, long_two_way_edge(graph), 0.5)
    result = reach(graph, snap, direction="depart", limit_s=300)
    collection = rings_geojson(graph, rings(result, [60, 180, 300]), direction="depart")
    assert [f["properties"]["minutes"] for f in collection["features"]] == [1, 3, 5]
    for feature in collection["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        assert shape.geom_type in ("Polygon", "MultiPolygon") and shape.is_valid
        lon, lat = shape.centroid.x, shape.centroid.y
        assert 114.2 < lon < 114.35 and 30.5 < lat < 30.7
        assert feature["properties"]["area_m2"] > 0 and feature["properties"]["road_length_m"] > 0
