"""Places and stations beyond the road data: the Wuhan POIs cover the whole city, the central
test network only central Hankou, so most of them lie farther than the snapping limit from every
road. They are flagged, counted apart and never gaps; the counts are checked against GEOS
distances from the points to the network's edges."""

import csv
import json

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from cli import main
from maps.coverage import OUTSIDE_LABEL
from patrol.analysis import hotspots, run_analysis, station_tiers
from patrol.coverage import OUTSIDE, gather
from patrol.errors import Invalid
from patrol.siting import recommend
from patrol.whatif import StationChange, what_if
from routing import snap_points
from settings import DATA_DIR, Settings
from zones.loading import load_hotspots
from zones.lookups import station_points

LIMIT_M = Settings().snap_limit_m


@pytest.fixture(scope="module")
def schools(city):
    """The city's hospitals plus its universities: a hotspot file reaching far beyond the
    central network."""
    load_hotspots(city.engine, DATA_DIR / "poi" / "universities.geojson", category="school",
                  crs="gcj02")
    return city


def beyond_limit(graph, lon, lat) -> np.ndarray:
    """True where the point is farther than the snapping limit from every edge of ``graph``
    (GEOS distances in the graph's UTM zone, metres)."""
    x, y = Transformer.from_crs(4326, graph.metric_epsg, always_xy=True).transform(lon, lat)
    tree = shapely.STRtree(graph.edge_lines)
    _, metres = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
    assert not np.any(np.abs(metres - LIMIT_M) < 0.5), "a point on the limit is ambiguous"
    return metres > LIMIT_M


def test_places_outside_are_flagged_and_not_counted(schools, wuhan_central, tmp_path):
    graph = wuhan_central.graph
    with schools.engine.connect() as conn:
        places = hotspots(conn)
        stations = station_points(conn)
    outside = beyond_limit(graph, places.lon, places.lat)
    assert 100 < outside.sum() < len(outside) - 50  # plenty on both sides
    summary = run_analysis(schools.engine, graph, tmp_path, progress=lambda _: None,
                           snap_limit_m=LIMIT_M)
    assert summary["hotspots_outside_network"] == outside.sum()
    station_far = beyond_limit(graph, [s[2] for s in stations], [s[3] for s in stations])
    assert summary["stations_outside_network"] == station_far.sum() > 0

    with open(tmp_path / "hotspots.csv", encoding="utf-8") as handle:
        rows = {int(r["id"]): r for r in csv.DictReader(handle)}
    flagged = {pid for pid, r in rows.items() if r["status"] == "outside_network"}
    assert flagged == {pid for pid, far in zip(places.ids, outside) if far}
    assert {r["status"] for r in rows.values()} == {"on_network", "outside_network"}
    geo = json.loads((tmp_path / "hotspots.geojson").read_text())
    assert sum(f["properties"]["status"] == "outside_network"
               for f in geo["features"]) == len(flagged)

    # Shares over the places on the network only, recomputed from the file.
    on = [r for pid, r in rows.items() if pid not in flagged]
    best = {int(r["id"]): min([float(r[f"tier{t}_seconds"]) for t in (1, 3, 5)
                               if r[f"tier{t}_seconds"]] or [np.inf]) for r in on}
    for category in ("school", "hospital"):
        mine = [best[int(r["id"])] for r in on if r["category"] == category]
        share = summary["hotspot_share_by_category"][category]
        assert share[300] == pytest.approx(np.mean(np.array(mine) <= 300))
        counts = summary["hotspot_counts_by_category"][category]
        assert counts == {"on_network": len(mine), "outside_network": sum(
            rows[pid]["category"] == category for pid in flagged)}
    districts = summary["hotspot_counts_by_district"]
    assert sum(c["outside_network"] for c in districts.values()) == sum(
        1 for pid in flagged if rows[pid]["district"])
    wholly_outside = [d for d, c in districts.items() if c["on_network"] == 0]
    assert wholly_outside and not set(wholly_outside) & set(summary["hotspot_share_by_district"])
    gaps = {g["id"] for g in summary["hotspot_gaps_beyond_300s"]}
    assert gaps == {pid for pid, b in best.items() if not b <= 300}
    assert not gaps & flagged
    report = (tmp_path / "report.html").read_text()
    assert f"{len(flagged):,} hotspots" in report and "outside, not counted" in report


