"""``patrol track match``: a fixes CSV in GCJ-02 on a compiled graph, and its bad inputs."""

import json

import numpy as np
import pandas as pd
import pytest

from cli import main
from matching_support import route_share, synthetic_track
from routing.coords import from_wgs84


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture(scope="module")
def drive(wuhan_central):
    return synthetic_track(wuhan_central.graph, np.random.default_rng(21), sigma_m=15.0,
                           interval_s=10.0)


def write_fixes(path, drive, crs="gcj02"):
    lon, lat = from_wgs84(drive.lon, drive.lat, crs)
    stamps = pd.Timestamp("2026-12-01T08:00:00+08:00") + pd.to_timedelta(drive.t, unit="s")
    pd.DataFrame({"time": [s.isoformat() for s in stamps], "lon": lon, "lat": lat}).to_csv(
        path, index=False)
    return path


def test_track_match_writes_the_path_and_every_fix(capsys, wuhan_central, wuhan_central_compiled,
                                                   drive, tmp_path):
    fixes = write_fixes(tmp_path / "fixes.csv", drive)
    out = tmp_path / "matched.geojson"
    code, _, err = run(capsys, "track", "match", "--graph", wuhan_central_compiled, "--fixes",
                       fixes, "--crs", "gcj02", "-o", out)
    assert code == 0 and f"{len(drive.t)} fixes ({len(drive.t)} ok)" in err
    features = json.loads(out.read_text())["features"]
    paths = [f for f in features if f["properties"]["kind"] == "path"]
    points = [f for f in features if f["properties"]["kind"] == "fix"]
    assert len(paths) == 1 and len(points) == len(drive.t)
    assert paths[0]["properties"]["times"][0] == "2026-12-01T00:00:00.000Z"  # +08:00 → UTC
    pieces = [np.array(p["geometry"]["coordinates"]) for p in paths]
    assert route_share(wuhan_central.graph, drive.truth, pieces, tolerance_m=30.0)[0] > 0.97
    assert all(p["properties"]["matched"] for p in points)


@pytest.mark.parametrize("content, extra, message", [
    ("when,lon,lat\n2026-12-01T08:00:00Z,114.27,30.6\n", [], "lacks the column(s) time"),
    ("time,lon,lat\nsoon,114.27,30.6\n", [], "row 2 needs an ISO 8601 time"),
    ("time,lon,lat\n2026-12-01T08:00:00Z,114.27,95\n", [], "latitude 95.0 is out of range"),
    ("time,lon,lat\n2026-12-01T08:00:00Z,114.27,30.6\n", ["--max-speed", "0"], "--max-speed"),
    ("time,lon,lat\n2026-12-01T08:00:00Z,114.27,30.6\n", ["--crs", "mars"], "unknown coordinate"),
    ("time,lon,lat\n2026-12-01T08:00:00Z,114.27,30.6,5\n", [], "more values than the header"),
    ("time,lon,lat\n2026-12-01T08:00:00Z,114.27,30.6\n", ["-o", "{fixes}/out.geojson"],
     "fixes.csv: not a folder"),
])
def test_bad_fixes_are_one_sentence_and_exit_2(capsys, wuhan_central_compiled, tmp_path, content,
                                               extra, message):
    fixes = tmp_path / "fixes.csv"
    fixes.write_text(content)
    code, _, err = run(capsys, "track", "match", "--graph", wuhan_central_compiled, "--fixes",
                       fixes, *[e.format(fixes=fixes) for e in extra])
    assert code == 2 and message in err and "patrol: error:" in err


def test_a_folder_given_as_the_fixes_is_one_sentence(capsys, wuhan_central_compiled, tmp_path):
    code, _, err = run(capsys, "track", "match", "--graph", wuhan_central_compiled, "--fixes",
                       tmp_path)
    assert code == 2 and err == f"patrol: error: {tmp_path}: no such file\n"


def test_times_from_year_1_to_9999_are_matched_and_written(capsys, wuhan_central_compiled,
                                                          tmp_path):
    fixes = tmp_path / "fixes.csv"
    fixes.write_text("time,lon,lat\n0001-01-01T08:00:00.5Z,114.2700,30.6000\n"
                     "0001-01-01T08:00:10Z,114.2704,30.6001\n"
                     "9999-12-31T23:59:59.25Z,114.2708,30.6002\n")
    out = tmp_path / "matched.geojson"
    code, _, err = run(capsys, "track", "match", "--graph", wuhan_central_compiled, "--fixes",
                       fixes, "-o", out)
    assert code == 0, err
    points = [f["properties"] for f in json.loads(out.read_text())["features"]
              if f["properties"]["kind"] == "fix"]
    assert [p["time"] for p in points] == ["0001-01-01T08:00:00.500Z", "0001-01-01T08:00:10.000Z",
                                           "9999-12-31T23:59:59.250Z"]
