"""Spatial queries on real PostGIS: point → grid → zone → station, and the pre-filters."""

import h3
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Geod

from conftest import POI_DIR, WUHAN_CENTRAL_BBOX, named_database
from zones import queries
from zones.loading import load_generated_grid, load_hotspots, load_stations
from zones.migrate import upgrade

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def city(server_url, wuhan_central):
    """A database with Wuhan's stations and hotspots and a grid over central Wuhan."""
    with named_database(server_url, "test_queries") as url:
        upgrade(url)
        engine = sa.create_engine(url)
        load_stations(engine, POI_DIR / "police.geojson", crs="gcj02")
        load_hotspots(engine, POI_DIR / "middle_schools.geojson", category="school",
                      crs="gcj02")
        summary = load_generated_grid(engine, wuhan_central.graph)
        assert "0 added" not in summary.split(";")[0]
        again = load_generated_grid(engine, wuhan_central.graph)
        assert "0 added" in again.split(";")[0] and "patrol zones: 0 added" in again
        yield engine
        engine.dispose()


def random_points(count, seed):
    west, south, east, north = WUHAN_CENTRAL_BBOX
    rng = np.random.default_rng(seed)
    return rng.uniform(west + 0.01, east - 0.01, count), rng.uniform(south + 0.01, north - 0.01,
                                                                     count)


def test_point_to_grid_zone_station(city):
    lon, lat = random_points(100, seed=3)
    found = 0
    with city.connect() as conn:
        for x, y in zip(lon, lat):
            where = queries.locate(conn, x, y)
            if where.grid_code is None:
                continue  # no road in that hexagon: no grid cell generated there
            assert where.grid_code == h3.latlng_to_cell(y, x, 9)
            assert where.zone_id is not None and where.station_id is not None
            station_kind = conn.execute(sa.text("SELECT kind FROM stations WHERE id = :i"),
                                        {"i": where.station_id}).scalar()
            assert station_kind == "police_station"
            found += 1
    assert found > 60


def test_known_points(city):
    with city.connect() as conn:
        beihu = queries.locate(conn, 114.26897, 30.60743)  # 北湖街派出所, on the network
        nowhere = queries.locate(conn, 10.0, 10.0)
    assert beihu.grid_code == h3.latlng_to_cell(30.60743, 114.26897, 9)
    assert beihu.station_id is not None
    assert nowhere == queries.Location(None, None, None, None, None)


def test_official_zone_takes_precedence(city):
    square = "MULTIPOLYGON(((114.26 30.60, 114.28 30.60, 114.28 30.62, 114.26 30.62, 114.26 30.60)))"
    with city.begin() as conn:
        station = conn.execute(sa.text("SELECT min(id) FROM stations")).scalar()
        conn.execute(sa.text("INSERT INTO patrol_zones (name, station_id, official, geom) VALUES "
                             "('official test zone', :s, true, ST_GeomFromText(:g, 4326))"),
                     {"s": station, "g": square})
    with city.connect() as conn:
        assert queries.locate(conn, 114.27, 30.61).station_id == station
    with city.begin() as conn:
        conn.execute(sa.text("DELETE FROM patrol_zones WHERE official"))


def test_station_distances_agree_with_geodesic_distance(city):
    with city.connect() as conn:
        near = queries.station_distances(conn, 114.27, 30.60, radius_m=800)
        everything = conn.execute(sa.text(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM stations")).all()
    expected = {i for i, x, y in everything if GEOD.inv(114.27, 30.60, x, y)[2] <= 800}
    assert {row[0] for row in near} == expected and len(expected) > 3
    for _, _, _, metres in near:
        assert metres <= 800


def test_stations_within_and_hotspots_in_zone(city):
    box = shapely.box(114.26, 30.59, 114.29, 30.62)
    with city.connect() as conn:
        inside = set(queries.stations_within(conn, box.wkt))
        points = conn.execute(sa.text("SELECT id, ST_X(geom), ST_Y(geom) FROM stations")).all()
        assert inside == {i for i, x, y in points if box.intersects(shapely.Point(x, y))}
        zone_id, zone_wkt = conn.execute(sa.text(
            "SELECT id, ST_AsText(geom) FROM patrol_zones ORDER BY ST_Area(geom) DESC LIMIT 1")).one()
        schools = queries.hotspots_in_zone(conn, zone_id, category="school")
        all_schools = conn.execute(sa.text(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM hotspots WHERE category = 'school'")).all()
    zone = shapely.from_wkt(zone_wkt)
    assert {s[0] for s in schools} == {i for i, x, y in all_schools
                                       if zone.intersects(shapely.Point(x, y))}


def test_official_boundary_files_load_in_gcj02_and_win(city, tmp_path):
    """A GCJ-02 district file and zone file load (bad rows skipped) and then take precedence."""
    import json
    from routing.coords import from_wgs84
    from zones.boundary_loading import load_boundaries

    ring = [(114.262, 30.602), (114.278, 30.602), (114.278, 30.616), (114.262, 30.616),
            (114.262, 30.602)]
    gx, gy = from_wgs84([p[0] for p in ring], [p[1] for p in ring], "gcj02")
    gcj_ring = [[float(x), float(y)] for x, y in zip(gx, gy)]
    bowtie = [[114.2, 30.5], [114.3, 30.6], [114.3, 30.5], [114.2, 30.6], [114.2, 30.5]]
    with city.connect() as conn:
        station_name = conn.execute(sa.text(
            "SELECT name FROM stations WHERE kind = 'police_station' ORDER BY id LIMIT 1")).scalar()
    def write(name, props_list, rings):
        features = [{"type": "Feature", "properties": props,
                     "geometry": {"type": "Polygon", "coordinates": [r]}}
                    for props, r in zip(props_list, rings)]
        path = tmp_path / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                   ensure_ascii=False))
        return path
    district = write("district.geojson", [{"name": "江汉区", "code": "420103"},
                                          {"name": "bad", "code": "x"}], [gcj_ring, bowtie])
    report = load_boundaries(city, district, level="district", crs="gcj02")
    assert report.added == 1 and "row 2 is not a valid polygon" in report.problems[0]
    zone = write("zone.geojson", [{"name": "官方责任区", "station": station_name},
                                  {"name": "ghost", "station": "不存在派出所"}], [gcj_ring, gcj_ring])
    report = load_boundaries(city, zone, level="zone", crs="gcj02")
    assert report.added == 1 and "not loaded" in report.problems[0]
    assert load_boundaries(city, zone, level="zone", crs="gcj02").added == 0
    with city.connect() as conn:
        where = queries.locate(conn, 114.270, 30.609)  # inside the WGS-84 square
        station_id = conn.execute(sa.text("SELECT id FROM stations WHERE name = :n"),
                                  {"n": station_name}).scalar()
        outside = queries.locate(conn, 114.2615, 30.609)  # just west of it
    assert where.district == "江汉区" and where.station_id == station_id
    assert outside.district is None
    with city.begin() as conn:
        conn.execute(sa.text("DELETE FROM patrol_zones WHERE official"))
        conn.execute(sa.text("DELETE FROM areas WHERE official"))
