"""The patrol command line: real runs, and a clear sentence for every bad input."""

import json
import subprocess
import sys

import pytest

from cli import main
from conftest import OSM_DIR, POI_DIR

STATION = "114.26897,30.60743"  # 北湖街派出所 (Beihu Street police station), WGS-84


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_circles_writes_three_rings(capsys, wuhan_central_compiled, tmp_path):
    out_file = tmp_path / "circles.geojson"
    code, _, err = run(capsys, "circles", "--graph", str(wuhan_central_compiled), "--at", STATION,
                       "--minutes", "1,3,5", "-o", str(out_file))
    assert code == 0, err
    collection = json.loads(out_file.read_text())
    assert [f["properties"]["minutes"] for f in collection["features"]] == [1, 3, 5]
    assert collection["origin"]["snap_distance_m"] < 200
    areas = [f["properties"]["area_m2"] for f in collection["features"]]
    assert areas == sorted(areas)


def test_arrive_circles_in_gcj02(capsys, wuhan_central_compiled):
    code, out, err = run(capsys, "circles", "--graph", str(wuhan_central_compiled),
                         "--at", "114.2708,30.5829", "--crs", "gcj02", "--arrive", "--minutes", "3")
    assert code == 0, err
    collection = json.loads(out)
    assert collection["features"][0]["properties"]["direction"] == "arrive"
    assert collection["origin"]["crs"] == "gcj02"


def test_nearest_ranks_police_stations_by_drive_time(capsys, wuhan_central_compiled):
    code, out, err = run(capsys, "nearest", "--graph", str(wuhan_central_compiled), "--at", STATION,
                         "--from", str(POI_DIR / "police.geojson"), "--from-crs", "gcj02", "-k", "3")
    assert code == 0, err
    ranked = json.loads(out)
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    assert [r["seconds"] for r in ranked] == sorted(r["seconds"] for r in ranked)
    assert all("name" in r["properties"] and r["metres"] > 0 for r in ranked)
    assert "were not ranked" in err  # most of Wuhan's stations lie outside the clipped district


def test_graph_import_reports_what_it_dropped(capsys, tmp_path):
    out_file = tmp_path / "h.graph.npz"
    code, out, err = run(capsys, "graph", "import", str(OSM_DIR / "helsinki.osm.pbf"),
                         "-o", str(out_file))
    assert code == 0 and out_file.exists()
    assert "dropped" in out and "strongly connected" in out
    assert "outside the extract" in err


@pytest.mark.parametrize("argv, message", [
    (["graph", "import", "/nonexistent/roads.osm"], "no such file"),
    (["circles", "--graph", "/nonexistent/roads.graph.npz", "--at", STATION], "no such file"),
    (["circles", "--graph", "GRAPH", "--at", "114.2,30.5,1"], "--at must be LON,LAT"),
    (["circles", "--graph", "GRAPH", "--at", "east,north"], "--at must be LON,LAT"),
    (["circles", "--graph", "GRAPH", "--at", "114.2655,95"], "latitude 95.0 is out of range"),
    (["circles", "--graph", "GRAPH", "--at", "214.2655,30"], "longitude 214.2655 is out of range"),
    (["circles", "--graph", "GRAPH", "--at", STATION, "--crs", "mars"], "unknown coordinate system 'mars'"),
    (["circles", "--graph", "GRAPH", "--at", STATION, "--minutes", "1,x"], "--minutes must be numbers"),
    (["circles", "--graph", "GRAPH", "--at", STATION, "--minutes", "0,90"], "--minutes must lie in"),
    (["circles", "--graph", "GRAPH", "--at", STATION, "--at-time", "25:99"], "--at-time must be HH:MM"),
    (["circles", "--graph", "GRAPH", "--at", "114.40,30.70"], "m from the nearest road"),
    (["nearest", "--graph", "GRAPH", "--at", STATION, "--from", "/nonexistent.geojson"], "no such file"),
    (["nearest", "--graph", "GRAPH", "--at", STATION, "--from", str(OSM_DIR / "helsinki.osm.pbf")], "not a GeoJSON"),
    (["nearest", "--graph", "GRAPH", "--at", STATION, "--from", str(POI_DIR / "police.geojson"), "-k", "0"],
     "-k must be at least 1"),
    (["compliance", "--graph", "GRAPH", "--all", "--from", "2026-12-01T08:00+08:00", "--to",
      "2026-12-01T09:00+08:00", "--visit-m", "inf", "-o", "/nonexistent"],
     "--visit-m must be a positive number of metres"),
    (["compliance", "--graph", "GRAPH", "--all", "--from", "2000-01-01T00:00Z", "--to",
      "2026-12-01T00:00Z", "-o", "/nonexistent"], "at most 744 hours at once"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, wuhan_central_compiled, argv, message):
    argv = [str(wuhan_central_compiled) if a == "GRAPH" else a for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.startswith("patrol: error:")


def test_graph_that_is_not_a_road_network(capsys, tmp_path):
    bogus = tmp_path / "roads.osm"
    bogus.write_text("<html>not osm</html>")
    code, _, err = run(capsys, "graph", "import", str(bogus))
    assert code == 2 and "not a readable OpenStreetMap file" in err


def test_console_script_runs_and_usage_errors_exit_2():
    ok = subprocess.run([sys.executable, "-m", "cli", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "circles" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "cli", "circles"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--at" in bad.stderr and "Traceback" not in bad.stderr


def test_db_up_shows_no_password(capsys, server_url, monkeypatch):
    import sqlalchemy as sa

    from conftest import named_database

    with named_database(server_url, "test_cli_db_up") as url:
        with_password = sa.make_url(url).set(password="s3cret-pw")
        monkeypatch.setenv("DATABASE_URL", with_password.render_as_string(hide_password=False))
        code, out, err = run(capsys, "db", "up")
    assert code == 0, err
    assert "database ready" in out and "s3cret-pw" not in out + err and "***" in out


def test_simulator_takes_its_key_from_the_environment(capsys, monkeypatch):
    monkeypatch.delenv("PATROL_API_KEY", raising=False)
    code, _, err = run(capsys, "fleet", "simulate", "--ticks", "1")
    assert code == 2 and "set PATROL_API_KEY" in err
    with pytest.raises(SystemExit):  # a key on the command line shows in every process list
        main(["fleet", "simulate", "--key", "KEY"])
