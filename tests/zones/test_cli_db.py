"""`patrol db up` / `db down` on the embedded cluster, and an unreachable DATABASE_URL."""

import socket
import tempfile
from pathlib import Path

import sqlalchemy as sa

from cli import main
from zones.cluster import temporary_cluster


def test_db_up_migrates_and_db_down_stops(monkeypatch, capsys):
    with temporary_cluster("patrol-cli-pg-") as cluster:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.setenv("PATROL_PG_DIR", str(cluster.directory))
        assert main(["db", "up"]) == 0
        assert "database ready" in capsys.readouterr().out
        engine = sa.create_engine(cluster.url())
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
        assert main(["db", "up"]) == 0  # twice is fine
        assert main(["db", "down"]) == 0
        assert not cluster.is_running()


def test_unreachable_database_is_a_sentence(monkeypatch, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{port}/patrol")
    assert main(["db", "up"]) == 69
    err = capsys.readouterr().err
    assert err.startswith("patrol: error: cannot reach the database") and "Traceback" not in err


def test_unreachable_cluster_folder_is_explained(monkeypatch, capsys):
    import os
    if os.geteuid() != 0:
        return  # only root hands the folder to the postgres user
    hidden = Path(tempfile.mkdtemp(prefix="patrol-hidden-"))  # mode 700, owned by root
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PATROL_PG_DIR", str(hidden / "pg"))
    assert main(["db", "up"]) == 69
    assert "cannot reach" in capsys.readouterr().err


def test_station_tiers_are_configurable(monkeypatch, capsys, fresh_database, tmp_path,
                                        wuhan_central_compiled):
    import json
    url = fresh_database()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PATROL_STATION_TIERS", json.dumps({"police_post": 3}))
    assert main(["db", "up"]) == 0
    stations = tmp_path / "s.geojson"
    stations.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.3, 30.6]},
         "properties": {"name": "甲警务室"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.31, 30.6]},
         "properties": {"name": "乙派出所"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.6, 30.9]},
         "properties": {"name": "丙派出所"}}]}, ensure_ascii=False))
    network = ["--graph", str(wuhan_central_compiled)]
    assert main(["load", "stations", str(stations), *network]) == 0
    out = capsys.readouterr().out
    assert "3 added" in out  # the third lies far beyond the central network
    assert "stations: 1 of 3 outside the road network (more than 500 m from any road)" in out
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tiers = dict(conn.execute(sa.text("SELECT kind, tier_minutes FROM stations")).all())
    engine.dispose()
    assert tiers == {"police_post": 3, "police_station": 1}
    monkeypatch.setenv("PATROL_STATION_TIERS", json.dumps({"police_post": 2}))
    assert main(["load", "stations", str(stations), *network]) == 2  # a bad setting is a sentence too
    assert "bad setting in the environment (station_tiers.police_post" in capsys.readouterr().err
