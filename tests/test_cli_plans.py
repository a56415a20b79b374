"""`patrol load targets` and `patrol plan` on real PostGIS and central Wuhan."""

import json

import pytest
import sqlalchemy as sa

from cli import main
from conftest import named_database
from tests_api_support import make_city


@pytest.fixture(scope="module")
def city(server_url, wuhan_central):
    with named_database(server_url, "test_cli_plans") as url:
        built = make_city(url, wuhan_central.graph)
        yield built
        built.engine.dispose()


@pytest.fixture
def patrol(city, wuhan_central_compiled, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", city.url)

    def run(*argv, graph=False):
        extra = ["--graph", str(wuhan_central_compiled)] if graph else []
        code = main([*argv, *extra])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


def zone_with_most_targets(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT zone_id FROM patrol_targets GROUP BY zone_id "
                                    "ORDER BY count(*) DESC, zone_id LIMIT 1")).scalar_one()


def test_load_targets_from_hotspots_then_plan_a_zone(patrol, city, tmp_path):
    code, out, err = patrol("load", "targets", "--from-hotspots")
    assert code == 0, err
    assert int(out.split(":")[1].split()[0]) > 0
    zone = zone_with_most_targets(city.engine)
    out_file = tmp_path / "plan.geojson"
    code, _, err = patrol("plan", "--zone", str(zone), "--loop-minutes", "15", "--time-s",
                          "0.2", "-o", str(out_file), graph=True)
    assert code == 0, err
    plan = json.loads(out_file.read_text())
    assert plan["type"] == "FeatureCollection" and plan["zone_id"] == zone
    for feature in plan["features"]:
        assert feature["geometry"]["type"] == "LineString"
        assert feature["properties"]["duration_s"] <= 900
        stops = feature["properties"]["stops"]
        assert [s["arrive_s"] for s in stops] == sorted(s["arrive_s"] for s in stops)
        assert set(stops[0]) == {"target_id", "name", "kind", "lon", "lat", "arrive_s"}
    assert "unreachable" in plan


def test_plan_all_with_one_unit_lists_what_is_left_out(patrol, city, tmp_path):
    patrol("load", "targets", "--from-hotspots")
    out_file = tmp_path / "all.geojson"
    code, _, err = patrol("plan", "--all", "--loop-minutes", "5", "--units", "1",
                          "--time-s", "0.05", "-o", str(out_file), graph=True)
    assert code == 0, err
    plan = json.loads(out_file.read_text())
    assert len(plan["zones"]) > 1
    per_zone = {}
    for feature in plan["features"]:
        per_zone[feature["properties"]["zone_id"]] = per_zone.get(
            feature["properties"]["zone_id"], 0) + 1
    assert set(per_zone.values()) == {1}
    assert all(t["reason"] == "no_unit" and "zone_id" in t for t in plan["left_out"])


def test_plan_all_reports_a_zone_without_station_and_plans_the_others(patrol, city, tmp_path):
    patrol("load", "targets", "--from-hotspots")
    zone = zone_with_most_targets(city.engine)
    with city.engine.begin() as conn:
        station = conn.execute(sa.text("SELECT station_id FROM patrol_zones WHERE id = :z"),
                               {"z": zone}).scalar_one()
        n_targets = conn.execute(sa.text("SELECT count(*) FROM patrol_targets WHERE zone_id = :z"),
                                 {"z": zone}).scalar_one()
        conn.execute(sa.text("UPDATE patrol_zones SET station_id = NULL WHERE id = :z"),
                     {"z": zone})
    try:
        out_file = tmp_path / "all.geojson"
        code, _, err = patrol("plan", "--all", "--loop-minutes", "15", "--time-s", "0.05",
                              "-o", str(out_file), graph=True)
    finally:
        with city.engine.begin() as conn:
            conn.execute(sa.text("UPDATE patrol_zones SET station_id = :s WHERE id = :z"),
                         {"s": station, "z": zone})
    assert code == 0, err
    plan = json.loads(out_file.read_text())
    stationless = [t for t in plan["unreachable"] if t["zone_id"] == zone]
    assert len(stationless) == n_targets and all(t["reason"] == "no_station" for t in stationless)
    assert not any(f["properties"]["zone_id"] == zone for f in plan["features"])
    assert {f["properties"]["zone_id"] for f in plan["features"]} - {zone}


def test_load_targets_file_reports_invalid_geometry(patrol, tmp_path):
    bowtie = [[114.27, 30.59], [114.272, 30.592], [114.272, 30.59], [114.27, 30.592],
              [114.27, 30.59]]
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "bowtie"},
         "geometry": {"type": "Polygon", "coordinates": [bowtie]}}]}))
    code, out, err = patrol("load", "targets", str(path))
    assert code == 0 and "0 added" in out and "1 skipped" in out
    assert "row 1 has an invalid geometry (Self-intersection" in err


@pytest.mark.parametrize("argv, message", [
    (["plan", "--zone", "999999"], "no patrol zone 999999"),
    (["plan", "--zone", "1", "--loop-minutes", "0"], "--loop-minutes must be at least 1"),
    (["plan", "--zone", "1", "--loop-minutes", "-5"], "--loop-minutes must be at least 1"),
    (["plan", "--zone", "1", "--loop-minutes", "nan"], "--loop-minutes must be at least 1"),
    (["plan", "--zone", "1", "--units", "0"], "--units must be at least 1"),
    (["load", "targets"], "give target files or --from-hotspots"),
])
def test_bad_input_is_one_sentence_and_exit_2(patrol, argv, message):
    code, _, err = patrol(*argv, graph=argv[0] == "plan")
    assert code == 2
    assert err.startswith("patrol: error: ") and message in err and err.count("\n") == 1
