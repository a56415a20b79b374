"""Must-patrol targets in PostGIS: loaded from files in any CRS, generated from hotspots, edited;
plans stored with their graph version, loops given to units, read back."""

import json

import pytest
import shapely
import sqlalchemy as sa

from conftest import named_database
from patrol import planning
from patrol.errors import Invalid, NotFound
from patrol.plans import graph_version
from routing.coords import from_wgs84
from tests_api_support import make_city
from zones import plan_store, targets
from zones.loading import LoadError


@pytest.fixture(scope="module")
def city(server_url, wuhan_central):
    with named_database(server_url, "test_zones_targets") as url:
        built = make_city(url, wuhan_central.graph)
        yield built
        built.engine.dispose()


def busiest_zone(engine) -> int:
    """The zone with the most hospital targets (generated from hotspots)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT zone_id FROM patrol_targets GROUP BY zone_id ORDER BY count(*) DESC, zone_id "
            "LIMIT 1")).scalar_one()


def gcj(lon, lat):
    x, y = from_wgs84([lon], [lat], "gcj02")
    return float(x[0]), float(y[0])


def test_targets_from_hotspots_are_idempotent_and_inside_their_zone(city):
    added = targets.targets_from_hotspots(city.engine)
    assert added > 0
    assert targets.targets_from_hotspots(city.engine) == 0
    with city.engine.connect() as conn:
        outside = conn.execute(sa.text(
            "SELECT count(*) FROM patrol_targets t JOIN patrol_zones z ON z.id = t.zone_id "
            "WHERE NOT ST_Intersects(z.geom, t.geom)")).scalar()
        kinds = set(conn.execute(sa.text("SELECT DISTINCT kind FROM patrol_targets")).scalars())
        weight = conn.execute(sa.text("SELECT DISTINCT weight FROM patrol_targets")).scalars()
    assert outside == 0 and kinds == {"point"} and list(weight) == [3.0]  # hospitals


def test_file_in_gcj02_loads_points_lines_areas_and_reports_bad_rows(city, tmp_path):
    lon, lat = 114.2745, 30.5935
    line = [gcj(lon - 0.002, lat), gcj(lon + 0.002, lat)]
    square = [gcj(lon + dx, lat + dy) for dx, dy in
              [(0, 0), (0.002, 0), (0.002, 0.002), (0, 0.002), (0, 0)]]
    bowtie = [gcj(lon + dx, lat + dy) for dx, dy in
              [(0, 0), (0.002, 0.002), (0.002, 0), (0, 0.002), (0, 0)]]
    rows = [("gate", {"type": "Point", "coordinates": gcj(lon, lat)}, {"dwell_s": 120}),
            ("street", {"type": "LineString", "coordinates": line}, {"two_way": "false"}),
            ("square", {"type": "Polygon", "coordinates": [square]}, {"weight": 2.5}),
            ("bowtie", {"type": "Polygon", "coordinates": [bowtie]}, {}),
            ("nowhere", {"type": "Point", "coordinates": [10.0, 10.0]}, {}),
            ("several", {"type": "MultiPoint", "coordinates": [gcj(lon, lat)]}, {})]
    path = tmp_path / "targets.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g, "properties": {"name": n, **p}} for n, g, p in rows]}))
    report = targets.load_targets(city.engine, path, crs="gcj02")
    assert (report.rows, report.added, report.skipped) == (6, 3, 3)
    assert any("row 4 has an invalid geometry" in p for p in report.problems)
    assert any("row 5 lies in no patrol zone" in p for p in report.problems)
    assert any("row 6 is a MultiPoint" in p for p in report.problems)
    assert targets.load_targets(city.engine, path, crs="gcj02").added == 0
    with city.engine.connect() as conn:
        loaded = {t.name: t for z in plan_store.zones_with_targets(conn)
                  for t in targets.zone_targets(conn, z) if t.name in ("gate", "street", "square")}
    assert loaded["gate"].kind == "point" and loaded["gate"].dwell_s == 120
    assert loaded["gate"].geometry.distance(shapely.Point(lon, lat)) < 1e-5  # GCJ-02 undone
    assert loaded["street"].kind == "line" and not loaded["street"].two_way
    assert loaded["square"].kind == "area" and loaded["square"].weight == 2.5


def test_a_file_without_names_is_refused(city, tmp_path):
    path = tmp_path / "nameless.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.27, 30.59]},
         "properties": {}}]}))
    with pytest.raises(LoadError, match="needs a 'name' column"):
        targets.load_targets(city.engine, path)


def test_edit_and_delete_a_target(city):
    zone_id = busiest_zone(city.engine)
    with city.engine.begin() as conn:
        made = targets.add_target(conn, zone_id=zone_id, name="extra",
                                  geometry=shapely.Point(114.27, 30.59))
        assert made.kind == "point" and made.dwell_s == targets.DEFAULT_DWELL_S["point"]
        changed = targets.update_target(conn, made.id, dwell_s=30, weight=4.0)
        assert (changed.dwell_s, changed.weight) == (30, 4.0)
        with pytest.raises(ValueError, match="cannot change kind"):
            targets.update_target(conn, made.id, kind="line")
        assert targets.delete_target(conn, made.id)
        assert targets.get_target(conn, made.id) is None
        assert not targets.delete_target(conn, made.id)


def test_plan_is_stored_with_graph_version_and_given_to_units(city, wuhan_central):
    zone_id = busiest_zone(city.engine)
    plan = planning.plan_zone(city.engine, wuhan_central.graph, zone_id, loop_seconds=900,
                              time_s=0.2)
    assert plan["graph_version"] == graph_version(wuhan_central.graph)
    assert plan == planning.stored_plan(city.engine, zone_id)
    with city.engine.connect() as conn:
        count = len(targets.zone_targets(conn, zone_id))
        station_units = set(conn.execute(sa.text(
            "SELECT u.id FROM units u JOIN patrol_zones z ON z.station_id = u.home_station_id "
            "WHERE z.id = :z"), {"z": zone_id}).scalars())
    stops = [s["target_id"] for f in plan["features"] for s in f["properties"]["stops"]]
    assert len(stops) + len(plan["unreachable"]) == count
    units = [f["properties"]["unit_id"] for f in plan["features"]]
    assert {u for u in units if u is not None} <= station_units
    assert len({u for u in units if u is not None}) == min(len(units), len(station_units))
    again = planning.plan_zone(city.engine, wuhan_central.graph, zone_id, loop_seconds=600,
                               time_s=0.2)
    assert again["loop_seconds"] == 600  # the new plan replaced the old one
    with city.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM patrol_plans WHERE zone_id = :z"),
                            {"z": zone_id}).scalar() == 1


def test_bad_zone_and_loop_time_are_refused(city, wuhan_central):
    with pytest.raises(NotFound, match="no patrol zone 999999"):
        planning.plan_zone(city.engine, wuhan_central.graph, 999999, loop_seconds=900)
    with pytest.raises(Invalid, match="loop time must be at least 60 s"):
        planning.plan_zone(city.engine, wuhan_central.graph, 1, loop_seconds=0)
    with pytest.raises(NotFound, match="no patrol zone 999999"):
        planning.stored_plan(city.engine, 999999)


def test_coverage_map_shows_the_stored_loops_and_targets(city, wuhan_central, tmp_path):
    from maps.coverage import coverage_map
    from patrol.coverage import gather

    zone_id = busiest_zone(city.engine)
    plan = planning.plan_zone(city.engine, wuhan_central.graph, zone_id, loop_seconds=900,
                              time_s=0.2)
    data = gather(city.engine, wuhan_central.graph, zone_id=zone_id)
    assert [f["properties"]["loop"] for f in data.loops] == [
        f["properties"]["loop"] for f in plan["features"]]
    assert {f["properties"]["zone_id"] for f in data.targets} == {zone_id}
    page = tmp_path / "coverage.html"
    coverage_map(data, tiles=None).save(str(page))
    html = page.read_text()
    assert "patrol loops" in html and "must-patrol targets" in html
    assert "fitBounds" in html  # a zone's map shows the zone


def test_target_admin_use_cases(city):
    from patrol import target_admin

    zone_id = busiest_zone(city.engine)
    lon, lat = gcj(114.2745, 30.5935)
    made = target_admin.create_target(
        city.engine, zone_id, name="street", crs="gcj02", two_way=False,
        geometry={"type": "LineString", "coordinates": [[lon, lat], [lon + 0.003, lat]]})
    assert made["kind"] == "line" and made["dwell_s"] == 0 and not made["two_way"]
    assert abs(made["geometry"]["coordinates"][0][0] - 114.2745) < 1e-5
    assert made in target_admin.list_targets(city.engine, zone_id)
    assert target_admin.edit_target(city.engine, made["id"], weight=2.0)["weight"] == 2.0
    target_admin.remove_target(city.engine, made["id"])
    with pytest.raises(NotFound, match=f"no must-patrol target {made['id']}"):
        target_admin.remove_target(city.engine, made["id"])
    with pytest.raises(NotFound, match="no patrol zone 999999"):
        target_admin.list_targets(city.engine, 999999)
    bowtie = [[114.27, 30.59], [114.272, 30.592], [114.272, 30.59], [114.27, 30.592],
              [114.27, 30.59]]
    with pytest.raises(Invalid, match="has an invalid geometry"):
        target_admin.create_target(city.engine, zone_id, name="x",
                                   geometry={"type": "Polygon", "coordinates": [bowtie]})
    with pytest.raises(Invalid, match="not GeoJSON"):
        target_admin.create_target(city.engine, zone_id, name="x", geometry={"type": "Blob"})


def test_geopackage_in_a_projected_crs_loads_in_wgs84(city, tmp_path):
    import geopandas as gpd

    lon, lat = 114.2745, 30.5935
    frame = gpd.GeoDataFrame(
        {"name": ["utm gate", "utm street"], "dwell_s": [45, 0]},
        geometry=[shapely.Point(lon, lat),
                  shapely.LineString([(lon, lat), (lon + 0.002, lat + 0.001)])],
        crs=4326).to_crs(32650)
    path = tmp_path / "targets.gpkg"
    frame.to_file(path, driver="GPKG")
    report = targets.load_targets(city.engine, path)
    assert (report.added, report.skipped) == (2, 0)
    with city.engine.connect() as conn:
        loaded = {t.name: t for z in plan_store.zones_with_targets(conn)
                  for t in targets.zone_targets(conn, z) if t.name.startswith("utm")}
    assert loaded["utm gate"].geometry.distance(shapely.Point(lon, lat)) < 1e-7
    assert loaded["utm gate"].dwell_s == 45 and loaded["utm street"].kind == "line"
