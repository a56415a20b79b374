"""The offline track pipeline: fixes CSV (GCJ-02) → cleaning → matching → GeoJSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matching_support import route_share, synthetic_track
from patrol.errors import Invalid
from patrol.tracks import match_fixes, read_fixes_csv, track_geojson
from routing.coords import from_wgs84

START = pd.Timestamp("2026-12-01T08:00:00Z")


def write_csv(path, t, lon, lat):
    stamps = [(START + pd.Timedelta(seconds=s)).isoformat() for s in t]
    pd.DataFrame({"time": stamps, "lon": lon, "lat": lat}).to_csv(path, index=False)


def test_a_gcj02_csv_with_bad_fixes_becomes_a_matched_path(wuhan_central, tmp_path):
    graph = wuhan_central.graph
    track = synthetic_track(graph, np.random.default_rng(8), sigma_m=10.0, interval_s=10.0)
    t, lon, lat = track.t.copy(), track.lon.copy(), track.lat.copy()
    lon[5] += 0.02  # ~2 km away in 10 s: a jump
    order = list(range(len(t)))
    order.insert(9, 8)  # fix 8 sent twice
    glon, glat = from_wgs84(lon[order], lat[order], "gcj02")
    write_csv(tmp_path / "fixes.csv", t[order], glon, glat)

    matched = match_fixes(graph, *read_fixes_csv(tmp_path / "fixes.csv"), crs="gcj02")
    statuses = [s.value for s in matched.track.status]
    assert statuses.count("jump") == 1 and statuses[5] == "jump"
    assert statuses.count("duplicate") == 1 and statuses[9] == "duplicate"
    collection = track_geojson(graph, matched)
    paths = [f for f in collection["features"] if f["properties"]["kind"] == "path"]
    fixes = [f for f in collection["features"] if f["properties"]["kind"] == "fix"]
    assert len(fixes) == len(order) and len(paths) == 1
    times = paths[0]["properties"]["times"]
    assert len(times) == len(paths[0]["geometry"]["coordinates"])
    assert times[0] == "2026-12-01T08:00:00.000Z" and times == sorted(times)
    pieces = [np.array(p["geometry"]["coordinates"]) for p in paths]
    assert route_share(graph, track.truth, pieces, tolerance_m=30.0)[0] > 0.97
    assert fixes[5]["geometry"] is None and not fixes[5]["properties"]["matched"]
    good = [f for f in fixes if f["properties"]["status"] == "ok"]
    assert all(f["properties"]["matched"] and f["properties"]["distance_m"] < 60 for f in good)
    # the raw positions are reported in WGS-84
    assert fixes[0]["properties"]["lon"] == pytest.approx(track.lon[0], abs=1e-6)


def test_bad_csv_files_are_a_sentence(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("when,lon,lat\n2026-12-01T08:00:00Z,114.2,30.6\n")
    with pytest.raises(Invalid, match="lacks the column"):
        read_fixes_csv(bad)
    bad.write_text("time,lon,lat\n2026-12-01T08:00:00Z,114.2,30.6\nyesterday,114.2,30.6\n")
    with pytest.raises(Invalid, match="row 3"):
        read_fixes_csv(bad)
    with pytest.raises(Invalid, match="no such file"):
        read_fixes_csv(tmp_path / "missing.csv")
