"""`patrol simulate` on real PostGIS and central Wuhan: the files it writes, bad input."""

import csv
import json

import pytest

from cli import main
from conftest import named_database
from tests_api_support import make_city
from zones.migrate import upgrade


@pytest.fixture(scope="module")
def city(server_url, wuhan_central):
    with named_database(server_url, "test_cli_simulate") as url:
        built = make_city(url, wuhan_central.graph)
        yield built
        built.engine.dispose()


@pytest.fixture
def patrol(city, wuhan_central_compiled, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", city.url)

    def run(*argv):
        code = main([*argv, "--graph", str(wuhan_central_compiled)])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


def test_simulate_writes_summary_csv_and_report(patrol, tmp_path):
    code, out, _ = patrol("simulate", "--hours", "2", "--rate", "15", "--move-up", "off",
                          "-o", str(tmp_path))
    assert code == 0 and "priority 1 within 3 min" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["inputs"]["units"] == 20 and summary["inputs"]["seed"] == 0
    with open(tmp_path / "incidents_off.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == summary["inputs"]["incidents"] == summary["runs"]["off"]["incidents"]
    assert 10 < len(rows) < 60
    assert all(r["unit_id"] and float(r["response_s"]) >= 0 for r in rows)
    assert (tmp_path / "report.md").read_text().startswith("# Simulated incidents: 2 h")


@pytest.mark.parametrize("argv, message", [
    (["--hours", "0", "--rate", "10"], "--hours must be more than 0"),
    (["--hours", "-1", "--rate", "10"], "--hours must be more than 0"),
    (["--hours", "1", "--rate", "0"], "--rate must be more than 0"),
])
def test_bad_numbers_exit_2_with_a_sentence(patrol, tmp_path, argv, message):
    code, _, err = patrol("simulate", *argv, "-o", str(tmp_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_without_a_simulated_fleet_it_says_how_to_make_one(fresh_database, monkeypatch,
                                                           capsys, wuhan_central_compiled,
                                                           tmp_path):
    url = fresh_database()
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    code = main(["simulate", "--hours", "1", "--rate", "10", "-o", str(tmp_path), "--graph",
                 str(wuhan_central_compiled)])
    err = capsys.readouterr().err
    assert code == 2 and "no simulated patrol cars" in err and "patrol fleet create" in err


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_both_runs_replay_the_same_incidents_and_move_only_free_units(patrol, tmp_path):
    code, out, _ = patrol("simulate", "--hours", "3", "--rate", "20", "--seed", "4",
                          "-o", str(tmp_path))
    assert code == 0 and "move-up off | move-up on" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    off, on = (read_csv(tmp_path / f"incidents_{run}.csv") for run in ("off", "on"))
    same = ("received_s", "priority", "source", "lon", "lat", "service_s")
    assert [[r[k] for k in same] for r in off] == [[r[k] for k in same] for r in on]
    moves = read_csv(tmp_path / "moves_on.csv")
    assert len(moves) == summary["runs"]["on"]["moves"] > 0
    assert summary["runs"]["on"]["ignored_moves"] == 0
    assert summary["runs"]["on"]["moves_per_incident"] == len(moves) / len(on)
    busy = [(r["unit_id"], float(r["dispatched_s"]), float(r["cleared_s"])) for r in on]
    for move in moves:  # a unit is never moved while it holds an incident
        at = float(move["at_s"])
        assert not any(u == move["unit_id"] and start <= at < end for u, start, end in busy)
    late = summary["comparison"]
    assert late["priority_1_late_off"] == summary["runs"]["off"]["priority_1"]["late"]
