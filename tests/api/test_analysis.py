"""The batch coverage-gap analysis against an independent networkx multi-source computation."""

import csv
import json

import numpy as np
import pytest
import sqlalchemy as sa

from cli import main
from patrol.analysis import hotspots, run_analysis, station_tiers, tier_times
from patrol.errors import Invalid
from routing.search import Weights
from reference import times_between_snapped
from routing.snapping import snap_many


def networkx_times(network, stations, places):
    """networkx multi-source search from the stations with every road cut at its points."""
    graph = network.graph
    sources = snap_many(graph, [s[2] for s in stations], [s[3] for s in stations])
    return times_between_snapped(graph, sources, snap_many(graph, places.lon, places.lat),
                                 weights=Weights.free_flow(graph).forward, cutoff=1e9)


def test_tier_times_equal_networkx(city, wuhan_central):
    with city.engine.connect() as conn:
        tiers = station_tiers(conn)
        places = hotspots(conn)
    west_east = (places.lon > 114.25) & (places.lon < 114.30)
    checked = 0
    for tier in (1, 3):
        ours = tier_times(wuhan_central.graph, tiers[tier], places, horizon_s=1e9).seconds
        reference = networkx_times(wuhan_central, tiers[tier], places)
        both = np.isfinite(reference) & west_east
        assert np.allclose(ours[both], reference[both], atol=1e-6)
        checked += both.sum()
    assert checked > 20


