"""Generated grid cells and the network Voronoi of police stations, on central Wuhan."""

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from conftest import POI_DIR, WUHAN_CENTRAL_BBOX
from routing.coords import gcj02_to_wgs84
from routing.search import rank_to
from routing.snapping import snap_points
from zones.grids import assign_cells, dissolve_zones, road_cells, station_snaps


@pytest.fixture(scope="module")
def central_stations():
    """WGS-84 lon/lat of the 派出所 inside the central Wuhan test district."""
    frame = gpd.read_file(POI_DIR / "police.geojson")
    frame = frame[frame["name"].str.endswith("派出所")]
    lon, lat = gcj02_to_wgs84(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    west, south, east, north = WUHAN_CENTRAL_BBOX
    inside = (lon > west + 0.01) & (lon < east - 0.01) & (lat > south + 0.01) & (lat < north - 0.01)
    return np.column_stack([lon[inside], lat[inside]])


@pytest.fixture(scope="module")
def voronoi(wuhan_central, central_stations):
    graph = wuhan_central.graph
    snaps, kept = station_snaps(graph, central_stations)
    cells = assign_cells(graph, road_cells(graph), snaps)
    return graph, snaps, cells


def test_every_road_lies_in_a_cell(voronoi):
    graph, _, cells = voronoi
    codes = {c.code for c in cells}
    rng = np.random.default_rng(0)
    for node in rng.choice(graph.n_nodes, 200, replace=False):
        lon, lat = graph.node_lonlat[node]
        assert h3.latlng_to_cell(lat, lon, 9) in codes


def test_each_cell_goes_to_the_station_that_truly_reaches_it_fastest(voronoi):
    """Checked against the routing engine directly: rank every station by drive time to the
    cell centre and take the first."""
    graph, stations, cells = voronoi
    assert len(stations) >= 10
    rng = np.random.default_rng(1)
    checked = 0
    for i in rng.choice(len(cells), 60, replace=False):
        cell = cells[i]
        lat, lon = h3.cell_to_latlng(cell.code)
        (centre,), _ = snap_points(graph, lon, lat, limit_m=500)
        if centre is None:
            continue
        ranked = rank_to(graph, centre, stations, k=2)
        assert cell.seconds == pytest.approx(ranked[0].seconds, abs=1e-6)
        if ranked[1].seconds - ranked[0].seconds > 1e-6:  # no tie
            assert cell.station == ranked[0].index
        checked += 1
    assert checked > 40


def test_zones_are_valid_and_tile_the_cells(voronoi):
    _, _, cells = voronoi
    zones = dissolve_zones(cells)
    assert all(z.is_valid for z in zones.values())
    total = sum(z.area for z in zones.values())
    assert total == pytest.approx(sum(c.polygon.area for c in cells if c.station >= 0), rel=1e-6)
    for a, b in [(a, b) for a in list(zones)[:8] for b in list(zones)[:8] if a < b]:
        assert shapely.intersection(zones[a], zones[b]).area < 1e-12
