"""Spatial queries on real PostGIS: point → grid → zone → station, and the pre-filters."""

import h3
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Geod

from conftest import POI_DIR, WUHAN_CENTRAL_BBOX
from zones import queries
from zones.loading import load_generated_grid, load_hotspots, load_stations
from zones.migrate import upgrade

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def city(server_url, wuhan_central, tmp_path_factory):
    """A database with Wuhan's stations and hotspots and a grid over central Wuhan."""
    from sqlalchemy.engine import make_url
    admin = sa.create_engine(make_url(server_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS test_queries WITH (FORCE)"))
        conn.execute(sa.text("CREATE DATABASE test_queries"))
    url = make_url(server_url).set(database="test_queries").render_as_string(hide_password=False)
    upgrade(url)
    engine = sa.create_engine(url)
    load_stations(engine, POI_DIR / "police.geojson", crs="gcj02")
    load_hotspots(engine, POI_DIR / "middle_schools.geojson", category="school", crs="gcj02")
    summary = load_generated_grid(engine, wuhan_central.graph)
    assert "0 added" not in summary.split(";")[0]
    again = load_generated_grid(engine, wuhan_central.graph)
    assert "0 added" in again.split(";")[0] and "patrol zones: 0 added" in again
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS test_queries WITH (FORCE)"))
    admin.dispose()


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


def test_stations_near_agrees_with_geodesic_distance(city):
    with city.connect() as conn:
        near = queries.stations_near(conn, 114.27, 30.60, 800)
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
        schools = queries.hotspots_in_zone(conn, zone_id, "school")
        all_schools = conn.execute(sa.text(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM hotspots WHERE category = 'school'")).all()
    zone = shapely.from_wkt(zone_wkt)
    assert {s[0] for s in schools} == {i for i, x, y in all_schools
                                       if zone.intersects(shapely.Point(x, y))}