def test_analysis_files_agree_with_the_summary(city, wuhan_central, tmp_path):
    summary = run_analysis(city.engine, wuhan_central.graph, tmp_path, progress=lambda _: None)
    with open(tmp_path / "hotspots.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["hotspots"] > 0
    best = np.array([min([float(r[f"tier{t}_seconds"]) for t in (1, 3, 5)
                          if r[f"tier{t}_seconds"]] or [np.inf]) for r in rows])
    on = np.array([r["status"] == "on_network" for r in rows])
    hospital = np.array([r["category"] == "hospital" for r in rows]) & on
    expected = float(np.mean(best[hospital] <= 180))
    assert summary["hotspot_share_by_category"]["hospital"][180] == pytest.approx(expected)
    gaps = {g["id"] for g in summary["hotspot_gaps_beyond_300s"]}
    assert gaps == {int(r["id"]) for r, b, o in zip(rows, best, on) if o and not b <= 300}
    geo = json.loads((tmp_path / "grid_cells.geojson").read_text())
    assert len(geo["features"]) == summary["grid_cells"]
    assert (tmp_path / "report.html").read_text().count("<h2>") >= 5


def test_bad_inputs(city, wuhan_central, tmp_path, monkeypatch, capsys):
    empty = sa.create_engine(city.url)
    with empty.connect() as conn:
        with pytest.raises(Invalid, match="no hotspots of category 'transport_hub'"):
            hotspots(conn, category="transport_hub")
    monkeypatch.setenv("DATABASE_URL", city.url)
    assert main(["coverage", "-o", str(tmp_path), "--category", "zoo"]) == 2
    assert "unknown hotspot category 'zoo'" in capsys.readouterr().err
    empty.dispose()


def test_recommend_command(city, wuhan_central_compiled, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", city.url)
    code = main(["coverage", "recommend", "--add", "2", "--tier", "1", "--graph",
                 str(wuhan_central_compiled)])
    out = capsys.readouterr().out
    assert code == 0 and "verified afresh" in out and "post 2:" in out
    assert main(["coverage", "--graph", str(wuhan_central_compiled)]) == 2
    assert "needs -o FOLDER" in capsys.readouterr().err


def test_what_if_adding_a_station_at_a_gap_closes_it(city, wuhan_central):
    from patrol.whatif import StationChange, what_if
    graph = wuhan_central.graph
    with city.engine.connect() as conn:
        tiers = station_tiers(conn)
        places = hotspots(conn)
    # Keep only a few stations so that some reachable hotspots fall beyond five minutes.
    keep = {s[0] for s in tiers[1][:5]}
    thin = StationChange(remove=frozenset(s[0] for rows in tiers.values() for s in rows
                                          if s[0] not in keep))
    base = what_if(graph, tiers=tiers, places=places, change=thin)
    reachable_gaps = [g for g in base["gaps_opened"] if g["after_s"] is not None]
    assert reachable_gaps, "the thinned station set leaves reachable gaps"
    gap = reachable_gaps[0]
    i = places.ids.index(gap["id"])
    closing = StationChange(add=((float(places.lon[i]), float(places.lat[i]), 1),),
                            remove=thin.remove)
    result = what_if(graph, tiers=tiers, places=places, change=closing)
    still_open = {g["id"] for g in result["gaps_opened"]}
    assert gap["id"] not in still_open
    with pytest.raises(Invalid, match="no station 999999"):
        what_if(graph, tiers=tiers, places=places,
                change=StationChange(remove=frozenset({999999})))
    with pytest.raises(Invalid, match="tier 2"):
        what_if(graph, tiers=tiers, places=places,
                change=StationChange(add=((114.27, 30.6, 2),)))


def test_whatif_command(city, wuhan_central_compiled, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", city.url)
    code = main(["coverage", "whatif", "--add", "114.27,30.60", "--graph",
                 str(wuhan_central_compiled)])
    out = capsys.readouterr().out
    assert code == 0 and "gaps (beyond 5 minutes) closed" in out and "→" in out
    assert main(["coverage", "whatif", "--add", "east,north", "--graph",
                 str(wuhan_central_compiled)]) == 2
    assert "LON,LAT[,TIER]" in capsys.readouterr().err


def test_dask_local_cluster_gives_the_same_answers(city, wuhan_central, wuhan_central_compiled):
    from distributed import Client, LocalCluster

    from patrol.analysis import TIERS
    from patrol.distributed import dask_times
    with city.engine.connect() as conn:
        tiers = station_tiers(conn)
        places = hotspots(conn)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        remote = dask_times(client, str(wuhan_central_compiled), tiers, places, partitions=5)
    for tier in TIERS:
        local = tier_times(wuhan_central.graph, tiers[tier], places)
        assert np.array_equal(np.isfinite(local.seconds), np.isfinite(remote[tier].seconds))
        finite = np.isfinite(local.seconds)
        assert np.allclose(local.seconds[finite], remote[tier].seconds[finite], atol=1e-9)
        assert np.array_equal(local.station, remote[tier].station)


def test_coverage_command_on_a_local_dask_cluster(city, wuhan_central_compiled, monkeypatch,
                                                   capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", city.url)
    code = main(["coverage", "-o", str(tmp_path), "--scheduler", "local", "--partitions", "3",
                 "--graph", str(wuhan_central_compiled)])
    err = capsys.readouterr().err
    assert code == 0, err
    bars = [line for line in err.splitlines() if line.startswith("[")]
    assert [b.split()[1] for b in bars] == ["1/5", "2/5", "3/5", "4/5", "5/5"], err
    assert bars[0].startswith("[" + "-" * 20 + "]") and bars[-1].count("#") == 16
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["hotspots"] > 0 and (tmp_path / "road_segments.csv").exists()
    assert (tmp_path / "coverage_map.html").exists()
    assert 'iframe src="coverage_map.html"' in (tmp_path / "report.html").read_text()
    assert main(["coverage", "-o", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9",
                 "--graph", str(wuhan_central_compiled)]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_whatif_with_units(city, wuhan_central_compiled, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", city.url)
    unit = city.unit_ids[0]
    code = main(["coverage", "whatif", "--with-units", "--move-unit", f"{unit}:114.28,30.60",
                 "--remove-unit", str(city.unit_ids[1]), "--graph", str(wuhan_central_compiled)])
    assert code == 0 and "gaps (beyond 5 minutes)" in capsys.readouterr().out
    assert main(["coverage", "whatif", "--remove-unit", "3", "--graph",
                 str(wuhan_central_compiled)]) == 2
    assert "need --with-units" in capsys.readouterr().err
    assert main(["coverage", "whatif", "--with-units", "--remove-unit", "987654", "--graph",
                 str(wuhan_central_compiled)]) == 2
    assert "no available unit 987654" in capsys.readouterr().err



def test_whatif_stations_from_a_file_equal_those_given_with_add(city, wuhan_central_compiled,
                                                                 monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", city.url)
    with city.engine.connect() as conn:
        ids = [s[0] for rows in station_tiers(conn).values() for s in rows]
    # Without most stations, where a new one goes shows in the shares.
    thin = ["--graph", str(wuhan_central_compiled), *(f"--remove={i}" for i in ids[3:])]
    assert main(["coverage", "whatif", *thin]) == 0
    without = capsys.readouterr().out
    assert main(["coverage", "whatif", "--add", "114.2828,30.6047", *thin]) == 0
    given = capsys.readouterr().out
    added = tmp_path / "added.geojson"
    added.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.2828, 30.6047]},
         "properties": {"name": "new post"}}]}))
    assert main(["coverage", "whatif", "--from-file", str(added), *thin]) == 0
    assert capsys.readouterr().out == given != without
    assert main(["coverage", "whatif", "--move", "3:114.27", *thin]) == 2
    assert "--move must be ID:LON,LAT, got '3:114.27'" in capsys.readouterr().err
