"""Importing real OSM extracts and edge tables into drive graphs."""

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pytest
import shapely

from conftest import OSM_DIR, WUHAN_ROADS
from routing.errors import GraphImportError
from routing.sources import read_drive_graph
from routing.speeds import SpeedModel, parse_maxspeed


def test_clipped_pbf_imports_with_a_warning(helsinki):
    assert any("outside the extract" in w for w in helsinki.report.warnings)
    assert helsinki.graph.n_nodes > 200


def test_only_the_largest_strongly_connected_component_is_kept(helsinki):
    report = helsinki.report
    assert 0 < report.nodes_dropped < report.nodes_read
    assert nx.is_strongly_connected(helsinki.nx_graph)


def test_one_way_streets_are_driven_one_way(helsinki):
    """Edges of ways tagged oneway=yes in the raw file have no edge back along the same way."""
    one_way_ids = {w.id for w in osmium.FileProcessor(str(OSM_DIR / "helsinki.osm.pbf"),
                                                       osmium.osm.WAY)
                   if w.tags.get("oneway") == "yes"}
    g = helsinki.nx_graph
    checked = 0
    for u, v, data in g.edges(data=True):
        ways = set(np.atleast_1d(data["osmid"]).tolist())
        if ways and ways <= one_way_ids and u != v:  # a one-way loop is its own reverse
            back = [set(np.atleast_1d(d["osmid"]).tolist()) for d in (g.get_edge_data(v, u) or {}).values()]
            assert not any(ways & b for b in back), (u, v, ways)
            checked += 1
    assert checked > 50
    assert (helsinki.graph.edge_twin < 0).sum() >= checked


def test_tagged_maxspeed_sets_travel_time(helsinki):
    tagged = [(d["maxspeed"], d["speed_kph"]) for _, _, d in helsinki.nx_graph.edges(data=True)
              if isinstance(d.get("maxspeed"), str) and parse_maxspeed(d["maxspeed"])]
    assert tagged, "the Helsinki extract has maxspeed tags"
    for tag, speed in tagged:
        assert speed == pytest.approx(parse_maxspeed(tag))
    for _, _, d in helsinki.nx_graph.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))


def test_osm_xml_written_by_osmnx_imports():
    graph, report = read_drive_graph(OSM_DIR / "shanghai_huangpu.osm", SpeedModel())
    assert graph.number_of_nodes() > 300 and not report.warnings


def test_edge_table_rows_drawn_either_way_get_consistent_nodes(wuhan_central, wuhan_central_source):
    """Rows run u→v or v→u; every node must sit at the end point its rows share."""
    rows = gpd.read_parquet(wuhan_central_source).to_crs(4326)
    g = wuhan_central.nx_graph
    kept = rows[rows["u"].isin(g.nodes) & rows["v"].isin(g.nodes)]
    assert len(kept) > 1000
    for u, v, geom in zip(kept["u"], kept["v"], kept.geometry):
        ends = {tuple(np.round(geom.coords[0], 7)), tuple(np.round(geom.coords[-1], 7))}
        nodes = {(round(g.nodes[u]["x"], 7), round(g.nodes[u]["y"], 7)),
                 (round(g.nodes[v]["x"], 7), round(g.nodes[v]["y"], 7))}
        assert ends == nodes


def test_edge_table_roads_are_two_way_and_pedestrian_ways_dropped(wuhan_central):
    graph = wuhan_central.graph
    assert (graph.edge_twin >= 0).mean() > 0.99
    assert "pedestrian" not in graph.classes
    # Simplification kept a node wherever the class changes: each edge has one speed.
    for _, _, d in wuhan_central.nx_graph.edges(data=True):
        assert not isinstance(d["speed_kph"], list)


def test_missing_file():
    with pytest.raises(GraphImportError, match="no such file"):
        read_drive_graph("/nonexistent/roads.osm.pbf", SpeedModel())


def test_file_that_is_not_osm(tmp_path):
    bogus = tmp_path / "roads.osm"
    bogus.write_text("this is not xml")
    with pytest.raises(GraphImportError, match="not a readable OpenStreetMap file"):
        read_drive_graph(bogus, SpeedModel())


def test_unknown_format(tmp_path):
    table = tmp_path / "roads.csv"
    table.write_text("u,v\n")
    with pytest.raises(GraphImportError, match="unknown road network format"):
        read_drive_graph(table, SpeedModel())


def test_osm_with_only_footways_is_empty_after_filtering(tmp_path):
    path = tmp_path / "paths.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="60.1" lon="24.9"/><node id="2" lat="60.101" lon="24.9"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>')
    with pytest.raises(GraphImportError, match="no drivable road"):
        read_drive_graph(path, SpeedModel())


def test_edge_table_with_only_pedestrian_rows(tmp_path):
    rows = gpd.read_parquet(WUHAN_ROADS)
    rows = rows[rows["highway"] == "pedestrian"].head(20)
    path = tmp_path / "walk.parquet"
    rows.to_parquet(path)
    with pytest.raises(GraphImportError, match="no drivable road is left after filtering"):
        read_drive_graph(path, SpeedModel())


def test_edge_table_without_required_columns(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])],
                             crs=4326)
    path = tmp_path / "bad.gpkg"
    frame.to_file(path)
    with pytest.raises(GraphImportError, match="lacks the column"):
        read_drive_graph(path, SpeedModel())


def test_bz2_compressed_osm_xml_imports_like_the_plain_file(tmp_path):
    import bz2
    packed = tmp_path / "shanghai_huangpu.osm.bz2"
    packed.write_bytes(bz2.compress((OSM_DIR / "shanghai_huangpu.osm").read_bytes()))
    plain, _ = read_drive_graph(OSM_DIR / "shanghai_huangpu.osm", SpeedModel())
    graph, _ = read_drive_graph(packed, SpeedModel())
    assert sorted(graph.nodes) == sorted(plain.nodes)
    assert graph.number_of_edges() == plain.number_of_edges()
