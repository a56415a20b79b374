"""Loading real Wuhan stations and hotspots into PostGIS."""

import json

import pytest
import sqlalchemy as sa

from conftest import POI_DIR
from routing.coords import gcj02_to_wgs84
from zones.loading import LoadError, load_hotspots, load_stations
from zones.migrate import upgrade


@pytest.fixture
def engine(fresh_database):
    url = fresh_database()
    upgrade(url)
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def count(engine, sql):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def test_police_load_twice_adds_nothing_the_second_time(engine):
    first = load_stations(engine, POI_DIR / "police.geojson", crs="gcj02")
    assert first.added > 1400 and first.rows == 1820
    assert any("is not a response force" in p for p in first.problems)
    assert any("repeats row" in p for p in first.problems)
    second = load_stations(engine, POI_DIR / "police.geojson", crs="gcj02")
    assert second.added == 0 and second.already_there == first.added
    assert count(engine, "SELECT count(*) FROM stations") == first.added
    kinds = dict(engine.connect().execute(sa.text(
        "SELECT kind, count(*) FROM stations GROUP BY kind")).all())
    assert kinds["police_station"] > 250 and kinds["police_post"] > 1000
    assert count(engine, "SELECT count(*) FROM stations WHERE kind = 'sub_bureau' "
                         "AND tier_minutes = 3") == kinds["sub_bureau"]


def test_gcj02_rows_land_where_their_wgs84_twins_say(engine):
    load_stations(engine, POI_DIR / "police.geojson", crs="gcj02")
    frame = json.loads((POI_DIR / "police.geojson").read_text())["features"]
    checked = 0
    with engine.connect() as conn:
        for feature in frame[:200]:
            props = feature["properties"]
            row = conn.execute(sa.text(
                "SELECT ST_X(geom), ST_Y(geom) FROM stations WHERE source_key = :k"),
                {"k": props["poiid"]}).first()
            if row is None:
                continue
            lon, lat = gcj02_to_wgs84(*feature["geometry"]["coordinates"])
            assert abs(row[0] - lon) < 1e-9 and abs(row[1] - lat) < 1e-9
            metres = conn.execute(sa.text(
                "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
                "::geography) FROM stations WHERE source_key = :k"),
                {"x": float(props["wgs84经ti"]), "y": float(props["wgs84纬ti"]),
                 "k": props["poiid"]}).scalar()
            assert metres < 3.0  # the shipped column is the one-step inverse, about 1 m off
            checked += 1
    assert checked > 100


def test_bad_rows_are_named_and_skipped(engine, tmp_path):
    def point(x, y):
        return {"type": "Point", "coordinates": [x, y]}
    features = [
        {"type": "Feature", "geometry": point(114.30, 30.60), "properties": {"name": "甲派出所"}},
        {"type": "Feature", "geometry": None, "properties": {"name": "乙派出所"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[114, 30], [114.1, 30]]},
         "properties": {"name": "丙派出所"}},
        {"type": "Feature", "geometry": point(214.0, 30.6), "properties": {"name": "丁派出所"}},
        {"type": "Feature", "geometry": point(114.31, 30.61),
         "properties": {"name": "戊", "kind": "fire_station"}},
        {"type": "Feature", "geometry": point(114.32, 30.62), "properties": {"name": "己警务室"}},
    ]
    path = tmp_path / "stations.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False))
    report = load_stations(engine, path)
    assert report.added == 2 and report.skipped == 4
    text = " | ".join(report.problems)
    for row, what in ((2, "has no geometry"), (3, "is a LineString"), (4, "has coordinates out of range"),
                      (5, "has unknown kind 'fire_station'")):
        assert f"row {row} {what}" in text
    assert count(engine, "SELECT count(*) FROM stations") == 2


def test_a_file_loads_whole_or_not_at_all(engine, tmp_path):
    """A row the database refuses (tier 2 breaks its CHECK) rolls the whole file back."""
    with pytest.raises(sa.exc.IntegrityError):
        load_stations(engine, POI_DIR / "police.geojson", crs="gcj02",
                      tiers={"police_post": 2})
    assert count(engine, "SELECT count(*) FROM stations") == 0


def test_hospital_departments_merge_into_one_hotspot(engine):
    report = load_hotspots(engine, POI_DIR / "hospitals_grade3a.geojson", category="hospital",
                           crs="gcj02")
    assert 60 < report.added < 200  # 637 rows: departments and buildings of far fewer hospitals
    merged = count(engine, "SELECT max(merged_rows) FROM hotspots")
    assert merged > 20
    again = load_hotspots(engine, POI_DIR / "hospitals_grade3a.geojson", category="hospital",
                          crs="gcj02")
    assert again.added == 0


def test_unknown_category_and_missing_file(engine, tmp_path):
    with pytest.raises(LoadError, match="unknown hotspot category 'zoo'"):
        load_hotspots(engine, POI_DIR / "malls_general.geojson", category="zoo")
    with pytest.raises(LoadError, match="cannot read it"):
        load_hotspots(engine, tmp_path / "missing.geojson", category="mall")