def test_the_summary_line_states_the_numbers(schools, wuhan_central, wuhan_central_compiled,
                                             monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", schools.url)
    with schools.engine.connect() as conn:
        places = hotspots(conn, category="school")
    far = beyond_limit(wuhan_central.graph, places.lon, places.lat).sum()
    assert main(["coverage", "-o", str(tmp_path), "--no-map", "--category", "school",
                 "--graph", str(wuhan_central_compiled)]) == 0
    out = capsys.readouterr().out
    assert f"; {far} hotspots outside the road network, not counted" in out
    assert f"(of {len(places.ids) - far:,} on the road network)" in out
    assert main(["coverage", "--category", "school", "whatif", "--add", "114.27,30.60",
                 "--graph", str(wuhan_central_compiled)]) == 0
    assert f"; {far} hotspots outside the road network, not counted" in capsys.readouterr().out
    assert main(["coverage", "--category", "school", "recommend", "--add", "2", "--tier", "1",
                 "--graph", str(wuhan_central_compiled)]) == 0
    assert f"; {far} hotspots outside the road network, not counted" in capsys.readouterr().out


def test_what_if_and_siting_leave_outside_places_out(schools, wuhan_central):
    graph = wuhan_central.graph
    with schools.engine.connect() as conn:
        tiers = station_tiers(conn)
        places = hotspots(conn)
        stations = station_points(conn)
    outside = beyond_limit(graph, places.lon, places.lat)
    far_ids = {pid for pid, far in zip(places.ids, outside) if far}
    everything = StationChange(remove=frozenset(s[0] for rows in tiers.values() for s in rows))
    result = what_if(graph, tiers=tiers, places=places, change=everything, snap_limit_m=LIMIT_M)
    assert result["outside_network"] == len(far_ids)
    opened = {g["id"] for g in result["gaps_opened"]}
    assert opened and not opened & far_ids
    assert all(share[300] == 0 for share in result["after"].values())
    with pytest.raises(Invalid, match="added station 1 lies more than 500 m from any road"):
        what_if(graph, tiers=tiers, places=places, snap_limit_m=LIMIT_M,
                change=StationChange(add=((114.6, 30.9, 1),)))

    snaps, _ = snap_points(graph, places.lon, places.lat, limit_m=LIMIT_M)
    found = recommend(graph, stations, places, snaps, k=2, tier_s=60, snap_limit_m=LIMIT_M)
    assert found.outside == len(far_ids)
    weights = np.array([1.0 if c in ("school", "hospital") else 0.5 for c in places.categories])
    assert found.total_weight == pytest.approx(weights[~outside].sum())


def test_the_map_draws_outside_places_in_their_own_style(schools, wuhan_central):
    graph = wuhan_central.graph
    data = gather(schools.engine, graph, snap_limit_m=LIMIT_M)
    lon = [h["lon"] for h in data.hotspots]
    lat = [h["lat"] for h in data.hotspots]
    outside = beyond_limit(graph, lon, lat)
    assert [h["tier"] == OUTSIDE for h in data.hotspots] == outside.tolist()
    assert all(h["seconds"] is None for h in data.hotspots if h["tier"] == OUTSIDE)
    far = beyond_limit(graph, [s["lon"] for s in data.stations], [s["lat"] for s in data.stations])
    assert [not s["on_network"] for s in data.stations] == far.tolist()


def test_the_coverage_map_endpoint_names_the_style(schools, client):
    answer = client.get("/maps/coverage", headers=schools.headers("planner"))
    assert answer.status_code == 200
    assert OUTSIDE_LABEL in answer.text and '"tier": "outside"' in answer.text
